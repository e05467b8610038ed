"""capplan: capacity planning and load simulation for service systems.

    from capplan import load_scenario, simulate
    result = simulate(load_scenario("scenarios/current.yaml"))

Names are loaded on first use, so ``import capplan`` (and ``capplan --help``) costs no
more than the error classes; reading scenarios loads pydantic, simulating loads the engine.
"""

from typing import TYPE_CHECKING, Any

from capplan._version import __version__
from capplan.errors import CapplanError, ScenarioError

if TYPE_CHECKING:
    from capplan.api import simulate, with_overrides
    from capplan.calibrate import calibrate
    from capplan.results.frame import result_frame
    from capplan.scenario import Scenario, load_scenario

__all__ = [
    "CapplanError",
    "Scenario",
    "ScenarioError",
    "__version__",
    "calibrate",
    "load_scenario",
    "result_frame",
    "simulate",
    "with_overrides",
]

_LAZY = {
    "calibrate": "capplan.calibrate",
    "simulate": "capplan.api",
    "with_overrides": "capplan.api",
    "Scenario": "capplan.scenario",
    "load_scenario": "capplan.scenario",
    "result_frame": "capplan.results.frame",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'capplan' has no attribute {name!r}")

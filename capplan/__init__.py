"""capplan: capacity planning and load simulation for service systems.

    from capplan import load_scenario, simulate
    result = simulate(load_scenario("scenarios/current.yaml"))

The engine is loaded on first use of ``simulate``, so reading and validating scenarios
does not import SimPy.
"""

from typing import TYPE_CHECKING, Any

from capplan._version import __version__
from capplan.errors import CapplanError, ScenarioError
from capplan.scenario import Scenario, load_scenario

if TYPE_CHECKING:
    from capplan.api import simulate, with_overrides

__all__ = [
    "CapplanError",
    "Scenario",
    "ScenarioError",
    "__version__",
    "load_scenario",
    "simulate",
    "with_overrides",
]


def __getattr__(name: str) -> Any:
    if name in ("simulate", "with_overrides"):
        from capplan import api

        return getattr(api, name)
    raise AttributeError(f"module 'capplan' has no attribute {name!r}")

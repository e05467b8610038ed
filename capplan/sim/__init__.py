"""The discrete-event engine: a validated Scenario in, plain replication records out.

Imports only ``capplan.scenario``, SimPy and numpy (a test holds it to that).
"""

from importlib import import_module
from typing import Any

# Loaded on first use, so that a station module (imported while the scenario language
# registers its component kinds) does not pull in the engine, which needs that language.
_EXPORTS = {
    "budget": ("capplan.sim.budget", None),
    "run_replication": ("capplan.sim.engine", "run_replication"),
    "LatencySummary": ("capplan.sim.records", "LatencySummary"),
    "ReplicationRecord": ("capplan.sim.records", "ReplicationRecord"),
    "TypeRecord": ("capplan.sim.records", "TypeRecord"),
    "Progress": ("capplan.sim.runner", "Progress"),
    "run_replications": ("capplan.sim.runner", "run_replications"),
    "StationMeasure": ("capplan.sim.stations.base", "StationMeasure"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'capplan.sim' has no attribute {name!r}")
    module, attr = _EXPORTS[name]
    value = import_module(module) if attr is None else getattr(import_module(module), attr)
    globals()[name] = value
    return value

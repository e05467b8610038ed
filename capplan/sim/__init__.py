"""The discrete-event engine: a validated Scenario in, plain replication records out.

Imports only ``capplan.scenario``, SimPy and numpy (a test holds it to that).
"""

import hashlib
import json
from importlib import import_module
from pathlib import Path
from typing import Any

from capplan.errors import CapplanError


def stale_sources(root: Path) -> list[str]:
    """The engine's sources under ``root`` edited since it was compiled (none when it was
    not: the pure-Python engine).

    An install compiles the engine's modules (``setup.py``) and records each source's
    SHA-256 in ``capplan/sim/compiled.json``; in an editable install the extensions sit
    beside their sources and Python loads them first, so an edited source would silently
    not run."""
    try:
        built = json.loads((root / "capplan" / "sim" / "compiled.json").read_text())
    except FileNotFoundError:
        return []
    return [
        path
        for path, digest in built.items()
        if not (root / path).is_file()
        or hashlib.sha256((root / path).read_bytes()).hexdigest() != digest
    ]


def compiled() -> bool:
    """Whether the engine runs compiled (C extensions built by mypyc)."""
    return not (import_module("capplan.sim.kernel").__file__ or "").endswith(".py")


if _stale := stale_sources(Path(__file__).resolve().parent.parent.parent):
    raise CapplanError(
        f"{', '.join(_stale)} changed since the engine was compiled: install again "
        "(pip install -e .) to compile it, or with CAPPLAN_COMPILE=0 to run it uncompiled"
    )

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
    "StationMeasure": ("capplan.sim.records", "StationMeasure"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'capplan.sim' has no attribute {name!r}")
    module, attr = _EXPORTS[name]
    value = import_module(module) if attr is None else getattr(import_module(module), attr)
    globals()[name] = value
    return value

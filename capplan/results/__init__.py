"""Results: replication records aggregated into estimates with confidence intervals.

Names are imported on first use, so that reading a typed result
(:mod:`capplan.results.model`) does not load the simulation's summarizing code.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {"mean_ci": "capplan.results.stats", "summarize": "capplan.results.summary"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'capplan.results' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value

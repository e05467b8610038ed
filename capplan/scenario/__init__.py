"""Scenario language: the frozen, validated description of a system, its load and its SLOs.

Its names load on first use, so that a module of the language (units, types) can be
imported by a component kind (:mod:`capplan.kinds`) while the language is still
assembling its union of those kinds.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "CacheComponent": "capplan.scenario.components",
    "Component": "capplan.scenario.components",
    "DatabaseComponent": "capplan.scenario.components",
    "ServiceComponent": "capplan.scenario.components",
    "load_scenario": "capplan.scenario.loader",
    "validate_data": "capplan.scenario.loader",
    "RequestType": "capplan.scenario.model",
    "Scenario": "capplan.scenario.model",
    "Simulation": "capplan.scenario.model",
    "Slos": "capplan.scenario.model",
    "Step": "capplan.scenario.model",
    "Workload": "capplan.scenario.model",
    "scenario_hash": "capplan.scenario.model",
}

__all__ = [*sorted(_EXPORTS), "json_schema"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'capplan.scenario' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def json_schema() -> dict[str, object]:
    """JSON Schema of the scenario language, for editors and other tools."""
    from capplan.scenario.model import Scenario

    schema = Scenario.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "capplan scenario, version 1"
    return schema

"""Scenario language: the frozen, validated description of a system, its load and its SLOs."""

from capplan.scenario.components import (
    CacheComponent,
    Component,
    DatabaseComponent,
    ServiceComponent,
)
from capplan.scenario.loader import load_scenario, validate_data
from capplan.scenario.model import (
    RequestType,
    Scenario,
    Simulation,
    Slos,
    Step,
    Workload,
    scenario_hash,
)

__all__ = [
    "CacheComponent",
    "Component",
    "DatabaseComponent",
    "RequestType",
    "Scenario",
    "ServiceComponent",
    "Simulation",
    "Slos",
    "Step",
    "Workload",
    "load_scenario",
    "scenario_hash",
    "validate_data",
]


def json_schema() -> dict[str, object]:
    """JSON Schema of the scenario language, for editors and other tools."""
    schema = Scenario.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "capplan scenario, version 1"
    return schema

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


def json_schema(overlay: bool = False) -> dict[str, object]:
    """JSON Schema of the scenario language, for editors and other tools. With
    ``overlay``: of a file that ``extends`` another, which gives only what it changes
    (merged key by key into what it extends), so no key is required and a component need
    not repeat its ``type``; unknown keys and bad values are still refused."""
    from capplan.scenario.model import Scenario

    schema = Scenario.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "capplan scenario, version 1"
    schema = _ranges_allowed(schema)
    schema.setdefault("$defs", {})["Range"] = RANGE_SCHEMA
    if overlay:
        schema = _partial(schema)
        schema["title"] = "capplan scenario overlay (a file with extends), version 1"
        schema["required"] = ["extends"]
    return schema


def _partial(node: Any) -> Any:
    """Every ``required`` dropped and every ``oneOf`` made ``anyOf`` (a part of a
    component may fit several types' schemas)."""
    if isinstance(node, list):
        return [_partial(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k == "required" and isinstance(v, list):
            continue
        if k == "discriminator":
            continue  # the type may be the extended file's
        out["anyOf" if k == "oneOf" else k] = (
            {n: _partial(s) for n, s in v.items()} if k == "properties" else _partial(v)
        )
    return out


RANGE_SCHEMA: dict[str, object] = {
    "type": "object",
    "description": "An uncertain input (capplan.uncertainty): [low, high] in the value's "
    "unit, and the belief over it",
    "properties": {
        "between": {"type": "array", "minItems": 2, "maxItems": 2},
        "distribution": {"enum": ["uniform", "triangular", "normal", "lognormal"]},
        "mode": {"type": ["number", "string"]},
        "confidence": {"type": ["number", "string"]},
    },
    "required": ["between"],
    "additionalProperties": False,
}


def _ranges_allowed(node: Any) -> Any:
    """Every number, and every free-form string (a duration, a rate, a size), may also be
    given as a range: ``{between: [low, high]}``."""
    if isinstance(node, list):
        return [_ranges_allowed(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _ranges_allowed(v) for k, v in node.items() if k != "properties"}
    if "properties" in node:
        out["properties"] = {k: _ranges_allowed(v) for k, v in node["properties"].items()}
    if (
        node.get("type") in ("number", "integer", "string")
        and "enum" not in node
        and "const" not in node
    ):
        return {"anyOf": [out, {"$ref": "#/$defs/Range"}]}
    return out

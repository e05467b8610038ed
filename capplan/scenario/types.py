"""Annotated scalar types with units, shared by every scenario model.

Each type parses the human form ('250ms', '300/min', '4Gi', '500m', '70%') into a plain
float in SI units (seconds, per second, bytes, cores, fraction) and publishes a JSON Schema
that says which strings are accepted, so an editor can complete the YAML.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema

from capplan.scenario import units

_NUM = r"[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?"


class Model(BaseModel):
    """Base of every scenario model: immutable, unknown keys rejected, field docstrings kept."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


Duration = Annotated[
    float,
    BeforeValidator(units.parse_duration),
    PlainSerializer(lambda v: f"{v!r}s", return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": rf"^\s*{_NUM}\s*(us|µs|ms|s|min|h|d)\s*$",
            "examples": ["250ms", "2s", "5min"],
        }
    ),
]
"""A duration in seconds, written with a unit: '250ms', '2s', '5min', '1h'."""

PositiveDuration = Annotated[Duration, Field(gt=0)]
NonNegativeDuration = Annotated[Duration, Field(ge=0)]

Rate = Annotated[
    float,
    BeforeValidator(units.parse_rate),
    PlainSerializer(lambda v: f"{v!r}/s", return_type=str, when_used="json"),
    Field(gt=0),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": rf"^\s*{_NUM}\s*/\s*(s|sec|min|h|d)\s*$",
            "examples": ["3.2/s", "300/min"],
        }
    ),
]
"""Events per second, written with a unit: '3.2/s', '300/min', '1000/h'."""

Bytes = Annotated[
    float,
    BeforeValidator(units.parse_bytes),
    Field(ge=0),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": rf"^\s*{_NUM}\s*[A-Za-z]*\s*$"},
            ],
            "examples": ["512Mi", "4Gi", "500MB"],
        }
    ),
]
"""Bytes; Kubernetes quantity suffixes ('4Gi', '500M') or SI ('500MB')."""

Cpu = Annotated[
    float,
    BeforeValidator(units.parse_cpu),
    Field(gt=0),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0},
                {"type": "string", "pattern": rf"^\s*{_NUM}\s*m?\s*$"},
            ],
            "examples": ["500m", 2],
        }
    ),
]
"""CPU cores: 2, 0.5 or '500m'."""

Bandwidth = Annotated[
    float,
    BeforeValidator(units.parse_bandwidth),
    Field(gt=0),
    PlainSerializer(lambda v: f"{v!r}bps", return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": rf"^\s*{_NUM}\s*[KMGT]?(bps|bit/s)\s*$",
            "examples": ["1Gbps", "10Gbps", "100Mbps"],
        }
    ),
]
"""Bits per second: '1Gbps', '100Mbps'."""

Fraction = Annotated[
    float,
    BeforeValidator(units.parse_fraction),
    Field(ge=0, le=1),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 1},
                {"type": "string", "pattern": rf"^\s*{_NUM}\s*%\s*$"},
            ],
            "examples": ["70%", 0.7],
        }
    ),
]
"""A fraction in [0, 1]: '70%' or 0.7."""

PositiveInt = Annotated[int, Field(gt=0, strict=True)]
"""A whole number greater than zero."""

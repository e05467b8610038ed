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

    model_config = ConfigDict(
        frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False
    )


Duration = Annotated[
    float,
    BeforeValidator(units.parse_duration),
    PlainSerializer(lambda v: f"{v!r}s", return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": rf"^\s*({_NUM}\s*(ns|us|µs|ms|min|s|m|h|d|w)\s*)+$",
            "examples": ["250ms", "2s", "1m", "1h30m"],
        }
    ),
]
"""A duration in seconds, written with a unit: '250ms', '2s', '1m' or '5min', '1h30m'
(Go and Prometheus forms); at most a year."""

PositiveDuration = Annotated[Duration, Field(gt=0)]

CpuTime = Annotated[
    float,
    BeforeValidator(units.parse_cpu_time),
    Field(gt=0),
    PlainSerializer(lambda v: f"{v!r}s", return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "examples": ["40ms", "1.5ms"]}),
]
"""CPU time per request: a duration, except that '50m' alone is refused (it reads as
Kubernetes millicores, and as a duration it would be 50 minutes)."""

ClockTime = Annotated[
    float,
    BeforeValidator(units.parse_clock),
    Field(ge=0),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\s*(\d{1,2}:\d{2}(:\d{2})?|.+)\s*$",
            "examples": ["00:00", "09:30"],
        }
    ),
]
"""A clock time, seconds since midnight: '09:30', or a duration since midnight ('9h30m')."""
NonNegativeDuration = Annotated[Duration, Field(ge=0)]

Rate = Annotated[
    float,
    BeforeValidator(units.parse_rate),
    PlainSerializer(lambda v: f"{v!r}/s", return_type=str, when_used="json"),
    Field(gt=0),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": rf"^\s*{_NUM}\s*/\s*(s|sec|m|min|h|d)\s*$",
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

Objective = Annotated[
    float,
    BeforeValidator(units.parse_objective),
    Field(ge=0, le=1),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 1},
                {"type": "string", "pattern": rf"^\s*{_NUM}\s*%\s*$"},
            ],
            "examples": ["1%", "99.9%", 0.01],
        }
    ),
]
"""An error-rate or availability objective: '1%', '99.9%', 0.01; a bare 1 is refused as
ambiguous (one percent, or all?)."""

PositiveInt = Annotated[int, Field(gt=0, le=1_000_000, strict=True)]
"""A whole number greater than zero (at most a million)."""

Replicas = Annotated[int, Field(gt=0, le=10_000, strict=True)]
"""Instances of a component: 1 to 10,000."""

Workers = Annotated[int, Field(gt=0, le=100_000, strict=True)]
"""Concurrent requests one instance serves: 1 to 100,000."""

SmallCount = Annotated[int, Field(gt=0, le=1000, strict=True)]
"""A whole number from 1 to 1,000 (repeats, shards, retry attempts, replications)."""

Dollars = Annotated[float, Field(ge=0, le=1e12)]
"""US dollars, at most a trillion."""

Multiplier = Annotated[float, Field(gt=0, le=1e6)]
"""A positive factor, at most a million."""

Cv = Annotated[float, Field(gt=0, le=100)]
"""A coefficient of variation (standard deviation / mean): above 0, at most 100."""

"""The station contract and the registry of component types.

A station is the running form of one component in one replication. Each component type
registers a builder under its ``type`` name; the engine looks the builder up and never
branches on the type. A station fills exactly these hooks:

- ``visit(step, run)``: a generator that serves one step. It may ``yield`` SimPy events,
  must call ``run(step.steps)`` (itself a generator: ``cause = yield from run(...)``) for
  nested steps while holding whatever the step holds, and returns ``None`` on success or
  an error cause string (``"rejected"``, ...) that aborts the request.
- ``snapshot()``: cumulative counters (any picklable value) at the current instant.
- ``measure(start, end)``: a :class:`StationMeasure` of the window between two snapshots.
- ``prepare(step, path, streams)``: per-step random streams the station needs, stored on
  the compiled step's ``extra`` slot (e.g. a cache's hit draws).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import simpy

if TYPE_CHECKING:
    from capplan.sim.plan import CompiledStep
    from capplan.sim.streams import Streams

Runner = Callable[[tuple["CompiledStep", ...]], Generator[simpy.Event, Any, str | None]]


@dataclass(frozen=True)
class StationMeasure:
    """What one station did during the measured window of one replication."""

    capacity: int
    """Workers (or other servers) the station has."""
    utilization: float
    """Time-average busy servers / capacity."""
    mean_queue_length: float
    """Time-average requests waiting (not in service)."""
    mean_wait_s: float
    """Mean time from arrival at the station to being served (granted requests)."""
    throughput_rps: float
    """Visits completed per second."""
    arrival_rps: float
    """Visits arriving per second."""
    offered_load: float
    """Arrival rate × mean holding time / capacity; at or above 1 the station cannot keep up."""
    backlog_growth: int
    """Queue length at the end of the window minus at its start."""
    arrivals: int
    """Visits arriving during the window."""
    rejected: int
    """Visits refused because the queue was full."""
    extra: dict[str, float] = field(default_factory=dict)
    """Type-specific figures (e.g. ``cpu_utilization``, ``hit_ratio``)."""


class Station(Protocol):
    name: str

    def visit(self, step: CompiledStep, run: Runner) -> Generator[simpy.Event, Any, str | None]: ...

    def snapshot(self) -> Any: ...

    def measure(self, start: Any, end: Any) -> StationMeasure: ...

    def prepare(self, step: CompiledStep, path: str, streams: Streams) -> None: ...


Builder = Callable[[str, Any, simpy.Environment, "Streams"], Station]

STATION_TYPES: dict[str, Builder] = {}


def station_type(name: str) -> Callable[[Builder], Builder]:
    """Register the builder of the component type ``name``."""

    def register(builder: Builder) -> Builder:
        if name in STATION_TYPES:
            raise ValueError(f"component type {name!r} registered twice")
        STATION_TYPES[name] = builder
        return builder

    return register


def build_station(name: str, component: Any, env: simpy.Environment, streams: Streams) -> Station:
    return STATION_TYPES[component.type](name, component, env, streams)

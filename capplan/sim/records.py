"""Plain records one replication produces: numbers only, no SimPy objects, picklable."""

from __future__ import annotations

from dataclasses import dataclass

from capplan.sim.stations.base import StationMeasure


@dataclass(frozen=True)
class LatencySummary:
    """End-to-end latency of successful requests in one replication, seconds."""

    mean: float
    p50: float
    p95: float
    p99: float


@dataclass(frozen=True)
class TypeRecord:
    """One request type in one replication."""

    arrivals: int
    """Requests of this type that arrived in the measured window."""
    completed: int
    """Of those, answered successfully within their timeout."""
    errors: dict[str, int]
    """Failed ones by cause."""
    latency: LatencySummary | None
    """Latency of the successful ones; None if there were none."""
    sojourn_sum_s: float
    """Total time all arrivals spent in the system, failed ones included (for Little's law)."""


@dataclass(frozen=True)
class ReplicationRecord:
    """Everything measured in one replication."""

    window_s: float
    latency: LatencySummary | None
    types: dict[str, TypeRecord]
    components: dict[str, StationMeasure]
    mean_in_system: float
    """Time-average number of requests in the system during the window."""
    unfinished: int
    """Measured requests still in flight, not past a timeout, when the run ended."""
    visits: dict[str, frozenset[str]]
    """Components each request type may visit."""
    tail_share: dict[str, float]
    """For the slowest 5% of successful requests: the fraction of their time spent at each
    component, waiting and served, nested calls excluded (empty if none succeeded)."""

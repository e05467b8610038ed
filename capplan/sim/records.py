"""Plain records one replication produces: numbers only, no SimPy objects, picklable."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StationMeasure:
    """What one station did during the measured window of one replication."""

    capacity: float
    """Workers (or other servers) available, averaged over the window."""
    utilization: float
    """Busy worker-seconds over available worker-seconds."""
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
    residence_s: float
    """Total time visits spent here, waiting and served, nested steps excluded (for this
    component's share of end-to-end latency)."""
    constraints: dict[str, float] = field(default_factory=dict)
    """Utilization of each limited resource of the station (``workers``, ``cpu``,
    ``bandwidth``, a quota...), for finding the binding constraint."""
    extra: dict[str, float] = field(default_factory=dict)
    """Type-specific figures (e.g. ``cpu_utilization``, ``tokens_per_min``)."""


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
    spent_s: dict[str, float] | None = None
    """Mean seconds a successful request spent at each component it visits (waiting and
    served there, nested calls excluded); None if none succeeded."""


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
    windows: tuple[WindowRecord, ...] = ()
    """The measured interval window by window (``simulation.window`` each)."""
    stopped_early: bool = False
    """The run ended before its duration: saturation was established (a stationary load
    that a component cannot keep up with), so more time would only grow the backlog."""
    mean_in_system_by_window: tuple[float, ...] = ()
    """Time-average requests in the system in each window (Little's law per window)."""
    control: Any = None
    """What the autoscalers did (a :class:`capplan.sim.control.ControlRecord`), or None
    when nothing controlled the run."""


@dataclass(frozen=True)
class WindowComponent:
    """One component in one window."""

    utilization: float
    """Busy over available worker-seconds (or the busier direction, the more used quota)."""
    cpu_utilization: float | None
    """CPU used over CPU requested by the replicas present (None without the figures)."""
    queue_length: float
    """Time-average requests waiting."""
    replicas_ready: float | None
    """Time-average ready replicas (None for what has no replicas)."""
    saturated: bool
    """More arrived than it could serve and its queue grew over the window."""
    memory_utilization: float | None = None
    """Time-average memory per replica over its memory request (with a memory model)."""
    replicas_desired: float | None = None
    """Time-average of the size its HPA set (autoscaled components)."""
    replicas_pending: float | None = None
    """Time-average pods waiting for a node."""
    hpa_metrics: dict[str, float | None] | None = None
    """The average of each metric the HPA read at its syncs in the window (a utilization
    as a fraction of requests; requests per second or in flight per pod)."""


@dataclass(frozen=True)
class WindowRecord:
    """One window of one replication: what arrived, what completed in it, and each
    component's state (requests are counted at arrival for ``offered``, at completion
    for the rest, as a monitoring system sees them)."""

    start_s: float
    """Start of the window, seconds since the measured interval began."""
    offered: int
    """Requests that arrived."""
    completed: int
    """Requests that completed successfully."""
    errors: dict[str, int]
    """Requests that failed, by cause."""
    latency: LatencySummary | None
    """Of the successful completions (None if there were none)."""
    sojourn_s: float
    """Total time in the system of the requests that arrived in the window and have
    finished (for Little's law)."""
    finished: int
    """How many of the window's arrivals that total covers."""
    components: dict[str, WindowComponent]
    nodes: float | None = None
    """Time-average nodes paid for (live nodes only)."""
    pods_pending: float | None = None
    """Time-average pods waiting for a node."""
    at_max_nodes: float | None = None
    """Share of the window with pods pending while the cluster was at ``max_nodes``."""

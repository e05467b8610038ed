"""What a pooled component did, integrated over time: the :class:`Meter` a replica set
updates as requests take and give back workers and as capacity changes, and the
cumulative :class:`MeterSnapshot` whose differences are windows."""

from __future__ import annotations

from operator import sub
from typing import NamedTuple


class MeterSnapshot(NamedTuple):
    """Cumulative figures of one component at one instant; a window is the difference of
    two (:meth:`minus`), except the levels (``queue_length``, ``workers``, ``ready``),
    which are the later snapshot's. (A named tuple: a window boundary makes one per
    component, so it is cheap to build.)"""

    time: float
    busy_area: float
    capacity_area: float
    queue_area: float
    ready_area: float
    arrivals: int
    granted: int
    served: int
    rejected: int
    unavailable: int
    lost: int
    wait_sum: float
    hold_sum: float
    hold_sq_sum: float
    service_sum: float
    cpu_s: float
    queue_length: int
    workers: int
    ready: int

    def minus(self, start: MeterSnapshot) -> MeterSnapshot:
        # the last three are levels: the later snapshot's
        return MeterSnapshot._make([*map(sub, self[:-3], start[:-3]), *self[-3:]])


class Meter:
    """One component's integrals and counters (see the module docstring).

    Busy and queue areas are not integrated step by step: busy worker-seconds up to t are
    the holds completed plus, for each visit in service, t less its start, that is
    ``hold_sum + busy * t - start_sum``; queue area likewise from the waits completed and
    the arrival times of what still waits. So taking or giving back a worker touches no
    clock, and the areas are exact at any snapshot. Capacity and ready replicas change
    rarely and are integrated when they change (:meth:`tick`)."""

    __slots__ = (
        "arrivals",
        "arrive_sum",
        "busy",
        "capacity",
        "capacity_area",
        "cpu_per_visit",
        "hold_sq_sum",
        "hold_sum",
        "last",
        "lost",
        "queued",
        "ready",
        "ready_area",
        "rejected",
        "served",
        "service_sum",
        "start_sum",
        "unavailable",
        "wait_sum",
        "withdrawn",
    )

    def __init__(self, cpu_per_visit: float = 0.0) -> None:
        self.cpu_per_visit = cpu_per_visit
        self.last = 0.0
        self.busy = self.capacity = self.queued = self.ready = 0
        self.capacity_area = self.ready_area = 0.0
        self.start_sum = self.arrive_sum = 0.0
        self.arrivals = self.served = self.rejected = 0
        self.unavailable = self.lost = self.withdrawn = 0
        self.wait_sum = self.hold_sum = self.hold_sq_sum = self.service_sum = 0.0

    def tick(self, now: float) -> None:
        """Integrate capacity and ready replicas up to ``now``; call before they change."""
        dt = now - self.last
        if dt:
            self.capacity_area += self.capacity * dt
            self.ready_area += self.ready * dt
            self.last = now

    def snapshot(self, now: float) -> MeterSnapshot:
        self.tick(now)
        return MeterSnapshot(
            now,
            self.hold_sum + self.busy * now - self.start_sum,
            self.capacity_area,
            self.wait_sum + self.queued * now - self.arrive_sum,
            self.ready_area,
            self.arrivals,
            # every arrival got a worker, but those refused, still queued or withdrawn
            self.arrivals - self.rejected - self.unavailable - self.queued - self.withdrawn,
            self.served,
            self.rejected,
            self.unavailable,
            self.lost,
            self.wait_sum,
            self.hold_sum,
            self.hold_sq_sum,
            self.service_sum,
            self.served * self.cpu_per_visit,
            self.queued,
            self.capacity,
            self.ready,
        )

"""A pool of identical workers with one FIFO queue: the engine's unit of contention.

It does what ``simpy.Resource`` does for this model at a fraction of the cost: a free worker
is taken without creating an event, a waiting request waits on one bare event, and a
released worker is handed straight to the head of the queue. Counters are cumulative;
the engine snapshots them at the start and end of the measured window and reports the
difference, so nothing in the hot path asks whether it is measuring.

Usage inside a station's ``visit`` generator::

    arrived = env.now
    got = pool.acquire(arrived)
    if got is not None:
        if got is False:
            return "rejected"
        yield got                               # a releasing request hands its worker over
        pool.waited(env.now - arrived)
    ...hold the worker...
    pool.release(env.now, held=env.now - start, service=own_time)
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, fields

import simpy
from simpy.events import Event


@dataclass(frozen=True)
class PoolSnapshot:
    """Cumulative counters of one or more pools at one instant (sums when added)."""

    time: float
    workers: int
    busy_area: float
    queue_area: float
    arrivals: int
    granted: int
    served: int
    rejected: int
    wait_sum: float
    hold_sum: float
    hold_sq_sum: float
    service_sum: float
    queue_length: int

    def minus(self, start: PoolSnapshot) -> PoolSnapshot:
        """Counts within the window from ``start`` to this snapshot (queue length: growth)."""
        return PoolSnapshot(
            *(
                getattr(self, f.name) - getattr(start, f.name)
                if f.name != "workers"
                else self.workers
                for f in fields(self)
            )
        )

    def plus(self, other: PoolSnapshot) -> PoolSnapshot:
        """Two pools' windows together (same span)."""
        return PoolSnapshot(
            self.time,
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)[1:]),
        )


class Pool:
    """``workers`` servers sharing one queue (one replica, a shared-queue group, a link
    direction, a concurrency limit)."""

    __slots__ = (
        "arrivals",
        "busy",
        "busy_area",
        "env",
        "granted",
        "hold_sq_sum",
        "hold_sum",
        "last",
        "queue",
        "queue_area",
        "queue_limit",
        "rejected",
        "served",
        "service_sum",
        "wait_sum",
        "workers",
    )

    def __init__(self, env: simpy.Environment, workers: int, queue_limit: int | None = None):
        self.env = env
        self.workers = workers
        self.queue_limit = queue_limit
        self.queue: deque[Event] = deque()
        self.busy = 0
        self.last = 0.0
        self.busy_area = 0.0
        self.queue_area = 0.0
        self.arrivals = 0
        self.granted = 0
        self.served = 0
        self.rejected = 0
        self.wait_sum = 0.0
        self.hold_sum = 0.0
        self.hold_sq_sum = 0.0
        self.service_sum = 0.0

    def tick(self, now: float) -> None:
        """Integrate busy workers and queue length up to ``now`` (call before any change)."""
        dt = now - self.last
        if dt:
            self.busy_area += self.busy * dt
            self.queue_area += len(self.queue) * dt
            self.last = now

    def acquire(self, now: float) -> Event | bool | None:
        """Take a worker: ``None`` if one was free, an event to wait on (it fires when a
        worker is handed over), or ``False`` if the queue is full."""
        self.arrivals += 1
        if self.busy < self.workers:
            self.tick(now)
            self.busy += 1
            self.granted += 1
            return None
        limit = self.queue_limit
        if limit is not None and len(self.queue) >= limit:
            self.rejected += 1
            return False
        self.tick(now)
        granted = Event(self.env)
        self.queue.append(granted)
        return granted

    def waited(self, wait: float) -> None:
        """Record a queued request's wait once its worker was handed over."""
        self.granted += 1
        self.wait_sum += wait

    def release(self, now: float, held: float, service: float) -> None:
        """Give the worker back (to the head of the queue if anyone waits)."""
        self.tick(now)
        if self.queue:
            self.queue.popleft().succeed()
        else:
            self.busy -= 1
        self.served += 1
        self.hold_sum += held
        self.hold_sq_sum += held * held
        self.service_sum += service

    def snapshot(self) -> PoolSnapshot:
        now = self.env.now
        self.tick(now)
        return PoolSnapshot(
            now,
            self.workers,
            self.busy_area,
            self.queue_area,
            self.arrivals,
            self.granted,
            self.served,
            self.rejected,
            self.wait_sum,
            self.hold_sum,
            self.hold_sq_sum,
            self.service_sum,
            len(self.queue),
        )


def window(start: list[PoolSnapshot], end: list[PoolSnapshot]) -> PoolSnapshot:
    """All pools' counts within the window, added up."""
    diffs = [e.minus(s) for s, e in zip(start, end, strict=True)]
    total = diffs[0]
    for d in diffs[1:]:
        total = total.plus(d)
    return total

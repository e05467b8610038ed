"""A replica's CPU limit shared among its requests in service (``cpu_model: contended``).

Each request in its own service phase (nested calls excluded: a worker waiting on a
database uses no CPU) wants ``demand`` cores; while the demands of the requests in service
add up to more than the replica's CPU limit, the CFS quota slows every one of them alike,
to ``limit / (n × demand)`` of full speed: processor sharing. A request's service time is
its work at full speed; under contention it takes longer. The engine keeps each request's
remaining work and, whenever the number in service changes, moves every wake-up to the new
finishing time (a few heap entries per change; the stale ones are skipped).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from capplan.sim.kernel import Kernel, Task


class SharedCpu:
    """One replica's CPU, shared by the requests in service on it."""

    __slots__ = ("demand", "jobs", "kernel", "last", "limit", "speed")

    def __init__(self, kernel: Kernel, limit: float, demand: float):
        self.kernel = kernel
        self.limit = limit
        """Cores the replica may use (its CPU limit)."""
        self.demand = demand
        """Cores one request in service uses at full speed."""
        self.jobs: dict[Task, float] = {}
        """Work left (seconds at full speed) of each request in service."""
        self.last = 0.0
        self.speed = 1.0

    def _advance(self) -> None:
        now = self.kernel.now
        done = (now - self.last) * self.speed
        if done:
            jobs = self.jobs
            for task in jobs:
                jobs[task] -= done
        self.last = now

    def _retime(self, skip: Task | None) -> None:
        n = len(self.jobs)
        self.speed = min(1.0, self.limit / (n * self.demand)) if n else 1.0
        now, speed, kernel = self.kernel.now, self.speed, self.kernel
        for task, left in self.jobs.items():
            if task is not skip:
                kernel.reschedule(task, now + max(left, 0.0) / speed)

    def serve(self, task: Task, work: float) -> Generator[float | None, Any, None]:
        """Run ``work`` seconds of full-speed service for ``task`` (the visiting request)."""
        self._advance()
        self.jobs[task] = work
        self._retime(task)
        try:
            yield work / self.speed  # moved by every change until the work is done
        finally:
            self._advance()
            del self.jobs[task]
            self._retime(None)

    @property
    def in_service(self) -> int:
        return len(self.jobs)

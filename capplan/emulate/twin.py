"""The scenario's model run on the wall clock.

The twin is the simulation engine itself (the same stations, pools, token buckets and
links as ``capplan simulate``) with the kernel's clock tied to the event loop's: simulated time
is the seconds since the twin started. Each incoming request is run through its request
type's steps at the moment it arrives, and the loop wakes when the next model event is
due. So a service with 4 workers is a real limit of 4 concurrent requests, a service time
is a real wait, an exhausted token bucket is a real 429, and a timed-out request's work
goes on holding its workers, exactly as the model says.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Generator
from typing import Any

from capplan.scenario.model import Scenario
from capplan.sim.engine import RequestState
from capplan.sim.kernel import Kernel
from capplan.sim.plan import compile_scenario
from capplan.sim.steps import run_steps
from capplan.sim.streams import Streams

LATE_S = 0.005
"""A model event handled this much later than due counts as late: the twin fell behind
and latencies measured against it are inflated by the machine, not by the model."""


class Twin:
    """One scenario's model, driven by an asyncio event loop in real time."""

    def __init__(self, scenario: Scenario, loop: asyncio.AbstractEventLoop, seed: int):
        self.scenario = scenario
        self.loop = loop
        self.env = Kernel()
        # replication index 0 of the given seed: the same streams a simulation's first
        # replication draws from, though arrivals (from outside) differ
        self.stations, self.plans = compile_scenario(scenario, self.env, Streams(seed, 0))
        self.index = {plan.name: i for i, plan in enumerate(self.plans)}
        self.t0 = loop.time()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        self.in_flight = 0
        self.outcomes: dict[str, dict[str, int]] = {plan.name: {} for plan in self.plans}
        self.late_events = 0
        self.max_lateness_s = 0.0
        self._schedule()

    def now(self) -> float:
        return self.loop.time() - self.t0

    def submit(self, name: str) -> asyncio.Future[str | None]:
        """Start one request of type ``name`` now; the future gets its error cause or None.

        The model runs the request to the end even if the caller stops waiting (a client
        timeout), as a real server would."""
        self._catch_up()
        done: asyncio.Future[str | None] = self.loop.create_future()
        req = RequestState([0.0] * len(self.stations), self.env.now, self.index[name], None)
        req.gen = self._request(self.index[name], req, done)
        self.env.start(req)
        self._schedule()
        return done

    def _request(
        self, index: int, req: RequestState, done: asyncio.Future[str | None]
    ) -> Generator[float | None, Any, None]:
        self.in_flight += 1
        cause = yield from run_steps(req, self.plans[index].steps)
        yield from req.sync()  # the answer leaves at the request's own time
        self.in_flight -= 1
        counts = self.outcomes[self.plans[index].name]
        key = cause or "ok"
        counts[key] = counts.get(key, 0) + 1
        if not done.done():
            done.set_result(cause)

    def _catch_up(self) -> None:
        """Process every model event due by now and set the model's clock to now."""
        env = self.env
        now = self.now()
        # run(until) leaves what is due exactly at ``until``: include it, or the loop
        # would wake again at once
        env.run(until=max(now, env.now) + 1e-9)

    def _tick(self) -> None:
        lateness = self.now() - self._timer_at
        if lateness > LATE_S:
            self.late_events += 1
        self.max_lateness_s = max(self.max_lateness_s, lateness)
        self._timer, self._timer_at = None, math.inf
        self._catch_up()
        self._schedule()

    def _schedule(self) -> None:
        """Wake the loop when the next model event is due (one timer at a time)."""
        due = self.env.peek()
        if due == math.inf or due >= self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = due
        self._timer = self.loop.call_at(self.t0 + due, self._tick)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def status(self) -> dict[str, Any]:
        """What the twin has done so far (for the health endpoint and the exit summary)."""
        return {
            "scenario": self.scenario.name,
            "uptime_s": self.now(),
            "in_flight": self.in_flight,
            "answered": sum(sum(c.values()) for c in self.outcomes.values()),
            "outcomes": self.outcomes,
            "late_events": self.late_events,
            "max_lateness_s": self.max_lateness_s,
        }

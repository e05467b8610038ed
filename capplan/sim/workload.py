"""Where requests come from during a run: open arrivals and closed populations, both
following the load profile (see :mod:`capplan.sim.load`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from capplan.scenario.distributions import Exponential
from capplan.sim.kernel import Kernel, Task
from capplan.sim.load import Curve
from capplan.sim.streams import Streams

if TYPE_CHECKING:
    from capplan.scenario.model import Scenario

USER_STEP_S = 5.0
"""A closed population follows its profile in steps of this much simulated time."""

Start = Callable[..., Any]
"""Starts one request of a type index (and a waiter task): the engine's ``start_request``."""


def _unit_exponential() -> Exponential:
    return Exponential.model_construct(distribution="exponential", mean=1.0)


def open_arrivals(
    kernel: Kernel,
    streams: Streams,
    scenario: Scenario,
    curve: Curve,
    offset: float,
    start: Start,
) -> Generator[float, Any, None]:
    """Poisson arrivals at ``scenario.arrival_rate × curve(τ)``, τ = simulated time +
    ``offset`` (the clock time of simulated time 0), sampled by thinning (module
    docstring of :mod:`capplan.sim.load`), each of a type drawn from the mix."""
    base = scenario.arrival_rate
    unit = streams.sampler(_unit_exponential(), "workload.arrivals")
    accept = streams.uniform("workload.thinning")
    pick = streams.choice("workload.mix", list(scenario.mix().values()))
    t = kernel.now
    while True:
        tau = t + offset
        brk = curve.next_break(tau)
        bound, flat = curve.bound(tau, brk)
        while flat and not math.isinf(brk):  # one piece through breaks that change nothing
            after = curve.next_break(brk)
            more, still = curve.bound(brk, after)
            if not (still and more == bound):
                break
            brk = after
        end = brk - offset
        if bound <= 0:
            if math.isinf(end):
                return
            t = end
            continue
        scale = 1.0 / (base * bound)
        if flat:  # a constant rate: every candidate is an arrival
            while True:
                t += unit() * scale
                if t >= end:
                    t = end
                    break
                yield t - kernel.now
                start(pick())
            continue
        line = curve.line(tau, brk)
        while True:
            t += unit() * scale
            if t >= end:
                t = end
                break
            if line is not None:  # a linear piece: its line, not a call per candidate
                keep = accept() * bound < line[0] + line[1] * (t + offset - tau)
            else:
                keep = accept() * bound < curve(t + offset)
            if keep:
                yield t - kernel.now
                start(pick())


class Population:
    """A closed workload: users that think, send a request, wait for it (or give up at its
    timeout), and repeat; their number follows the profile."""

    def __init__(
        self,
        kernel: Kernel,
        streams: Streams,
        scenario: Scenario,
        curve: Curve,
        offset: float,
        start: Start,
        timeouts: list[float | None],
    ):
        self.kernel = kernel
        self.streams = streams
        self.scenario = scenario
        self.curve = curve
        self.offset = offset
        self.start = start
        self.timeouts = timeouts
        self.users = scenario.users
        self.target = self.users
        self.alive: list[bool] = []

    def begin(self) -> None:
        if self.curve.constant:
            self._grow(self.users)
        else:
            self.kernel.spawn(self._follow())

    def _size(self) -> int:
        return max(0, round(self.users * self.curve(self.kernel.now + self.offset)))

    def _follow(self) -> Generator[float, Any, None]:
        while True:
            self.target = self._size()
            self._grow(self.target)
            yield USER_STEP_S

    def _grow(self, target: int) -> None:
        while len(self.alive) < target:
            self.alive.append(False)
        for uid in range(target):
            if not self.alive[uid]:
                self.alive[uid] = True
                box: list[Task] = []
                task = Task(self._user(uid, box))
                box.append(task)
                self.kernel.start(task)

    def _user(self, uid: int, box: list[Task]) -> Generator[float | None, Any, None]:
        think = self.streams.sampler(
            self.scenario.workload.think_time, f"workload.users.{uid}.think"
        )
        pick = self.streams.choice(f"workload.users.{uid}.mix", list(self.scenario.mix().values()))
        timeouts = self.timeouts
        task = box[0]
        while True:
            if uid >= self.target:  # the population shrank: this user leaves
                self.alive[uid] = False
                return
            wait = think()
            if wait:
                yield wait
            index = pick()
            req = self.start(index, task)
            if not req.done:
                # a user gives up at the timeout; the servers keep working on the request
                yield timeouts[index]
            req.waiter = None

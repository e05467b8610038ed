"""One replication of a scenario: arrivals, the layered step runner, measurement.

Measurement covers requests that *arrive* during the window [warmup, warmup + duration].
When the window closes, arrivals go on (so the measured requests still see the load they
would see) until every measured request has finished, or until the drain limit: the
longest request timeout, or the window length when some request type has no timeout.
A measured request still in flight then is a ``timeout`` error if it is past its timeout
and ``unfinished`` otherwise; either way the run ends on time.
"""

from __future__ import annotations

import gc
from collections.abc import Generator
from typing import Any

import simpy
from simpy.events import Event, Timeout

from capplan.scenario.distributions import Exponential
from capplan.scenario.model import Scenario
from capplan.sim.plan import CompiledStep, RequestPlan, compile_scenario
from capplan.sim.records import LatencySummary, ReplicationRecord, TypeRecord
from capplan.sim.sketch import LatencySketch
from capplan.sim.streams import Streams
from capplan.sim.task import Task

QUANTILES = (0.5, 0.95, 0.99)


def summarize(sketch: LatencySketch, kind: int | None = None) -> LatencySummary | None:
    if sketch.count(kind) == 0:
        return None
    p50, p95, p99 = sketch.quantiles(QUANTILES, kind)
    return LatencySummary(sketch.mean(kind), p50, p95, p99)


def run_steps(
    steps: tuple[CompiledStep, ...], req: RequestState
) -> Generator[Event, Any, str | None]:
    """Run sibling steps one after another; stop at the first error cause.

    A step with ``via`` sends its request payload across the link before the call and its
    response payload after it."""
    for step in steps:
        coin = step.coin
        if coin is not None and coin() >= step.probability:
            continue
        via = step.via
        for _ in range(step.repeat):
            if via is not None:
                yield from via.transfer(step.request_bytes, 0, req)
            cause = yield from step.station.visit(step, req)
            if cause is not None:
                return cause
            if via is not None:
                yield from via.transfer(step.response_bytes, 1, req)
    return None


class RequestState:
    """One request in flight: where its time goes, station by station."""

    __slots__ = ("spent",)

    def __init__(self, stations: int):
        self.spent = [0.0] * stations

    def run(self, steps: tuple[CompiledStep, ...]) -> Generator[Event, Any, str | None]:
        return run_steps(steps, self)


def _then_signal(gen: Generator[Event, Any, None], done: Event) -> Generator[Event, Any, None]:
    yield from gen
    done.succeed()


class _Replication:
    def __init__(self, scenario: Scenario, replication: int):
        self.scenario = scenario
        sim = scenario.simulation
        self.env = simpy.Environment()
        self.streams = Streams(sim.seed, replication)
        self.stations, self.plans = compile_scenario(scenario, self.env, self.streams)
        self.start = sim.warmup
        self.end = sim.warmup + sim.duration
        n = len(self.plans)
        self.latency = LatencySketch(n, len(self.stations))
        self.n_stations = len(self.stations)
        self.errors: list[dict[str, int]] = [{} for _ in range(n)]
        self.arrivals = [0] * n
        self.sojourn_sum = [0.0] * n
        self.inflight: dict[int, tuple[float, int]] = {}
        self.next_id = 0
        self.draining: Event | None = None
        # requests in the system, integrated over time for Little's law
        self.in_system = 0
        self.in_system_area = 0.0
        self.in_system_last = 0.0

    def request(self, index: int) -> Generator[Event, Any, None]:
        env = self.env
        plan: RequestPlan = self.plans[index]
        t0 = env.now
        measured = self.start <= t0 < self.end
        if measured:
            rid = self.next_id
            self.next_id += 1
            self.inflight[rid] = (t0, index)
            self.arrivals[index] += 1
        self.in_system_area += self.in_system * (t0 - self.in_system_last)
        self.in_system_last = t0
        self.in_system += 1
        req = RequestState(self.n_stations)
        cause = yield from run_steps(plan.steps, req)
        now = env.now
        self.in_system_area += self.in_system * (now - self.in_system_last)
        self.in_system_last = now
        self.in_system -= 1
        if not measured:
            return
        del self.inflight[rid]
        elapsed = env.now - t0
        self.sojourn_sum[index] += elapsed
        if cause is None and plan.timeout is not None and elapsed > plan.timeout:
            cause = "timeout"
        if cause is None:
            self.latency.add(elapsed, index, req.spent)
        else:
            errs = self.errors[index]
            errs[cause] = errs.get(cause, 0) + 1
        if self.draining is not None and not self.inflight and not self.draining.triggered:
            self.draining.succeed()

    def open_arrivals(self, rate: float) -> Generator[Event, Any, None]:
        env = self.env
        gap = self.streams.sampler(_exponential(1 / rate), "workload.arrivals")
        pick = self.streams.choice("workload.mix", list(self.scenario.mix().values()))
        request = self.request
        while True:
            yield Timeout(env, gap())
            Task(request(pick()))

    def user(self, uid: int) -> Generator[Event, Any, None]:
        env = self.env
        think = self.streams.sampler(
            self.scenario.workload.think_time, f"workload.users.{uid}.think"
        )
        pick = self.streams.choice(f"workload.users.{uid}.mix", list(self.scenario.mix().values()))
        while True:
            wait = think()
            if wait:
                yield Timeout(env, wait)
            index = pick()
            done = Event(env)
            Task(_then_signal(self.request(index), done))
            timeout = self.plans[index].timeout
            # a user gives up at the timeout; the servers keep working on the request
            yield (done | Timeout(env, timeout)) if timeout is not None else done

    def snapshot(self) -> dict[str, Any]:
        now = self.env.now
        self.in_system_area += self.in_system * (now - self.in_system_last)
        self.in_system_last = now
        return {name: st.snapshot() for name, st in self.stations.items()}

    def run(self) -> ReplicationRecord:
        env, scenario = self.env, self.scenario
        if scenario.workload.is_open:
            Task(self.open_arrivals(scenario.arrival_rate))
        else:
            for uid in range(scenario.users):
                env.process(self.user(uid))
        if self.start > 0:
            env.run(until=self.start)
        first = self.snapshot()
        area0 = self.in_system_area
        env.run(until=self.end)
        last = self.snapshot()
        area1 = self.in_system_area
        timeouts = [p.timeout for p in self.plans]
        if self.inflight:
            limit = (
                max(t for t in timeouts if t is not None)
                if all(t is not None for t in timeouts)
                else max(scenario.simulation.duration, *(t or 0.0 for t in timeouts))
            )
            self.draining = env.event()
            stop = Timeout(env, limit)
            env.run(until=self.draining | stop)
        unfinished = 0
        for t0, index in self.inflight.values():
            age = env.now - t0
            self.sojourn_sum[index] += age
            timeout = timeouts[index]
            cause = "timeout" if timeout is not None and age > timeout else "unfinished"
            unfinished += cause == "unfinished"
            self.errors[index][cause] = self.errors[index].get(cause, 0) + 1
        return self.record(first, last, area1 - area0, unfinished)

    def record(
        self, first: dict[str, Any], last: dict[str, Any], area: float, unfinished: int
    ) -> ReplicationRecord:
        window = self.end - self.start
        sketch = self.latency
        types = {}
        for i, plan in enumerate(self.plans):
            types[plan.name] = TypeRecord(
                arrivals=self.arrivals[i],
                completed=sketch.count(i),
                errors=dict(sorted(self.errors[i].items())),
                latency=summarize(sketch, i),
                sojourn_sum_s=self.sojourn_sum[i],
            )
        # where the slowest 5% of successful requests spent their time
        tail_share: dict[str, float] = {}
        if sketch.count():
            shares = sketch.tail_share(0.95)
            tail_share = {name: float(x) for name, x in zip(self.stations, shares, strict=True)}
        return ReplicationRecord(
            window_s=window,
            tail_share=tail_share,
            latency=summarize(sketch),
            types=types,
            components={
                name: st.measure(first[name], last[name]) for name, st in self.stations.items()
            },
            mean_in_system=area / window,
            unfinished=unfinished,
            visits={plan.name: plan.stations for plan in self.plans},
        )


def _exponential(mean: float) -> Exponential:
    return Exponential.model_construct(distribution="exponential", mean=mean)


def run_replication(scenario: Scenario, replication: int) -> ReplicationRecord:
    """Simulate one independent replication; the result depends only on (scenario, seed, replication)."""
    # Hundreds of thousands of live request generators make every cyclic-GC pass scan
    # them all; the engine creates no reference cycles per request, so pausing the
    # collector for the run costs no memory and saves much of the time under overload.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _Replication(scenario, replication).run()
    finally:
        if was_enabled:
            gc.enable()

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
from collections.abc import Callable, Generator
from typing import Any

from capplan.scenario.model import Scenario
from capplan.sim.control import ControlPlane, wanted
from capplan.sim.failures import Injector
from capplan.sim.kernel import Kernel, Task
from capplan.sim.ledger import Ledger
from capplan.sim.load import Curve
from capplan.sim.plan import RequestPlan, compile_scenario, mark_direct
from capplan.sim.records import LatencySummary, ReplicationRecord, TypeRecord
from capplan.sim.sketch import LatencySketch
from capplan.sim.stations.base import Request, StationMeasure
from capplan.sim.steps import run_steps
from capplan.sim.streams import Streams
from capplan.sim.timeline import WindowBook
from capplan.sim.workload import Population, open_arrivals

QUANTILES = (0.5, 0.95, 0.99)

Steps = Generator[float | None, Any, str | None]


def summarize(sketch: LatencySketch, kind: int | None = None) -> LatencySummary | None:
    if sketch.count(kind) == 0:
        return None
    p50, p95, p99 = sketch.quantiles(QUANTILES, kind)
    return LatencySummary(sketch.mean(kind), p50, p95, p99)


def _spent(
    sketch: LatencySketch, kind: int, stations: dict[str, Any], visits: frozenset[str]
) -> dict[str, float] | None:
    if sketch.count(kind) == 0:
        return None
    mean = sketch.mean_spent(kind)
    return {name: float(mean[i]) for i, name in enumerate(stations) if name in visits}


class RequestState(Request):
    """One request in flight: the task that runs it, when it came and of what type, where
    its time goes, station by station, and who waits for it (a closed workload's user)."""

    __slots__ = ("done", "index", "t0", "waiter")

    def __init__(self, spent: list[float], t0: float, index: int, waiter: Task | None):
        self.seq = 0
        self.lag = 0.0
        self.spent = spent
        self.memo = None
        self.retry_after = 0.0
        self.t0 = t0
        self.index = index
        self.waiter = waiter
        self.done = False


Controller = Callable[[Kernel, dict[str, Any]], Generator[float | None, Any, None]]
"""A process that acts on the stations during a run (scales replicas, injects failures):
given the kernel and the stations by name, it yields delays like any process."""

EARLY_STOP_MIN_WINDOWS = 2
"""A stationary run is ended as saturated no sooner than after this many windows..."""
EARLY_STOP_MIN_FRACTION = 0.1
"""...and this share of its duration, and only with a backlog that grew by more than
``EARLY_STOP_GROWTH`` of the arrivals (and 50) while the load offered exceeded capacity."""
EARLY_STOP_GROWTH = 0.05
EARLY_STOP_LOAD = 1.02


class _Replication:
    __slots__ = (
        "book",
        "controllers",
        "curve",
        "end",
        "injector",
        "kernel",
        "ledger",
        "n_stations",
        "no_time",
        "offset",
        "plane",
        "plans",
        "scenario",
        "start",
        "stationary",
        "stations",
        "streams",
    )

    def __init__(
        self, scenario: Scenario, replication: int, controllers: tuple[Controller, ...] = ()
    ):
        self.scenario = scenario
        sim = scenario.simulation
        self.kernel = Kernel()
        self.streams = Streams(sim.seed, replication)
        self.stations, self.plans = compile_scenario(scenario, self.kernel, self.streams)
        self.controllers = controllers
        self.start = sim.warmup
        self.end = sim.warmup + sim.duration
        # clock time of simulated time 0: the measured interval starts at simulation.start
        self.offset = sim.start - sim.warmup
        w = scenario.workload
        self.curve = Curve(w.profile, normalize=w.daily_requests is not None)
        window = sim.window_s
        self.book = WindowBook(self.start, window, max(1, round(sim.duration / window)))
        self.plane = (
            ControlPlane(scenario, self.kernel, self.stations, self.streams)
            if wanted(scenario)
            else None
        )
        self.injector = (
            Injector(
                scenario,
                self.kernel,
                self.stations,
                self.plans,
                self.streams,
                self.offset,
                self.plane,
            )
            if scenario.fails
            else None
        )
        mark_direct(self.plans)  # failures may have changed what the stations track
        self.stationary = w.stationary and not controllers and self.injector is None
        self.n_stations = len(self.stations)
        self.no_time = [0.0] * self.n_stations
        """A new request's time per station (zero), copied for each."""
        self.ledger = Ledger(len(self.plans), self.n_stations, self.start, self.end, self.book)

    def start_request(self, index: int, waiter: Task | None = None) -> RequestState:
        req = RequestState(self.no_time[:], self.kernel.now, index, waiter)
        req.gen = self.request(req, index)
        self.kernel.start(req)
        return req

    def request(self, req: RequestState, index: int) -> Steps:
        kernel = self.kernel
        plan: RequestPlan = self.plans[index]
        ledger = self.ledger
        t0 = req.t0
        ledger.started += 1
        ledger.started_t0 += t0
        ledger.live.append(req)
        cause = yield from run_steps(req, plan.steps)
        if req.lag:  # its completion happens at its own time
            lag = req.lag
            req.lag = 0.0
            yield lag
        now = kernel.now
        req.done = True
        if req.waiter is not None:
            kernel.wake(req.waiter)
        if cause is None and (plan.timeout is None or now - t0 <= plan.timeout):
            ledger.t0.append(t0)  # Ledger.tally and settle account for it later
            ledger.t1.append(now)
            ledger.kind.append(index)
            ledger.spent.extend(req.spent)
        else:
            ledger.failed(t0, now, index, cause or "timeout")
        return None

    @property
    def in_system_area(self) -> float:
        return self.ledger.area(self.kernel.now)

    def snapshot(self) -> dict[str, Any]:
        return {name: st.snapshot() for name, st in self.stations.items()}

    def measures(self, a: dict[str, Any], b: dict[str, Any]) -> dict[str, StationMeasure]:
        return {name: st.measure(a[name], b[name]) for name, st in self.stations.items()}

    def _saturation_established(self, first: dict[str, Any], now: dict[str, Any]) -> bool:
        """Whether a stationary run has shown that it cannot keep up (see the constants)."""
        for m in self.measures(first, now).values():
            growth = m.backlog_growth
            if m.offered_load >= EARLY_STOP_LOAD and growth > max(
                50, EARLY_STOP_GROWTH * m.arrivals
            ):
                return True
        return False

    def run(self) -> ReplicationRecord:
        kernel, scenario = self.kernel, self.scenario
        timeouts = [p.timeout for p in self.plans]
        if scenario.workload.is_open:
            kernel.spawn(
                open_arrivals(
                    kernel, self.streams, scenario, self.curve, self.offset, self.start_request
                )
            )
        else:
            Population(
                kernel,
                self.streams,
                scenario,
                self.curve,
                self.offset,
                self.start_request,
                timeouts,
            ).begin()
        for controller in self.controllers:
            kernel.spawn(controller(kernel, self.stations))
        plane = self.plane
        if plane is not None:
            for process in plane.processes():
                kernel.spawn(process)
        if self.injector is not None:
            for process in self.injector.processes():
                kernel.spawn(process)
        ledger = self.ledger
        if self.start > 0:
            kernel.run(until=self.start)
        started0 = opened = ledger.started
        if plane is not None:
            plane.begin()
        first = self.snapshot()
        area0 = self.in_system_area
        book = self.book
        prev, prev_area = first, area0
        stopped_early = False
        for k in range(book.count):
            until = self.start + (k + 1) * book.window_s
            kernel.run(until=until)
            snap = self.snapshot()
            area = self.in_system_area  # tallies the ledger
            book.offered = ledger.started - opened
            opened = ledger.started
            book.close(
                self.measures(prev, snap),
                (area - prev_area) / book.window_s,
                plane.window() if plane is not None else None,
            )
            prev, prev_area = snap, area
            elapsed = until - self.start
            if (
                self.stationary
                and k + 1 >= EARLY_STOP_MIN_WINDOWS
                and elapsed >= EARLY_STOP_MIN_FRACTION * (self.end - self.start)
                and k + 1 < book.count
                and any(c.saturated for c in book.closed[-1].components.values())
                and (plane is None or plane.settled(self.start))
                and self._saturation_established(first, snap)
            ):
                ledger.settle()
                self.end = ledger.end = until  # later arrivals are not measured
                stopped_early = True
                break
        last, area1 = prev, prev_area
        measured = opened - started0  # arrivals in [start, end)
        if ledger.measured_live(measured):
            limit = (
                max(t for t in timeouts if t is not None)
                if all(t is not None for t in timeouts)
                else max(self.end - self.start, *(t or 0.0 for t in timeouts))
            )
            deadline = kernel.now + limit
            step = max(limit / 200, 1e-3)
            while ledger.measured_live(measured) and kernel.now < deadline:
                kernel.run(until=min(kernel.now + step, deadline))
        unfinished = ledger.unfinished(kernel.now, timeouts)
        return self.record(first, last, area1 - area0, unfinished, stopped_early)

    def record(
        self,
        first: dict[str, Any],
        last: dict[str, Any],
        area: float,
        unfinished: int,
        stopped_early: bool,
    ) -> ReplicationRecord:
        window = self.end - self.start
        ledger = self.ledger
        sketch = ledger.sketch
        types = {}
        for i, plan in enumerate(self.plans):
            types[plan.name] = TypeRecord(
                arrivals=ledger.arrivals(i),
                completed=sketch.count(i),
                errors=dict(sorted(ledger.errors[i].items())),
                latency=summarize(sketch, i),
                sojourn_sum_s=float(ledger.sojourn_sum[i]),
                spent_s=_spent(sketch, i, self.stations, plan.stations),
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
            components=self.measures(first, last),
            mean_in_system=area / window,
            unfinished=unfinished,
            visits={plan.name: plan.stations for plan in self.plans},
            windows=self.book.records(),
            stopped_early=stopped_early,
            mean_in_system_by_window=tuple(self.book.in_system),
            control=self.plane.record(self.start) if self.plane is not None else None,
        )


def run_replication(
    scenario: Scenario, replication: int, controllers: tuple[Controller, ...] = ()
) -> ReplicationRecord:
    """Simulate one independent replication; the result depends only on (scenario, seed,
    replication) and the controllers given."""
    # Hundreds of thousands of live request generators make every cyclic-GC pass scan
    # them all; the engine creates no reference cycles per request, so pausing the
    # collector for the run costs no memory and saves much of the time under overload.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _Replication(scenario, replication, controllers).run()
    finally:
        if was_enabled:
            gc.enable()

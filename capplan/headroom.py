"""Headroom: the largest load scale at which every SLO still holds.

The search brackets the answer with the utilization law (the scale at which the busiest
resource would reach 100%, a bound that ignores queueing) and narrows it by bisection,
simulating each candidate scale with the scenario's own replications and seed (common
random numbers, so neighbouring scales see the same customers). Three thresholds come out
of the same evaluations: where the SLOs hold on the point estimates (the answer), where
they hold on the upper ends of their 95% intervals (the interval's low end) and where
they are not yet beyond the lower ends (its high end).
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from capplan.api import run, run_all
from capplan.errors import SimulationError
from capplan.results.model import Constraint, Result
from capplan.scenario.model import Scenario
from capplan.sim.runner import Runner

Check = Callable[[Result], bool]


def _holds(result: Result) -> bool:
    return result.slos_hold


def _holds_surely(result: Result) -> bool:
    return all(
        o.value is not None and o.ci95 is not None and o.ci95[1] <= o.target
        for o in result.objectives
    )


def _may_hold(result: Result) -> bool:
    return all(
        o.value is not None and (o.ci95[0] if o.ci95 is not None else o.value) <= o.target
        for o in result.objectives
    )


class _Search:
    def __init__(
        self,
        scenario: Scenario,
        jobs: int | None,
        progress: Callable[[float, bool], None] | None,
        max_visits: float | None = None,
        runner: Runner | None = None,
        batch: int = 1,
    ):
        self.scenario = scenario
        self.runner = runner if runner is not None else Runner(jobs)
        self.max_visits = max_visits
        self.batch = batch
        """Scales a bisection step evaluates at once (1: plain bisection)."""
        self.progress = progress
        self.results: dict[float, Result] = {}

    def at(self, scale: float) -> Result:
        scale = float(f"{scale:.6g}")
        if scale not in self.results:
            result = run(
                self.scenario.model_copy(update={"load_scale": scale}),
                max_visits=self.max_visits,
                runner=self.runner,
            )
            self.results[scale] = result
            if self.progress:
                self.progress(scale, _holds(result))
        return self.results[scale]

    def at_many(self, scales: list[float]) -> None:
        """Simulate every scale not yet known in one batch on the runner, so that their
        replications run side by side."""
        todo = sorted({float(f"{s:.6g}") for s in scales} - set(self.results))
        if not todo:
            return
        batch = [self.scenario.model_copy(update={"load_scale": s}) for s in todo]
        for scale, result in zip(
            todo,
            run_all(batch, max_visits=self.max_visits, runner=self.runner),
            strict=True,
        ):
            self.results[scale] = result
            if self.progress:
                self.progress(scale, _holds(result))

    def threshold(
        self,
        check: Check,
        lo: float,
        hi: float,
        tolerance: float,
        max_scale: float,
        step: float = 2.0,
    ) -> tuple[float, float]:
        """(largest scale known to hold, smallest known to fail) for ``check``, within
        ``tolerance`` of each other, widening the bracket by ``step`` where it does not
        yet hold the answer; lo = 0 when even tiny loads fail."""
        while not check(self.at(lo)):
            hi, lo = lo, lo / step
            if lo < 1e-3:
                return 0.0, hi
        while check(self.at(hi)):
            lo, hi = hi, hi * step
            if hi > max_scale:
                return math.inf, math.inf
        while hi / lo - 1 > tolerance:
            if self.batch <= 1:
                mid = math.sqrt(lo * hi)
                lo, hi = (mid, hi) if check(self.at(mid)) else (lo, mid)
                continue
            # k-section: k scales evenly spaced (in ratio) inside the bracket, at once
            k = self.batch
            inside = [lo * (hi / lo) ** (i / (k + 1)) for i in range(1, k + 1)]
            self.at_many(inside)
            new_lo, new_hi = lo, hi
            for s in inside:
                if check(self.at(s)):
                    new_lo = s
                else:
                    new_hi = s
                    break
            lo, hi = new_lo, new_hi
        return lo, hi


def _first_breach(result: Result) -> dict[str, Any]:
    worst = max(result.missed, key=lambda o: math.inf if o.value is None else o.value / o.target)
    binding = result.constraints[0] if result.constraints else None
    if worst.name == "max_utilization":
        # the objective measures the component's utilization (busy workers, the busier
        # direction of a link, the more used quota): name that quantity, not another one
        c = result.components[worst.scope]
        resource = min(c.constraints, key=lambda k: abs(c.constraints[k] - c.utilization))
        binding = Constraint(worst.scope, resource, c.utilization)
    return {
        "slo": worst.name,
        "scope": worst.scope,
        "component": binding.component if binding else None,
        "resource": binding.resource if binding else None,
        "utilization": binding.utilization if binding else None,
    }


def headroom(
    scenario: Scenario,
    *,
    tolerance: float = 0.02,
    max_scale: float = 1000.0,
    jobs: int | None = None,
    progress: Callable[[float, bool], None] | None = None,
    max_visits: float | None = None,
    runner: Runner | None = None,
    batch: int = 1,
) -> dict[str, Any]:
    """The largest ``load_scale`` at which every SLO holds, with a 95% interval and the
    SLO and resource that break first. Scales are absolute (today = 1). ``runner``: where
    the candidates run (default: local processes for this search). ``batch``: scales
    each narrowing step evaluates at once (more finish sooner on several workers; the
    answer moves within the tolerance; it does not depend on the workers)."""
    search = _Search(scenario, jobs, progress, max_visits, runner=runner, batch=batch)
    with contextlib.nullcontext() if runner is not None else search.runner:
        return _headroom(search, scenario, tolerance, max_scale)


def _headroom(
    search: _Search, scenario: Scenario, tolerance: float, max_scale: float
) -> dict[str, Any]:
    base = scenario.load_scale
    start = search.at(base)
    if not start.objectives:
        raise SimulationError(f"{scenario.name}: headroom needs at least one SLO to hold")
    busiest = max((c.utilization for c in start.constraints), default=0.0)
    # utilization law: the busiest resource reaches 100% near base / busiest, and SLOs
    # break before that; queueing makes it an upper bound
    hi = base / busiest if 0 < busiest < 1 else base * 2
    lo_point, hi_point = search.threshold(_holds, base, max(hi, base * 1.05), tolerance, max_scale)
    if math.isinf(lo_point):
        raise SimulationError(
            f"{scenario.name}: SLOs still hold at {max_scale:g}x; no headroom limit found"
        )
    # the interval's ends lie close to the answer: widen from it in small steps
    near = 1 + 5 * tolerance
    lo_sure, _ = search.threshold(
        _holds_surely, lo_point / near, lo_point, tolerance, max_scale, near
    )
    lo_maybe, _ = search.threshold(_may_hold, lo_point, hi_point, tolerance, max_scale, near)
    breach_at = min(s for s, r in search.results.items() if not _holds(r))
    return {
        "scenario": scenario.name,
        "max_load_scale": lo_point,
        "ci95": [lo_sure, max(lo_maybe, lo_point)],
        "first_breach": {"load_scale": breach_at, **_first_breach(search.results[breach_at])},
        "tolerance": tolerance,
        "evaluations": [
            {
                "load_scale": s,
                "holds": _holds(r),
                "holds_upper_ci": _holds_surely(r),
                "holds_lower_ci": _may_hold(r),
            }
            for s, r in sorted(search.results.items())
        ],
    }


KNEE_FACTOR = 2.0
"""The knee of a latency curve: where p95 first reaches this many times its value at the
lowest load simulated."""

CURVE_POINTS = 8
"""At least this many load scales on a curve below the first breach."""


def load_curve(
    scenario: Scenario,
    *,
    tolerance: float = 0.05,
    jobs: int | None = None,
    progress: Callable[[float, bool], None] | None = None,
    runner: Runner | None = None,
    known: Result | dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Latency against load: the headroom search's evaluations, a few more scales so the
    curve has at least :data:`CURVE_POINTS` below the first breach, and one past the
    utilization-law saturation point. Returns the headroom answer, the points (latency
    percentiles with their 95% intervals; None where saturated), the knee and the
    saturation scale. ``known``: the result already simulated at the scenario's own scale
    (the same seed gives the same result, so it is not simulated again)."""
    search = _Search(scenario, jobs, progress, runner=runner)
    if known is not None:
        search.results[float(f"{scenario.load_scale:.6g}")] = (
            known if isinstance(known, Result) else Result.of(known)
        )
    with contextlib.nullcontext() if runner is not None else search.runner:
        h = _headroom(search, scenario, tolerance, 1000.0)
        breach = h["first_breach"]["load_scale"]
        low = min(search.results)
        # the utilization law from the lightest load simulated (a scenario saturated at
        # its own scale is searched downwards, so this is below saturation if anything is)
        busiest = max((c.utilization for c in search.at(low).constraints), default=0.0)
        saturation = low / busiest if 0 < busiest < 1 else None
        for k in range(1, CURVE_POINTS):
            search.at(low + (breach - low) * k / CURVE_POINTS)
        if saturation is not None and saturation * 1.1 > max(search.results):
            search.at(saturation * 1.1)
    points = []
    for scale, r in sorted(search.results.items()):
        lat = r.latency
        points.append(
            {
                "load_scale": scale,
                "holds": _holds(r),
                "saturated": r.saturated,
                "latency_s": {k: lat.get(k) for k in ("p50", "p95", "p99")},
                "ci95": {k: _listed(lat.ci95[k]) for k in ("p50", "p95", "p99")},
                "throughput_rps": r.throughput_rps,
                "busiest": asdict(r.constraints[0]) if r.constraints else None,
            }
        )
    return {
        "scenario": scenario.name,
        "headroom": h,
        "points": points,
        "knee": _knee(points),
        "saturation_scale": saturation,
    }


def _listed(ci: tuple[float, float] | None) -> list[float] | None:
    """An interval as the JSON form writes it."""
    return None if ci is None else [ci[0], ci[1]]


def _knee(points: list[dict[str, Any]]) -> float | None:
    """Where p95 first reaches KNEE_FACTOR x its lowest-load value (linear between points)."""
    valid = [(p["load_scale"], p["latency_s"]["p95"]) for p in points]
    valid = [(s, v) for s, v in valid if v is not None]
    if len(valid) < 2 or valid[0][1] <= 0:
        return None
    level = KNEE_FACTOR * valid[0][1]
    for (s0, v0), (s1, v1) in itertools.pairwise(valid):
        if v1 >= level:
            return s0 + (s1 - s0) * (level - v0) / (v1 - v0) if v1 > v0 else s1
    return None


def describe(h: dict[str, Any]) -> str:
    """One line: 'meets SLOs up to 6.4x today's load (6.1-6.7); first breach: ...'."""
    lo, hi = h["ci95"]
    b = h["first_breach"]
    where = ""
    if b["component"]:
        util = f" at {b['utilization'] * 100:.0f}%" if b["utilization"] is not None else ""
        where = f", {b['component']} {b['resource'].replace('_', ' ')}{util}"
    scope = "" if b["scope"] == "all" else f" [{b['scope']}]"
    return (
        f"{h['scenario']}: meets SLOs up to {h['max_load_scale']:.2f}x today's load "
        f"({lo:.2f}-{hi:.2f}); first breach: {b['slo']}{scope}{where}"
    )

"""An instant analytic approximation of a whole scenario, for quick what-if loops.

Each step's execution rate follows from the arrival rate, the mix and the probabilities,
repeats and cache hit ratios above it. Holding times are solved bottom-up through the
call graph: a visit holds its worker for its own mean service time plus the mean response
of its nested calls, and each component's queueing delay comes from Allen-Cunneen M/G/c
(one shared queue) or M/G/w per replica. Links are M/G/1 per direction with their
background traffic; an LLM API admits min(offered, quota) and answers in its mean
latency. Means only: no percentiles and no confidence intervals. It is an approximation
and every output says so; the simulation is the reference.

The pooled treatment is the default here; a kind with its own (links, LLM APIs, delays)
gives it as its ``analytic`` hook (:mod:`capplan.kinds`).
"""

from __future__ import annotations

import math
from typing import Any

from capplan.analytic.crosscheck import mgc_wait, queues_of
from capplan.errors import SimulationError
from capplan.kinds import kind_of
from capplan.scenario.external import LinkComponent
from capplan.scenario.graph import waits_on
from capplan.scenario.model import Scenario, Step


class _Model:
    def __init__(self, scenario: Scenario, rate: float):
        self.s = scenario
        self.rate: dict[int, float] = {}  # executions per second of each step (by id)
        self.calls: dict[str, list[Step]] = {name: [] for name in scenario.components}
        self.payloads: dict[tuple[str, int], list[tuple[float, float]]] = {}
        mix = scenario.mix()
        for rname, rtype in scenario.requests.items():
            self._walk(rtype.steps, rate * mix[rname])
        self.comps: dict[str, dict[str, Any]] = {}
        self.link_wait: dict[tuple[str, int], float] = {}
        """Mean wait of a payload for a link's direction (set by the link kind)."""
        self.answer: dict[str, float] = {}
        """Mean response of components that answer in a time of their own, not a hold
        (an LLM API)."""

    def _walk(self, steps: list[Step], rate: float) -> None:
        for step in steps:
            r = rate * step.probability * step.repeat
            if step.call is None:  # a choice: each branch at its share of the rate
                for share, branch in step.branches():
                    self._walk(branch, r * share)
                continue
            self.rate[id(step)] = self.rate.get(id(step), 0.0) + r
            self.calls[step.call].append(step)
            if step.via is not None:
                for direction, size in ((0, step.request_bytes), (1, step.response_bytes)):
                    if size:
                        self.payloads.setdefault((step.via, direction), []).append((r, size))
            self._walk(step.steps, r)
            self._walk(step.on_miss, r * self.miss(step))

    def miss(self, step: Step) -> float:
        """Share of the step's calls that miss (0 for kinds that do not)."""
        assert step.call is not None
        hits = kind_of(self.s.components[step.call]).hit_ratio
        return 1 - hits(self.s, step.call, step)[0] if hits is not None else 0.0

    def visits(self, name: str) -> float:
        return sum(self.rate[id(s)] for s in {id(s): s for s in self.calls[name]}.values())

    def pooled(self, name: str, c: Any) -> None:
        """The default treatment: M/G/c, one queue per replica or one shared queue."""
        steps = list({id(s): s for s in self.calls[name]}.values())
        weights = [self.rate[id(s)] for s in steps]
        lam = sum(weights)
        mean_hold = (
            sum(w * self.hold(s) for w, s in zip(weights, steps, strict=True)) / lam
            if lam
            else c.service_time.mean
        )
        queues, workers = queues_of(c)
        # a hold that includes nested calls has an unknown spread: take it as exponential
        scv = 1.0 if any(s.steps for s in steps) else c.service_time.scv
        wait = mgc_wait(lam / queues, mean_hold, workers, scv)
        util = lam / queues * mean_hold / workers
        self.comps[name] = {
            "utilization": util,
            "mean_wait_s": wait,
            "saturated": util >= 1,
            "arrival_rps": lam,
        }

    # -- times ----------------------------------------------------------------------------

    def hold(self, step: Step) -> float:
        assert step.call is not None
        c = self.s.components[step.call]
        own = (step.service_time or getattr(c, "service_time")).mean  # noqa: B009
        return own + sum(s.probability * s.repeat * self.response(s) for s in step.steps)

    def response(self, step: Step) -> float:
        """Mean time one execution of ``step`` takes, link transfers included."""
        if step.call is None:
            return sum(
                share * sum(s.probability * s.repeat * self.response(s) for s in branch)
                for share, branch in step.branches()
            )
        if step.call in self.answer:
            t = self.answer[step.call]
        else:
            t = self.comps[step.call]["mean_wait_s"] + self.hold(step)
        if step.on_miss:
            t += self.miss(step) * sum(
                s.probability * s.repeat * self.response(s) for s in step.on_miss
            )
        if step.via is not None:
            link = self.s.components[step.via]
            assert isinstance(link, LinkComponent)
            for direction, size in ((0, step.request_bytes), (1, step.response_bytes)):
                if size:
                    t += self.link_wait[(step.via, direction)] + size * 8 / link.bandwidth
                t += link.latency
        return t


def analyze(scenario: Scenario) -> dict[str, Any]:
    """Approximate utilization and waits per component and mean latency per request type."""
    if not scenario.workload.is_open:
        raise SimulationError(
            "the analytic approximation covers open workloads (arrival_rate or daily_requests) only"
        )
    graph = waits_on(scenario)
    for name, below in graph.items():
        if name in below:
            raise SimulationError(
                f"components.{name}: waits on itself; the analytic model needs a call graph without cycles"
            )
    m = _Model(scenario, scenario.arrival_rate)
    # callees first: a component waits on a strict subset of what its callers wait on
    for name in sorted(scenario.components, key=lambda n: len(graph[n])):
        c = scenario.components[name]
        treat = kind_of(c).analytic
        if treat is None:
            m.pooled(name, c)
        else:
            treat(m, name, c)
    mix = scenario.mix()
    requests: dict[str, Any] = {}
    for rname, rtype in scenario.requests.items():
        t = sum(s.probability * s.repeat * m.response(s) for s in rtype.steps)
        requests[rname] = {"latency_mean_s": None if math.isinf(t) else t}
    means = [(mix[r], v["latency_mean_s"]) for r, v in requests.items()]
    overall = (
        None if any(v is None for _, v in means) else sum(w * v for w, v in means if v is not None)
    )

    def finite(x: float) -> float | None:
        return None if math.isinf(x) else x

    return {
        "approximation": True,
        "scenario": scenario.name,
        "load_scale": scenario.load_scale,
        "arrival_rate_rps": scenario.arrival_rate,
        "latency_mean_s": overall,
        "requests": requests,
        "components": {
            n: {k: finite(v) if isinstance(v, float) else v for k, v in c.items()}
            for n, c in m.comps.items()
        },
        "saturated_components": sorted(n for n, c in m.comps.items() if c["saturated"]),
    }

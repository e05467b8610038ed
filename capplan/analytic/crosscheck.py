"""Queueing theory beside every simulation: per component, what Erlang C predicts from the
simulated arrival rate and holding time, flagged where the two disagree and the formula
applies; and the asymptotic throughput bound.

The prediction uses the Allen-Cunneen approximation, M/M/c's wait scaled by
(1 + cs²)/2 with cs² the holding time's squared coefficient of variation, exact for
M/M/c and a good approximation for M/G/c. It *applies* where one FIFO queue feeds the
workers (a single pool, or ``shared_queue``), the workload is open (Poisson arrivals),
there is no queue limit, the CPU is not shared (``cpu_model: fixed``) and the component
is not saturated; elsewhere (per-replica queues behind round robin, bounded queues, a
contended CPU) it is shown but not used to flag.

Only exact results flag a disagreement, so that a flag points at the simulation and never
at the formula: utilization against the utilization law (an identity), and the mean wait
where the holding time is exponential (a declared exponential service time and no nested
calls, so M/M/c holds, as it does at each station of an open Jackson network). Elsewhere
the wait is an approximation, shown with its usual error and never flagged.
"""

from __future__ import annotations

import math
from typing import Any

from capplan.analytic.queues import erlang_c
from capplan.scenario.distributions import Exponential
from capplan.scenario.graph import waits_on
from capplan.scenario.model import Scenario

WAIT_TOLERANCE = 0.20
"""Relative gap in mean wait beyond which simulation and theory are flagged."""
UTILIZATION_TOLERANCE = 0.03
"""Relative gap in utilization beyond which they are flagged (Little's law: should agree)."""
UTILIZATION_FLOOR = 0.002
"""...and absolute gap: a window's edges (work begun but not finished in it) shift a
nearly idle component's figures by more than 3% of almost nothing."""
NEGLIGIBLE_WAIT = 0.05
"""Waits under this fraction of the holding time are too small to compare relatively."""
APPROXIMATE = "approximate: Allen-Cunneen is often 10-30% off M/G/c's wait when cs² is far from 1"
"""What an inexact wait is shown with."""


def distinct(a: float, b: float, digits: int = 3) -> tuple[str, str]:
    """Two numbers with enough significant digits that different values never print the
    same ('0.0201' vs '0.0196', not '0.02' vs '0.02')."""
    for d in range(digits, 12):
        sa, sb = f"{a:.{d}g}", f"{b:.{d}g}"
        if sa != sb or a == b:
            return sa, sb
    return repr(a), repr(b)


def mgc_wait(lam: float, mean_s: float, c: int, scv: float) -> float:
    """Mean wait in queue of M/G/c by Allen-Cunneen; inf when unstable."""
    a = lam * mean_s
    if a >= c:
        return math.inf
    if a == 0:
        return 0.0
    return erlang_c(c, a) / (c / mean_s - lam) * (1 + scv) / 2


def queues_of(component: Any) -> tuple[int, int]:
    """(number of FIFO queues, workers behind each) of a pooled component."""
    shards = getattr(component, "shards", 1)
    pods = component.pods
    if component.load_balancing == "shared_queue":
        return shards, pods // shards * component.workers
    return pods, component.workers


def exponential_hold(scenario: Scenario, name: str) -> bool:
    """Whether the component's workers are held for an exponential time: its service time
    is declared exponential and it calls nothing while it holds them."""
    service = getattr(scenario.components[name], "service_time", None)
    return isinstance(service, Exponential) and not waits_on(scenario)[name]


def _pooled(
    component: Any, c: dict[str, Any], poisson: bool, exact: bool = False
) -> dict[str, Any]:
    queues, workers = queues_of(component)
    lam = c["throughput_rps"] / queues
    hold, scv = c["mean_hold_s"], c["hold_scv"]
    wait = mgc_wait(lam, hold, workers, scv)
    util = lam * hold / workers
    applies = (
        poisson
        and (queues == 1 or component.load_balancing == "shared_queue")
        and getattr(component, "read_replicas", 0) == 0
        and component.queue_limit is None
        # a shared CPU makes the service rate depend on how many are in service
        and getattr(component, "cpu_model", "fixed") == "fixed"
        and not c["saturated"]
        and util < 0.95
    )
    reasons = []
    if applies:
        if abs(c["utilization"] - util) > max(UTILIZATION_TOLERANCE * util, UTILIZATION_FLOOR):
            a, b = distinct(c["utilization"] * 100, util * 100)
            reasons.append(f"utilization {a}% vs {b}%")
        if (
            exact
            and wait > NEGLIGIBLE_WAIT * hold
            and abs(c["mean_wait_s"] - wait) > WAIT_TOLERANCE * wait
        ):
            a, b = distinct(c["mean_wait_s"] * 1000, wait * 1000)
            reasons.append(f"mean wait {a}ms vs {b}ms")
    plural = "s" if queues > 1 else ""
    model = (
        f"M/M/{workers} (exact), {queues} queue{plural}"
        if exact
        else f"M/G/{workers} (Allen-Cunneen), {queues} queue{plural}"
    )
    return {
        "model": model,
        "utilization": util,
        "mean_wait_s": None if math.isinf(wait) else wait,
        "exact": exact,
        "applies": applies,
        "disagrees": bool(reasons),
        "why": "; ".join(reasons) if reasons or exact else APPROXIMATE,
    }


def _llm(component: Any, c: dict[str, Any]) -> dict[str, Any]:
    offered_calls = c["calls_per_min"] - c["cache_hits_per_min"]
    tokens_per_call = c["tokens_per_min"] / c["requests_per_min"] if c["requests_per_min"] else 0.0
    rl = component.rate_limit
    quota = (
        min(rl.requests_per_minute, rl.tokens_per_minute / tokens_per_call)
        if tokens_per_call
        else rl.requests_per_minute
    )
    # in the long run a token bucket admits what is offered up to its refill rate; retries
    # only delay what it cannot take
    predicted = min(offered_calls, quota)
    disagrees = abs(c["requests_per_min"] - predicted) > 0.05 * max(predicted, 1e-9)
    return {
        "model": "token buckets: admitted = min(offered, rpm, tpm / tokens per call)",
        "requests_per_min": predicted,
        "exact": True,  # the long-run rate a token bucket admits
        "applies": True,
        "disagrees": disagrees,
        "why": "admitted {}/min vs {}/min".format(*distinct(c["requests_per_min"], predicted))
        if disagrees
        else "",
    }


def crosscheck(scenario: Scenario, result: dict[str, Any]) -> dict[str, Any]:
    """The ``analytic`` section of a result."""
    comps: dict[str, Any] = {}
    for name, component in scenario.components.items():
        c = result["components"][name]
        if "mean_hold_s" in c:
            exact = exponential_hold(scenario, name)
            comps[name] = _pooled(component, c, scenario.workload.is_open, exact)
        elif "tokens_per_min" in c:
            comps[name] = _llm(component, c)
    bound = None
    x = result["throughput_rps"]
    busy = [con for con in result["constraints"] if con["utilization"] > 0]
    if x > 0 and busy:
        # utilization law: each resource caps throughput at X / U
        top = max(busy, key=lambda con: con["utilization"])
        bound = {
            "rps": x / top["utilization"],
            "component": top["component"],
            "resource": top["resource"],
        }
    return {
        "components": comps,
        "throughput_bound": bound,
        "disagreements": sorted(n for n, v in comps.items() if v["disagrees"]),
    }

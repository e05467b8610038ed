"""Sizing to survive a failure: the fewest service replicas such that the SLOs hold at the
projected load with one zone gone.

Pods are spread evenly over ``kubernetes.zones`` (the rendered topology spread constraint
on the zone, made required by this sizing), so a zone takes at most ``ceil(n / zones)``
of a service's ``n`` pods. Starting from the steady sizing's counts (what the load needs
with every pod up), each service gets the fewest ``n`` whose survivors,
``n - ceil(n / zones)``, are at least that need. The candidate is then simulated with the
zone holding most pods out for the whole run (no replacement) and every pooled component
losing its share, stateful ones included; where an objective is still missed, the service
holding most of the slowest requests' time gets one more pod per zone, up to a few rounds.
"""

from __future__ import annotations

import math
from typing import Any

from capplan.api import simulate
from capplan.errors import SimulationError
from capplan.scenario.failures import Failures, ZoneOutage
from capplan.scenario.model import Scenario
from capplan.sim.runner import Runner

SURVIVABLE = ("zone_outage",)
ROUNDS = 4


def survivors(n: int, zones: int) -> int:
    """Pods left of ``n`` spread evenly over ``zones`` when the fullest zone is gone."""
    return n - math.ceil(n / zones)


def to_survive(need: int, zones: int) -> int:
    """The fewest pods whose survivors of a zone outage are at least ``need``."""
    n = need
    while survivors(n, zones) < need:
        n += 1
    return n


def without_a_zone(s: Scenario) -> Scenario:
    """``s`` with its first zone (the fullest) out for the whole run, never replaced."""
    sim = s.simulation
    outage = ZoneOutage.model_construct(
        kind="zone_outage",
        at=sim.start - sim.warmup,  # from the first instant, warm-up included
        zone="a",
        duration=sim.warmup + sim.duration + 1.0,
        replace_after=sim.warmup + sim.duration + 1.0,
    )
    return s.model_copy(update={"failures": Failures.model_construct(random={}, events=[outage])})


def survive(
    s: Scenario,
    need: dict[str, int],
    failure: str,
    runner: Runner,
    max_visits: float | None,
) -> dict[str, Any]:
    """Replicas per service that keep the SLOs through ``failure``, confirmed by
    simulation (see the module docstring)."""
    from capplan.sizing import held, with_replicas

    if failure not in SURVIVABLE:
        raise SimulationError(f"--survive {failure}: can size for {', '.join(SURVIVABLE)}")
    zones = s.kubernetes.zones
    if zones < 2:
        raise SimulationError(
            f"{s.name}: kubernetes.zones is 1, so a zone outage takes every pod; give the "
            "zones the cluster spans"
        )
    replicas = {n: to_survive(r, zones) for n, r in need.items()}
    unmet = None
    result: dict[str, Any] = {}
    for _ in range(ROUNDS):
        result = simulate(
            held(without_a_zone(with_replicas(s, replicas))), max_visits=max_visits, runner=runner
        )
        missed = [r for r in result["slos"] if not r["passed"]]
        if not missed:
            unmet = None
            break
        comps = result["components"]
        culprit = max(replicas, key=lambda n: comps[n]["latency_share_p95"])
        unmet = (
            f"{', '.join(sorted({r['name'] for r in missed}))} missed with zone a out; "
            f"{culprit} holds {comps[culprit]['latency_share_p95'] * 100:.0f}% of the slowest "
            "requests' time"
        )
        if comps[culprit]["latency_share_p95"] < 0.05:
            break  # no service to add to: a store or a quota is what the zone took
        replicas[culprit] += zones
    return {
        "failure": failure,
        "zones": zones,
        "replicas": replicas,
        "survivors": {n: survivors(r, zones) for n, r in replicas.items()},
        "slos_met": unmet is None,
        "unmet": unmet,
        "result": result,
    }

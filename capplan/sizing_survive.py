"""Sizing to survive a failure: the fewest service replicas such that the SLOs hold at the
projected load with one zone gone, or one node.

Pods are spread evenly over ``kubernetes.zones`` (the rendered topology spread constraint
on the zone, made required by this sizing), so a zone takes at most ``ceil(n / zones)``
of a service's ``n`` pods. Starting from the steady sizing's counts (what the load needs
with every pod up), each service gets the fewest ``n`` whose survivors,
``n - ceil(n / zones)``, are at least that need. The candidate is then simulated with the
zone holding most pods out for the whole run (no replacement) and every pooled component
losing its share, stateful ones included; where an objective is still missed, the service
holding most of the slowest requests' time gets one more pod per zone, up to a few rounds.

For a node (with ``costs``, whose nodes are then live): each service starts one pod above
its need (a node holds at least one of its pods) and the candidate is simulated with the
fullest node lost from the first instant, its pods recreated where the other nodes have
room and pending otherwise, and no node coming in the run; where an objective is missed,
the service holding most of the slowest requests' time gets one more pod.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from capplan.errors import SimulationError
from capplan.results.model import Result
from capplan.scenario.failures import Failures, NodeLoss, ZoneOutage
from capplan.scenario.model import Scenario
from capplan.searches import Ahead, Search, drive
from capplan.sim.runner import Runner

SURVIVABLE = ("zone_outage", "node_loss")
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


def without_a_node(s: Scenario) -> Scenario:
    """``s`` with its fullest node lost from the first instant: the pods on it recreated
    where the other nodes have room and pending otherwise, with no node coming in the
    run (neither the node group's replacement nor the autoscaler's), and no HPA acting:
    what the nodes left can carry."""
    assert s.costs is not None
    sim = s.simulation
    never = 10 * (sim.warmup + sim.duration) + 3600.0
    costs = s.costs.model_copy(
        update={
            "node": s.costs.node.model_copy(update={"replacement": never, "mtbf": None}),
            "cluster": s.costs.cluster.model_copy(update={"node_startup": never}),
        }
    )
    comps = {
        n: c.model_copy(update={"autoscaling": None}) if getattr(c, "autoscaling", None) else c
        for n, c in s.components.items()
    }
    loss = NodeLoss.model_construct(kind="node_loss", at=sim.start - sim.warmup, count=1)
    return s.model_copy(
        update={
            "costs": costs,
            "components": comps,
            "simulation": sim.model_copy(update={"autoscale": True}),
            "failures": Failures.model_construct(random={}, events=[loss]),
        }
    )


def without_a_zone(s: Scenario) -> Scenario:
    """``s`` with its first zone (the fullest) out for the whole run, never replaced, and
    the zone spread required, as the sizing renders it (with live nodes the scheduler
    then spreads every component's pods evenly, the first zone taking any extra)."""
    sim = s.simulation
    outage = ZoneOutage.model_construct(
        kind="zone_outage",
        at=sim.start - sim.warmup,  # from the first instant, warm-up included
        zone="a",
        duration=sim.warmup + sim.duration + 1.0,
        replace_after=sim.warmup + sim.duration + 1.0,
    )
    k8s = s.kubernetes.model_copy(update={"zone_spread": "required"})
    return s.model_copy(
        update={
            "failures": Failures.model_construct(random={}, events=[outage]),
            "kubernetes": k8s,
        }
    )


def survive(
    s: Scenario,
    need: dict[str, int],
    failure: str,
    runner: Runner,
    max_visits: float | None,
    batch: int = 1,
) -> dict[str, Any]:
    """Replicas per service that keep the SLOs through ``failure``, confirmed by
    simulation (see the module docstring). With ``batch`` K, a round that adds to a
    service also simulates its next K - 1 additions (:mod:`capplan.searches`); the answer
    does not depend on K."""
    from capplan.sizing import held

    if failure not in SURVIVABLE:
        raise SimulationError(f"--survive {failure}: can size for {', '.join(SURVIVABLE)}")
    zones = s.kubernetes.zones
    if failure == "zone_outage":
        if zones < 2:
            raise SimulationError(
                f"{s.name}: kubernetes.zones is 1, so a zone outage takes every pod; give "
                "the zones the cluster spans"
            )
        replicas = {n: to_survive(r, zones) for n, r in need.items()}
        step = zones

        def confirm(candidate: Scenario) -> Scenario:
            return held(without_a_zone(candidate))
    else:
        if s.costs is None:
            raise SimulationError(
                f"{s.name}: surviving a node's loss needs the nodes: give costs (node, cluster)"
            )
        replicas = {n: r + 1 for n, r in need.items()}  # a node holds at least one pod
        step = 1

        def confirm(candidate: Scenario) -> Scenario:
            return without_a_node(candidate)

    (found,) = drive(
        [_search(s, replicas, step, failure, confirm, batch)], runner, max_visits=max_visits
    )
    return found


def _search(
    s: Scenario,
    replicas: dict[str, int],
    step: int,
    failure: str,
    confirm: Callable[[Scenario], Scenario],
    batch: int,
) -> Search[dict[str, Any]]:
    from capplan.sizing import with_replicas

    zones = s.kubernetes.zones
    ahead = Ahead(lambda reps: confirm(with_replicas(s, reps)), batch)
    unmet = None
    result: Result | None = None
    culprit: str | None = None
    for _ in range(ROUNDS):
        guesses = []
        if culprit is not None:
            guesses = [{**replicas, culprit: replicas[culprit] + k * step} for k in range(1, batch)]
        result = yield from ahead.get(dict(replicas), guesses)
        missed = result.missed
        if not missed:
            unmet = None
            break
        comps = result.components
        culprit = max(replicas, key=lambda n: comps[n].latency_share_p95)
        gone = "zone a out" if failure == "zone_outage" else "the fullest node lost"
        unmet = (
            f"{', '.join(sorted({o.name for o in missed}))} missed with {gone}; "
            f"{culprit} holds {comps[culprit].latency_share_p95 * 100:.0f}% of the slowest "
            "requests' time"
        )
        if comps[culprit].latency_share_p95 < 0.05:
            break  # no service to add to: a store or a quota is what the zone took
        replicas[culprit] += step
    assert result is not None  # ROUNDS >= 1
    return {
        "failure": failure,
        "zones": zones,
        "replicas": replicas,
        "survivors": {
            n: survivors(r, zones) if failure == "zone_outage" else None
            for n, r in replicas.items()
        },
        "slos_met": unmet is None,
        "unmet": unmet,
        "result": result,
    }

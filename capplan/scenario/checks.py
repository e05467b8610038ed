"""Checks across fields of a valid scenario, each located at the key it concerns: what no
single field's type can say (a window that does not divide the run, a spike outside it)."""

from __future__ import annotations

import itertools

from capplan.errors import Problem
from capplan.kinds import KINDS, as_deployment, as_pooled
from capplan.scenario.failures import ZONE_NAMES
from capplan.scenario.model import Scenario
from capplan.scenario.units import format_clock, format_duration


def _check_window(s: Scenario) -> list[Problem]:
    sim = s.simulation
    if sim.window is None:
        return []
    if sim.window > sim.duration:
        return [
            s.problem(
                ("simulation", "window"),
                f"longer than the run ({format_duration(sim.duration)})",
                format_duration(sim.window),
            )
        ]
    n = sim.duration / sim.window
    if abs(n - round(n)) > 1e-9 * n:
        return [
            s.problem(
                ("simulation", "window"),
                f"must divide the run ({format_duration(sim.duration)}) into whole windows",
                format_duration(sim.window),
            )
        ]
    return []


def _check_profile(s: Scenario) -> list[Problem]:
    w = s.workload
    p = w.profile
    if p is None:
        return []
    found = []
    if w.daily_requests is not None and not p.periodic and (p.points or p.ramp or p.step):
        found.append(
            s.problem(
                ("workload", "profile"),
                "with daily_requests the profile's mean over its period sets the rate: give "
                "'points' with a 'period', or 'diurnal'",
            )
        )
    if w.peak_factor != 1.0:
        found.append(
            s.problem(
                ("workload", "peak_factor"),
                "a profile gives the peak; leave peak_factor out",
                w.peak_factor,
            )
        )
    sim = s.simulation
    first, last = sim.start - sim.warmup, sim.start + sim.duration
    for i, spike in enumerate(p.spikes):
        if spike.at >= last or spike.at + spike.duration <= first:
            found.append(
                s.problem(
                    ("workload", "profile", "spikes", i, "at"),
                    f"the spike lies outside the run ({format_clock(first)} to "
                    f"{format_clock(last)})",
                    format_clock(spike.at),
                )
            )
    return found


def _check_autoscaling(s: Scenario) -> list[Problem]:
    found = []
    for name, c in s.components.items():
        hpa = getattr(c, "autoscaling", None)
        if hpa is None:
            continue
        at = ("components", name, "autoscaling")
        svc = as_deployment(c)
        if svc is None:
            found.append(
                s.problem(
                    at,
                    f"an HPA scales a Deployment; a {c.type} does not autoscale here (give "
                    "it the replicas it needs)",
                )
            )
            continue
        c = svc
        res = c.resources
        if hpa.cpu_target is not None and (
            c.cpu_per_request is None or res is None or res.requests is None or not res.requests.cpu
        ):
            found.append(
                s.problem(
                    (*at, "cpu_target"),
                    "the HPA measures CPU used against CPU requested: give the component "
                    "cpu_per_request and resources.requests.cpu",
                    f"{hpa.cpu_target:.0%}",
                )
            )
        if hpa.memory_target is not None and (
            c.memory is None or res is None or res.requests is None or not res.requests.memory
        ):
            found.append(
                s.problem(
                    (*at, "memory_target"),
                    "the HPA measures memory used against memory requested: give the "
                    "component memory (base, per_request) and resources.requests.memory",
                    f"{hpa.memory_target:.0%}",
                )
            )
    return found


POOLED = tuple(k.type for k in KINDS.values() if k.pooled)
"""Component types made of pods that fail and restart."""


NEEDS_NODES = (
    "nodes are simulated only when they are live: give costs (node, cluster) and leave "
    "simulation.autoscale on"
)


def _check_failures(s: Scenario) -> list[Problem]:
    found = []
    if s.costs is not None and s.costs.node.mtbf is not None and not s.simulation.autoscale:
        found.append(s.problem(("costs", "node", "mtbf"), NEEDS_NODES))
    f = s.failures
    if f is None:
        return found

    def target(at: tuple[str | int, ...], name: str, types: tuple[str, ...]) -> None:
        c = s.components.get(name)
        if c is None:
            known = ", ".join(s.components)
            found.append(s.problem(at, f"no such component (components: {known})", name))
        elif c.type not in types:
            found.append(
                s.problem(at, f"a {c.type} cannot fail this way (only: {', '.join(types)})", name)
            )

    for name in f.random:
        target(("failures", "random", name), name, POOLED)
    live_nodes = s.costs is not None and s.simulation.autoscale
    sim = s.simulation
    first, last = sim.start - sim.warmup, sim.start + sim.duration
    zones = ZONE_NAMES[: s.kubernetes.zones]
    for i, event in enumerate(f.events):
        at = ("failures", "events", i)
        if event.kind == "node_loss":
            if not live_nodes:
                found.append(s.problem((*at, "kind"), NEEDS_NODES, event.kind))
        elif event.kind == "zone_outage":
            if event.zone not in zones:
                found.append(
                    s.problem(
                        (*at, "zone"),
                        f"no such zone: kubernetes.zones is {len(zones)} ({', '.join(zones)})",
                        event.zone,
                    )
                )
        else:
            types = {"llm_api": ("llm_api",), "failover": ("database",), "link": ("link",)}
            target((*at, "target"), event.target, types.get(event.kind, POOLED))
            c = s.components.get(event.target)
            if event.kind == "failover" and c is not None and c.type == "database":
                shards = getattr(c, "shards", 1)
                if event.shard > shards:
                    found.append(
                        s.problem(
                            (*at, "shard"), f"{event.target} has {shards} shard(s)", event.shard
                        )
                    )
        if event.at >= last or f.end(event) < first:
            found.append(
                s.problem(
                    (*at, "at"),
                    f"the event lies outside the run ({format_clock(first)} to "
                    f"{format_clock(last)})",
                    format_clock(event.at),
                )
            )
    spans: dict[str, list[tuple[float, float, int]]] = {}
    for i, event in enumerate(f.events):
        if event.kind in ("brownout", "llm_api", "link"):
            spans.setdefault(event.target, []).append((event.at, f.end(event), i))
    for name, events in spans.items():
        events.sort()
        for (_, end, _), (begin, _, j) in itertools.pairwise(events):
            if begin < end:
                found.append(
                    s.problem(
                        ("failures", "events", j, "at"),
                        f"overlaps another degradation of {name}: give one event with "
                        "the combined effect",
                        format_clock(begin),
                    )
                )
    return found


def check(s: Scenario) -> list[Problem]:
    """Every cross-field problem of ``s``."""
    return (
        _check_window(s)
        + _check_profile(s)
        + _check_autoscaling(s)
        + _check_failures(s)
        + _check_cpu_model(s)
    )


def _check_cpu_model(s: Scenario) -> list[Problem]:
    """A contended CPU is shared up to the replica's CPU limit: there must be one."""
    found = []
    for name, c in s.components.items():
        pool = as_pooled(c)
        if pool is None or pool.cpu_model != "contended":
            continue
        res = pool.resources
        if res is None or res.limits is None or not res.limits.cpu:
            found.append(
                s.problem(
                    ("components", name, "cpu_model"),
                    "a contended CPU is shared up to the replica's CPU limit: give "
                    "resources.limits.cpu",
                    "contended",
                )
            )
    return found

"""Sizing: the fewest replicas of each service that keep every SLO and keep utilization
under the autoscaling target, at the projected load, confirmed by simulation; and what
the rest of the system needs for that.

Each round starts from the utilization law on the instant analytic model (deterministic,
so more load never yields fewer replicas), then simulates the candidate. Where the
simulation shows a service's workers or CPU above its target, or an SLO missed with a
service holding the largest share of the slowest requests' time, that service gets a
floor it never drops below. The search stops when a round changes nothing and every SLO
holds.

Replicas of services are what an autoscaler changes. The rest is provisioned, and sizing
raises it only when it runs above its target (the scenario's ``max_utilization`` for it,
at most 70%): a link to the next standard bandwidth, an LLM API's quotas to what a
provider tier must allow, a database's shards, a cache's replicas. These changes are
listed apart, as decisions to make (a bigger link, a quota request, a resharding), not
settings to apply. Workers per replica and each pod's CPU request are taken as given: the
request is what the HPA's CPU target is a share of, so the replicas are sized against it.

The result is written as an overlay (:func:`sized_overlay`): a scenario that ``extends``
the input and holds only what sizing changed, so that the change can be reviewed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from capplan.errors import SimulationError
from capplan.kinds import as_deployment, kind_of
from capplan.results.model import Result
from capplan.scenario.components import (
    Autoscaling,
    ServiceComponent,
)
from capplan.scenario.model import Scenario
from capplan.searches import Ahead, Search, drive
from capplan.sim.runner import Runner

DEFAULT_TARGET = 0.7
HPA_MARGIN = 1.25
"""maxReplicas = sized replicas × this: headroom for bursts above the projected peak."""


def _services(s: Scenario) -> dict[str, ServiceComponent]:
    """Components sized by their replicas: the Deployments."""
    return {n: d for n, c in s.components.items() if (d := as_deployment(c)) is not None}


def _target(c: ServiceComponent) -> float:
    hpa = c.autoscaling
    return hpa.cpu_target if hpa is not None and hpa.cpu_target is not None else DEFAULT_TARGET


def held(s: Scenario) -> Scenario:
    """``s`` with its autoscalers off: every component stays at its ``replicas``, the
    steady-state question sizing asks."""
    return s.model_copy(update={"simulation": s.simulation.model_copy(update={"autoscale": False})})


def with_replicas(s: Scenario, replicas: dict[str, int]) -> Scenario:
    comps = dict(s.components)
    for name, r in replicas.items():
        comps[name] = comps[name].model_copy(update={"replicas": r})
    return s.model_copy(update={"components": comps})


def _cpu_load(c: ServiceComponent, arrival_rps: float, replicas: int) -> float | None:
    """CPU used over CPU requested at ``replicas``, or None without the figures."""
    request = c.resources.requests.cpu if c.resources and c.resources.requests else None
    if c.cpu_per_request is None or not request:
        return None
    return arrival_rps * c.cpu_per_request / (replicas * request)


def _infra_target(s: Scenario, name: str) -> float:
    limits = s.slos.max_utilization
    slo = limits.get(name) if isinstance(limits, dict) else limits
    return min(DEFAULT_TARGET, slo) if slo is not None else DEFAULT_TARGET


def _infrastructure(
    s: Scenario, result: Result, services: dict[str, ServiceComponent]
) -> dict[str, tuple[Any, dict[str, Any]]]:
    """Provisioned components above their target: the changed component and a report row."""
    changes: dict[str, tuple[Any, dict[str, Any]]] = {}
    for name, c in s.components.items():
        if name in services:
            continue
        m = result.components[name]
        target = _infra_target(s, name)
        load = max(
            m.utilization,
            m.offered_load if m.saturated else 0.0,
            m.quota_demand or 0.0,
        )
        if load <= target:
            continue
        resize = kind_of(c).resize
        if resize is None:  # capacity that is not ours: nothing to size
            continue
        new, row = resize(c, load / target, load, f"above the {target * 100:.0f}% target")
        changes[name] = (new, {"component": name, "type": c.type, **row})
    return changes


def _analytic_need(s: Scenario) -> dict[str, int]:
    """Replicas at which each service's analytic worker and CPU utilization meet its target."""
    from capplan.analytic.layered import analyze

    try:
        approx = analyze(s)
    except SimulationError:
        return {}
    need = {}
    for name, c in _services(s).items():
        a = approx["components"][name]
        if a["utilization"] is None or not math.isfinite(a["utilization"]):
            continue
        load = max(a["utilization"], _cpu_load(c, a["arrival_rps"], c.replicas) or 0.0)
        need[name] = max(1, math.ceil(c.replicas * load / _target(c) - 1e-9))
    return need


def size(
    scenario: Scenario,
    load_scale: float | None = None,
    *,
    jobs: int | None = None,
    max_rounds: int = 12,
    progress: Callable[[int, dict[str, int]], None] | None = None,
    max_visits: float | None = None,
    survive: str | None = None,
    runner: Runner | None = None,
    batch: int = 1,
) -> dict[str, Any]:
    """Size the services of ``scenario`` at ``load_scale`` (default: the file's): their
    replicas for a steady load, or, when the load follows a profile and services
    autoscale, their HPA settings over the run (:mod:`capplan.sizing_hpa`). With
    ``survive`` ('zone_outage'), the steady replicas are then raised until the SLOs hold
    with that failure (:mod:`capplan.sizing_survive`). ``runner``: where the candidates
    run (default: ``jobs`` local processes); ``batch``: candidates a round may simulate
    at once (the answer does not depend on it)."""
    from capplan import sizing_hpa
    from capplan.sizing_survive import SURVIVABLE

    if survive is not None and survive not in SURVIVABLE:
        raise SimulationError(f"--survive {survive}: can size for {', '.join(SURVIVABLE)}")
    s = scenario if load_scale is None else scenario.model_copy(update={"load_scale": load_scale})
    if runner is None:
        with Runner(jobs) as own:
            return size(
                s,
                max_rounds=max_rounds,
                progress=progress,
                max_visits=max_visits,
                survive=survive,
                runner=own,
                batch=batch,
            )
    if sizing_hpa.applies(s):
        if survive is not None:
            raise SimulationError(
                f"{s.name}: --survive sizes replicas for a steady load; this scenario's "
                "load follows a profile with autoscaled services"
            )
        return sizing_hpa.size_over_time(
            s, runner, progress=progress, max_visits=max_visits, batch=batch
        )
    # the steady question: every pod up (a failure is what --survive asks about)
    steady = s.model_copy(update={"failures": None})
    sized = _size(steady, None, runner, max_rounds, progress, max_visits, batch)
    if survive is not None:
        sized = _survive(sized, survive, runner, max_visits, batch)
    return sized


def _survive(
    sized: dict[str, Any], failure: str, runner: Runner, max_visits: float | None, batch: int
) -> dict[str, Any]:
    """The steady sizing raised to survive ``failure``: replicas, HPA bounds, and the zone
    spread made required (what the survival relies on)."""
    from capplan.sizing_survive import survive, to_survive

    s: Scenario = sized["sized"]
    need = {row["component"]: row["replicas"] for row in sized["components"]}
    found = survive(s, need, failure, runner, max_visits, batch)
    comps = dict(s.components)
    for row in sized["components"]:
        name = row["component"]
        r = found["replicas"][name]
        row["replicas_to_survive"] = r
        row["hpa_max_replicas"] = max(row["hpa_max_replicas"], r)
        # at the quietest load too, the failure must leave what that load needs
        low = row["hpa_min_replicas"]
        raised = to_survive(low, found["zones"]) if failure == "zone_outage" else low + 1
        row["hpa_min_replicas"] = min(raised, row["hpa_max_replicas"])
        svc = comps[name]
        update: dict[str, Any] = {"replicas": r}
        hpa = getattr(svc, "autoscaling", None)
        if hpa is not None:
            update["autoscaling"] = hpa.model_copy(
                update={"min": row["hpa_min_replicas"], "max": row["hpa_max_replicas"]}
            )
        comps[name] = svc.model_copy(update=update)
    k8s = (
        s.kubernetes.model_copy(update={"zone_spread": "required"})
        if failure == "zone_outage"
        else s.kubernetes
    )
    survive_info = {k: v for k, v in found.items() if k != "result"}
    return {
        **sized,
        "sized": s.model_copy(update={"components": comps, "kubernetes": k8s}),
        "survive": survive_info,
        "survive_result": found["result"],
        "slos_met": sized["slos_met"] and found["slos_met"],
    }


def _size(
    scenario: Scenario,
    load_scale: float | None,
    runner: Runner,
    max_rounds: int,
    progress: Callable[[int, dict[str, int]], None] | None,
    max_visits: float | None,
    batch: int = 1,
) -> dict[str, Any]:
    s = scenario if load_scale is None else scenario.model_copy(update={"load_scale": load_scale})
    (sized,) = drive([size_search(s, max_rounds, progress, batch)], runner, max_visits=max_visits)
    return sized


def _grow(r: int) -> int:
    """The next count tried for a service holding the slowest requests' time: 25% more."""
    return r + max(1, math.ceil(r * 0.25))


def size_search(
    s: Scenario,
    max_rounds: int = 12,
    progress: Callable[[int, dict[str, int]], None] | None = None,
    batch: int = 1,
) -> Search[dict[str, Any]]:
    """The steady sizing of ``s`` as a search (:mod:`capplan.searches`). With ``batch``
    K, a round that raises the service holding the slowest requests' time also simulates
    the next K - 1 raises of it, which the following rounds use if they come to them: the
    same answer as one at a time, in fewer rounds of wall time."""

    def make(reps: dict[str, int]) -> Scenario:
        return held(with_replicas(s, reps))

    ahead = Ahead(make, batch)
    culprit: str | None = None
    services = _services(s)
    if not services:
        raise SimulationError(f"{s.name}: no service components to size")
    today = {n: c.replicas for n, c in services.items()}
    replicas = dict(today)
    floors: dict[str, int] = {}
    reasons: dict[str, str] = {}
    infra: dict[str, dict[str, Any]] = {}
    unmet = None
    result: Result | None = None
    for round_ in range(1, max_rounds + 1):
        analytic = _analytic_need(with_replicas(s, replicas))
        proposal = {n: max(analytic.get(n, replicas[n]), floors.get(n, 1)) for n in services}
        if round_ == 1 or proposal != replicas:
            replicas = proposal
        candidate = with_replicas(s, replicas)
        guesses = []
        if culprit is not None:
            r = replicas[culprit]
            for _ in range(batch - 1):
                r = _grow(r)
                guesses.append({**replicas, culprit: r})
        culprit = None
        result = yield from ahead.get(replicas, guesses)
        if progress:
            progress(round_, replicas)
        changes = _infrastructure(candidate, result, services)
        if changes:
            provisioned = dict(s.components)
            for name, (component, change) in changes.items():
                provisioned[name] = component
                first = infra.get(name, change)
                infra[name] = {**change, "today": first["today"]}
            s = s.model_copy(update={"components": provisioned})
            ahead.forget()
            continue
        raised = False
        for name, c in services.items():
            m = result.components[name]
            target = _target(c)
            load = m.load
            if load > target:
                need = max(replicas[name] + 1, math.ceil(replicas[name] * load / target - 1e-9))
                what = "CPU" if (m.cpu_utilization or 0.0) >= m.utilization else "workers"
                reasons[name] = (
                    f"{what} {load * 100:.0f}% at {replicas[name]} replicas, above the {target * 100:.0f}% target"
                )
                floors[name] = need
                raised = True
        if raised:
            continue
        if result.slos_hold:
            break
        top = max(services, key=lambda n: result.components[n].latency_share_p95)
        share = result.components[top].latency_share_p95
        failing = ", ".join(sorted({o.name for o in result.missed}))
        if share < 0.05:
            measured = result.components
            most = max(measured, key=lambda n: measured[n].latency_share_p95)
            unmet = (
                f"{failing} missed while no service holds much of the slowest requests' "
                f"time ({most} holds {measured[most].latency_share_p95 * 100:.0f}% of it)"
            )
            break
        floors[top] = max(floors.get(top, 1), _grow(replicas[top]))
        reasons[top] = (
            f"{failing} missed; it holds {share * 100:.0f}% of the slowest requests' time"
        )
        culprit = top
    else:
        unmet = f"no stable size within {max_rounds} rounds"
    assert result is not None  # max_rounds >= 1

    sized = with_replicas(s, replicas)
    # the HPA's floor: what today's load needs (load scale 1), by the same utilization law
    today_need = _analytic_need(s.model_copy(update={"load_scale": 1.0}))
    rows = []
    for name, c in services.items():
        m = result.components[name]
        r, target = replicas[name], _target(c)
        cpu = m.cpu_utilization
        load, what = (
            (cpu, "CPU") if cpu is not None and cpu >= m.utilization else (m.utilization, "workers")
        )
        if unmet is not None:
            reason = f"left at {r}: {unmet}"
        elif name in reasons:
            reason = reasons[name]
        elif r > 1:
            fewer = load * r / (r - 1)
            reason = (
                f"{what} {load * 100:.0f}% at {r} replicas; {r - 1} would put it at "
                f"{fewer * 100:.0f}%"
                + (f", above the {target * 100:.0f}% target" if fewer > target else "")
            )
        else:
            reason = f"{what} {load * 100:.0f}% at 1 replica, within the {target * 100:.0f}% target"
        row: dict[str, Any] = {
            "component": name,
            "replicas_today": today[name],
            "replicas": r,
            "reason": reason,
            "utilization": m.utilization,
        }
        if cpu is not None and c.cpu_per_request is not None:
            row["cpu_use_per_replica"] = m.throughput_rps * c.cpu_per_request / r
            row["cpu_request"] = c.resources.requests.cpu  # type: ignore[union-attr]
        row["hpa_min_replicas"] = min(today_need.get(name, today[name]), r)
        row["hpa_max_replicas"] = math.ceil(r * HPA_MARGIN)
        rows.append(row)
    # the sized scenario carries the derived HPA bounds, for render-manifests
    comps = dict(sized.components)
    for row in rows:
        svc = comps[row["component"]]
        assert isinstance(svc, ServiceComponent)
        bounds = {"min": row["hpa_min_replicas"], "max": row["hpa_max_replicas"]}
        if svc.autoscaling is not None:
            hpa = svc.autoscaling.model_copy(update=bounds)
        elif svc.cpu_per_request is not None and "cpu_request" in row:
            hpa = Autoscaling(**bounds, cpu_target=DEFAULT_TARGET)
        else:
            # no CPU figures: scale on requests in flight per pod, at the target share of
            # its workers
            hpa = Autoscaling(**bounds, inflight_target=max(1.0, svc.workers * DEFAULT_TARGET))
        comps[row["component"]] = svc.model_copy(update={"autoscaling": hpa})
    sized = sized.model_copy(update={"components": comps})
    return {
        "scenario": s.name,
        "load_scale": s.load_scale,
        "components": rows,
        "infrastructure": list(infra.values()),
        "slos_met": unmet is None and result.slos_hold,
        "unmet": unmet,
        "result": result,
        "sized": sized,
    }


def _bps(x: float) -> str:
    for unit, scale in (("Tbps", 1e12), ("Gbps", 1e9), ("Mbps", 1e6), ("Kbps", 1e3)):
        if x >= scale:
            return f"{x / scale:g}{unit}"
    return f"{x:g}bps"


def _changes(base: Scenario, sized: Scenario) -> dict[str, Any]:
    """What sizing changed, component by component, in the scenario language's own units."""
    out: dict[str, Any] = {}
    for name, new in sized.components.items():
        old = base.components[name]
        entry: dict[str, Any] = {}
        for key in ("replicas", "shards"):
            if getattr(new, key, None) != getattr(old, key, None):
                entry[key] = getattr(new, key)
        new_hpa = getattr(new, "autoscaling", None)
        if new_hpa is not None and new_hpa != getattr(old, "autoscaling", None):
            entry["autoscaling"] = new_hpa.written()
        bandwidth = getattr(new, "bandwidth", None)
        if bandwidth is not None and bandwidth != getattr(old, "bandwidth", None):
            entry["bandwidth"] = _bps(bandwidth)
        quota = getattr(new, "rate_limit", None)
        if quota is not None and quota != getattr(old, "rate_limit", None):
            entry["rate_limit"] = {
                "requests_per_minute": quota.requests_per_minute,
                "tokens_per_minute": quota.tokens_per_minute,
            }
        if entry:
            out[name] = entry
    return out


def sized_overlay(sizing: dict[str, Any], base: Scenario, base_file: str) -> str:
    """The sized scenario as an overlay: ``extends: base_file`` (a path relative to where
    the overlay is written) and only the values sizing changed, each component's reason in
    a comment above it."""
    import yaml

    sized: Scenario = sizing["sized"]
    data: dict[str, Any] = {"capplan": 1, "extends": base_file, "name": f"{base.name}-sized"}
    if sized.load_scale != base.load_scale:
        data["load_scale"] = sized.load_scale
    data["components"] = _changes(base, sized)
    if sized.kubernetes.zone_spread != base.kubernetes.zone_spread:
        data["kubernetes"] = {"zone_spread": sized.kubernetes.zone_spread}
    if sized.costs is not None and base.costs is not None:
        bound = sized.costs.cluster.max_nodes
        if bound != base.costs.cluster.max_nodes:
            data["costs"] = {"cluster": {"max_nodes": bound}}
    if "over_time" in sizing:
        ot = sizing["over_time"]
        lines = [
            f"# {base.name} sized by capplan at load scale {sized.load_scale:g}: HPA settings",
            "# that meet the objectives over the run at the least node-hours (today "
            f"{ot['node_hours_today']:.4g}, sized {ot['node_hours']:.4g}).",
            "# Only what sizing changed is here; everything else comes from the file it extends.",
        ]
        lines += [f"# {row['component']}: {row['reason']}" for row in sizing["components"]]
    else:
        lines = [
            f"# {base.name} sized by capplan at load scale {sized.load_scale:g}: the fewest service",
            "# replicas that keep every SLO and every utilization under its autoscaling target.",
            "# Only what sizing changed is here; everything else comes from the file it extends.",
        ]
        for row in sizing["components"]:
            lines.append(
                f"# {row['component']}: {row['replicas_today']} -> {row['replicas']} replicas ({row['reason']})"
            )
        survived = sizing.get("survive")
        if survived is not None and survived["failure"] == "zone_outage":
            lines.append(
                f"# to survive a zone_outage ({survived['zones']} zones, pods spread "
                "evenly as the required zone spread makes them):"
            )
            lines += [
                f"# {name}: {r} replicas, {survived['survivors'][name]} left without a zone"
                for name, r in survived["replicas"].items()
            ]
        elif survived is not None:
            lines.append("# to survive the loss of the fullest node:")
            lines += [f"# {name}: {r} replicas" for name, r in survived["replicas"].items()]
    for row in sizing["infrastructure"]:
        lines.append(
            f"# {row['component']}: {row['setting']} {row['today']} -> {row['sized']} ({row['reason']})"
        )
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)
    return "\n".join(lines) + "\n" + text

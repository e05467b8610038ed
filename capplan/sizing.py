"""Sizing: the fewest replicas of each service that keep every SLO and keep utilization
under the autoscaling target, at the projected load, confirmed by simulation.

Each round starts from the utilization law on the instant analytic model (deterministic,
so more load never yields fewer replicas), then simulates the candidate. Where the
simulation shows a service's workers or CPU above its target, or an SLO missed with a
service holding the largest share of the slowest requests' time, that service gets a
floor it never drops below. The search stops when a round changes nothing and every SLO
holds, or when what breaks is not a service (a saturated database, link or provider
quota): sizing services cannot fix that, and the result says which it is.

Replicas are the decision; workers per replica, databases, links and quotas are taken as
given.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from capplan.api import simulate
from capplan.errors import SimulationError
from capplan.scenario.components import Autoscaling, ServiceComponent
from capplan.scenario.model import Scenario

DEFAULT_TARGET = 0.7
HPA_MARGIN = 1.25
"""maxReplicas = sized replicas × this: headroom for bursts above the projected peak."""
CPU_BUFFER = 0.15
"""CPU request = mean CPU use per replica × (1 + this), VPA's customary margin; the model
gives mean CPU use, not a time series, so no usage percentile is available."""


def _services(s: Scenario) -> dict[str, ServiceComponent]:
    return {
        n: c
        for n, c in s.components.items()
        if isinstance(c, ServiceComponent) and c.type == "service"
    }


def _target(c: ServiceComponent) -> float:
    return c.autoscaling.cpu_target if c.autoscaling is not None else DEFAULT_TARGET


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
) -> dict[str, Any]:
    """Size the services of ``scenario`` at ``load_scale`` (default: the file's)."""
    s = scenario if load_scale is None else scenario.model_copy(update={"load_scale": load_scale})
    services = _services(s)
    if not services:
        raise SimulationError(f"{s.name}: no service components to size")
    today = {n: c.replicas for n, c in services.items()}
    replicas = dict(today)
    floors: dict[str, int] = {}
    reasons: dict[str, str] = {}
    unmet = None
    result: dict[str, Any] = {}
    for round_ in range(1, max_rounds + 1):
        analytic = _analytic_need(with_replicas(s, replicas))
        proposal = {n: max(analytic.get(n, replicas[n]), floors.get(n, 1)) for n in services}
        if round_ == 1 or proposal != replicas:
            replicas = proposal
        candidate = with_replicas(s, replicas)
        result = simulate(candidate, jobs=jobs)
        if progress:
            progress(round_, replicas)
        blocked = [
            n for n, c in result["components"].items() if c["saturated"] and n not in services
        ]
        if blocked:
            unmet = f"{', '.join(blocked)} saturated: sizing services cannot fix it"
            break
        raised = False
        for name, c in services.items():
            m = result["components"][name]
            target = _target(c)
            load = max(
                m["offered_load"] if m["saturated"] else m["utilization"],
                m.get("cpu_utilization", 0.0),
            )
            if load > target:
                need = max(replicas[name] + 1, math.ceil(replicas[name] * load / target - 1e-9))
                what = "CPU" if m.get("cpu_utilization", 0.0) >= m["utilization"] else "workers"
                reasons[name] = (
                    f"{what} {load * 100:.0f}% at {replicas[name]} replicas, above the {target * 100:.0f}% target"
                )
                floors[name] = need
                raised = True
        if raised:
            continue
        if all(row["passed"] for row in result["slos"]):
            break
        culprit = max(services, key=lambda n: result["components"][n]["latency_share_p95"])
        share = result["components"][culprit]["latency_share_p95"]
        failing = ", ".join(sorted({r["name"] for r in result["slos"] if not r["passed"]}))
        if share < 0.05:
            binding = result["constraints"][0] if result["constraints"] else None
            where = f"{binding['component']} {binding['resource']}" if binding else "no service"
            unmet = f"{failing} missed while no service holds much of the slowest requests' time (binding: {where})"
            break
        floors[culprit] = max(
            floors.get(culprit, 1), replicas[culprit] + max(1, math.ceil(replicas[culprit] * 0.25))
        )
        reasons[culprit] = (
            f"{failing} missed; it holds {share * 100:.0f}% of the slowest requests' time"
        )
    else:
        unmet = f"no stable size within {max_rounds} rounds"

    sized = with_replicas(s, replicas)
    # the HPA's floor: what today's load needs (load scale 1), by the same utilization law
    today_need = _analytic_need(s.model_copy(update={"load_scale": 1.0}))
    rows = []
    for name, c in services.items():
        m = result["components"][name]
        r, target = replicas[name], _target(c)
        cpu = m.get("cpu_utilization")
        load, what = (
            (cpu, "CPU")
            if cpu is not None and cpu >= m["utilization"]
            else (m["utilization"], "workers")
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
            "utilization": m["utilization"],
        }
        if cpu is not None and c.cpu_per_request is not None:
            per_replica = m["throughput_rps"] * c.cpu_per_request / r
            row["cpu_use_per_replica"] = per_replica
            row["cpu_request"] = per_replica * (1 + CPU_BUFFER)
        row["hpa_min_replicas"] = min(today_need.get(name, today[name]), r)
        row["hpa_max_replicas"] = math.ceil(r * HPA_MARGIN)
        rows.append(row)
    # the sized scenario carries the derived HPA bounds, for render-manifests
    comps = dict(sized.components)
    for row in rows:
        svc = comps[row["component"]]
        assert isinstance(svc, ServiceComponent)
        bounds = Autoscaling(
            min=row["hpa_min_replicas"], max=row["hpa_max_replicas"], cpu_target=_target(svc)
        )
        comps[row["component"]] = svc.model_copy(update={"autoscaling": bounds})
    sized = sized.model_copy(update={"components": comps})
    return {
        "scenario": s.name,
        "load_scale": s.load_scale,
        "components": rows,
        "slos_met": unmet is None and all(r["passed"] for r in result["slos"]),
        "unmet": unmet,
        "result": result,
        "sized": sized,
    }


def sized_yaml(sizing: dict[str, Any]) -> str:
    """The sized scenario as a self-contained YAML file that ``simulate`` accepts."""
    import yaml

    s: Scenario = sizing["sized"]
    data = s.model_copy(update={"name": f"{s.name}-sized", "extends": None}).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    lines = [
        f"# {s.name} sized by capplan at load scale {s.load_scale:g}: the fewest service replicas",
        "# that keep every SLO and every utilization under its autoscaling target.",
    ]
    for row in sizing["components"]:
        lines.append(
            f"# {row['component']}: {row['replicas_today']} -> {row['replicas']} replicas ({row['reason']})"
        )
    return "\n".join(lines) + "\n" + yaml.safe_dump(data, sort_keys=False)

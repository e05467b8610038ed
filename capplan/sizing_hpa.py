"""Sizing a system whose load changes over the run and whose services autoscale: the HPA
settings (min, max, target, and a scale-up policy when the configured one is too slow)
that meet the scenario's objectives over time at the least node-hours, confirmed by
simulating the whole run with the controllers acting.

The search starts from steady state: the replicas each service needs at the profile's
busiest and quietest windows (the steady-state sizing of :mod:`capplan.sizing`, run at
those rates) give the HPA's ``max`` (the peak's need with a margin) and ``min`` (the
trough's need, two pods at least where the peak needs two, so that one can be lost). Each
round then simulates the run and reads why it failed, if it did:

- pods pending at ``max_nodes``: the node group's bound is raised to what the HPAs' maxima
  need (a decision listed apart, like every provisioned change);
- then service by service: workers that ran out while the CPU stayed low (an HPA on CPU
  cannot see it) add an ``inflight_target``; a service that lagged (pods wanted, not yet
  ready) while an objective broke gets Kubernetes' default scale-up if its own was
  slower, else its primary target ten points lower (at most twice), so that the HPA
  starts earlier on a ramp and the pods already there absorb the rise while new ones
  start; one that still lags, whose workers were over 85% busy, or any when nothing
  lagged, gets a ``min`` halfway to the busiest window's need.

Once a round meets every objective, one cheaper candidate (targets ten points higher) is
tried and kept if it also meets them with fewer node-hours. Objectives are the scenario's
attainment rows (``slos.attainment``) when it has them, else every SLO over the run.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from capplan.api import run
from capplan.autoscaling.hpa import SCALE_UP_DEFAULT
from capplan.results.cost import pack
from capplan.results.model import Objective, Result
from capplan.scenario.autoscaling import Autoscaling, Behavior, ScalingRules
from capplan.scenario.components import ServiceComponent
from capplan.scenario.model import Scenario
from capplan.sim.load import Curve
from capplan.sim.runner import Runner

STEP = 0.1
"""How far a utilization target moves in one round (ten points)."""
LOWEST_TARGET = 0.3
MOST_LOWERINGS = 2
"""Targets lowered at most twice for a service (70% -> 50%); a lag that persists then
raises ``min`` instead: the rise is faster than any target lets new pods arrive."""
HIGHEST_TARGET = 0.9
STEADY_SPAN_S = 1200.0
"""Simulated time of each steady-state sizing run at the peak and trough rates."""


def autoscaled(s: Scenario) -> dict[str, ServiceComponent]:
    return {
        n: c
        for n, c in s.components.items()
        if isinstance(c, ServiceComponent) and c.type == "service" and c.autoscaling is not None
    }


def applies(s: Scenario) -> bool:
    """Whether ``size`` searches HPA settings: the load changes, the controllers run, and
    some service autoscales."""
    return (
        not s.workload.stationary
        and s.workload.is_open
        and s.simulation.autoscale
        and bool(autoscaled(s))
    )


def multipliers(s: Scenario) -> list[float]:
    """The profile's mean multiplier in each window of the measured run."""
    sim, w = s.simulation, s.workload
    curve = Curve(w.profile, normalize=w.daily_requests is not None)
    width = sim.window_s
    count = max(1, round(sim.duration / width))
    return [
        curve.mean_over(sim.start + k * width, sim.start + (k + 1) * width) for k in range(count)
    ]


def _steady(s: Scenario, m: float) -> Scenario:
    """``s`` under a constant load at multiplier ``m``, short, controllers off. The rate is
    set as the workload's own, load_scale unchanged: what load_scale also scales (a link's
    background traffic) does not follow the profile in a run."""
    sim = s.simulation
    workload = s.workload.model_copy(
        update={
            "arrival_rate": s.arrival_rate * m / s.load_scale,
            "daily_requests": None,
            "peak_factor": 1.0,
            "profile": None,
        }
    )
    return s.model_copy(
        update={
            "workload": workload,
            "simulation": sim.model_copy(
                update={
                    "duration": STEADY_SPAN_S,
                    "warmup": min(sim.warmup, 300.0),
                    "window": 60.0,
                    "autoscale": False,
                }
            ),
        }
    )


def _scaled(hpa: Autoscaling, target: float) -> Autoscaling:
    """``hpa`` with its primary target (CPU, else memory, else the first Pods target in
    proportion) moved to ``target``; the others stay as given."""
    if hpa.cpu_target is not None:
        return hpa.model_copy(update={"cpu_target": min(1.0, target)})
    if hpa.memory_target is not None:
        return hpa.model_copy(update={"memory_target": min(1.0, target)})
    key = "rps_target" if hpa.rps_target is not None else "inflight_target"
    return hpa.model_copy(update={key: getattr(hpa, key) * target / _level(hpa)})


def _level(hpa: Autoscaling) -> float:
    """The HPA's target on the utilization scale the search moves (CPU, else memory, else
    the share of the scenario's target: 1 = as given)."""
    return hpa.cpu_target or hpa.memory_target or 0.7


def _slow_scale_up(hpa: Autoscaling) -> bool:
    """Whether the configured scale-up is slower than Kubernetes' default (a stabilization
    window, a disabled direction, or policies that add less than max(4 pods, 100%) per
    15 s)."""
    rules = hpa.behavior.scaleUp if hpa.behavior is not None else None
    if rules is None:
        return False
    if (rules.stabilizationWindowSeconds or 0) > 0 or rules.selectPolicy == "Disabled":
        return True
    if rules.policies is None:
        return False
    limits = []
    for p in rules.policies:
        per_15s = 15.0 / p.periodSeconds
        limits.append(p.value * per_15s / (4 if p.type == "Pods" else 100))
    pick = min if rules.selectPolicy == "Min" else max
    return pick(limits) < 1.0


def _default_scale_up(hpa: Autoscaling) -> Autoscaling:
    """``hpa`` with Kubernetes' default scale-up, written out (an overlay that left it out
    would inherit the slow one from the file it extends)."""
    up = ScalingRules.model_validate(SCALE_UP_DEFAULT)
    down = hpa.behavior.scaleDown if hpa.behavior is not None else None
    return hpa.model_copy(update={"behavior": Behavior(scaleUp=up, scaleDown=down)})


INFLIGHT_SHARE = 0.7
"""An added in-flight target: this share of a pod's workers."""
HOT = 0.85
"""A component whose workers are busier than this in some window is short of replicas."""


def _peaks(result: Result, name: str) -> dict[str, Any]:
    """Over the run's windows: the busiest workers and CPU of ``name``, whether its workers
    ran out while its CPU stayed low (an HPA on CPU would not see it), and whether it
    lagged (replicas wanted, not ready)."""
    wins = [w["components"][name] for w in result.section("timeline")["windows"]]
    workers = max((c["utilization"] or 0.0 for c in wins), default=0.0)
    cpu = max((c.get("cpu_utilization") or 0.0 for c in wins), default=0.0)
    lagged = any(
        (c.get("replicas_desired") or 0.0) - (c.get("replicas_ready") or 0.0) > 0.5 for c in wins
    )
    return {
        "workers": workers,
        "cpu": cpu,
        "worker_bound": workers > 0.7 and cpu < 0.75 * workers,
        "lagged": lagged,
    }


def _objectives(result: Result) -> list[Objective]:
    """The attainment objectives (judged window by window) when the scenario has them,
    else every objective."""
    rows = [o for o in result.objectives if o.name.startswith("attainment ")]
    return rows or list(result.objectives)


def _node_hours(s: Scenario, result: Result) -> float:
    """Node-hours over the run (with ``costs``), else pod-hours of the services."""
    run = (result.section("cost") or {}).get("run")
    if run:
        return float(run["node_hours"])
    tl = result.section("timeline")
    hours = tl["window_s"] / 3600
    return sum(
        (w["components"][n].get("replicas_ready") or 0.0) * hours
        for w in tl["windows"]
        for n in s.components
        if n in w["components"] and isinstance(s.components[n], ServiceComponent)
    )


def _nodes_at_max(s: Scenario) -> int | None:
    """Nodes that every pod needs with each HPA at its maximum."""
    costs = s.costs
    if costs is None:
        return None
    items = []
    for name, c in s.components.items():
        requests = getattr(getattr(c, "resources", None), "requests", None)
        if requests is None:
            continue
        hpa = getattr(c, "autoscaling", None)
        count = hpa.max if hpa is not None else c.pods  # type: ignore[union-attr]
        items += [(name, requests.cpu or 0.0, requests.memory or 0.0)] * count
    return pack(items, costs.node)


def _with(s: Scenario, hpas: dict[str, Autoscaling], replicas: dict[str, int]) -> Scenario:
    comps = dict(s.components)
    for name, hpa in hpas.items():
        comps[name] = comps[name].model_copy(update={"autoscaling": hpa})
    for name, r in replicas.items():
        comps[name] = comps[name].model_copy(update={"replicas": r})
    return s.model_copy(update={"components": comps})


def size_over_time(
    s: Scenario,
    runner: Runner,
    *,
    max_rounds: int = 6,
    progress: Callable[[int, dict[str, int]], None] | None = None,
    max_visits: float | None = None,
    batch: int = 1,
) -> dict[str, Any]:
    from capplan.searches import drive, one
    from capplan.sizing import size_search

    scaled = autoscaled(s)
    ms = multipliers(s)
    hi, lo = max(ms), min(ms)
    # the steady peak and trough, and today's settings over the run, are independent
    peak, trough, today = drive(
        [
            size_search(_steady(s, hi), batch=batch),
            size_search(_steady(s, lo), batch=batch),
            one(s),
        ],
        runner,
        max_visits=max_visits,
    )
    need_hi = {r["component"]: r["replicas"] for r in peak["components"]}
    need_lo = {r["component"]: r["replicas"] for r in trough["components"]}
    original = s
    # provisioned changes the peak needs (links, quotas, shards), carried over
    provisioned = peak["sized"].components
    s = s.model_copy(
        update={
            "components": {
                n: c if n in need_hi else provisioned[n] for n, c in s.components.items()
            }
        }
    )
    infra = list(peak["infrastructure"])
    hpas: dict[str, Autoscaling] = {}
    replicas: dict[str, int] = {}
    reasons: dict[str, list[str]] = {n: [] for n in scaled}
    for name, c in scaled.items():
        assert c.autoscaling is not None
        low = max(need_lo[name], min(2, need_hi[name]))
        high = max(low, math.ceil(need_hi[name] * 1.25))
        hpas[name] = c.autoscaling.model_copy(update={"min": low, "max": high})
        start = math.ceil(need_hi[name] * ms[0] / hi - 1e-9) if hi else low
        replicas[name] = min(high, max(low, start))
        reasons[name].append(
            f"min {low}: the quietest window needs {need_lo[name]}; max {high}: the busiest "
            f"needs {need_hi[name]}, plus 25%"
        )
    for name in s.components:
        if name not in scaled and name in need_hi:
            replicas[name] = need_hi[name]  # not autoscaled: held at the peak's need
    best: tuple[Scenario, Result, float] | None = None
    cheaper_tried = False
    lowered = dict.fromkeys(scaled, 0)
    best_first: Scenario | None = None
    kept = hpas
    rounds: list[dict[str, Any]] = []
    candidate = _with(s, hpas, replicas)
    result: Result | None = None
    for round_ in range(1, max_rounds + 1):
        result = run(candidate, max_visits=max_visits, runner=runner)
        cost = _node_hours(candidate, result)
        met = all(o.passed for o in _objectives(result))
        rounds.append({"round": round_, "node_hours": cost, "met": met})
        if progress:
            progress(round_, {n: h.max for n, h in hpas.items()})
        if met:
            if best is None:
                best_first = candidate
            if best is None or cost < best[2]:
                best = (candidate, result, cost)
            if cheaper_tried:
                break
            cheaper_tried = True
            up = {n: _scaled(h, min(HIGHEST_TARGET, _level(h) + STEP)) for n, h in hpas.items()}
            if up == hpas:
                break
            kept = hpas
            hpas, candidate = up, _with(candidate, up, {})
            continue
        if best is not None:
            break  # the cheaper candidate missed: keep the one that met them
        control = result.section("autoscaling") or {}
        cluster = control.get("cluster") or {}
        if cluster.get("max_nodes_binding") and candidate.costs is not None:
            need = _nodes_at_max(candidate)
            bound = candidate.costs.cluster.max_nodes
            if need is not None and bound is not None and need > bound:
                costs = candidate.costs.model_copy(
                    update={
                        "cluster": candidate.costs.cluster.model_copy(update={"max_nodes": need})
                    }
                )
                candidate = candidate.model_copy(update={"costs": costs})
                first = next((r for r in infra if r["setting"] == "max_nodes"), None)
                infra = [r for r in infra if r["setting"] != "max_nodes"]
                infra.append(
                    {
                        "component": "cluster",
                        "setting": "max_nodes",
                        "today": first["today"] if first else str(bound),
                        "sized": str(need),
                        "reason": "pods stayed pending at max_nodes; the HPAs' maxima need "
                        f"{need} nodes",
                    }
                )
                continue
        lagging = bool(control.get("slo_broke_while_lagging"))
        moved = dict(hpas)
        for name, hpa in hpas.items():
            seen = _peaks(result, name)
            if seen["worker_bound"] and hpa.inflight_target is None:
                # the HPA's metrics stay low while the workers run out: scale on what runs out
                pool = candidate.components[name]
                assert isinstance(pool, ServiceComponent)
                target = max(1.0, round(pool.workers * INFLIGHT_SHARE, 1))
                moved[name] = hpa.model_copy(update={"inflight_target": target})
                reasons[name].append(
                    f"workers {seen['workers'] * 100:.0f}% busy at {seen['cpu'] * 100:.0f}% CPU: "
                    f"scale also on {target:g} requests in flight per pod"
                )
            elif lagging and seen["lagged"] and _slow_scale_up(hpa):
                moved[name] = _default_scale_up(hpa)
                reasons[name].append("scale-up policy too slow for the ramp: Kubernetes' default")
            elif (
                lagging
                and seen["lagged"]
                and _level(hpa) - STEP >= LOWEST_TARGET - 1e-9
                and (lowered[name] < MOST_LOWERINGS)
            ):
                lowered[name] += 1
                moved[name] = _scaled(hpa, _level(hpa) - STEP)
                reasons[name].append(
                    f"target {_level(hpa) * 100:.0f}% -> {(_level(hpa) - STEP) * 100:.0f}%: "
                    "objectives broke while new pods were starting"
                )
            elif seen["workers"] > HOT or seen["lagged"] or not lagging:
                # a rise faster than pods can start: hold more of the peak's need from the
                # start (halfway there each round)
                peak = need_hi.get(name, hpa.max)
                low = max(hpa.min + 1, math.ceil((hpa.min + peak) / 2))
                moved[name] = hpa.model_copy(update={"min": low, "max": max(hpa.max, low)})
                reasons[name].append(
                    f"min {hpa.min} -> {low}: objectives broke with its workers "
                    f"{seen['workers'] * 100:.0f}% busy at the worst window, faster than "
                    "new pods could help"
                )
        if moved == hpas:
            break
        hpas = moved
        candidate = _with(candidate, hpas, {})
    if best is not None:
        candidate, result, _ = best
        if candidate is not best_first:
            for name in scaled:
                before, after = _level(kept[name]), _level(hpas[name])
                reasons[name].append(
                    f"target {before * 100:.0f}% -> {after * 100:.0f}%: meets the objectives "
                    "with fewer node-hours"
                )
    assert result is not None  # max_rounds >= 1
    rows = []
    for name, given in s.components.items():
        if not isinstance(given, ServiceComponent) or given.type != "service":
            continue
        final = candidate.components[name]
        assert isinstance(final, ServiceComponent)
        scaler = final.autoscaling
        row: dict[str, Any] = {
            "component": name,
            "replicas_today": given.replicas,
            "replicas": final.replicas,
            "reason": "; ".join(reasons.get(name, []))
            or f"not autoscaled: held at the busiest window's need ({need_hi.get(name)})",
            "utilization": result.components[name].utilization,
            "hpa_min_replicas": scaler.min if scaler else final.replicas,
            "hpa_max_replicas": scaler.max if scaler else final.replicas,
        }
        if scaler is not None:
            row["hpa"] = scaler.written()
            row["hpa_today"] = given.autoscaling.written() if given.autoscaling else None
        rows.append(row)
    objectives = _objectives(result)
    return {
        "scenario": s.name,
        "load_scale": s.load_scale,
        "components": rows,
        "infrastructure": infra,
        "slos_met": best is not None,
        "unmet": None
        if best is not None
        else "no HPA setting tried met " + ", ".join(o.name for o in objectives if not o.passed),
        "over_time": {
            "multiplier_peak": hi,
            "multiplier_trough": lo,
            "node_hours_today": _node_hours(original, today),
            "objectives_met_today": all(o.passed for o in _objectives(today)),
            "node_hours": _node_hours(candidate, result),
            "rounds": rounds,
        },
        "result": result,
        "sized": candidate,
    }

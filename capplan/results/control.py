"""What the autoscalers did over a run, from the replications' records: each HPA's scaling
events with their lag, the cluster's nodes, ``max_nodes`` when it bound, and the windows
in which an objective broke while capacity lagged behind what the HPA wanted.

The *lag* of a scale-up runs from the load change to the new pods being ready. The load
change is taken, to one window's resolution, as the start of the earliest window in the
unbroken run of windows (ending at the decision) in which a metric the HPA reads stood
above its tolerance band; when the decision came in the first such window, that window's
start. It is the delay a user sees: the metrics window, the sync period, the behavior's
policies, the wait for a node and the pod's startup, together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from capplan.results.stats import mean_ci
from capplan.results.timeline import objective_held

if TYPE_CHECKING:
    from capplan.scenario.autoscaling import Autoscaling
    from capplan.scenario.model import Scenario
    from capplan.sim.records import ReplicationRecord, WindowRecord

LAG_WINDOW = 0.5
"""A component lags in a window when, on average over it, more than this many replicas
the HPA wants are not ready (or a pod of it waits for a node)."""


def _hpa(scenario: Scenario, name: str) -> Autoscaling:
    hpa = getattr(scenario.components[name], "autoscaling", None)
    assert hpa is not None
    return hpa


def _ratio(scenario: Scenario, name: str, w: WindowRecord) -> float | None:
    hpa = _hpa(scenario, name)
    seen = w.components[name].hpa_metrics or {}
    ratios = [
        value / target for m, target in hpa.targets.items() if (value := seen.get(m)) is not None
    ]
    return max(ratios) if ratios else None


def _trigger(scenario: Scenario, name: str, windows: tuple[WindowRecord, ...], at: float) -> float:
    """The start of the window in which the load change behind a scale-up at ``at`` began."""
    tolerance = _hpa(scenario, name).tolerance
    k = min(int(at // scenario.simulation.window_s), len(windows) - 1)
    first = k
    while first > 0:
        r = _ratio(scenario, name, windows[first - 1])
        if r is None or r <= 1 + tolerance:
            break
        first -= 1
    return windows[first].start_s


def _lagging(w: WindowRecord, names: list[str]) -> bool:
    if w.pods_pending:
        return True
    for name in names:
        c = w.components[name]
        want, ready = c.replicas_desired, c.replicas_ready
        if want is not None and ready is not None and want - ready > LAG_WINDOW:
            return True
    return False


def _broke(scenario: Scenario, w: WindowRecord) -> bool:
    saturated = any(c.saturated for c in w.components.values())
    return not all(
        objective_held(w, objective, target, saturated)
        for objective, target in scenario.slos.targets().items()
        if objective != "attainment"
    )


def summarize_control(
    scenario: Scenario, records: list[ReplicationRecord]
) -> dict[str, Any] | None:
    """The ``autoscaling`` section of a result (docs/json.md), or None when no controller
    ran."""
    if records[0].control is None:
        return None
    n = len(records)
    names = (
        [
            name
            for name, c in scenario.components.items()
            if getattr(c, "autoscaling", None) is not None
            and name in records[0].windows[0].components
        ]
        if records[0].windows
        else []
    )
    components: dict[str, Any] = {}
    events: list[dict[str, Any]] = []
    for name in names:
        ups, downs, lags = [], [], []
        for i, r in enumerate(records):
            mine = [e for e in r.control.events if e.component == name]
            ups.append(sum(1 for e in mine if e.after > e.before))
            downs.append(sum(1 for e in mine if e.after < e.before))
            for e in mine:
                lag = None
                if e.after > e.before and e.ready_at is not None and r.windows:
                    lag = e.ready_at - _trigger(scenario, name, r.windows, e.at)
                    lags.append(lag)
                if i == 0:
                    events.append(
                        {
                            "component": name,
                            "at_s": e.at,
                            "before": e.before,
                            "after": e.after,
                            "ready_s": e.ready_at if e.after > e.before else None,
                            "lag_s": lag,
                        }
                    )
        ready = [
            max((w.components[name].replicas_ready or 0.0) for w in r.windows) for r in records
        ]
        hpa = _hpa(scenario, name)
        components[name] = {
            "min": hpa.min,
            "max": hpa.max,
            "scale_ups": mean_ci([float(x) for x in ups])[0],
            "scale_downs": mean_ci([float(x) for x in downs])[0],
            "replicas_peak": max(ready),
            "lag_s": {
                "mean": sum(lags) / len(lags) if lags else None,
                "max": max(lags) if lags else None,
            },
        }
    lagging = []
    width = scenario.simulation.window_s
    count = min(len(r.windows) for r in records)
    for k in range(count):
        hits = sum(
            1 for r in records if _broke(scenario, r.windows[k]) and _lagging(r.windows[k], names)
        )
        if hits:
            lagging.append({"start_s": k * width, "replications": hits})
    out: dict[str, Any] = {
        "components": components,
        "events": sorted(events, key=lambda e: e["at_s"]),
        "events_replication": 0,
        "slo_broke_while_lagging": lagging,
        "cluster": None,
    }
    costs = scenario.costs
    if costs is not None and records[0].windows and records[0].windows[0].nodes is not None:
        binding = [r.control.max_nodes_binding_since for r in records]
        bound = [b for b in binding if b is not None]
        out["cluster"] = {
            "min_nodes": costs.cluster.min_nodes,
            "max_nodes": costs.cluster.max_nodes,
            "nodes_peak": max(r.control.nodes_peak for r in records),
            "nodes_added": sum(r.control.nodes_added for r in records) / n,
            "nodes_lost": sum(r.control.nodes_lost for r in records) / n,
            "nodes_removed": sum(r.control.nodes_removed for r in records) / n,
            "max_nodes_binding": (
                {"replications": len(bound), "of": n, "since_s": min(bound)} if bound else None
            ),
        }
    return out

"""Alert rules (prometheus-operator PrometheusRule) and the sizing of stateful stores."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from capplan.k8s.objects import memory_quantity
from capplan.kinds import as_pooled, kind_of
from capplan.scenario.components import CacheComponent, DatabaseComponent
from capplan.scenario.model import Scenario

if TYPE_CHECKING:
    from capplan.k8s.charts import CacheMemory

BURN_RATES = (
    # (burn rate, long window, short window, severity): the SRE workbook's multiwindow,
    # multi-burn-rate alerts for a 30-day objective: 2% of the budget in an hour, 5% in
    # six hours (page), 10% in three days (ticket)
    (14.4, "1h", "5m", "critical"),
    (6.0, "6h", "30m", "critical"),
    (1.0, "3d", "6h", "warning"),
)


def _rule(
    alert: str, expr: str, severity: str, summary: str, description: str, runbook: str | None
) -> dict[str, Any]:
    notes = {"summary": summary, "description": description}
    if runbook:
        notes["runbook_url"] = f"{runbook.rstrip('#')}#{alert.lower()}"
    return {
        "alert": alert,
        "expr": expr,
        "for": "5m",
        "labels": {"severity": severity},
        "annotations": notes,
    }


def _threshold_rules(scenario: Scenario, name: str, namespace: str) -> list[dict[str, Any]]:
    """A warning and a critical alert per threshold of ``alerts`` for one workload."""
    alerts = scenario.alerts
    if alerts is None:
        return []
    k8s = scenario.kubernetes
    runbook = k8s.runbook_url
    pods = f'namespace="{namespace}", pod=~"{name}-.*"'
    ctr = f'{pods}, container="{name}"'
    histogram = f"{k8s.metrics.request_duration}_bucket"
    checks = [
        (
            alerts.cpu_utilization,
            "CpuHigh",
            f"sum(rate(container_cpu_usage_seconds_total{{{ctr}}}[5m])) / "
            f'sum(kube_pod_container_resource_requests{{{ctr}, resource="cpu"}})',
            lambda n, x: f"{n} CPU above {x * 100:g}% of requests",
        ),
        (
            alerts.memory_utilization,
            "MemoryHigh",
            f"sum(container_memory_working_set_bytes{{{ctr}}}) / "
            f'sum(kube_pod_container_resource_limits{{{ctr}, resource="memory"}})',
            lambda n, x: f"{n} memory above {x * 100:g}% of limits",
        ),
        (
            alerts.response_time_p95,
            "ResponseTimeHigh",
            f"histogram_quantile(0.95, sum by (le) (rate({histogram}{{{pods}}}[5m])))",
            lambda n, x: f"{n} p95 response time above {x * 1000:g}ms",
        ),
    ]
    rules = []
    for level in ("warning", "critical"):
        for thresholds, suffix, expr, summary in checks:
            if thresholds is not None:
                x = getattr(thresholds, level)
                rules.append(
                    _rule(
                        f"{_camel(name)}{suffix}",
                        f"{expr} > {x:g}",
                        level,
                        summary(name, x),
                        f"The scenario's {level} threshold for {name}; the capacity plan "
                        "assumed it stays under it at the projected load.",
                        runbook,
                    )
                )
    return rules


def _slo_rules(scenario: Scenario, name: str, namespace: str) -> list[dict[str, Any]]:
    """Burn-rate alerts on the objectives of ``slos`` for the entry workload ``name``:
    the error rate against ``slos.error_rate``, and the share of requests slower than
    ``slos.latency_p95`` against the 5% a p95 objective allows."""
    slos, k8s = scenario.slos, scenario.kubernetes
    sel = f'namespace="{namespace}", pod=~"{name}-.*"'
    total = k8s.metrics.requests_total
    duration = k8s.metrics.request_duration
    objectives = []
    if slos.error_rate is not None and slos.error_rate > 0:
        bad = f'sum(rate({total}{{{sel}, code=~"5.."}}[@W]))'
        all_ = f"sum(rate({total}{{{sel}}}[@W]))"
        objectives.append(("ErrorBudgetBurn", slos.error_rate, bad, all_, "errors"))
    if slos.latency_p95 is not None:
        le = f"{slos.latency_p95:g}"
        fast = f'sum(rate({duration}_bucket{{{sel}, le="{le}"}}[@W]))'
        count = f"sum(rate({duration}_count{{{sel}}}[@W]))"
        slow = f"({count} - {fast})"
        objectives.append(
            (
                "LatencyBudgetBurn",
                0.05,
                slow,
                count,
                f"requests slower than {slos.latency_p95 * 1000:g}ms",
            )
        )
    rules = []
    for suffix, budget, bad, all_, what in objectives:
        for rate, long, short, severity in BURN_RATES:
            ratio = [f"({bad.replace('@W', w)} / {all_.replace('@W', w)})" for w in (long, short)]
            expr = f"{ratio[0]} > {rate:g} * {budget:g} and {ratio[1]} > {rate:g} * {budget:g}"
            rule = _rule(
                f"{_camel(name)}{suffix}",
                expr,
                severity,
                f"{name}: {what} burning the budget {rate:g}x over {long}",
                f"At this rate the objective's 30-day budget ({budget * 100:g}% of requests) "
                f"is spent in {30 / rate:.3g} days. Both the {long} and the {short} windows "
                "must exceed it, so the alert stops soon after the burn does.",
                k8s.runbook_url,
            )
            rule["for"] = "2m" if severity == "critical" else "15m"
            rules.append(rule)
    return rules


def _capacity_rules(scenario: Scenario, scaled: list[str], namespace: str) -> list[dict[str, Any]]:
    """An HPA held at its maximum, and pods left pending (the cluster out of room)."""
    runbook = scenario.kubernetes.runbook_url
    rules = []
    keda = scenario.kubernetes.autoscaler == "keda"
    for name in scaled:
        hpa = f"keda-hpa-{name}" if keda else name  # KEDA names the HPA it makes
        rule = _rule(
            f"{_camel(name)}HpaAtMax",
            f'kube_horizontalpodautoscaler_status_current_replicas{{namespace="{namespace}", '
            f'horizontalpodautoscaler="{hpa}"}} >= '
            f'kube_horizontalpodautoscaler_spec_max_replicas{{namespace="{namespace}", '
            f'horizontalpodautoscaler="{hpa}"}}',
            "warning",
            f"{name} HPA at its maximum",
            "The load needs more replicas than the HPA may add: the plan's headroom is used "
            "up. Raise maxReplicas (and the node bound) or re-run capplan size.",
            runbook,
        )
        rule["for"] = "15m"
        rules.append(rule)
    pending = _rule(
        "PodsPending",
        f'sum(kube_pod_status_phase{{namespace="{namespace}", phase="Pending"}}) > 0',
        "warning",
        "pods pending",
        "Pods found no node with room for their requests: the cluster autoscaler is at its "
        "maximum or cannot add nodes fast enough.",
        runbook,
    )
    pending["for"] = "10m"
    return [*rules, pending]


def prometheus_rule(
    scenario: Scenario,
    names: list[str],
    namespace: str,
    labels: dict[str, str],
    annotations: dict[str, str],
) -> dict[str, Any] | None:
    """The capacity plan's alerts: the ``alerts`` thresholds per workload, burn-rate alerts
    on the objectives of ``slos`` at the workloads clients call first, an HPA at its
    maximum, and pending pods."""
    from capplan.scenario.graph import callers

    entry = [n for n in names if None in callers(scenario)[n]]
    scaled = [n for n in names if getattr(scenario.components[n], "autoscaling", None)]
    groups = []
    thresholds = [r for n in names for r in _threshold_rules(scenario, n, namespace)]
    if thresholds:
        groups.append({"name": f"{scenario.name}-capacity", "rules": thresholds})
    slo = [r for n in entry for r in _slo_rules(scenario, n, namespace)]
    if slo:
        groups.append({"name": f"{scenario.name}-slo", "rules": slo})
    groups.append(
        {"name": f"{scenario.name}-scaling", "rules": _capacity_rules(scenario, scaled, namespace)}
    )
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": f"{scenario.name}-capacity",
            "namespace": namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": {"groups": groups},
    }


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))


def stores_values(
    scenario: Scenario,
    exclude: set[str] | None = None,
    caches: Mapping[str, CacheMemory] | None = None,
) -> dict[str, Any]:
    """Sizing of the stateful stores that name no chart, for the operators that run them;
    ``caches``: each cache's memory where the caller has worked it out already."""
    from capplan.k8s.charts import EVICTION, cache_memory, store_resources

    out: dict[str, Any] = {}
    for name, component in scenario.components.items():
        c = as_pooled(component)
        if c is None or kind_of(c).deployment or name in (exclude or ()):
            continue  # a Deployment, or not run in the cluster
        entry: dict[str, Any] = {"type": c.type, "replicas": c.replicas, "workers": c.workers}
        if isinstance(c, DatabaseComponent):
            entry.update(shards=c.shards, read_replicas=c.read_replicas)
        resources = store_resources(c)
        if resources is not None:
            entry["resources"] = resources
        if isinstance(c, CacheComponent):
            held = (caches or {}).get(name) or cache_memory(scenario, name, c)
            if held.maxmemory_mib is not None:
                entry["maxmemory"] = memory_quantity(held.maxmemory_mib * 2**20)
                entry["maxmemory_policy"] = EVICTION
        out[name] = entry
    if out and scenario.costs is not None and scenario.costs.storage is not None:
        storage = scenario.costs.storage
        growth = scenario.load_scale if storage.grows_with_load else 1.0
        out["storage"] = {"total_gb": round(storage.size / 1e9 * growth, 1)}
    return out


def adapter_values(scenario: Scenario, namespace: str) -> tuple[dict[str, Any], list[str]] | None:
    """prometheus-adapter rules (its Helm chart's ``rules.custom``) for the Pods metrics
    the HPAs scale on, with the windows the simulation used; None when no HPA has one."""
    from capplan.k8s.objects import PODS_METRIC, RPS_METRIC

    total = scenario.kubernetes.metrics.requests_total
    rps_windows: set[float] = set()
    inflight = False
    for c in scenario.components.values():
        hpa = getattr(c, "autoscaling", None)
        if hpa is None:
            continue
        if hpa.rps_target is not None:
            rps_windows.add(hpa.metrics_window)
        inflight = inflight or hpa.inflight_target is not None
    if not rps_windows and not inflight:
        return None
    resources = {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}}
    rules = []
    if rps_windows:
        window = max(rps_windows)
        rules.append(
            {
                "seriesQuery": f'{total}{{namespace="{namespace}",pod!=""}}',
                "resources": resources,
                "name": {"matches": f"^{total}$", "as": RPS_METRIC},
                "metricsQuery": (
                    f"sum(rate(<<.Series>>{{<<.LabelMatchers>>}}[{window:g}s])) by (<<.GroupBy>>)"
                ),
            }
        )
    if inflight:
        rules.append(
            {
                "seriesQuery": f'{PODS_METRIC}{{namespace="{namespace}",pod!=""}}',
                "resources": resources,
                "name": {"as": PODS_METRIC},
                "metricsQuery": "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)",
            }
        )
    comment = [
        "Rules for prometheus-adapter (its Helm chart's values), serving the Pods metrics the",
        f"HPAs scale on through the custom metrics API. The services export {total}",
        f"(a counter of answered requests) and {PODS_METRIC} (a gauge of requests in service",
        "or queued in the pod). The rate window is the one simulated (autoscaling.metrics_window);",
        "Prometheus needs two samples in it, so scrape at least twice as often.",
    ]
    return {"rules": {"default": False, "custom": rules}}, comment


def cluster_autoscaler_values(scenario: Scenario) -> tuple[dict[str, Any], list[str]] | None:
    """The cluster autoscaler settings the simulation ran with (its Helm chart's
    ``extraArgs``) and the node group bounds; None without ``costs``."""
    if scenario.costs is None:
        return None
    c = scenario.costs.cluster
    values: dict[str, Any] = {
        "extraArgs": {
            "scan-interval": f"{c.scan_interval:g}s",
            "scale-down-utilization-threshold": c.scale_down_utilization_threshold,
            "scale-down-unneeded-time": f"{c.scale_down_unneeded_time:g}s",
            "scale-down-delay-after-add": f"{c.scale_down_delay_after_add:g}s",
        },
        "autoscalingGroups": [
            {
                "name": f"{scenario.name}-nodes",
                "minSize": c.min_nodes,
                "maxSize": c.max_nodes if c.max_nodes is not None else c.min_nodes,
            }
        ],
    }
    node = scenario.costs.node
    comment = [
        "cluster-autoscaler settings as simulated (its Helm chart's values). The node group",
        f"name is a placeholder: use your cloud's; its nodes: {node.cpu:g} CPU, "
        f"{node.memory / 2**30:g}Gi allocatable, ${node.price_per_hour:g}/hour; "
        f"ready about {c.node_startup:g}s after being asked for.",
    ]
    if c.max_nodes is None:
        comment.append("The scenario sets no max_nodes: set maxSize to the most you will pay for.")
    return values, comment

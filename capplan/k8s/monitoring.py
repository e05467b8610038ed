"""Alert rules (prometheus-operator PrometheusRule) and the sizing of stateful stores."""

from __future__ import annotations

from typing import Any

from capplan.scenario.components import DatabaseComponent, ServiceComponent
from capplan.scenario.model import Scenario

RESPONSE_HISTOGRAM = "http_server_request_duration_seconds_bucket"
"""The request-duration histogram the services export (OpenTelemetry's HTTP semantic
conventions as exported to Prometheus)."""


def _rule(alert: str, expr: str, severity: str, summary: str) -> dict[str, Any]:
    return {
        "alert": alert,
        "expr": expr,
        "for": "5m",
        "labels": {"severity": severity},
        "annotations": {"summary": summary},
    }


def prometheus_rule(
    scenario: Scenario,
    names: list[str],
    namespace: str,
    labels: dict[str, str],
    annotations: dict[str, str],
) -> dict[str, Any] | None:
    """One rule group with a warning and a critical alert per threshold and workload."""
    alerts = scenario.alerts
    if alerts is None:
        return None
    rules = []
    for name in names:
        pods = f'namespace="{namespace}", pod=~"{name}-.*"'
        ctr = f'{pods}, container="{name}"'
        # (thresholds, alert suffix, PromQL ratio or quantile, summary for workload and level)
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
                f"histogram_quantile(0.95, sum by (le) (rate({RESPONSE_HISTOGRAM}{{{pods}}}[5m])))",
                lambda n, x: f"{n} p95 response time above {x * 1000:g}ms",
            ),
        ]
        for level in ("warning", "critical"):
            for thresholds, suffix, expr, summary in checks:
                if thresholds is not None:
                    x = getattr(thresholds, level)
                    rules.append(
                        _rule(f"{_camel(name)}{suffix}", f"{expr} > {x:g}", level, summary(name, x))
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
        "spec": {"groups": [{"name": f"{scenario.name}-capacity", "rules": rules}]},
    }


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))


def stores_values(scenario: Scenario) -> dict[str, Any]:
    """Sizing of the stateful stores, for the operators or charts that run them."""
    from capplan.k8s.objects import quantities

    out: dict[str, Any] = {}
    for name, c in scenario.components.items():
        if not isinstance(c, ServiceComponent) or c.type == "service":
            continue
        entry: dict[str, Any] = {"type": c.type, "replicas": c.replicas, "workers": c.workers}
        if isinstance(c, DatabaseComponent):
            entry.update(shards=c.shards, read_replicas=c.read_replicas)
        if c.resources is not None:
            for kind in ("requests", "limits"):
                amounts = quantities(getattr(c.resources, kind))
                if amounts is not None:
                    entry.setdefault("resources", {})[kind] = amounts
        out[name] = entry
    if scenario.costs is not None and scenario.costs.storage is not None:
        storage = scenario.costs.storage
        growth = scenario.load_scale if storage.grows_with_load else 1.0
        out["storage"] = {"total_gb": round(storage.size / 1e9 * growth, 1)}
    return out


def adapter_values(scenario: Scenario, namespace: str) -> tuple[dict[str, Any], list[str]] | None:
    """prometheus-adapter rules (its Helm chart's ``rules.custom``) for the Pods metrics
    the HPAs scale on, with the windows the simulation used; None when no HPA has one."""
    from capplan.k8s.objects import PODS_METRIC

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
                "seriesQuery": f'http_requests_total{{namespace="{namespace}",pod!=""}}',
                "resources": resources,
                "name": {"matches": "^(.*)_total$", "as": "${1}_per_second"},
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
        "HPAs scale on through the custom metrics API. The services export http_requests_total",
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

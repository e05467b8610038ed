"""Kubernetes objects for one scenario, built from the kubernetes client's model classes.

Each function returns a plain dict in the API's camelCase form
(``ApiClient().sanitize_for_serialization``), ready to validate and write. The kubernetes
package is imported inside the functions: importing capplan never loads it.
"""

from __future__ import annotations

from typing import Any

from capplan.scenario.autoscaling import Autoscaling
from capplan.scenario.components import ServiceComponent

PODS_METRIC = "capplan_inflight_requests"
"""The per-pod metric an HPA with ``inflight_target`` scales on: requests in flight in the
pod, in service or queued (the application, or its sidecar, exports it as a gauge; a
metrics adapter serves it through the custom metrics API)."""


def cpu_quantity(cores: float) -> str:
    millis = round(cores * 1000)
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def memory_quantity(size: float) -> str:
    whole = round(size)
    for suffix, factor in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if whole % factor == 0:
            return f"{whole // factor}{suffix}"
    return str(whole)


def quantities(amounts: Any) -> dict[str, str] | None:
    """Requests or limits as Kubernetes quantity strings, None when empty."""
    if amounts is None:
        return None
    out = {}
    if amounts.cpu is not None:
        out["cpu"] = cpu_quantity(amounts.cpu)
    if amounts.memory is not None:
        out["memory"] = memory_quantity(amounts.memory)
    return out or None


def _serialize(obj: Any) -> dict[str, Any]:
    from kubernetes.client import ApiClient

    out: dict[str, Any] = ApiClient().sanitize_for_serialization(obj)
    return out


def _meta(name: str, namespace: str, labels: dict[str, str], annotations: dict[str, str]) -> Any:
    from kubernetes import client as k

    return k.V1ObjectMeta(name=name, namespace=namespace, labels=labels, annotations=annotations)


def deployment(
    name: str,
    c: ServiceComponent,
    namespace: str,
    labels: dict[str, str],
    annotations: dict[str, str],
) -> dict[str, Any]:
    """Replicas, requests and limits, and spread over nodes and zones for availability."""
    from kubernetes import client as k

    selector = {"app.kubernetes.io/name": name}
    match = k.V1LabelSelector(match_labels=selector)
    res = c.resources
    container = k.V1Container(
        name=name,
        image=c.image,
        ports=[k.V1ContainerPort(container_port=c.port, name="http")],
        resources=k.V1ResourceRequirements(
            requests=quantities(res.requests) if res else None,
            limits=quantities(res.limits) if res else None,
        ),
    )
    spread = [
        k.V1TopologySpreadConstraint(
            max_skew=1, topology_key=key, when_unsatisfiable="ScheduleAnyway", label_selector=match
        )
        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
    ]
    anti_affinity = k.V1PodAntiAffinity(
        preferred_during_scheduling_ignored_during_execution=[
            k.V1WeightedPodAffinityTerm(
                weight=100,
                pod_affinity_term=k.V1PodAffinityTerm(
                    topology_key="kubernetes.io/hostname", label_selector=match
                ),
            )
        ]
    )
    spec = k.V1DeploymentSpec(
        replicas=c.replicas,
        selector=match,
        template=k.V1PodTemplateSpec(
            metadata=k.V1ObjectMeta(labels={**labels, **selector}),
            spec=k.V1PodSpec(
                containers=[container],
                affinity=k.V1Affinity(pod_anti_affinity=anti_affinity),
                topology_spread_constraints=spread,
            ),
        ),
    )
    obj = k.V1Deployment(
        api_version="apps/v1",
        kind="Deployment",
        metadata=_meta(name, namespace, {**labels, **selector}, annotations),
        spec=spec,
    )
    return _serialize(obj)


RPS_METRIC = "http_requests_per_second"
"""The per-pod request rate an HPA with ``rps_target`` scales on, served by a metrics
adapter from the services' ``http_requests_total`` counter."""


def _pods_metric(name: str, value: float) -> Any:
    from kubernetes import client as k

    return k.V2MetricSpec(
        type="Pods",
        pods=k.V2PodsMetricSource(
            metric=k.V2MetricIdentifier(name=name),
            target=k.V2MetricTarget(type="AverageValue", average_value=_decimal(value)),
        ),
    )


def _decimal(value: float) -> str:
    """A quantity for a plain number: '20', '2500m'."""
    millis = round(value * 1000)
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def hpa_behavior(spec: Autoscaling) -> dict[str, Any]:
    """The behavior the simulation ran, every default written out (camelCase), with a
    direction's ``tolerance`` where it differs from Kubernetes' 0.1."""
    from capplan.autoscaling.hpa import rules

    given = spec.behavior_dict()
    out = {}
    for direction in ("scaleUp", "scaleDown"):
        r = rules(given, direction)
        entry: dict[str, Any] = {
            "stabilizationWindowSeconds": r["stabilizationWindowSeconds"],
            "selectPolicy": r["selectPolicy"],
            "policies": [dict(p) for p in r["policies"]],
        }
        tolerance = r.get("tolerance", spec.tolerance)
        if abs(tolerance - 0.1) > 1e-12:
            entry["tolerance"] = _decimal(tolerance)
        out[direction] = entry
    return out


def hpa(
    name: str,
    c: ServiceComponent,
    namespace: str,
    labels: dict[str, str],
    annotations: dict[str, str],
) -> dict[str, Any]:
    """autoscaling/v2, exactly as simulated: the scenario's targets (CPU and memory as
    Resource utilization; request rate and requests in flight per pod as Pods metrics)
    and its behavior with the defaults written out."""
    from kubernetes import client as k

    spec = c.autoscaling
    assert spec is not None
    metrics = []
    for metric, target in spec.targets.items():
        if metric in ("cpu", "memory"):
            metrics.append(
                k.V2MetricSpec(
                    type="Resource",
                    resource=k.V2ResourceMetricSource(
                        name=metric,
                        target=k.V2MetricTarget(
                            type="Utilization", average_utilization=round(target * 100)
                        ),
                    ),
                )
            )
        else:
            metrics.append(_pods_metric(RPS_METRIC if metric == "rps" else PODS_METRIC, target))
    obj = k.V2HorizontalPodAutoscaler(
        api_version="autoscaling/v2",
        kind="HorizontalPodAutoscaler",
        metadata=_meta(name, namespace, labels, annotations),
        spec=k.V2HorizontalPodAutoscalerSpec(
            scale_target_ref=k.V2CrossVersionObjectReference(
                api_version="apps/v1", kind="Deployment", name=name
            ),
            min_replicas=spec.min,
            max_replicas=spec.max,
            metrics=metrics,
        ),
    )
    out = _serialize(obj)
    out["spec"]["behavior"] = hpa_behavior(spec)
    return out


def pdb(
    name: str, namespace: str, labels: dict[str, str], annotations: dict[str, str]
) -> dict[str, Any]:
    """At most one pod down at a time for voluntary disruptions (node drains, upgrades)."""
    from kubernetes import client as k

    obj = k.V1PodDisruptionBudget(
        api_version="policy/v1",
        kind="PodDisruptionBudget",
        metadata=_meta(name, namespace, labels, annotations),
        spec=k.V1PodDisruptionBudgetSpec(
            max_unavailable=1,
            selector=k.V1LabelSelector(match_labels={"app.kubernetes.io/name": name}),
        ),
    )
    return _serialize(obj)

"""Kubernetes objects for one scenario, built from the kubernetes client's model classes.

Each function returns a plain dict in the API's camelCase form
(``ApiClient().sanitize_for_serialization``), ready to validate and write. The kubernetes
package is imported inside the functions: importing capplan never loads it.
"""

from __future__ import annotations

from typing import Any

from capplan.scenario.components import ServiceComponent

PODS_METRIC = "capplan_inflight_requests"
"""The per-pod metric an HPA scales worker-bound workloads on: requests in flight in the pod
(the application, or its sidecar, exports it through the custom metrics API)."""


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


def hpa(
    name: str,
    c: ServiceComponent,
    namespace: str,
    labels: dict[str, str],
    annotations: dict[str, str],
    worker_bound: bool,
) -> dict[str, Any]:
    """autoscaling/v2 on CPU, plus requests in flight per pod where the workers, not the
    CPU, run out first."""
    from kubernetes import client as k

    assert c.autoscaling is not None
    target = c.autoscaling.cpu_target
    metrics = [
        k.V2MetricSpec(
            type="Resource",
            resource=k.V2ResourceMetricSource(
                name="cpu",
                target=k.V2MetricTarget(
                    type="Utilization", average_utilization=round(target * 100)
                ),
            ),
        )
    ]
    if worker_bound:
        metrics.append(
            k.V2MetricSpec(
                type="Pods",
                pods=k.V2PodsMetricSource(
                    metric=k.V2MetricIdentifier(name=PODS_METRIC),
                    target=k.V2MetricTarget(
                        type="AverageValue", average_value=str(max(1, int(c.workers * target)))
                    ),
                ),
            )
        )
    behavior = k.V2HorizontalPodAutoscalerBehavior(
        # scale up at once: queues build in seconds under a traffic step
        scale_up=k.V2HPAScalingRules(
            stabilization_window_seconds=0,
            select_policy="Max",
            policies=[
                k.V2HPAScalingPolicy(type="Percent", value=100, period_seconds=60),
                k.V2HPAScalingPolicy(type="Pods", value=4, period_seconds=60),
            ],
        ),
        # scale down only after five minutes of lower load, by at most half the pods a minute,
        # so a dip between bursts does not remove capacity the next burst needs
        scale_down=k.V2HPAScalingRules(
            stabilization_window_seconds=300,
            select_policy="Min",
            policies=[k.V2HPAScalingPolicy(type="Percent", value=50, period_seconds=60)],
        ),
    )
    obj = k.V2HorizontalPodAutoscaler(
        api_version="autoscaling/v2",
        kind="HorizontalPodAutoscaler",
        metadata=_meta(name, namespace, labels, annotations),
        spec=k.V2HorizontalPodAutoscalerSpec(
            scale_target_ref=k.V2CrossVersionObjectReference(
                api_version="apps/v1", kind="Deployment", name=name
            ),
            min_replicas=c.autoscaling.min,
            max_replicas=c.autoscaling.max,
            metrics=metrics,
            behavior=behavior,
        ),
    )
    return _serialize(obj)


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

"""Kubernetes objects for one scenario, built from the kubernetes client's model classes.

Each function returns a plain dict in the API's camelCase form
(``ApiClient().sanitize_for_serialization``), ready to validate and write. The kubernetes
package is imported inside the functions: importing capplan never loads it.
"""

from __future__ import annotations

from typing import Any

from capplan.scenario.autoscaling import Autoscaling
from capplan.scenario.components import ServiceComponent
from capplan.scenario.kubernetes import Kubernetes

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
    settings: Kubernetes,
) -> dict[str, Any]:
    """Requests and limits, probes, a restricted security context, its own service account
    without a token, spread over nodes and zones; no ``replicas`` where an HPA owns the
    count (every apply would reset it; the HPA's minimum sets the start)."""
    from kubernetes import client as k

    from capplan.k8s import pods

    selector = {"app.kubernetes.io/name": name}
    match = k.V1LabelSelector(match_labels=selector)
    container = k.V1Container(
        name=name,
        image=c.image,
        image_pull_policy="Always",
        ports=[k.V1ContainerPort(container_port=c.port, name="http")],
    )
    zone_rule = "DoNotSchedule" if settings.zone_spread == "required" else "ScheduleAnyway"
    # Honor: nodes whose taints the pod does not tolerate are left out of the skew. In a
    # zone outage the zone's nodes stay, tainted unreachable, with none of the pods; left
    # in (the default, Ignore), they hold the global minimum at zero, and a DoNotSchedule
    # spread then keeps every replacement and new pod pending until the zone is back.
    # The simulation spreads over the zones up, as Honor does.
    spread = [
        k.V1TopologySpreadConstraint(
            max_skew=1,
            topology_key=key,
            when_unsatisfiable=rule,
            label_selector=match,
            node_taints_policy="Honor",
        )
        for key, rule in (
            ("topology.kubernetes.io/zone", zone_rule),
            ("kubernetes.io/hostname", "ScheduleAnyway"),
        )
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
        replicas=None if c.autoscaling is not None else c.replicas,
        selector=match,
        template=k.V1PodTemplateSpec(
            metadata=k.V1ObjectMeta(labels={**labels, **selector}),
            spec=k.V1PodSpec(
                containers=[container],
                service_account_name=name,
                automount_service_account_token=False,
                affinity=k.V1Affinity(pod_anti_affinity=anti_affinity),
                topology_spread_constraints=spread,
            ),
        ),
    )
    obj = _serialize(
        k.V1Deployment(
            api_version="apps/v1",
            kind="Deployment",
            metadata=_meta(name, namespace, {**labels, **selector}, annotations),
            spec=spec,
        )
    )
    pod = obj["spec"]["template"]["spec"]
    box = pod["containers"][0]
    resources = pods.resources(c, settings)
    if resources:
        box["resources"] = resources
    box.update(pods.probes(c))
    pod["securityContext"], box["securityContext"] = pods.security(settings)
    volumes, mounts = pods.volumes(settings)
    if volumes:
        pod["volumes"], box["volumeMounts"] = volumes, mounts
    return obj


def service_account(
    name: str, namespace: str, labels: dict[str, str], annotations: dict[str, str]
) -> dict[str, Any]:
    """The pods' own identity, with no API token mounted (they do not call the API)."""
    from kubernetes import client as k

    return _serialize(
        k.V1ServiceAccount(
            api_version="v1",
            kind="ServiceAccount",
            metadata=_meta(name, namespace, labels, annotations),
            automount_service_account_token=False,
        )
    )


def service(
    name: str,
    c: ServiceComponent,
    namespace: str,
    labels: dict[str, str],
    annotations: dict[str, str],
) -> dict[str, Any]:
    """A ClusterIP Service over the ready pods: the load balancing the model assumed
    (kube-proxy spreads connections over the ready endpoints)."""
    from kubernetes import client as k

    return _serialize(
        k.V1Service(
            api_version="v1",
            kind="Service",
            metadata=_meta(name, namespace, labels, annotations),
            spec=k.V1ServiceSpec(
                selector={"app.kubernetes.io/name": name},
                ports=[k.V1ServicePort(name="http", port=c.port, target_port="http")],
            ),
        )
    )


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


def network_policy(
    name: str,
    port: int,
    callers: frozenset[str | None],
    monitoring_namespace: str,
    namespace: str,
    labels: dict[str, str],
    annotations: dict[str, str],
) -> dict[str, Any]:
    """Ingress to the pods on their port from exactly the components the request graph
    shows calling them (from anywhere when clients outside the system call it first), and
    from the monitoring namespace for scraping; everything else is refused."""
    from kubernetes import client as k

    peers = []
    outside = None in callers
    for caller in sorted(c for c in callers if c is not None):
        peers.append(
            k.V1NetworkPolicyPeer(
                pod_selector=k.V1LabelSelector(match_labels={"app.kubernetes.io/name": caller})
            )
        )
    rules = [
        k.V1NetworkPolicyIngressRule(
            _from=None if outside else peers,  # type: ignore[call-arg]
            ports=[k.V1NetworkPolicyPort(port=port, protocol="TCP")],
        )
    ]
    rules.append(
        k.V1NetworkPolicyIngressRule(
            _from=[  # type: ignore[call-arg]
                k.V1NetworkPolicyPeer(
                    namespace_selector=k.V1LabelSelector(
                        match_labels={"kubernetes.io/metadata.name": monitoring_namespace}
                    )
                )
            ],
            ports=[k.V1NetworkPolicyPort(port=port, protocol="TCP")],
        )
    )
    return _serialize(
        k.V1NetworkPolicy(
            api_version="networking.k8s.io/v1",
            kind="NetworkPolicy",
            metadata=_meta(name, namespace, labels, annotations),
            spec=k.V1NetworkPolicySpec(
                pod_selector=k.V1LabelSelector(match_labels={"app.kubernetes.io/name": name}),
                policy_types=["Ingress"],
                ingress=rules,
            ),
        )
    )


def pdb(
    name: str,
    min_available: int,
    namespace: str,
    labels: dict[str, str],
    annotations: dict[str, str],
) -> dict[str, Any]:
    """Voluntary disruptions (node drains, upgrades) may not take the ready pods below
    ``min_available``."""
    from kubernetes import client as k

    obj = k.V1PodDisruptionBudget(
        api_version="policy/v1",
        kind="PodDisruptionBudget",
        metadata=_meta(name, namespace, labels, annotations),
        spec=k.V1PodDisruptionBudgetSpec(
            min_available=min_available,
            selector=k.V1LabelSelector(match_labels={"app.kubernetes.io/name": name}),
        ),
    )
    return _serialize(obj)


def service_monitor(
    name: str, namespace: str, labels: dict[str, str], annotations: dict[str, str]
) -> dict[str, Any]:
    """prometheus-operator's ServiceMonitor: Prometheus scrapes the pods' /metrics (the
    request counter and latency histogram the alerts and the request-rate HPA read)."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "endpoints": [{"port": "http", "path": "/metrics", "interval": "15s"}],
        },
    }


def scaled_object(
    name: str,
    c: ServiceComponent,
    settings: Kubernetes,
    namespace: str,
    labels: dict[str, str],
    annotations: dict[str, str],
) -> dict[str, Any]:
    """KEDA's ScaledObject for the same autoscaling the simulation ran: the bounds, CPU and
    memory as utilization triggers, the request rate and requests in flight per pod as
    prometheus triggers (AverageValue: the query's total over the pods), the behavior
    handed to the HPA that KEDA makes."""
    spec = c.autoscaling
    assert spec is not None
    sel = f'namespace="{namespace}", pod=~"{name}-.*"'
    total = settings.metrics.requests_total
    triggers: list[dict[str, Any]] = []
    for metric, target in spec.targets.items():
        if metric in ("cpu", "memory"):
            triggers.append(
                {
                    "type": metric,
                    "metricType": "Utilization",
                    "metadata": {"value": str(round(target * 100))},
                }
            )
            continue
        query = (
            f"sum(rate({total}{{{sel}}}[{spec.metrics_window:g}s]))"
            if metric == "rps"
            else f"sum({PODS_METRIC}{{{sel}}})"
        )
        triggers.append(
            {
                "type": "prometheus",
                "metricType": "AverageValue",
                "metadata": {
                    "serverAddress": settings.prometheus_url,
                    "query": query,
                    "threshold": f"{target:g}",
                },
            }
        )
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicaCount": spec.min,
            "maxReplicaCount": spec.max,
            "pollingInterval": max(1, round(spec.metrics_window)),
            "advanced": {"horizontalPodAutoscalerConfig": {"behavior": hpa_behavior(spec)}},
            "triggers": triggers,
        },
    }

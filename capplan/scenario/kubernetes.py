"""How the scenario's services are deployed: the ``kubernetes`` section (namespace, pod
security, memory guarantees) and a component's ``health`` endpoint. Only
``render-manifests`` reads these; the simulation does not."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from capplan.scenario.types import Model


class Security(Model):
    """The pod and container security context every Deployment gets: what a Pod Security
    Admission ``restricted`` namespace requires, relaxed only where an image needs it."""

    run_as_non_root: bool = True
    """The container must not run as root (restricted requires it)."""
    run_as_user: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = 10001
    """The UID to run as (above 10000, clear of host users); null leaves it to the image,
    which must then name a non-root user."""
    read_only_root_filesystem: bool = True
    """The image's filesystem is read-only; ``writable_paths`` get an emptyDir each."""
    writable_paths: list[str] = Field(default_factory=lambda: ["/tmp"])
    """Paths the process writes to (an emptyDir volume each) under a read-only root."""
    add_capabilities: list[str] = Field(default_factory=list)
    """Capabilities added back after dropping ALL (restricted allows NET_BIND_SERVICE)."""


class Metrics(Model):
    """Names of the metrics the services export, as Prometheus stores them."""

    request_duration: str = Field(
        "http_server_request_duration_seconds", pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"
    )
    """Request-duration histogram (OpenTelemetry's http.server.request.duration, in
    seconds, as exported to Prometheus); its ``_bucket`` and ``_count`` series are read."""
    requests_total: str = Field("http_requests_total", pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
    """Counter of answered requests per pod, with a ``code`` label (the request-rate HPA
    metric and the error-rate alerts read it)."""


class Kubernetes(Model):
    """Deployment settings for the rendered manifests."""

    namespace: Annotated[str, Field(min_length=1, max_length=63)] | None = None
    """Namespace of every object (``--namespace`` overrides; without either: default)."""
    security: Security = Field(default_factory=Security)
    """Pod security context."""
    monitoring_namespace: str = "monitoring"
    """Where Prometheus runs: the NetworkPolicies let it scrape the pods."""
    autoscaler: Literal["hpa", "keda"] = "hpa"
    """What renders each component's ``autoscaling``: a HorizontalPodAutoscaler (with the
    prometheus-adapter rules for its Pods metrics), or a KEDA ScaledObject (KEDA makes the
    HPA, reading the request-rate and in-flight metrics from Prometheus itself)."""
    prometheus_url: str = "http://prometheus-operated.monitoring.svc:9090"
    """Where KEDA's prometheus triggers query."""
    metrics: Metrics = Field(default_factory=Metrics)
    """Metric names the alerts, the adapter rules and the HPA read."""
    runbook_url: str | None = None
    """Base URL of the runbooks; each alert links ``<runbook_url>#<alert name>``."""
    guaranteed_memory: bool = True
    """Memory request = memory limit, so that a pod is not the first OOM-killed under node
    pressure (its memory is Guaranteed); false keeps the scenario's requests as given."""
    zone_spread: Literal["preferred", "required"] = "preferred"
    """How the rendered topology spread constraint on the zone binds: ``required``
    (DoNotSchedule: a pod that would unbalance the zones waits) is what surviving a zone
    outage relies on; ``capplan size --survive zone_outage`` sets it."""
    zones: Annotated[int, Field(ge=1, le=10, strict=True)] = 3
    """Availability zones the cluster spans ('a', 'b', ...). Pods spread evenly over them,
    as the rendered topology spread constraints require; a zone outage takes its share."""


class Health(Model):
    """A component's health endpoint, for its readiness, liveness and startup probes."""

    path: str = Field("/healthz", pattern=r"^/")
    """HTTP path that answers 200 when the process can serve."""
    port: Annotated[int, Field(gt=0, lt=65536, strict=True)] | None = None
    """Port of the endpoint (default: the component's ``port``)."""
    liveness_path: str | None = Field(None, pattern=r"^/")
    """A separate path for liveness (default: ``path``)."""

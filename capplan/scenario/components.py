"""Component types of the scenario language, one model per ``type``.

Components form a discriminated union on ``type``. A new type is one model here (listed in
``COMPONENT_MODELS``) plus one station module registered under the same name in
``capplan.sim.stations``; the engine itself does not change.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from capplan.scenario.autoscaling import Autoscaling, Memory
from capplan.scenario.distributions import Constant, Distribution
from capplan.scenario.external import LinkComponent, LlmApiComponent
from capplan.scenario.kubernetes import Health
from capplan.scenario.types import (
    Bytes,
    Cpu,
    CpuTime,
    Fraction,
    Model,
    Replicas,
    SmallCount,
    Workers,
)


class ResourceAmounts(Model):
    """CPU and memory, as in a Kubernetes container's ``requests`` or ``limits``."""

    cpu: Cpu | None = None
    """CPU cores: 2 or '500m'."""
    memory: Bytes | None = None
    """Memory: '4Gi', '512Mi'."""


class Resources(Model):
    """Per-replica (per-pod) resources."""

    requests: ResourceAmounts | None = None
    """What the scheduler reserves for one replica."""
    limits: ResourceAmounts | None = None
    """The most one replica may use."""

    @model_validator(mode="after")
    def _requests_within_limits(self) -> Resources:
        if self.requests is None or self.limits is None:
            return self
        for key in ("cpu", "memory"):
            req, lim = getattr(self.requests, key), getattr(self.limits, key)
            if req is not None and lim is not None and req > lim:
                raise ValueError(f"requests.{key} exceeds limits.{key}")
        return self


class ServiceComponent(Model):
    """A pool of identical replicas, each running ``workers`` requests at a time.

    Capacity is replicas × workers. A request holds one worker for its service time and,
    while still holding it, for every nested step (layered queueing: a worker waiting on a
    database is busy).
    """

    type: Literal["service"]
    replicas: Replicas = 1
    """Number of replicas (pods)."""
    workers: Workers = 1
    """Requests one replica serves at the same time (threads, event-loop slots, connections)."""
    load_balancing: Literal["round_robin", "least_connections", "shared_queue"] = "round_robin"
    """How requests spread over replicas. ``round_robin`` (default) and ``least_connections``
    give each replica its own queue, as behind a Kubernetes Service; ``shared_queue`` is one
    queue for all workers, the M/M/c idealization."""
    service_time: Distribution = Field(default_factory=lambda: Constant(value=0.0))
    """Time a worker spends on one request, excluding nested steps. Default 0s."""
    cpu_per_request: CpuTime | None = None
    """CPU time one request consumes here, for CPU utilization against ``resources.requests.cpu``."""
    resources: Resources | None = None
    """Per-replica requests and limits (Kubernetes quantities)."""
    queue_limit: Annotated[int, Field(ge=0, le=10_000_000, strict=True)] | None = None
    """Requests allowed to wait per queue; one more is rejected (error cause ``rejected``).
    Default: unbounded."""
    autoscaling: Autoscaling | None = None
    """A HorizontalPodAutoscaler (services only): it runs in the simulation, and
    ``render-manifests`` writes it."""
    startup: Distribution | None = None
    """Time from a pod being placed on a node to ready (image pull, process start,
    readiness probe), for replicas added during a run. Default: ready at once, which
    flatters an autoscaler; give it."""
    memory: Memory | None = None
    """Memory per replica: base plus per request in flight (for memory targets and
    memory against requests and limits)."""
    image: str | None = None
    """Container image, for rendered manifests (e.g. ghcr.io/acme/api:1.4)."""
    port: Annotated[int, Field(gt=0, lt=65536, strict=True)] = 8080
    """Container port, for rendered manifests."""
    health: Health = Field(default_factory=Health)
    """Health endpoint for the rendered probes (default GET /healthz on ``port``)."""

    @property
    def capacity(self) -> int:
        """Workers that can serve any request."""
        return self.replicas * self.workers

    @property
    def pods(self) -> int:
        """Instances that run in the cluster (each with ``resources``)."""
        return self.replicas


class DatabaseComponent(ServiceComponent):
    """A database: a service plus sharding and read replicas.

    Load is split evenly over ``shards``; each shard has ``replicas`` × ``workers`` that
    serve every operation, plus ``read_replicas`` × ``workers`` that serve only steps marked
    ``op: read``.
    """

    type: Literal["database"]  # type: ignore[assignment]
    chart: Literal["bitnami/mongodb-sharded", "neo4j/neo4j"] | None = None
    """The Helm chart that runs it, for rendered values (without one: generic sizing)."""
    shards: SmallCount = 1
    """Shards; a call goes to one shard chosen uniformly."""
    read_replicas: Annotated[int, Field(ge=0, le=1000, strict=True)] = 0
    """Extra replicas per shard that serve ``op: read`` steps only."""

    @property
    def capacity(self) -> int:
        return self.shards * (self.replicas + self.read_replicas) * self.workers

    @property
    def pods(self) -> int:
        return self.shards * (self.replicas + self.read_replicas)


class CacheComponent(ServiceComponent):
    """A cache: a service whose lookups hit with probability ``hit_ratio``.

    On a miss the step's ``on_miss`` steps run after the lookup has released its worker
    (cache-aside: the caller, not the cache, goes to the backing store).
    """

    type: Literal["cache"]  # type: ignore[assignment]
    chart: Literal["bitnami/redis-cluster"] | None = None
    """The Helm chart that runs it, for rendered values (without one: generic sizing)."""
    hit_ratio: Fraction
    """Fraction of lookups that hit, e.g. '85%'."""


COMPONENT_MODELS: tuple[type[Model], ...] = (
    ServiceComponent,
    DatabaseComponent,
    CacheComponent,
    LlmApiComponent,
    LinkComponent,
)

Component = Annotated[
    ServiceComponent | DatabaseComponent | CacheComponent | LlmApiComponent | LinkComponent,
    Field(discriminator="type"),
]
"""Any component; the ``type`` key selects the model."""

"""``type: service``: replicas × workers behind a load balancer, run as a Deployment."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from capplan.kinds.base import Kind
from capplan.scenario.autoscaling import Autoscaling, Memory
from capplan.scenario.distributions import Constant, Distribution
from capplan.scenario.kubernetes import Health
from capplan.scenario.resources import Resources
from capplan.scenario.types import CpuTime, Model, Replicas, Workers
from capplan.sim.stations.base import BuildContext
from capplan.sim.stations.pooled import PooledStation


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
    cpu_model: Literal["fixed", "contended"] = "fixed"
    """``fixed`` (default): service times are as given, and CPU demand past the limits is
    only reported. ``contended``: a replica's CPU limit is shared by processor sharing
    among its requests in service (each using ``cpu_per_request`` / mean service time
    cores, or one core), so service times stretch when their demand exceeds the limit, as
    a CFS quota throttles a pod; needs ``resources.limits.cpu``."""
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


def build(name: str, component: Any, ctx: BuildContext) -> PooledStation:
    return PooledStation(name, component, ctx.kernel, ctx.streams, [(component.replicas, 0)])


KIND = Kind(ServiceComponent, build, pooled=True, deployment=True)

"""The ``costs`` section: what the infrastructure costs, for monthly cost per scenario."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from capplan.scenario.types import (
    Bytes,
    Cpu,
    Dollars,
    Fraction,
    Model,
    NonNegativeDuration,
    PositiveDuration,
)


class NodeShape(Model):
    """One cluster node as the scheduler sees it (allocatable capacity)."""

    cpu: Cpu
    """Allocatable CPU cores."""
    memory: Bytes
    """Allocatable memory: '32Gi'."""
    price_per_hour: Annotated[float, Field(ge=0, le=1e6)]
    """Dollars per node-hour."""
    mtbf: PositiveDuration | None = None
    """Mean time between failures of one node ('30d'), for a run with live nodes: every
    node fails independently at exponential times, and its pods with it."""
    replacement: PositiveDuration = 300.0
    """From a node's failure to the node group's replacement taking pods (its health
    check noticing, then a new instance starting). Default 5min."""


class Cluster(Model):
    """The nodes and the cluster autoscaler, with its defaults (kubernetes/autoscaler
    cluster-autoscaler flags). In a run every pod's requests are placed on nodes; a pod
    that fits on none stays pending until the autoscaler's node is ready."""

    min_nodes: Annotated[int, Field(ge=0, le=100_000, strict=True)] = 0
    """The cluster never runs fewer nodes."""
    max_nodes: Annotated[int, Field(gt=0, le=100_000, strict=True)] | None = None
    """The cluster cannot run more; pods pending at this size are reported."""
    node_startup: PositiveDuration = 120.0
    """From the autoscaler asking for a node to the node taking pods (provisioning and
    kubelet ready): the cloud's, typically one to a few minutes."""
    scan_interval: PositiveDuration = 10.0
    """How often the autoscaler looks (--scan-interval)."""
    scale_down_utilization_threshold: Fraction = 0.5
    """A node whose pods request less than this share of its CPU and of its memory is a
    candidate for removal (--scale-down-utilization-threshold)."""
    scale_down_unneeded_time: NonNegativeDuration = 600.0
    """How long a node must stay a candidate before it is removed
    (--scale-down-unneeded-time)."""
    scale_down_delay_after_add: NonNegativeDuration = 600.0
    """No removal for this long after a node was added (--scale-down-delay-after-add)."""

    @model_validator(mode="after")
    def _ordered(self) -> Cluster:
        if self.max_nodes is not None and self.max_nodes < self.min_nodes:
            raise ValueError("max_nodes must be at least min_nodes")
        return self


class Storage(Model):
    """Persistent storage."""

    size: Bytes
    """Stored data at today's load: '500GB'."""
    price_per_gb_month: Annotated[float, Field(ge=0, le=1e4)]
    """Dollars per GB-month (replication, IOPS and backups included, as billed)."""
    grows_with_load: bool = False
    """Whether the stored data grows in proportion to ``load_scale``."""


class NetworkCost(Model):
    """Network charges."""

    fixed_per_month: Dollars = 0.0
    """Dollars per month for capacity (ports, interconnects, load balancers)."""
    egress_price_per_gb: Annotated[float, Field(ge=0, le=1e4)] = 0.0
    """Dollars per GB crossing the links named in ``egress_links``."""
    egress_links: list[str] = Field(default_factory=list)
    """Link components whose traffic is billed as egress."""


class Baseline(Model):
    """Monthly figures to compare with (e.g. a planning document's), by category, dollars."""

    compute: Dollars | None = None
    storage: Dollars | None = None
    network: Dollars | None = None
    llm: Dollars | None = None


class Costs(Model):
    """Prices that turn the simulated system into a monthly bill."""

    node: NodeShape
    """Node shape; compute cost comes from bin-packing every pod's requests onto it."""
    cluster: Cluster = Field(default_factory=Cluster)
    """Node-count bounds."""
    storage: Storage | None = None
    """Persistent storage."""
    network: NetworkCost | None = None
    """Network charges."""
    baseline: Baseline | None = None
    """Figures to compare with, shown beside the computed ones."""

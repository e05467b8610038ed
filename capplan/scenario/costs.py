"""The ``costs`` section: what the infrastructure costs, for monthly cost per scenario."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from capplan.scenario.types import Bytes, Cpu, Dollars, Model


class NodeShape(Model):
    """One cluster node as the scheduler sees it (allocatable capacity)."""

    cpu: Cpu
    """Allocatable CPU cores."""
    memory: Bytes
    """Allocatable memory: '32Gi'."""
    price_per_hour: Annotated[float, Field(ge=0, le=1e6)]
    """Dollars per node-hour."""


class Cluster(Model):
    """Node-count bounds of the cluster autoscaler."""

    min_nodes: Annotated[int, Field(ge=0, le=100_000, strict=True)] = 0
    """The cluster never runs fewer nodes."""
    max_nodes: Annotated[int, Field(gt=0, le=100_000, strict=True)] | None = None
    """The cluster cannot run more; needing more is reported."""

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

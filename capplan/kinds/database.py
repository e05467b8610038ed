"""``type: database``: shards, each with primaries and read-only replicas."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from capplan.kinds.base import Kind, grow_count
from capplan.kinds.service import ServiceComponent
from capplan.scenario.types import SmallCount
from capplan.sim.stations.base import BuildContext
from capplan.sim.stations.pooled import PooledStation


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


def build(name: str, component: Any, ctx: BuildContext) -> PooledStation:
    shards = [(component.replicas, component.read_replicas)] * component.shards
    return PooledStation(name, component, ctx.kernel, ctx.streams, shards)


KIND = Kind(
    DatabaseComponent,
    build,
    pooled=True,
    step_keys=frozenset({"op"}),
    resize=grow_count("shards", "more shards, so resharding"),
)

"""``type: database``: shards, each with primaries and read-only replicas."""

from __future__ import annotations

from typing import Any

from capplan.sim.stations.base import BuildContext, station_type
from capplan.sim.stations.pooled import PooledStation, replica_pools


@station_type("database")
def build(name: str, component: Any, ctx: BuildContext) -> PooledStation:
    shards = [
        (
            replica_pools(ctx.env, component, component.replicas),
            replica_pools(ctx.env, component, component.read_replicas),
        )
        for _ in range(component.shards)
    ]
    return PooledStation(name, component, ctx.env, ctx.streams, shards)

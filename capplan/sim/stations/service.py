"""``type: service``: replicas × workers behind a load balancer."""

from __future__ import annotations

from typing import Any

from capplan.sim.stations.base import BuildContext, station_type
from capplan.sim.stations.pooled import PooledStation, replica_pools


@station_type("service")
def build(name: str, component: Any, ctx: BuildContext) -> PooledStation:
    pools = replica_pools(ctx.env, component, component.replicas)
    return PooledStation(name, component, ctx.env, ctx.streams, [(pools, [])])

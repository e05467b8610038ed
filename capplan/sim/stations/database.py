"""``type: database``: shards, each with primaries and read-only replicas."""

from __future__ import annotations

from typing import Any

from capplan.sim.stations.base import BuildContext, station_type
from capplan.sim.stations.pooled import PooledStation


@station_type("database")
def build(name: str, component: Any, ctx: BuildContext) -> PooledStation:
    shards = [(component.replicas, component.read_replicas)] * component.shards
    return PooledStation(name, component, ctx.kernel, ctx.streams, shards)

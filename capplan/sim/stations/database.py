"""``type: database``: shards, each with primaries and read-only replicas."""

from __future__ import annotations

from typing import Any

import simpy

from capplan.sim.stations.base import station_type
from capplan.sim.stations.pooled import PooledStation, replica_pools
from capplan.sim.streams import Streams


@station_type("database")
def build(name: str, component: Any, env: simpy.Environment, streams: Streams) -> PooledStation:
    shards = [
        (
            replica_pools(env, component, component.replicas),
            replica_pools(env, component, component.read_replicas),
        )
        for _ in range(component.shards)
    ]
    return PooledStation(name, component, env, streams, shards)

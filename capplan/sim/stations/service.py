"""``type: service``: replicas × workers behind a load balancer."""

from __future__ import annotations

from typing import Any

import simpy

from capplan.sim.stations.base import station_type
from capplan.sim.stations.pooled import PooledStation, replica_pools
from capplan.sim.streams import Streams


@station_type("service")
def build(name: str, component: Any, env: simpy.Environment, streams: Streams) -> PooledStation:
    pools = replica_pools(env, component, component.replicas)
    return PooledStation(name, component, env, streams, [(pools, [])])

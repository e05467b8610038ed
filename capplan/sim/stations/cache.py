"""``type: cache``: a service whose lookups miss with probability 1 - hit_ratio."""

from __future__ import annotations

from typing import Any

from capplan.sim.stations.base import BuildContext, station_type
from capplan.sim.stations.pooled import PooledStation


@station_type("cache")
def build(name: str, component: Any, ctx: BuildContext) -> PooledStation:
    return PooledStation(
        name,
        component,
        ctx.kernel,
        ctx.streams,
        [(component.replicas, 0)],
        hit_ratio=component.hit_ratio,
    )

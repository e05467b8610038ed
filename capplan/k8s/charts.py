"""Helm values for the charts that run the stateful stores, from the sized scenario:
shards, replicas, read replicas, resources and persistence. Each is written beside the
manifests (under values/, not applied) with the chart it targets; a store without a
``chart`` gets the generic sizing in stores-values.yaml.

The keys are the charts' own: bitnami/mongodb-sharded (``shards``,
``shardsvr.dataNode.replicaCount``, ``shardsvr.dataNode.resources``,
``shardsvr.persistence.size``, ``configsvr.replicaCount``, ``mongos.replicaCount``),
bitnami/redis-cluster (``cluster.nodes``, ``cluster.replicas``, ``redis.resources``,
``redis.configmap`` for ``maxmemory``, ``persistence.size``) and neo4j/neo4j
(``neo4j.resources``, ``volumes.data``), whose clusters are one release per server;
written against bitnami/mongodb-sharded 8.x, bitnami/redis-cluster 10.x and neo4j/neo4j
5.x, whose files say so.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from typing import Any

from capplan.k8s.objects import memory_quantity, quantities
from capplan.scenario.components import CacheComponent, DatabaseComponent
from capplan.scenario.model import Scenario


def store_resources(c: Any) -> dict[str, Any] | None:
    """A store's requests and limits as quantities, None without any."""
    if c.resources is None:
        return None
    out = {}
    for kind in ("requests", "limits"):
        amounts = quantities(getattr(c.resources, kind))
        if amounts:
            out[kind] = amounts
    return out or None


def _storage_per_member(scenario: Scenario, members: int, shards: int) -> str | None:
    """The stored data (``costs.storage``, grown with load where it does) split over the
    shards, every member of a shard holding its shard's copy; 50% headroom, in Gi."""
    costs = scenario.costs
    if costs is None or costs.storage is None or members == 0:
        return None
    storage = costs.storage
    total = storage.size * (scenario.load_scale if storage.grows_with_load else 1.0)
    per = total / shards * 1.5
    return memory_quantity(math.ceil(per / 2**30) * 2**30)


REDIS_DATA_SHARE = 0.75
"""Of a Redis pod's memory, the share its data (``maxmemory``) may take; the rest is Redis's
own: client and replication buffers, fragmentation, and the copy-on-write pages of a
fork while it persists. Past the pod's memory the kubelet kills it instead of Redis
evicting."""


EVICTION = "allkeys-lru"
"""Redis's eviction past ``maxmemory``: the least recently used among every key, as the
model evicts."""


@dataclass(frozen=True)
class CacheMemory:
    """What a cache node may hold, as Redis's ``maxmemory``."""

    maxmemory_mib: int | None
    """MiB per primary (None: nothing to set it from)."""
    lines: list[str]
    """The comment: where the figure comes from, and the warning if there is one."""
    warning: str | None = None
    """Set when the pod's memory leaves Redis too little of its own."""

    def config(self) -> str | None:
        """The lines for redis.conf, or None."""
        if self.maxmemory_mib is None:
            return None
        return f"maxmemory {self.maxmemory_mib}mb\nmaxmemory-policy {EVICTION}\n"


def _size(size: float) -> str:
    return f"{size / 2**30:.1f}Gi" if size >= 2**30 else f"{math.ceil(size / 2**20)}Mi"


def cache_memory(scenario: Scenario, name: str, c: CacheComponent) -> CacheMemory:
    """The most a cache's primaries hold: each key space's ``max_size`` (its keys times
    ``value_size`` without one, grown with the load where they grow) over the primaries,
    which share the keys by hash slot. A cache given a ``hit_ratio`` alone says nothing of
    its data: it gets :data:`REDIS_DATA_SHARE` of the pod's memory."""
    res = c.resources
    memory = None
    if res is not None:
        memory = (res.limits.memory if res.limits else None) or (
            res.requests.memory if res.requests else None
        )
    if c.keyspaces is None:
        if memory is None:
            return CacheMemory(None, [
                f"{name}: no memory request or limit, so no maxmemory: give the pod memory, "
                "or Redis grows until it is killed.",
            ])  # fmt: skip
        return CacheMemory(math.ceil(memory * REDIS_DATA_SHARE / 2**20), [
            f"{name}: maxmemory is {REDIS_DATA_SHARE:.0%} of the pod's memory (assumed: the "
            "scenario gives a hit ratio,",
            "not the data), evicting the least recently used keys.",
        ])  # fmt: skip
    total = most = 0.0
    for ks in c.keyspaces.values():
        every = ks.keys_at(scenario.load_scale) * ks.value_size  # every key stored at once
        bound = ks.most(scenario.load_scale)  # what the model evicts at, summed
        total += bound
        most += min(every, bound)
    per = total / c.replicas
    lines = [
        f"{name}: maxmemory is the key spaces' max_size (keys x value_size without one) over",
        f"the {c.replicas} {'primary' if c.replicas == 1 else 'primaries'}, evicting the least "
        "recently used key of any key space, as",
        "the simulation does.",
    ]
    warning = None
    if memory is not None and per > memory * REDIS_DATA_SHARE:
        need = math.ceil(per / REDIS_DATA_SHARE / 2**30) * 2**30
        warning = (
            f"{name}: the key spaces may hold {_size(per)} per primary, too much of the pod's "
            f"{memory_quantity(memory)} to leave Redis its own memory (buffers, fragmentation, "
            f"a fork while it persists): give it {memory_quantity(need)}, or lower max_size "
            f"(every key stored at once takes {_size(most / c.replicas)} per primary)."
        )
        lines += textwrap.wrap(f"WARNING: {warning}", 88)
    return CacheMemory(math.ceil(per / 2**20), lines, warning)


def zone_lines(scenario: Scenario, stores: list[Any]) -> list[str]:
    """What the values of ``stores`` leave to their charts about zones: nothing with one
    zone, or where no shard has two members."""
    zones = scenario.kubernetes.zones
    members = [getattr(c, "replicas", 1) + getattr(c, "read_replicas", 0) for c in stores]
    if zones == 1 or max(members, default=1) < 2:
        return []
    return [
        f"Zones: the simulation spreads each shard's members evenly over the {zones} zones (a",
        "zone outage takes its share of each shard); these values do not ask the chart for",
        "that: set its zone spread (its topologySpreadConstraints or affinity keys) so that it",
        "holds.",
    ]


def chart_values(
    scenario: Scenario, name: str, c: Any, memory: CacheMemory | None = None
) -> tuple[dict[str, Any], list[str]] | None:
    """(values, comment) for the store's chart, or None without one; ``memory``: a
    cache's (:func:`cache_memory`)."""
    chart = getattr(c, "chart", None)
    if chart is None:
        return None
    res = store_resources(c)
    if chart == "bitnami/mongodb-sharded":
        assert isinstance(c, DatabaseComponent)
        members = c.replicas + c.read_replicas
        node: dict[str, Any] = {"replicaCount": members}
        if res:
            node["resources"] = res
        values: dict[str, Any] = {
            "shards": c.shards,
            "shardsvr": {"dataNode": node},
            "configsvr": {"replicaCount": 3},
            "mongos": {"replicaCount": 2},
        }
        size = _storage_per_member(scenario, members, c.shards)
        if size:
            values["shardsvr"]["persistence"] = {"size": size}
        return values, [
            f"{name}: values for bitnami/mongodb-sharded (keys of its 8.x releases): {c.shards} "
            f"shards of {members} members",
            f"({c.replicas} serving every operation, {c.read_replicas} read replicas as",
            "secondaries with reads preferring them); 3 config servers and 2 mongos routers",
            "(not modelled: sized as the chart's defaults). Persistence: the stored data",
            "(costs.storage) per shard with 50% headroom.",
        ]
    if chart == "bitnami/redis-cluster":
        assert isinstance(c, CacheComponent)
        values = {"cluster": {"nodes": c.replicas * 2, "replicas": 1}}
        redis: dict[str, Any] = {}
        if res:
            redis["resources"] = res
        held = memory if memory is not None else cache_memory(scenario, name, c)
        if held.config() is not None:
            redis["configmap"] = held.config()
        if redis:
            values["redis"] = redis
        return values, [
            f"{name}: values for bitnami/redis-cluster (keys of its 10.x releases): {c.replicas} "
            "primaries (what the model",
            "serves from), each with one replica for failover (cluster.nodes counts both).",
            *held.lines,
        ]
    assert chart == "neo4j/neo4j" and isinstance(c, DatabaseComponent)
    values = {"neo4j": {"name": name, "minimumClusterSize": c.replicas}}
    if c.resources is not None and c.resources.limits is not None:
        amounts = quantities(c.resources.limits) or {}
        values["neo4j"]["resources"] = amounts
    size = _storage_per_member(scenario, c.replicas + c.read_replicas, 1)
    if size:
        values["volumes"] = {
            "data": {
                "mode": "defaultStorageClass",
                "defaultStorageClass": {"requests": {"storage": size}},
            }
        }
    return values, [
        f"{name}: values for neo4j/neo4j (its 5.x releases), one release per server: install it",
        f"{c.replicas + c.read_replicas} times with these values ({c.replicas} primaries serving every",
        f"operation, {c.read_replicas} secondaries serving reads; neo4j 5 clusters are one",
        "release per server).",
    ]

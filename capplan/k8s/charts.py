"""Helm values for the charts that run the stateful stores, from the sized scenario:
shards, replicas, read replicas, resources and persistence. Each is written beside the
manifests (under values/, not applied) with the chart it targets; a store without a
``chart`` gets the generic sizing in stores-values.yaml.

The keys are the charts' own: bitnami/mongodb-sharded (``shards``,
``shardsvr.dataNode.replicaCount``, ``shardsvr.dataNode.resources``,
``shardsvr.persistence.size``, ``configsvr.replicaCount``, ``mongos.replicaCount``),
bitnami/redis-cluster (``cluster.nodes``, ``cluster.replicas``, ``redis.resources``,
``persistence.size``) and neo4j/neo4j (``neo4j.resources``, ``volumes.data``), whose
clusters are one release per server; written against bitnami/mongodb-sharded 8.x,
bitnami/redis-cluster 10.x and neo4j/neo4j 5.x, whose files say so.
"""

from __future__ import annotations

import math
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


def chart_values(scenario: Scenario, name: str, c: Any) -> tuple[dict[str, Any], list[str]] | None:
    """(values, comment) for the store's chart, or None without one."""
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
        if res:
            values["redis"] = {"resources": res}
        return values, [
            f"{name}: values for bitnami/redis-cluster (keys of its 10.x releases): {c.replicas} "
            "primaries (what the model",
            "serves from), each with one replica for failover (cluster.nodes counts both).",
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

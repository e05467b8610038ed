"""Pods and Deployments: how a replica set's size becomes replicas that serve.

A :class:`Pod` is *pending* until the cluster places it on a node (at once without a
cluster), then *starting* for its ``startup`` time, then *ready* (its replica takes work),
and when deleted *terminating* while its replica drains; its node room is free once the
replica is gone. A :class:`Deployment` keeps ``spec_replicas`` pods that are not
terminating, deleting as a ReplicaSet does (pending first, then not ready, then the newest).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from capplan.sim.capacity import GONE, READY, ReplicaSet
from capplan.sim.control.level import Level

if TYPE_CHECKING:
    from capplan.sim.control.cluster import Cluster, Node
    from capplan.sim.kernel import Kernel

PENDING, RUNNING, TERMINATING, DELETED = range(4)
"""A pod's phase: waiting for a node; on one (starting until its replica is ready);
deleted and draining; gone."""


class Pod:
    """One pod of a deployment (or of a fixed component, which the cluster places too)."""

    __slots__ = ("cpu", "created", "deployment", "memory", "node", "placed", "replica", "state")

    def __init__(self, deployment: Deployment | None, cpu: float, memory: float, now: float):
        self.deployment = deployment
        self.cpu = cpu
        self.memory = memory
        self.node: Node | None = None
        self.replica: Any = None
        self.state = PENDING
        self.created = now
        self.placed = now
        """When it got its node (its start, for the HPA's CPU initialization period)."""

    @property
    def ready(self) -> bool:
        return self.replica is not None and self.replica.state == READY

    def ready_now(self) -> None:
        """Its replica became ready."""
        if self.deployment is not None and self.deployment.on_ready is not None:
            self.deployment.on_ready()

    def gone(self) -> None:
        """Its replica is gone: the pod is deleted and its node room free."""
        self.state = DELETED
        if self.node is not None:
            self.node.release(self)
        if self.deployment is not None:
            self.deployment.forget(self)


class Deployment:
    """The pods of one service and the size its HPA sets."""

    def __init__(
        self,
        name: str,
        kernel: Kernel,
        replica_set: ReplicaSet,
        cpu: float,
        memory: float,
        startup: Callable[[], float],
        cluster: Cluster | None,
        movable: bool,
    ):
        self.name = name
        self.movable = movable
        """Whether the cluster autoscaler may evict its pods to empty a node (a
        Deployment's; not a database's or a cache's)."""
        self.on_ready: Callable[[], None] | None = None
        self.pending = Level(kernel)
        """Pods waiting for a node."""
        self.kernel = kernel
        self.replica_set = replica_set
        self.cpu = cpu
        self.memory = memory
        self.startup = startup
        self.cluster = cluster
        self.pods: list[Pod] = []
        self.spec_replicas = 0
        self.peers: list[Deployment] = [self]
        """The deployments whose pods spread over the zones together with these (a
        database shard's primaries and read replicas); the same list for each of them."""

    def adopt(self, pods: list[Pod]) -> None:
        """The pods running when the run starts, one per replica already ready."""
        live = [r for r in self.replica_set.replicas if r.state != GONE]
        for pod, replica in zip(pods, live, strict=True):
            pod.replica = replica
            pod.state = RUNNING
            pod.placed = -float("inf")
            replica.owner = pod
            replica.ready_at = -float("inf")
        self.pods = list(pods)
        self.spec_replicas = len(pods)

    def unplace(self, pod: Pod) -> None:
        """A pod that found no node when the run started: its replica never serves, and
        it waits for a node like any pending pod."""
        replica = pod.replica
        replica.owner = None
        self.replica_set.drain(replica)
        pod.replica = None
        pod.state = PENDING
        self._count()

    def _count(self) -> None:
        self.pending.set(sum(1 for p in self.pods if p.state == PENDING))

    @property
    def live(self) -> list[Pod]:
        """Pods not terminating: what counts toward ``spec_replicas``."""
        return [p for p in self.pods if p.state in (PENDING, RUNNING)]

    def counts(self) -> tuple[int, int, int]:
        """(ready, starting, pending) pods now."""
        ready = starting = pending = 0
        for p in self.pods:
            if p.state == PENDING:
                pending += 1
            elif p.state == RUNNING:
                if p.ready:
                    ready += 1
                else:
                    starting += 1
        return ready, starting, pending

    def scale_to(self, count: int) -> None:
        self.spec_replicas = count
        live = self.live
        for _ in range(count - len(live)):
            pod = Pod(self, self.cpu, self.memory, self.kernel.now)
            self.pods.append(pod)
            if self.cluster is None:
                self.start(pod)
            else:
                self.cluster.submit(pod)
        self._count()
        if count < len(live):
            # as a ReplicaSet picks pods to delete: unscheduled, then not ready, then newest
            order = sorted(
                enumerate(live),
                key=lambda ip: (ip[1].state != PENDING, ip[1].ready, -ip[0]),
            )
            for _, pod in order[: len(live) - count]:
                self.delete(pod)

    def start(self, pod: Pod) -> None:
        """The pod has its node: its container starts and is ready after ``startup``."""
        pod.placed = self.kernel.now
        zone = pod.node.zone if pod.node is not None else None  # its node's
        replica = self.replica_set.add(max(0.0, self.startup()), zone=zone)
        replica.owner = pod
        pod.replica = replica
        pod.state = RUNNING
        self._count()
        if replica.state == READY:
            pod.ready_now()

    def delete(self, pod: Pod) -> None:
        if pod.state == PENDING:
            pod.state = DELETED
            if self.cluster is not None:
                self.cluster.withdraw(pod)
            self.forget(pod)
            self._count()
            return
        pod.state = TERMINATING
        self.replica_set.drain(pod.replica)  # gone() follows once it holds nothing

    def replace(self, pod: Pod) -> None:
        """Evicted (its node is removed): a new pod is created as the old one terminates."""
        self.delete(pod)
        self.scale_to(self.spec_replicas)

    def forget(self, pod: Pod) -> None:
        if pod in self.pods:
            self.pods.remove(pod)

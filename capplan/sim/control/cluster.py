"""Nodes, the scheduler and the cluster autoscaler, in the run.

Nodes are in zones (``kubernetes.zones``), kept balanced as a node group per zone and the
autoscaler's ``--balance-similar-node-groups`` keep them: a new node goes to the zone up
with fewest nodes, or to the zone the pods it is added for wait in. Every pod's
requests are placed on a node in the zone its topology spread constraint picks (of the
zones up, the one holding fewest pods of its spread group: its deployment, or its
database shard's members), first fit over that zone's ready nodes in the order they were
added (the scheduler's default scoring is close enough for capacity); with a preferred
spread (ScheduleAnyway) a pod that fits nowhere there goes to the next zone, with a
required one (DoNotSchedule) it may only go to the zones holding fewest. Its replica is in
its node's zone, so a zone outage takes exactly the pods on the zone's nodes. A pod that
fits on none stays pending, and is placed as soon as room appears (a node ready, a pod
gone). Every ``scan_interval`` the cluster autoscaler adds the nodes the pending pods need
(:func:`capplan.autoscaling.cluster.nodes_to_add`; zone by zone with a required spread;
up to ``max_nodes``; each takes pods after ``node_startup``) and removes nodes unneeded for
``scale_down_unneeded_time`` (none within ``scale_down_delay_after_add`` of an addition;
empty ones together, others one per scan, only when their pods fit elsewhere; pods of
databases and caches are not moved). An evicted pod is replaced by a new one elsewhere as
it terminates, as its ReplicaSet does. A node that fails (:meth:`Cluster.lose`) takes its
pods' requests with it; the pods are recreated at once and the node group replaces the
node, in its zone, after ``costs.node.replacement``. A zone that goes out
(:meth:`Cluster.zone_out`) takes its nodes out until it is back: they hold and take no
pods (the failure injector loses the pods' replicas) and still count toward ``max_nodes``
and the bill.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from capplan.autoscaling.cluster import fits_elsewhere, nodes_to_add, requested_share
from capplan.sim.control.level import Level
from capplan.sim.control.pods import DELETED, PENDING, RUNNING, Pod

if TYPE_CHECKING:
    from capplan.scenario.costs import Cluster as ClusterSpec
    from capplan.scenario.costs import NodeShape
    from capplan.sim.kernel import Kernel

NODE_STARTING, NODE_READY, NODE_DELETING, NODE_GONE, NODE_DOWN = range(5)
"""A node's state; NODE_DOWN: in a zone that is out (unreachable, still billed)."""
MAX_EMPTY_BULK_DELETE = 10
"""--max-empty-bulk-delete: empty nodes removed in one scan."""


class Node:
    __slots__ = (
        "cluster",
        "cpu",
        "memory",
        "pods",
        "state",
        "unneeded_since",
        "used_cpu",
        "used_memory",
        "zone",
    )

    def __init__(self, cluster: Cluster, state: int, zone: int):
        self.cluster = cluster
        self.zone = zone
        self.cpu = cluster.shape.cpu
        self.memory = cluster.shape.memory
        self.used_cpu = self.used_memory = 0.0
        self.pods: list[Pod] = []
        self.state = state
        self.unneeded_since: float | None = None

    def fits(self, pod: Pod) -> bool:
        return (
            self.used_cpu + pod.cpu <= self.cpu + 1e-9
            and self.used_memory + pod.memory <= self.memory + 1e-9
        )

    def hold(self, pod: Pod) -> None:
        self.used_cpu += pod.cpu
        self.used_memory += pod.memory
        self.pods.append(pod)
        pod.node = self

    def release(self, pod: Pod) -> None:
        if pod in self.pods:
            self.pods.remove(pod)
            self.used_cpu -= pod.cpu
            self.used_memory -= pod.memory
        pod.node = None
        self.cluster.room_freed(self)

    @property
    def free(self) -> tuple[float, float]:
        return self.cpu - self.used_cpu, self.memory - self.used_memory


class Cluster:
    """The nodes of the run and the autoscaler acting on them."""

    def __init__(
        self,
        kernel: Kernel,
        spec: ClusterSpec,
        shape: NodeShape,
        zones: int = 1,
        spread: str = "preferred",
    ):
        self.kernel = kernel
        self.spec = spec
        self.shape = shape
        self.zones = zones
        self.required = spread == "required"
        """Whether the zone spread is required (DoNotSchedule) rather than preferred."""
        self.zones_down: set[int] = set()
        """Zones out now (the failure injector's set)."""
        self.nodes: list[Node] = []
        self.pending: list[Pod] = []
        self.billed = Level(kernel)
        """Nodes paid for: starting, ready or being emptied."""
        self.waiting = Level(kernel)
        """Pods pending."""
        self.last_added = self.last_removed = -float("inf")
        self.binding_since: float | None = None
        """When pods first stayed pending with the cluster at ``max_nodes``."""
        self.binding = Level(kernel)
        """1 while pods are pending at ``max_nodes``."""
        self.added = self.removed = 0
        self.peak = 0
        self.lost = 0
        """Nodes that failed."""
        self.life: Callable[[], float] | None = None
        """A node's time to failure (None: nodes do not fail)."""

    # zones --------------------------------------------------------------------------

    def _up(self) -> list[int]:
        return [z for z in range(self.zones) if z not in self.zones_down] or list(range(self.zones))

    def _new_node(self, state: int, zone: int | None = None) -> Node:
        """A node of the node group of ``zone`` (default: the zone up with fewest nodes)."""
        if zone is None:
            count = [0] * self.zones
            for n in self.nodes:
                if n.state != NODE_GONE:
                    count[n.zone] += 1
            zone = min(self._up(), key=lambda z: (count[z], z))
        node = Node(self, state, zone)
        self.nodes.append(node)
        return node

    def _spread(self, pod: Pod) -> list[int]:
        """Pods of ``pod``'s spread group scheduled in each zone (terminating ones aside,
        as the scheduler counts them)."""
        count = [0] * self.zones
        if pod.deployment is not None:
            for dep in pod.deployment.peers:
                for p in dep.pods:
                    if p.node is not None and p.state == RUNNING and p is not pod:
                        count[p.node.zone] += 1
        return count

    def zone_order(self, pod: Pod, count: list[int] | None = None) -> list[int]:
        """The zones ``pod`` may go to, the one its spread constraint prefers first: of
        those up, by the pods of its spread group each holds (``count``, default
        :meth:`_spread`). With a preferred spread, ties go to the zone with most CPU free
        on its ready nodes (the scheduler's least-allocated scoring). With a required one,
        only the zones holding fewest, ties to the first: the first zone then holds the
        most, the worst one to lose, which ``size --survive zone_outage`` takes out."""
        if self.zones == 1:
            return [0]
        count = self._spread(pod) if count is None else count
        if self.required:
            order = sorted(self._up(), key=lambda z: (count[z], z))
            return [z for z in order if count[z] == count[order[0]]]
        free = [0.0] * self.zones
        for node in self.nodes:
            if node.state == NODE_READY:
                free[node.zone] += node.cpu - node.used_cpu
        return sorted(self._up(), key=lambda z: (count[z], -free[z], z))

    def _fit(self, pod: Pod, zones: list[int]) -> Node | None:
        """The first ready node with room for ``pod`` in the first of ``zones`` that has one."""
        for zone in zones:
            for node in self.nodes:
                if node.zone == zone and node.state == NODE_READY and node.fits(pod):
                    return node
        return None

    def zone_out(self, zone: int) -> None:
        """The zone is out: its nodes hold and take nothing until :meth:`zone_back` (their
        pods' replicas are lost by the failure injector, which shares ``zones_down``)."""
        for node in self.nodes:
            if node.zone == zone and node.state in (NODE_READY, NODE_STARTING):
                node.state = NODE_DOWN
                node.unneeded_since = None
        self._levels()

    def zone_back(self, zone: int) -> None:
        for node in self.nodes:
            if node.zone == zone and node.state == NODE_DOWN:
                node.state = NODE_READY
        self._retry()

    # the scheduler ------------------------------------------------------------------

    def start_with(self, pods: list[Pod]) -> list[Pod]:
        """Nodes for the pods running when the run starts: largest first, each placed as
        :meth:`_place` does, on a new node when it fits on none (in the zone it must go to
        with a required spread, else in the zone with fewest nodes: a cluster the
        autoscaler grew); at least ``min_nodes``, at most ``max_nodes``. The pods that
        found no room."""
        spec = self.spec
        unplaced = []
        for pod in sorted(pods, key=lambda p: (-p.cpu, -p.memory)):
            zones = self.zone_order(pod)
            node = self._fit(pod, zones)
            room = spec.max_nodes is None or len(self.nodes) < spec.max_nodes
            small = pod.cpu <= self.shape.cpu and pod.memory <= self.shape.memory
            if node is None and room and small:
                node = self._new_node(NODE_READY, zones[0] if self.required else None)
            if node is None:
                unplaced.append(pod)
            else:
                node.hold(pod)
        while len(self.nodes) < spec.min_nodes:
            self._new_node(NODE_READY)
        self.pending = [p for p in pods if p in unplaced]
        self._levels()
        return self.pending

    def submit(self, pod: Pod) -> None:
        """A new pod: placed now if a ready node has room, else pending."""
        if not self._place(pod):
            self.pending.append(pod)
            self._levels()

    def withdraw(self, pod: Pod) -> None:
        if pod in self.pending:
            self.pending.remove(pod)
            self._levels()

    def _place(self, pod: Pod) -> bool:
        node = self._fit(pod, self.zone_order(pod))
        if node is None:
            return False
        node.hold(pod)
        assert pod.deployment is not None
        pod.deployment.start(pod)
        return True

    def room_freed(self, node: Node) -> None:
        if node.state == NODE_DELETING and not node.pods:
            node.state = NODE_GONE
            self.nodes.remove(node)
            self.removed += 1
            self.last_removed = self.kernel.now
            self._levels()
        elif self.pending:
            self._retry()

    def _retry(self) -> None:
        waiting = [p for p in self.pending if p.state == PENDING]
        self.pending = []
        for pod in waiting:
            if not self._place(pod):
                self.pending.append(pod)
        self._levels()

    def _levels(self) -> None:
        n = sum(1 for node in self.nodes if node.state != NODE_GONE)
        self.peak = max(self.peak, n)
        self.billed.set(n)
        self.waiting.set(len(self.pending))
        at_max = self.spec.max_nodes is not None and n >= self.spec.max_nodes
        # binding: pods wait at the bound that no node on its way would take
        stuck = bool(self.pending) and at_max and self._short() > 0
        if stuck and self.binding_since is None:
            self.binding_since = self.kernel.now
        self.binding.set(1 if stuck else 0)

    # the cluster autoscaler ---------------------------------------------------------

    def autoscaler(self) -> Generator[float, Any, None]:
        while True:
            yield self.spec.scan_interval
            self._scale_up()
            self._scale_down()

    def _needs(self) -> dict[int | None, int]:
        """Nodes the pending pods need beyond those starting, by the zone they must be in
        (None: any; the node groups are then kept balanced). The autoscaler simulates the
        scheduler's filters, not its scoring: a preferred spread binds nothing, a required
        one binds each pod to the zone it waits for (counting the pods pending before it
        as placed, so that pods of one deployment spread their new nodes)."""
        shape = (self.shape.cpu, self.shape.memory)
        if not self.required or self.zones == 1:
            free = [n.free for n in self.nodes if n.state == NODE_STARTING]
            return {None: nodes_to_add([(p.cpu, p.memory) for p in self.pending], free, shape)}
        wanted: dict[int, list[Pod]] = {}
        counts: dict[int, list[int]] = {}
        for pod in self.pending:
            dep = pod.deployment
            key = id(dep.peers) if dep is not None else id(pod)
            count = counts.get(key)
            if count is None:
                count = counts[key] = self._spread(pod)
            zone = self.zone_order(pod, count)[0]
            count[zone] += 1
            wanted.setdefault(zone, []).append(pod)
        return {
            zone: nodes_to_add(
                [(p.cpu, p.memory) for p in pods],
                [n.free for n in self.nodes if n.state == NODE_STARTING and n.zone == zone],
                shape,
            )
            for zone, pods in sorted(wanted.items())
        }

    def _short(self) -> int:
        """Nodes the pending pods need beyond those already starting."""
        return sum(self._needs().values())

    def _scale_up(self) -> None:
        if not self.pending:
            return
        spec, now = self.spec, self.kernel.now
        present = sum(1 for n in self.nodes if n.state != NODE_GONE)
        room = spec.max_nodes - present if spec.max_nodes is not None else None
        added = 0
        for zone, want in self._needs().items():
            if room is not None:
                want = min(want, room - added)
            for _ in range(want):
                self.kernel.spawn(self._boot(self._new_node(NODE_STARTING, zone)))
            added += max(0, want)
        if added > 0:
            self.last_added = now
            self.added += added
        self._levels()

    def _boot(self, node: Node) -> Generator[float, Any, None]:
        yield self.spec.node_startup
        if node.state != NODE_STARTING:
            return  # its zone went out meanwhile: ready when the zone is back
        node.state = NODE_READY
        self._live(node)
        self._retry()

    # failures -----------------------------------------------------------------------

    def mortal(self, life: Callable[[], float]) -> None:
        """Give every node, now and to come, a time to failure drawn from ``life``."""
        self.life = life
        for node in self.nodes:
            if node.state == NODE_READY:
                self._live(node)

    def _live(self, node: Node) -> None:
        if self.life is not None:
            self.kernel.spawn(self._lifetime(node, self.life()))

    def _lifetime(self, node: Node, life: float) -> Generator[float, Any, None]:
        yield life
        if node.state == NODE_READY:
            self.lose(node)

    def lose(self, node: Node) -> None:
        """The node fails now: the requests its pods serve are lost, each pod is recreated
        by its controller (placed where there is room, else pending, which the autoscaler
        sees), and the node group replaces the node after ``replacement``."""
        node.state = NODE_GONE
        if node in self.nodes:
            self.nodes.remove(node)
        self.lost += 1
        for pod in list(node.pods):
            node.pods.remove(pod)
            node.used_cpu -= pod.cpu
            node.used_memory -= pod.memory
            pod.node = None
            pod.state = DELETED
            dep, replica = pod.deployment, pod.replica
            if dep is not None:
                dep.forget(pod)
                if replica is not None:
                    replica.owner = None  # the pod is already gone
                    dep.replica_set.fail(replica)
                dep.scale_to(dep.spec_replicas)
        self._levels()
        self.kernel.spawn(self._replace(node.zone))

    def _replace(self, zone: int) -> Generator[float, Any, None]:
        yield self.shape.replacement
        node = self._new_node(NODE_DOWN if zone in self.zones_down else NODE_READY, zone)
        self._live(node)
        self._retry()

    def _scale_down(self) -> None:
        spec, now = self.spec, self.kernel.now
        ready = [n for n in self.nodes if n.state == NODE_READY]
        shape = (self.shape.cpu, self.shape.memory)
        for node in ready:
            light = (
                requested_share((node.used_cpu, node.used_memory), shape)
                < spec.scale_down_utilization_threshold
            )
            movable = all(p.deployment is not None and p.deployment.movable for p in node.pods)
            # unneeded, as the autoscaler's planner judges it: light, and its pods would
            # fit on the other nodes (the timer starts only when both hold)
            if light and movable and (not node.pods or self._fits_elsewhere(node, ready)):
                if node.unneeded_since is None:
                    node.unneeded_since = now
            else:
                node.unneeded_since = None
        if now - self.last_added < spec.scale_down_delay_after_add:
            return
        present = sum(1 for n in self.nodes if n.state != NODE_GONE)
        spare = present - spec.min_nodes
        due = [
            n
            for n in ready
            if n.unneeded_since is not None
            and now - n.unneeded_since >= spec.scale_down_unneeded_time
        ]
        empty = [n for n in due if not n.pods][: min(spare, MAX_EMPTY_BULK_DELETE)]
        for node in empty:
            node.state = NODE_DELETING
            self.room_freed(node)
        spare -= len(empty)
        if spare <= 0:
            return
        for node in due:
            if not node.pods or node.state != NODE_READY:
                continue
            if self._fits_elsewhere(node, ready):
                node.state = NODE_DELETING
                for pod in list(node.pods):
                    assert pod.deployment is not None
                    pod.deployment.replace(pod)
                self._levels()
                break  # one non-empty node per scan

    def _fits_elsewhere(self, node: Node, ready: list[Node]) -> bool:
        others = [n.free for n in ready if n is not node and n.state == NODE_READY]
        return fits_elsewhere([(p.cpu, p.memory) for p in node.pods], others)

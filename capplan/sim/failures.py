"""Failures in a run: the processes that make the scenario's ``failures`` happen.

They act on stations through the seams every capacity change uses: a replica set's
:meth:`~capplan.sim.capacity.ReplicaSet.fail` (its requests in service are lost, its queue
goes back to the balancer), its ``add`` (a restart or a replacement, ready after its time),
and, for a degraded component, the compiled steps that call it (their service-time
samplers scaled, their station wrapped by one that fails a share of calls at once), so that
a run without failures pays nothing for them.

Pods are spread over the cluster's zones as the rendered topology spread constraints
require (each new pod in the zone that has fewest of its set, among the zones up). With
live nodes (``costs``) the scheduler does that and a replica is in its node's zone
(:mod:`capplan.sim.control.cluster`): a zone outage then also takes the zone's nodes, so
that replacements need room in the zones left, which the cluster autoscaler adds there.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from typing import Any, cast

from capplan.scenario.distributions import Exponential
from capplan.scenario.failures import (
    ELECTION_S,
    ZONE_NAMES,
    Brownout,
    Failover,
    Failures,
    LinkDegradation,
    LlmDegradation,
    NodeLoss,
    PodKill,
    RandomFailures,
    ZoneOutage,
)
from capplan.scenario.model import Scenario
from capplan.sim.capacity import GONE, READY, Replica, ReplicaSet
from capplan.sim.control.cluster import NODE_READY
from capplan.sim.kernel import Kernel
from capplan.sim.plan import CompiledStep, RequestPlan
from capplan.sim.stations.base import Station
from capplan.sim.stations.link import BACKGROUND_CHUNK_S
from capplan.sim.streams import Streams

Process = Generator[float, Any, None]


def _steps(steps: tuple[CompiledStep, ...]) -> Iterator[CompiledStep]:
    for step in steps:
        yield step
        yield from _steps(step.steps)
        yield from _steps(step.on_miss)
        yield from _steps(step.fallback)
        for branch in step.branches:
            yield from _steps(branch)


class Faulty:
    """A station that answers a share of calls with an error at once and passes the rest
    on (a brownout's 5xx): put in the place of the station on the steps that call it."""

    def __init__(self, station: Any, share: float, draw: Callable[[], float]):
        self.station = station
        self.share = share
        self.draw = draw

    def visit(self, step: CompiledStep, req: Any) -> Generator[float | None, Any, str | None]:
        if self.draw() < self.share:
            return "error"
        return (yield from self.station.visit(step, req))


class Injector:
    """The failures of one replication (see the module docstring)."""

    def __init__(
        self,
        scenario: Scenario,
        kernel: Kernel,
        stations: dict[str, Any],
        plans: list[RequestPlan],
        streams: Streams,
        offset: float,
        plane: Any = None,
    ):
        self.cluster = plane.cluster if plane is not None else None
        """The live nodes (with ``costs`` and the autoscalers on), or None."""
        self.failures = scenario.failures or Failures()
        self.scenario = scenario
        self.kernel = kernel
        self.stations = stations
        self.streams = streams
        self.offset = offset
        """Clock time of simulated time 0."""
        self.zones = scenario.kubernetes.zones
        self.down: set[int] = set()
        if self.cluster is not None:
            self.cluster.zones_down = self.down
        self.calls: dict[str, list[CompiledStep]] = {name: [] for name in stations}
        for plan in plans:
            for step in _steps(plan.steps):
                if step.station is not None:  # not a choice
                    self.calls[step.station.name].append(step)
        self.sets: dict[str, list[ReplicaSet]] = {}
        self.elections: dict[str, list[Any]] = {}
        """Databases with read replicas: a primary lost with its zone is replaced by an
        election among the members left, not after the pods' eviction."""
        for name, station in stations.items():
            shards = getattr(station, "shards", None)
            if shards is None:
                continue
            station.track = True  # a failure interrupts what its replicas hold
            sets = [rs for shard in shards for rs in (shard.primaries, shard.readers)]
            if self.cluster is None:  # with live nodes, replicas are in their nodes' zones
                for shard in shards:
                    # a shard's members (primary first, then read replicas) spread together
                    members = shard.primaries.replicas + shard.readers.replicas
                    for i, replica in enumerate(members):
                        replica.zone = i % self.zones
            for rs in sets:
                rs.zones, rs.zones_down = self.zones, self.down
            self.sets[name] = sets
            if any(shard.readers.replicas for shard in shards):
                self.elections[name] = shards
        self.startup: dict[str, Callable[[], float]] = {}
        for name in self.sets:
            c = scenario.components[name]
            dist = getattr(c, "startup", None)
            self.startup[name] = (
                streams.sampler(dist, f"failures.{name}.startup") if dist is not None else _zero
            )

    def processes(self) -> list[Process]:
        procs: list[Process] = []
        costs = self.scenario.costs
        if self.cluster is not None and costs is not None and costs.node.mtbf is not None:
            self.cluster.mortal(
                self.streams.sampler(
                    Exponential.model_construct(distribution="exponential", mean=costs.node.mtbf),
                    "failures.nodes.life",
                )
            )
        for name, spec in self.failures.random.items():
            self._mortal(name, spec)
        for i, event in enumerate(self.failures.events):
            procs.append(self._event(i, event))
        return procs

    # random crashes

    def _mortal(self, name: str, spec: RandomFailures) -> None:
        life = self.streams.sampler(
            Exponential.model_construct(distribution="exponential", mean=spec.pod_mtbf),
            f"failures.random.{name}.life",
        )
        restart = self.streams.sampler(spec.restart, f"failures.random.{name}.restart")
        kernel = self.kernel

        def live(rs: ReplicaSet, replica: Replica) -> Process:
            yield life()
            if replica.state == READY:
                self._restart(rs, replica, max(0.0, restart()))

        def on_ready(rs: ReplicaSet, replica: Replica) -> None:
            kernel.spawn(live(rs, replica))

        for rs in self.sets[name]:
            rs.on_ready.append(on_ready)
            for replica in rs.replicas:
                if replica.state == READY:
                    on_ready(rs, replica)

    def _restart(
        self, rs: ReplicaSet, replica: Replica, delay: float, zone: int | None = None
    ) -> None:
        """The container crashed: the pod stays where it is and is ready again after
        ``delay`` (the kubelet's restart); or, with ``zone``, another member takes its
        role there (a database election)."""
        owner = replica.owner
        replica.owner = None  # the pod outlives its container
        rs.fail(replica)
        new = rs.add(delay, zone=replica.zone if zone is None else zone)
        if owner is not None:
            new.owner = owner
            owner.replica = new

    def _kill(self, name: str, rs: ReplicaSet, replica: Replica, after: float) -> None:
        """The pod is gone: its Deployment (or StatefulSet) creates another ``after``
        seconds later, ready after the component's startup."""
        owner = replica.owner
        rs.fail(replica)
        deployment = getattr(owner, "deployment", None)

        def replace() -> Process:
            if after > 0:
                yield after
            if deployment is not None:
                deployment.scale_to(deployment.spec_replicas)
            else:
                rs.add(max(0.0, self.startup[name]()))

        self.kernel.spawn(replace())

    # scheduled events

    def _event(self, i: int, event: Any) -> Process:
        wait = event.at - self.offset - self.kernel.now
        if wait > 0:
            yield wait
        if isinstance(event, PodKill):
            self._pod_kill(event)
        elif isinstance(event, NodeLoss):
            self._node_loss(event)
        elif isinstance(event, ZoneOutage):
            yield from self._zone_outage(event)
        elif isinstance(event, Brownout):
            yield from self._degrade(i, event.target, event, event.latency_factor)
        elif isinstance(event, LlmDegradation):
            yield from self._llm(i, event)
        elif isinstance(event, Failover):
            yield from self._failover(event)
        elif isinstance(event, LinkDegradation):
            yield from self._link(event)

    def _pod_kill(self, event: PodKill) -> None:
        victims = [
            (rs, r) for rs in self.sets[event.target] for r in rs.replicas if r.state == READY
        ]
        for rs, replica in victims[: event.count]:
            self._kill(event.target, rs, replica, 0.0)

    def _node_loss(self, event: NodeLoss) -> None:
        cluster = self.cluster
        assert cluster is not None  # required at validation
        ready = [n for n in cluster.nodes if n.state == NODE_READY]
        for node in sorted(ready, key=lambda n: -n.used_cpu)[: event.count]:
            cluster.lose(node)

    def _zone_outage(self, event: ZoneOutage) -> Process:
        zone = ZONE_NAMES.index(event.zone)
        self.down.add(zone)
        if self.cluster is not None:
            self.cluster.zone_out(zone)
        after = min(event.replace_after, event.duration)
        for name, sets in self.sets.items():
            elected = {id(shard.primaries) for shard in self.elections.get(name, [])}
            for rs in sets:
                for replica in [r for r in rs.replicas if r.zone == zone and r.state != GONE]:
                    if id(rs) in elected:
                        self._restart(rs, replica, ELECTION_S, zone=rs.next_zone())
                    else:
                        self._kill(name, rs, replica, after)
        yield event.duration
        self.down.discard(zone)
        if self.cluster is not None:
            self.cluster.zone_back(zone)

    def _failover(self, event: Failover) -> Process:
        primaries = self.stations[event.target].shards[event.shard - 1].primaries
        ready = [r for r in primaries.replicas if r.state == READY]
        if not ready:
            return
        writes = primaries.groups[0]
        writes.electing = event.on_failover == "wait"
        # the old primary's pod comes back as a member; a new primary takes writes
        self._restart(primaries, ready[0], event.election)
        yield event.election
        writes.electing = False

    def _link(self, event: LinkDegradation) -> Process:
        link = self.stations[event.target]
        saved = link.bandwidth, link.latency
        link.bandwidth *= event.bandwidth_factor
        link.latency += event.added_latency
        for d in link.directions:
            d.chunk = BACKGROUND_CHUNK_S / event.bandwidth_factor
        yield event.duration
        link.bandwidth, link.latency = saved
        for d in link.directions:
            d.chunk = BACKGROUND_CHUNK_S

    def _degrade(self, i: int, target: str, event: Any, factor: float) -> Process:
        steps = self.calls[target]
        saved = [(s, s.station, s.service, _latency(s)) for s in steps]
        if factor != 1.0:
            for s in steps:
                _slow(s, factor)
        if event.error_share > 0:
            faulty = Faulty(
                self.stations[target],
                event.error_share,
                self.streams.uniform(f"failures.events[{i}].error"),
            )
            for s in steps:
                s.station = cast(Station, faulty)  # a step only ever calls visit
        yield event.duration
        for s, station, service, latency in saved:
            s.station, s.service = station, service
            if latency is not None:
                s.extra.base, s.extra.per_token = latency

    def _llm(self, i: int, event: LlmDegradation) -> Process:
        limiter = self.stations[event.target].limiter
        buckets = (limiter.requests, limiter.tokens)
        now = self.kernel.now
        rates = [b.rate for b in buckets]
        for b in buckets:
            b.refill(now)
            b.rate *= event.quota_factor
        yield from self._degrade(i, event.target, event, event.latency_factor)
        now = self.kernel.now
        for b, rate in zip(buckets, rates, strict=True):
            b.refill(now)
            b.rate = rate


def _zero() -> float:
    return 0.0


def _latency(step: CompiledStep) -> tuple[Any, Any] | None:
    extra = step.extra
    if extra is not None and hasattr(extra, "per_token"):
        return extra.base, extra.per_token
    return None


def _slow(step: CompiledStep, factor: float) -> None:
    """Scale what a visit of ``step`` takes: a pooled station's service time, an LLM
    call's latency."""
    latency = _latency(step)
    if latency is not None:
        base, per_token = latency
        step.extra.base = lambda: base() * factor
        step.extra.per_token = lambda: per_token() * factor
        return
    service = step.service
    step.service = lambda: service() * factor

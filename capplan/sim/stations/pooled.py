"""Stations made of replicas with workers: the shared machinery of services, databases
and caches.

A pooled station has, per shard, a :class:`~capplan.sim.capacity.ReplicaSet` of primaries
(serving every operation) and one of read replicas (serving ``op: read`` steps), and the
groups that balance over them (see :mod:`capplan.sim.capacity`). Routing is settled when a
step is compiled, so a visit picks its group, takes a worker (or queues, or is refused),
holds it for the service time and the nested steps, and releases it.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from capplan.sim.capacity import (
    GONE,
    QUEUED,
    READY,
    REJECTED,
    Group,
    Lost,
    Replica,
    ReplicaSet,
    abandon,
    lose,
    release,
)
from capplan.sim.cpu import SharedCpu
from capplan.sim.kernel import Kernel
from capplan.sim.meter import Meter, MeterSnapshot
from capplan.sim.stations.base import Request, StationMeasure, meter_measure
from capplan.sim.steps import run_steps

if TYPE_CHECKING:
    from capplan.scenario.components import ServiceComponent
    from capplan.scenario.model import Step
    from capplan.sim.plan import CompiledStep
    from capplan.sim.streams import Streams


class Shard:
    """One shard: its primaries, its read replicas, and the groups reads and writes use."""

    def __init__(self, kernel: Kernel, meter: Meter, component: Any, primaries: int, readers: int):
        policy = component.load_balancing
        limit = component.queue_limit
        workers = component.workers
        own = policy != "shared_queue"
        self.writes = Group(kernel, meter, policy, limit)
        if own:
            # a read goes to any member, primary or read replica, as the balancer picks
            self.reads_all = Group(kernel, meter, policy, limit) if readers else self.writes
            self.readers_group: Group | None = None
            groups_p: tuple[Group, ...] = (
                (self.writes, self.reads_all) if readers else (self.writes,)
            )
            groups_r: tuple[Group, ...] = (self.reads_all,)
        else:
            # one queue per role: a read joins the primaries' or the read replicas' queue in
            # proportion to their ready workers
            self.readers_group = Group(kernel, meter, policy, limit)
            groups_p, groups_r = (self.writes,), (self.readers_group,)
        self.primaries = ReplicaSet(kernel, meter, workers, groups_p, own)
        self.readers = ReplicaSet(kernel, meter, workers, groups_r, own)
        for _ in range(primaries):
            self.primaries.add()
        for _ in range(readers):
            self.readers.add()

    def read_route(self, draw: Callable[[], float] | None) -> Callable[[], Group]:
        if self.readers_group is None:
            group = self.reads_all
            return lambda: group
        writes, readers = self.writes, self.readers_group
        assert draw is not None

        def weighted() -> Group:
            a, b = writes.ready_workers(), readers.ready_workers()
            return writes if draw() * (a + b) < a else readers

        return weighted


def _fixed(group: Group) -> Callable[[], Group]:
    return lambda: group


class PooledStation:
    """A component served by replicas with workers; see the module docstring.

    ``hit_ratio`` is set for caches: given a step, the share of its lookups that hit (at
    the mean load, and as a function of simulated time or None); a miss runs the step's
    ``on_miss`` after the worker is released."""

    __slots__ = (
        "component",
        "cpu_demand",
        "cpu_limit",
        "cpu_request",
        "cpus",
        "hit_ratio",
        "index",
        "kernel",
        "memory_limit",
        "memory_request",
        "meter",
        "name",
        "shard",
        "shards",
        "track",
    )

    def __init__(
        self,
        name: str,
        component: ServiceComponent,
        kernel: Kernel,
        streams: Streams,
        shards: list[tuple[int, int]],
        hit_ratio: Callable[[Step], tuple[float, Callable[[float], float] | None]] | None = None,
    ):
        self.name = name
        self.index = -1  # set by compile_scenario
        self.component = component
        self.kernel = kernel
        self.meter = Meter(component.cpu_per_request or 0.0)
        self.track = False
        """Whether requests in service are tracked per replica (for failures to interrupt)."""
        self.shards = [Shard(kernel, self.meter, component, p, r) for p, r in shards]
        self.hit_ratio = hit_ratio
        res = component.resources
        self.cpu_request = (res.requests.cpu if res and res.requests else None) or None
        self.cpu_limit = (res.limits.cpu if res and res.limits else None) or self.cpu_request
        self.memory_request = (res.requests.memory if res and res.requests else None) or None
        self.memory_limit = (
            res.limits.memory if res and res.limits else None
        ) or self.memory_request
        self.cpus: dict[Replica, SharedCpu] | None = (
            {} if getattr(component, "cpu_model", "fixed") == "contended" else None
        )
        """Each replica's shared CPU, when the CPU limit is contended (else None)."""
        mean = component.service_time.mean
        cpr = component.cpu_per_request
        self.cpu_demand = cpr / mean if cpr and mean > 0 else 1.0
        """Cores a request uses while in its own service (one, without cpu_per_request)."""
        self.shard = (
            streams.choice(f"components.{name}.shard", [1.0] * len(shards))
            if len(shards) > 1
            else None
        )

    @property
    def replica_sets(self) -> list[ReplicaSet]:
        """The primaries of every shard: what scaling changes (one set per shard)."""
        return [s.primaries for s in self.shards]

    def pods(self) -> int:
        """Replicas present now (starting, ready or draining), every role and shard."""
        return sum(len(s.primaries.present) + len(s.readers.present) for s in self.shards)

    def prepare(self, compiled: CompiledStep, step: Step, key: str, streams: Streams) -> None:
        dist = step.service_time if step.service_time is not None else self.component.service_time
        compiled.service = streams.sampler(dist, f"{key}.service")
        routes = []
        for s, shard in enumerate(self.shards):
            if step.op == "read":
                draw = (
                    streams.uniform(f"{key}.route.shard{s}")
                    if shard.readers_group is not None
                    else None
                )
                routes.append(shard.read_route(draw))
            else:
                routes.append(_fixed(shard.writes))
        pick = self.shard
        if pick is None:
            compiled.route = routes[0]
            if step.op != "read" or self.shards[0].readers_group is None:
                compiled.group = routes[0]()  # always the same group: no call per visit
        else:
            compiled.route = lambda: routes[pick()]()
        if self.hit_ratio is not None:
            ratio, curve = self.hit_ratio(step)
            draw = streams.uniform(f"{key}.hit")
            if curve is None:
                compiled.hit = lambda: draw() < ratio
            else:
                now = self.kernel
                compiled.hit = lambda: draw() < curve(now.now)

    def direct(self, step: CompiledStep) -> bool:
        """Whether a visit of ``step`` is only a worker held for a service time: no nested
        steps, no cache lookup, no shared CPU and no failure to survive (its replicas are
        not tracked). The step runner then drives it itself, taking a worker with
        :meth:`take` and giving it back with :meth:`give_back`, one generator frame less."""
        return not step.steps and step.hit is None and self.cpus is None and not self.track

    def take(self, group: Group, req: Request) -> Replica | int:
        """A worker of ``group`` (the step's ``group``, or what its ``route`` picks) for
        ``req`` now: the replica, or QUEUED (``req`` is parked and will be handed a replica,
        or a status if its replica fails), REJECTED or UNAVAILABLE."""
        # the common case inline (round robin to a replica with a free worker); the rest,
        # queueing and refusals, in Group.acquire
        ready = group.ready
        if group.policy == "round_robin" and ready:
            i = group.rr + 1
            if i >= len(ready):
                i = 0
            group.rr = i
            got = ready[i]
            if got.busy < got.workers:
                meter = self.meter
                meter.arrivals += 1
                got.busy += 1
                meter.busy += 1
                meter.start_sum += self.kernel.now
                return got
            group.rr = i - 1  # acquire takes this same turn
        return group.acquire(req)

    def give_back(self, replica: Replica, start: float, hold: float) -> None:
        """The worker of ``replica`` taken at ``start`` for ``hold`` seconds of service is
        free now (to whoever waits for it)."""
        if replica.queue or replica.shared or replica.state != READY:
            release(replica, self.meter, self.kernel, start, hold)
            return
        # release's common case inline: nobody waits for this replica
        meter = self.meter
        held = self.kernel.now - start
        replica.served += 1
        meter.served += 1
        meter.hold_sum += held
        meter.hold_sq_sum += held * held
        meter.service_sum += hold
        replica.busy -= 1
        meter.busy -= 1
        meter.start_sum -= start

    def visit(self, step: CompiledStep, req: Request) -> Generator[float | None, Any, str | None]:
        kernel = self.kernel
        if req.lag:  # arrive at the request's own time
            lag = req.lag
            req.lag = 0.0
            yield lag
        # picked on arrival: a weighted read route reads the roles' ready workers now
        group: Group = step.group or step.route()
        arrived = kernel.now
        got = self.take(group, req)
        if not isinstance(got, Replica):
            if got == QUEUED:
                try:
                    got = yield None  # a releasing request hands its worker over
                except Lost:
                    abandon(req, self.meter, kernel)  # a worker it holds elsewhere died
                    raise
                if not isinstance(got, Replica):  # its replica failed, none took it
                    return "rejected" if got == REJECTED else "unavailable"
            elif got == REJECTED:
                return "rejected"  # refused at once: no time spent
            else:
                return "unavailable"
        replica: Replica = got
        task = req
        if self.track:
            replica.holding[task] = None
        start = kernel.now
        hold = step.service()
        cause = None
        cpus = self.cpus
        if cpus is None:
            req.lag = hold  # waited out before the request next touches anything shared
        try:
            if cpus is not None:  # the service is CPU work, shared with the others in service
                cpu = cpus.get(replica)
                if cpu is None:
                    assert self.cpu_limit is not None
                    cpu = cpus[replica] = SharedCpu(kernel, self.cpu_limit, self.cpu_demand)
                try:
                    yield from cpu.serve(task, hold)
                finally:
                    hold = kernel.now - start  # stretched by contention
            req.spent[self.index] += start - arrived + hold
            if step.steps:
                cause = yield from run_steps(req, step.steps)
            if req.lag:  # the worker is released at the request's own time
                lag = req.lag
                req.lag = 0.0
                yield lag
        except Lost as lost:
            replica.holding.pop(task, None)
            if lost.replica is replica:  # this replica failed: the visit is lost
                lose(replica, self.meter, start, kernel.now)
                req.spent[self.index] -= max(0.0, start + hold - kernel.now)
                req.lag = 0.0
                return "lost"
            if replica.state != GONE:  # lost elsewhere: the work here is abandoned
                release(replica, self.meter, kernel, start, hold)
            raise
        if self.track:
            replica.holding.pop(task, None)
        self.give_back(replica, start, hold)
        hit = step.hit  # set on steps that call a cache
        if cause is None and hit is not None and step.on_miss and not hit():
            cause = yield from run_steps(req, step.on_miss)
        return cause

    def snapshot(self) -> MeterSnapshot:
        return self.meter.snapshot(self.kernel.now)

    def measure(self, start: MeterSnapshot, end: MeterSnapshot) -> StationMeasure:
        w = end.minus(start)
        utilization = w.busy_area / w.capacity_area if w.capacity_area else 0.0
        constraints = {"workers": utilization}
        # the part of the workers' time spent on this component's own work, the rest being
        # spent waiting on nested calls
        mean_hold = w.hold_sum / w.served if w.served else 0.0
        capacity_s = w.capacity_area
        extra: dict[str, float] = {
            "replicas_ready": w.ready_area / w.time if w.time else 0.0,
            "work_utilization": w.service_sum / capacity_s if capacity_s else 0.0,
            # how long a visit keeps its worker (own work plus nested calls), for the
            # analytic cross-check
            "mean_hold_s": mean_hold,
            "hold_scv": (w.hold_sq_sum / w.served / mean_hold**2 - 1) if mean_hold else 0.0,
        }
        request, limit = self.cpu_request, self.cpu_limit
        if self.component.cpu_per_request is not None and request and limit:
            # replica-seconds present over the window, from worker-seconds
            pod_s = capacity_s / self.component.workers
            demand = w.arrivals * self.component.cpu_per_request  # CPU-seconds wanted
            extra["cpu_utilization"] = w.cpu_s / (pod_s * request) if pod_s else 0.0
            constraints["cpu"] = extra["cpu_utilization"]
            # a demand beyond the limits means the given service times could not hold
            # (fixed CPU) or that the shared CPU cannot keep up (contended): saturation
            extra["cpu_demand_vs_limit"] = demand / (pod_s * limit) if pod_s else 0.0
        memory = self.component.memory
        if memory is not None and self.memory_request and self.memory_limit and capacity_s:
            # mean memory per replica present: the base plus per_request for every request
            # held (in service, or in the replica's own queue; a shared queue is the
            # balancer's), averaged over replica-seconds
            pod_s = capacity_s / self.component.workers
            shared = self.component.load_balancing == "shared_queue"
            held = w.busy_area + (0.0 if shared else w.queue_area)
            used = memory.base + held * memory.per_request / pod_s
            extra["memory_utilization"] = used / self.memory_request
            extra["memory_vs_limit"] = used / self.memory_limit
        return meter_measure(w, end.queue_length - start.queue_length, constraints, extra)

"""Capacity as a quantity of the run: replicas that start, serve, drain and fail.

A pooled component is a set of :class:`Replica` objects (pods, database members), each
with ``workers`` slots, and one or more :class:`Group` objects that balance requests over
the replicas that are ready *now*:

- ``round_robin`` and ``least_connections``: each replica has its own FIFO queue, as
  behind a Kubernetes Service; the balancer picks among the ready replicas;
- ``shared_queue``: one FIFO queue for the group, served by any free worker of any ready
  replica (the M/M/c idealization).

A replica added is *starting* until ready (then it takes work, and under a shared queue
its workers take queued requests at once); a replica drained leaves the balancers, finishes
what it holds (its own queue included) and is gone; a replica that fails is gone at once,
its requests in service are interrupted (cause ``lost``) and its queue goes back to the
balancer. A request finding no ready replica fails at once with cause ``unavailable``,
as a Service with no ready endpoints refuses the connection.

The :class:`~capplan.sim.meter.Meter` integrates busy workers, available workers (of replicas present:
ready or draining), queue length and ready replicas over time, so that utilization over
any window is busy worker-seconds over available worker-seconds, measured correctly while
capacity changes. Its counters are cumulative; windows are differences of snapshots.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Final

from capplan.sim.kernel import Kernel, Task
from capplan.sim.meter import Meter

# Final: compiled, they are constants, not module lookups (see setup.py)
STARTING: Final = 0
READY: Final = 1
DRAINING: Final = 2
GONE: Final = 3

QUEUED: Final = -1
REJECTED: Final = -2
UNAVAILABLE: Final = -3
"""What :meth:`Group.acquire` returns besides a replica."""


class Lost(Exception):
    """Thrown into a request whose replica failed under it: the visit to that replica
    ends with cause ``lost``; visits it holds elsewhere give their workers back."""

    def __init__(self, replica: Replica):
        super().__init__("lost")
        self.replica = replica


class Replica:
    """One instance: ``workers`` slots, its own queue (or its group's shared one)."""

    __slots__ = (
        "busy",
        "groups",
        "holding",
        "owner",
        "queue",
        "ready_at",
        "served",
        "shared",
        "state",
        "workers",
        "zone",
    )

    def __init__(self, workers: int, queue: deque[Any], zone: int = 0):
        self.workers = workers
        self.busy = 0
        self.queue = queue
        self.state = STARTING
        self.groups: tuple[Group, ...] = ()
        self.shared = False
        """Served from its group's shared queue (not one of its own)."""
        self.holding: dict[Task, None] = {}
        """Requests in service here, in the order they were served (a failure interrupts
        them in that order: a set's order would follow memory addresses, and the results
        with it)."""
        self.served = 0
        """Visits completed here: what a metrics pipeline turns into its request and CPU
        rates."""
        self.ready_at = -float("inf")
        """When it became ready (long before the run for a replica there from the start)."""
        self.owner: Any = None
        """The pod it runs as, told when the replica is gone (its node room is free)."""
        self.zone = zone
        """The availability zone it runs in (0 when the cluster has one)."""

    @property
    def in_flight(self) -> int:
        """Requests it holds: in service, and waiting in its own queue."""
        return self.busy + (0 if self.shared else len(self.queue))


class Group:
    """Replicas balanced by one policy, with what a visit needs: acquire and release."""

    __slots__ = (
        "electing",
        "idle",
        "kernel",
        "meter",
        "policy",
        "queue",
        "queue_limit",
        "ready",
        "rr",
    )

    def __init__(self, kernel: Kernel, meter: Meter, policy: str, queue_limit: int | None):
        self.kernel = kernel
        self.meter = meter
        self.policy = policy
        self.queue_limit = queue_limit
        self.ready: list[Replica] = []
        self.rr = -1
        self.queue: deque[tuple[Task, float]] = deque()  # shared_queue only
        self.idle: list[Replica] = []  # shared_queue: ready replicas with a free worker
        self.electing = False
        """A new primary is being elected: with no ready replica, requests wait in the
        group's queue for it instead of being refused."""

    @property
    def shared(self) -> bool:
        return self.policy == "shared_queue"

    def ready_workers(self) -> int:
        return sum(r.workers for r in self.ready)

    def acquire(self, task: Task) -> Replica | int:
        """Hold a worker for ``task``: the replica, or QUEUED (the task is parked in a
        queue and will be woken with the replica that takes it), REJECTED (queue full) or
        UNAVAILABLE (no ready replica)."""
        meter = self.meter
        meter.arrivals += 1
        now = self.kernel.now
        if self.policy == "shared_queue":
            idle = self.idle
            while idle:
                r = idle[-1]
                if r.state == READY and r.busy < r.workers:
                    r.busy += 1
                    meter.busy += 1
                    meter.start_sum += now
                    if r.busy == r.workers:
                        idle.pop()
                    return r
                idle.pop()
            if not self.ready and not self.electing:
                meter.unavailable += 1
                return UNAVAILABLE
            queue = self.queue
        else:
            ready = self.ready
            n = len(ready)
            if not n:
                if not self.electing:
                    meter.unavailable += 1
                    return UNAVAILABLE
                # waits for the elected primary, which takes this queue as its own
                self.queue.append((task, now))
                task.parked = self.queue
                meter.queued += 1
                meter.arrive_sum += now
                return QUEUED
            if self.policy == "least_connections":
                # ties broken by rotating the starting replica, as real balancers do
                self.rr = start = (self.rr + 1) % n
                r = ready[start]
                best = r.busy + len(r.queue)
                for i in range(1, n):
                    other = ready[(start + i) % n]
                    load = other.busy + len(other.queue)
                    if load < best:
                        r, best = other, load
            else:
                self.rr = i = (self.rr + 1) % n
                r = ready[i]
            if r.busy < r.workers:
                r.busy += 1
                meter.busy += 1
                meter.start_sum += now
                return r
            queue = r.queue
        limit = self.queue_limit
        if limit is not None and len(queue) >= limit:
            meter.rejected += 1
            return REJECTED
        queue.append((task, now))
        task.parked = queue
        meter.queued += 1
        meter.arrive_sum += now
        return QUEUED

    def abandon(self, task: Task) -> None:
        """``task`` stops waiting (see :func:`abandon`)."""
        abandon(task, self.meter, self.kernel)


def abandon(task: Task, meter: Meter, kernel: Kernel) -> None:
    """``task`` stops waiting (it was interrupted while parked after :meth:`Group.acquire`):
    out of the queue it waits in, or, when a worker was granted to it and the hand-over is
    still to come, that worker given back. ``meter``: the component's it waits at."""
    parked = task.parked
    task.parked = None
    if isinstance(parked, Replica):
        release(parked, meter, kernel, kernel.now, 0.0, count=False)
        return
    if parked is None:
        return
    for entry in parked:
        if entry[0] is task:
            parked.remove(entry)
            meter.queued -= 1
            meter.withdrawn += 1
            meter.arrive_sum -= entry[1]
            meter.wait_sum += kernel.now - entry[1]
            return


def release(
    replica: Replica,
    meter: Meter,
    kernel: Kernel,
    start: float,
    service: float,
    count: bool = True,
) -> None:
    """Give back the worker a visit took at ``start``: to the head of the replica's queue
    while it is ready (or draining its own queue), else free it; a draining replica with
    nothing left is gone. ``count``: the visit was served (not a grant given back)."""
    now = kernel.now
    held = now - start
    if count:
        replica.served += 1
        meter.served += 1
    else:
        meter.withdrawn += 1
    meter.hold_sum += held
    meter.hold_sq_sum += held * held
    meter.service_sum += service
    queue = replica.queue
    state = replica.state
    if queue and (state == READY or (state == DRAINING and not replica.groups[0].shared)):
        task, arrived = queue.popleft()
        meter.queued -= 1
        meter.arrive_sum -= arrived
        meter.wait_sum += now - arrived
        meter.start_sum += now - start  # the next visit starts now, this one ended
        kernel.hand_over(task, replica)
        return
    replica.busy -= 1
    meter.busy -= 1
    meter.start_sum -= start
    if state == READY:
        for group in replica.groups:
            if group.policy == "shared_queue" and replica.busy == replica.workers - 1:
                group.idle.append(replica)
    elif state == DRAINING and replica.busy == 0 and not _queued(replica):
        _gone(replica, meter, now)


def lose(replica: Replica, meter: Meter, start: float, now: float) -> None:
    """A visit that held a worker of ``replica`` since ``start`` ended now because the
    replica failed: the worker is gone with it."""
    held = now - start
    replica.busy -= 1
    meter.busy -= 1
    meter.start_sum -= start
    meter.hold_sum += held
    meter.hold_sq_sum += held * held
    meter.lost += 1


def _queued(replica: Replica) -> bool:
    return bool(replica.queue) and not replica.groups[0].shared


def _gone(replica: Replica, meter: Meter, now: float) -> None:
    meter.tick(now)
    replica.state = GONE
    meter.capacity -= replica.workers
    if replica.owner is not None:
        replica.owner.gone()


class ReplicaSet:
    """The replicas of one role (a deployment's pods; a database shard's primaries or read
    replicas), the groups that balance over them, and how their number changes."""

    def __init__(
        self,
        kernel: Kernel,
        meter: Meter,
        workers: int,
        groups: tuple[Group, ...],
        own_queues: bool,
    ):
        self.kernel = kernel
        self.meter = meter
        self.workers = workers
        self.groups = groups
        self.own_queues = own_queues
        self.replicas: list[Replica] = []
        self.zones = 1
        """Zones its replicas spread over, evenly, as a topology spread constraint says."""
        self.zones_down: set[int] = set()
        """Zones out now: no replica is placed there."""
        self.on_ready: list[Callable[[ReplicaSet, Replica], None]] = []
        """Told of every replica that becomes ready (a failure process gives it a life)."""

    def next_zone(self) -> int:
        """The zone a new replica goes to: of those up, the one with fewest replicas."""
        if self.zones == 1:
            return 0
        count = [0] * self.zones
        for r in self.replicas:
            if r.state != GONE:
                count[r.zone] += 1
        up = [z for z in range(self.zones) if z not in self.zones_down] or list(range(self.zones))
        return min(up, key=lambda z: (count[z], z))

    def add(self, startup: float = 0.0, zone: int | None = None) -> Replica:
        """A new replica, ready after ``startup`` seconds (at once for 0), in ``zone``
        (default: spread)."""
        queue: deque[Any] = deque() if self.own_queues else self.groups[0].queue
        replica = Replica(self.workers, queue, self.next_zone() if zone is None else zone)
        replica.groups = self.groups
        replica.shared = not self.own_queues
        self.replicas.append(replica)
        if startup <= 0:
            self._ready(replica)
        else:
            self.kernel.spawn(self._later(replica, startup))
        return replica

    def _later(self, replica: Replica, startup: float) -> Any:
        yield startup
        if replica.state == STARTING:
            self._ready(replica)
            if replica.owner is not None:
                replica.owner.ready_now()

    def _ready(self, replica: Replica) -> None:
        meter, now = self.meter, self.kernel.now
        meter.tick(now)
        replica.state = READY
        replica.ready_at = now
        meter.capacity += replica.workers
        meter.ready += 1
        for group in replica.groups:
            group.ready.append(replica)
            if group.shared:
                # its workers take what waits in the shared queue at once
                while group.queue and replica.busy < replica.workers:
                    self._grant(replica, *group.queue.popleft())
                if replica.busy < replica.workers:
                    group.idle.append(replica)
            elif group.queue:  # what waited through an election
                while group.queue:
                    task, arrived = group.queue.popleft()
                    if replica.busy < replica.workers:
                        self._grant(replica, task, arrived)
                    else:
                        replica.queue.append((task, arrived))
                        task.parked = replica.queue
        for hook in self.on_ready:
            hook(self, replica)

    def _grant(self, replica: Replica, task: Task, arrived: float) -> None:
        """A worker of ``replica`` for ``task``, which waited since ``arrived``."""
        meter, now = self.meter, self.kernel.now
        meter.queued -= 1
        meter.arrive_sum -= arrived
        meter.wait_sum += now - arrived
        replica.busy += 1
        meter.busy += 1
        meter.start_sum += now
        task.parked = replica  # granted; the hand-over is a wake-up away
        self.kernel.wake(task, replica)

    @property
    def ready_count(self) -> int:
        return sum(1 for r in self.replicas if r.state == READY)

    @property
    def present(self) -> list[Replica]:
        """Replicas not gone: starting, ready or draining."""
        return [r for r in self.replicas if r.state != GONE]

    def drain(self, replica: Replica) -> None:
        """Stop giving ``replica`` work; it finishes what it holds, then is gone."""
        meter = self.meter
        meter.tick(self.kernel.now)
        if replica.state == STARTING:
            replica.state = GONE
            self.replicas.remove(replica)
            if replica.owner is not None:
                replica.owner.gone()
            return
        if replica.state != READY:
            return
        replica.state = DRAINING
        meter.ready -= 1
        for group in replica.groups:
            if replica in group.ready:
                group.ready.remove(replica)
        if replica.busy == 0 and not _queued(replica):
            _gone(replica, meter, self.kernel.now)
        self.replicas = [r for r in self.replicas if r.state != GONE]

    def fail(self, replica: Replica) -> None:
        """``replica`` dies now: it leaves the balancers, its requests in service are
        interrupted (:class:`Lost`, thrown into each), and what waits in its own queue goes
        back to the balancer (to another replica, or refused when none is ready)."""
        kernel, meter = self.kernel, self.meter
        now = kernel.now
        if replica.state == GONE:
            return
        meter.tick(now)
        if replica.state == READY:
            meter.ready -= 1
            for group in replica.groups:
                if replica in group.ready:
                    group.ready.remove(replica)
                while replica in group.idle:
                    group.idle.remove(replica)
        if replica.state == STARTING:
            replica.state = GONE
            if replica.owner is not None:
                replica.owner.gone()
        else:
            _gone(replica, meter, now)
        self.replicas = [r for r in self.replicas if r.state != GONE]
        for task in list(replica.holding):
            kernel.interrupt(task, Lost(replica))
        if replica.shared or not replica.queue:
            return
        waiting = list(replica.queue)
        replica.queue.clear()
        group = replica.groups[0]
        for task, arrived in waiting:
            # it waited here until now; it arrives at the balancer again
            meter.queued -= 1
            meter.arrive_sum -= arrived
            meter.wait_sum += now - arrived
            meter.arrivals -= 1
            got = group.acquire(task)
            if isinstance(got, Replica):
                task.parked = got
                kernel.wake(task, got)
            elif got != QUEUED:
                task.parked = None
                kernel.wake(task, got)

    def scale_to(self, count: int, startup: float = 0.0) -> None:
        """Add replicas (ready after ``startup``) or drain the newest, to ``count`` present
        and not draining."""
        live = [r for r in self.replicas if r.state in (STARTING, READY)]
        for _ in range(count - len(live)):
            self.add(startup)
        if count < len(live):
            # as a ReplicaSet scales down: pods not yet ready first, then the newest
            order = sorted(live, key=lambda r: (r.state == READY, -self.replicas.index(r)))
            for replica in order[: len(live) - count]:
                self.drain(replica)

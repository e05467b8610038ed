"""Stations made of worker pools: the shared machinery of services, databases and caches.

A pooled station is a set of :class:`~capplan.sim.pool.Pool` objects (one per replica, or
one per shard and role under ``shared_queue``) and, per step, a picker that chooses the
pool a visit joins. Routing is settled when a step is compiled, so a visit only calls the
picker, takes a worker, holds it for the service time and the nested steps, and releases.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import simpy
from simpy.events import Event, Timeout

from capplan.sim.pool import Pool, PoolSnapshot
from capplan.sim.stations.base import Runner, StationMeasure

if TYPE_CHECKING:
    from capplan.scenario.components import ServiceComponent
    from capplan.sim.plan import CompiledStep
    from capplan.sim.streams import Streams

Picker = Callable[[], Pool]


def make_picker(
    pools: list[Pool], policy: str, weights: list[float] | None, draw: Callable[[], float] | None
) -> Picker:
    """How a visit picks among ``pools``: round robin, least connections or weighted random."""
    if len(pools) == 1:
        only = pools[0]
        return lambda: only
    if weights is not None:
        assert draw is not None
        total = sum(weights)
        bounds = list(itertools.accumulate(w / total for w in weights))

        def weighted() -> Pool:
            u = draw()
            for pool, bound in zip(pools, bounds, strict=True):
                if u < bound:
                    return pool
            return pools[-1]

        return weighted
    if policy == "least_connections":
        n = len(pools)
        turn = itertools.count()

        def least() -> Pool:
            # ties broken by rotating the starting replica, as real balancers do
            start = next(turn) % n
            best = pools[start]
            best_load = best.busy + len(best.queue)
            for i in range(1, n):
                pool = pools[(start + i) % n]
                load = pool.busy + len(pool.queue)
                if load < best_load:
                    best, best_load = pool, load
            return best

        return least
    return itertools.cycle(pools).__next__


class PooledStation:
    """A component served by worker pools; see the module docstring.

    ``shards`` is a list, per shard, of (pools serving every operation, pools serving
    reads only). ``hit_ratio`` is set for caches: a miss runs the step's ``on_miss``
    after the worker is released.
    """

    def __init__(
        self,
        name: str,
        component: ServiceComponent,
        env: simpy.Environment,
        streams: Streams,
        shards: list[tuple[list[Pool], list[Pool]]],
        hit_ratio: float | None = None,
    ):
        self.name = name
        self.component = component
        self.env = env
        self.streams = streams
        self.shards = shards
        self.pools = [p for primary, readers in shards for p in (*primary, *readers)]
        self.capacity = sum(p.workers for p in self.pools)
        self.instances = len(shards) * (component.replicas + getattr(component, "read_replicas", 0))
        self.is_cache = hit_ratio is not None
        self.hit_ratio = 1.0 if hit_ratio is None else hit_ratio
        self.shard = (
            streams.choice(f"components.{name}.shard", [1.0] * len(shards))
            if len(shards) > 1
            else None
        )

    def prepare(self, step: CompiledStep, path: str, streams: Streams) -> None:
        policy = self.component.load_balancing
        pickers = []
        for s, (primary, readers) in enumerate(self.shards):
            pools = primary + readers if step.op == "read" else primary
            weights = draw = None
            if policy == "shared_queue" and len(pools) > 1:
                # one queue per role: a read joins the primaries' or the replicas' queue
                # in proportion to their workers
                weights = [float(p.workers) for p in pools]
                draw = streams.uniform(f"{path}.route.shard{s}")
            pickers.append(make_picker(pools, policy, weights, draw))
        step.pickers = tuple(pickers)
        if self.is_cache:
            step.hit = streams.uniform(f"{path}.hit")

    def visit(self, step: CompiledStep, run: Runner) -> Generator[Event, Any, str | None]:
        shard = self.shard
        pool = step.pickers[shard()]() if shard is not None else step.pickers[0]()
        env = self.env
        arrived = env.now
        pool.arrivals += 1
        if pool.busy < pool.workers:
            pool.tick(arrived)
            pool.busy += 1
        else:
            limit = pool.queue_limit
            if limit is not None and len(pool.queue) >= limit:
                pool.rejected += 1
                return "rejected"
            pool.tick(arrived)
            granted = Event(env)
            pool.queue.append(granted)
            yield granted  # the releasing request hands its worker over
            pool.wait_sum += env.now - arrived
        pool.granted += 1
        start = env.now
        hold = step.service()
        if hold:
            yield Timeout(env, hold)
        cause = None
        if step.steps:
            cause = yield from run(step.steps)
        now = env.now
        pool.tick(now)
        if pool.queue:
            pool.queue.popleft().succeed()
        else:
            pool.busy -= 1
        pool.served += 1
        pool.hold_sum += now - start
        hit = step.hit  # set on steps that call a cache
        if cause is None and hit is not None and step.on_miss and hit() >= self.hit_ratio:
            cause = yield from run(step.on_miss)
        return cause

    def snapshot(self) -> list[PoolSnapshot]:
        return [p.snapshot() for p in self.pools]

    def measure(self, start: list[PoolSnapshot], end: list[PoolSnapshot]) -> StationMeasure:
        span = end[0].time - start[0].time

        def total(attr: str) -> float:
            return float(
                sum(getattr(e, attr) - getattr(s, attr) for s, e in zip(start, end, strict=True))
            )

        served, granted, arrivals = total("served"), total("granted"), total("arrivals")
        throughput = served / span
        mean_hold = total("hold_sum") / served if served else 0.0
        extra: dict[str, float] = {}
        c = self.component
        res = c.resources
        request = res.requests.cpu if res and res.requests else None
        limit = (res.limits.cpu if res and res.limits else None) or request
        if c.cpu_per_request is not None and request and limit:
            demand = arrivals / span * c.cpu_per_request  # cores wanted at the offered rate
            extra["cpu_utilization"] = throughput * c.cpu_per_request / (self.instances * request)
            # CPU is not simulated as a contended resource; a demand beyond the limits
            # means the measured service times could not hold, so it counts as saturation
            extra["cpu_demand_vs_limit"] = demand / (self.instances * limit)
        return StationMeasure(
            capacity=self.capacity,
            utilization=total("busy_area") / (self.capacity * span),
            mean_queue_length=total("queue_area") / span,
            mean_wait_s=total("wait_sum") / granted if granted else 0.0,
            throughput_rps=throughput,
            arrival_rps=arrivals / span,
            offered_load=arrivals / span * mean_hold / self.capacity,
            backlog_growth=int(total("queue_length")),
            arrivals=int(arrivals),
            rejected=int(total("rejected")),
            extra=extra,
        )


def replica_pools(env: simpy.Environment, component: ServiceComponent, count: int) -> list[Pool]:
    """``count`` instances as pools: one per instance, or one shared pool under ``shared_queue``."""
    if count == 0:
        return []
    if component.load_balancing == "shared_queue":
        return [Pool(env, count * component.workers, component.queue_limit)]
    return [Pool(env, component.workers, component.queue_limit) for _ in range(count)]

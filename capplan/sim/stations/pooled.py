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

from capplan.sim.pool import Pool, PoolSnapshot, window
from capplan.sim.stations.base import Request, StationMeasure, pool_measure

if TYPE_CHECKING:
    from capplan.scenario.components import ServiceComponent
    from capplan.scenario.model import Step
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
        self.index = -1  # set by compile_scenario
        self.component = component
        self.env = env
        self.streams = streams
        self.shards = shards
        self.pools = [p for primary, readers in shards for p in (*primary, *readers)]
        self.capacity = sum(p.workers for p in self.pools)
        self.instances = component.pods
        self.is_cache = hit_ratio is not None
        self.hit_ratio = 1.0 if hit_ratio is None else hit_ratio
        self.shard = (
            streams.choice(f"components.{name}.shard", [1.0] * len(shards))
            if len(shards) > 1
            else None
        )

    def prepare(self, compiled: CompiledStep, step: Step, path: str, streams: Streams) -> None:
        dist = step.service_time if step.service_time is not None else self.component.service_time
        compiled.service = streams.sampler(dist, f"{path}.service")
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
        compiled.pickers = tuple(pickers)
        if self.is_cache:
            compiled.hit = streams.uniform(f"{path}.hit")

    def visit(self, step: CompiledStep, req: Request) -> Generator[Event, Any, str | None]:
        shard = self.shard
        pool = step.pickers[shard()]() if shard is not None else step.pickers[0]()
        env = self.env
        arrived = env.now
        got = pool.acquire(arrived)
        if got is not None:
            if got is False:
                return "rejected"  # refused at once: no time spent
            yield got
            pool.waited(env.now - arrived)
        start = env.now
        hold = step.service()
        if hold:
            yield Timeout(env, hold)
        req.spent[self.index] += start - arrived + hold
        cause = None
        if step.steps:
            cause = yield from req.run(step.steps)
        now = env.now
        pool.release(now, now - start, hold)
        hit = step.hit  # set on steps that call a cache
        if cause is None and hit is not None and step.on_miss and hit() >= self.hit_ratio:
            cause = yield from req.run(step.on_miss)
        return cause

    def snapshot(self) -> list[PoolSnapshot]:
        return [p.snapshot() for p in self.pools]

    def measure(self, start: list[PoolSnapshot], end: list[PoolSnapshot]) -> StationMeasure:
        w = window(start, end)
        span = w.time
        throughput = w.served / span
        constraints = {"workers": w.busy_area / (w.workers * span)}
        # the part of the workers' time spent on this component's own work, the rest being
        # spent waiting on nested calls
        mean_hold = w.hold_sum / w.served if w.served else 0.0
        extra: dict[str, float] = {
            "work_utilization": w.service_sum / (w.workers * span),
            # how long a visit keeps its worker (own work plus nested calls), for the
            # analytic cross-check
            "mean_hold_s": mean_hold,
            "hold_scv": (w.hold_sq_sum / w.served / mean_hold**2 - 1) if mean_hold else 0.0,
        }
        c = self.component
        res = c.resources
        request = res.requests.cpu if res and res.requests else None
        limit = (res.limits.cpu if res and res.limits else None) or request
        if c.cpu_per_request is not None and request and limit:
            demand = w.arrivals / span * c.cpu_per_request  # cores wanted at the offered rate
            extra["cpu_utilization"] = throughput * c.cpu_per_request / (self.instances * request)
            constraints["cpu"] = extra["cpu_utilization"]
            # CPU is not simulated as a contended resource; a demand beyond the limits
            # means the given service times could not hold, so it counts as saturation
            extra["cpu_demand_vs_limit"] = demand / (self.instances * limit)
        return pool_measure(w, constraints, extra)


def replica_pools(env: simpy.Environment, component: ServiceComponent, count: int) -> list[Pool]:
    """``count`` instances as pools: one per instance, or one shared pool under ``shared_queue``."""
    if count == 0:
        return []
    if component.load_balancing == "shared_queue":
        return [Pool(env, count * component.workers, component.queue_limit)]
    return [Pool(env, component.workers, component.queue_limit) for _ in range(count)]

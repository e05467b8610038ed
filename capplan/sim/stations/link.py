"""``type: link``: payloads cross a network link FIFO at its bandwidth.

Steps do not call a link; they name it with ``via``, and the engine asks the link to
``transfer`` the request payload before the call and the response payload after it. Each
direction is a single-server FIFO queue (a full-duplex link), serving a payload for
bytes × 8 / bandwidth; the propagation latency follows without holding the link.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
from simpy.events import Event, Timeout

from capplan.scenario.units import SECONDS_PER_MONTH
from capplan.sim.pool import Pool, PoolSnapshot, window
from capplan.sim.stations.base import (
    BuildContext,
    Request,
    StationMeasure,
    pool_measure,
    station_type,
)
from capplan.sim.streams import Streams
from capplan.sim.task import Task

if TYPE_CHECKING:
    from capplan.scenario.external import LinkComponent
    from capplan.scenario.model import Step
    from capplan.sim.plan import CompiledStep


BACKGROUND_CHUNK_S = 0.008
"""Background traffic is sent as transfers of this much link time each (1 MB at 1 Gbps,
10 MB at 10 Gbps), so its cost in events follows its share of the link, not its bytes."""


class LinkStation:
    def __init__(self, name: str, component: LinkComponent, ctx: BuildContext):
        self.name = name
        self.index = -1  # set by compile_scenario
        self.env = env = ctx.env
        self.bandwidth = component.bandwidth
        self.latency = component.latency
        self.directions = (Pool(env, 1), Pool(env, 1))  # request, response
        self.residence = 0.0  # of request payloads only, not background transfers
        if component.background:
            chunk_bytes = component.bandwidth * BACKGROUND_CHUNK_S / 8
            rate = component.background * ctx.load_scale / (chunk_bytes * 8)
            for direction in (0, 1):
                gaps = ctx.streams.generator(f"components.{name}.background.{direction}")
                Task(self._background(direction, rate, chunk_bytes, gaps))

    def _background(
        self, direction: int, rate: float, chunk_bytes: float, rng: np.random.Generator
    ) -> Generator[Event, Any, None]:
        env = self.env
        while True:
            for gap in rng.exponential(1 / rate, 1024).tolist():
                yield Timeout(env, gap)
                Task(self._send(chunk_bytes, direction))

    def prepare(self, compiled: CompiledStep, step: Step, path: str, streams: Streams) -> None:
        raise AssertionError("links are crossed with 'via', not called")  # refused at validation

    def visit(self, step: CompiledStep, req: Request) -> Generator[Event, Any, str | None]:
        raise AssertionError("links are crossed with 'via', not called")
        yield  # pragma: no cover

    def transfer(
        self, size_bytes: float, direction: int, req: Request
    ) -> Generator[Event, Any, None]:
        """Carry one request payload across (the engine's hook for steps with ``via``).

        A message without a payload (size 0) only takes the propagation delay: its few
        packets slip between other transfers rather than queueing behind them."""
        arrived = self.env.now
        if size_bytes:
            yield from self._send(size_bytes, direction)
        elif self.latency:
            yield Timeout(self.env, self.latency)
        spent = self.env.now - arrived
        self.residence += spent
        req.spent[self.index] += spent

    def _send(self, size_bytes: float, direction: int) -> Generator[Event, Any, None]:
        env = self.env
        pool = self.directions[direction]
        arrived = env.now
        got = pool.acquire(arrived)
        if got is not None:
            yield got  # type: ignore[misc]  # links have no queue limit
            pool.waited(env.now - arrived)
        start = env.now
        transmit = size_bytes * 8 / self.bandwidth
        if transmit:
            yield Timeout(env, transmit)
        now = env.now
        pool.release(now, now - start, transmit)
        if self.latency:
            yield Timeout(env, self.latency)

    def snapshot(self) -> tuple[list[PoolSnapshot], float]:
        return [p.snapshot() for p in self.directions], self.residence

    def measure(
        self, start: tuple[list[PoolSnapshot], float], end: tuple[list[PoolSnapshot], float]
    ) -> StationMeasure:
        up, down = (window([s], [e]) for s, e in zip(start[0], end[0], strict=True))
        span = up.time
        busy = [d.busy_area / span for d in (up, down)]
        moved = (up.service_sum + down.service_sum) * self.bandwidth / 8  # bytes transmitted
        m = pool_measure(
            window(start[0], end[0]),
            constraints={"bandwidth": max(busy)},
            extra={
                "request_utilization": busy[0],
                "response_utilization": busy[1],
                "bytes_per_s": moved / span,
                "gb_per_month": moved / span * SECONDS_PER_MONTH / 1e9,
            },
        )
        # each direction is its own server: the busier one is the link's utilization and
        # offered load
        offered = max(
            d.arrivals / span * (d.hold_sum / d.served if d.served else 0.0) for d in (up, down)
        )
        return replace(
            m,
            capacity=1,
            utilization=max(busy),
            offered_load=offered,
            residence_s=end[1] - start[1],
        )


@station_type("link")
def build(name: str, component: Any, ctx: BuildContext) -> LinkStation:
    return LinkStation(name, component, ctx)

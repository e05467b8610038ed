"""``type: link``: payloads cross a network link FIFO at its bandwidth.

Steps do not call a link; they name it with ``via``, and the engine asks the link to
``transfer`` the request payload before the call and the response payload after it. Each
direction is a single-server FIFO queue (a full-duplex link) serving a payload for
bytes × 8 / bandwidth; the propagation latency follows without holding the link.

A FIFO single server needs no queue of objects: the time the link is next free,
``free_at``, is its whole state. A payload arriving at t starts at max(t, free_at) and
moves ``free_at`` on by its transmission time, so a crossing costs one wait. Background
traffic (a Poisson stream of transfers of ``BACKGROUND_CHUNK_S`` of link time each) is
folded into ``free_at`` lazily, each time the link is looked at, in arrival order: the same
FIFO queue, with no event per background transfer. The link is busy from t to ``free_at``
without a break (everything assigned arrived by t), so the busy time up to t is the work
assigned less what is still ahead.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from capplan.scenario.units import SECONDS_PER_MONTH
from capplan.sim.kernel import Kernel
from capplan.sim.stations.base import (
    BuildContext,
    Request,
    StationMeasure,
)
from capplan.sim.streams import Streams

if TYPE_CHECKING:
    from capplan.scenario.external import LinkComponent
    from capplan.scenario.model import Step
    from capplan.sim.plan import CompiledStep


BACKGROUND_CHUNK_S = 0.008
"""Background traffic is sent as transfers of this much link time each (1 MB at 1 Gbps,
10 MB at 10 Gbps)."""


@dataclass(frozen=True)
class DirectionCounts:
    """Cumulative figures of one direction at one instant."""

    time: float
    busy_s: float
    """Link time spent transmitting (payloads and background)."""
    payload_s: float
    """Of which payloads'."""
    transfers: int
    """Payloads and background transfers that arrived."""
    wait_s: float
    """Their total wait before transmission started."""
    backlog_s: float
    """Work still ahead at this instant (not cumulative)."""


class Direction:
    """One direction: ``free_at`` and the lazily folded background stream."""

    __slots__ = (
        "assigned",
        "bg_gaps",
        "bg_next",
        "chunk",
        "free_at",
        "payload",
        "transfers",
        "wait_s",
    )

    def __init__(self, gaps: Iterator[float] | None):
        self.free_at = 0.0
        self.assigned = 0.0
        self.payload = 0.0
        self.transfers = 0
        self.wait_s = 0.0
        self.bg_gaps = gaps
        self.bg_next = next(gaps) if gaps is not None else float("inf")
        self.chunk = BACKGROUND_CHUNK_S
        """Link time of one background transfer (longer while the bandwidth is cut)."""

    def catch_up(self, now: float) -> None:
        """Fold in the background transfers that arrived by ``now``, in arrival order."""
        gaps = self.bg_gaps
        assert gaps is not None
        t, free, chunk = self.bg_next, self.free_at, self.chunk
        while t <= now:
            start = free if free > t else t
            self.wait_s += start - t
            free = start + chunk
            self.assigned += chunk
            self.transfers += 1
            t += next(gaps)
        self.bg_next, self.free_at = t, free

    def counts(self, now: float) -> DirectionCounts:
        if self.bg_next <= now:
            self.catch_up(now)
        ahead = max(0.0, self.free_at - now)
        return DirectionCounts(
            now, self.assigned - ahead, self.payload, self.transfers, self.wait_s, ahead
        )


def _gaps(rng: Any, rate: float) -> Iterator[float]:
    while True:
        yield from rng.exponential(1 / rate, 1024).tolist()


class LinkStation:
    def __init__(self, name: str, component: LinkComponent, ctx: BuildContext):
        self.name = name
        self.index = -1  # set by compile_scenario
        self.kernel: Kernel = ctx.kernel
        self.bandwidth = component.bandwidth
        self.latency = component.latency
        self.residence = 0.0  # of request payloads only, not background transfers
        gaps: list[Iterator[float] | None] = [None, None]
        if component.background:
            chunk_bytes = component.bandwidth * BACKGROUND_CHUNK_S / 8
            rate = component.background * ctx.load_scale / (chunk_bytes * 8)
            for direction in (0, 1):
                rng = ctx.streams.generator(f"components.{name}.background.{direction}")
                gaps[direction] = _gaps(rng, rate)
        self.directions = (Direction(gaps[0]), Direction(gaps[1]))  # request, response

    def prepare(self, compiled: CompiledStep, step: Step, key: str, streams: Streams) -> None:
        raise AssertionError("links are crossed with 'via', not called")  # refused at validation

    def visit(self, step: CompiledStep, req: Request) -> Generator[float | None, Any, str | None]:
        raise AssertionError("links are crossed with 'via', not called")
        yield  # pragma: no cover

    def transfer(self, size_bytes: float, direction: int, req: Request) -> None:
        """Carry one request payload across (the engine's hook for steps with ``via``): the
        request has waited out its lag, so the payload joins the FIFO queue now; the time
        it takes to get across is added to the request's lag.

        A message without a payload (size 0) only takes the propagation delay: its few
        packets slip between other transfers rather than queueing behind them."""
        delay = self.latency
        if size_bytes:
            now = self.kernel.now
            d = self.directions[direction]
            if d.bg_next <= now:
                d.catch_up(now)
            tx = size_bytes * 8 / self.bandwidth
            start = d.free_at if d.free_at > now else now
            d.free_at = start + tx
            d.assigned += tx
            d.payload += tx
            d.transfers += 1
            d.wait_s += start - now
            delay += d.free_at - now
        req.lag += delay  # a pure delay from here: waited out with the next shared action
        self.residence += delay
        req.spent[self.index] += delay

    def snapshot(self) -> tuple[DirectionCounts, DirectionCounts, float]:
        now = self.kernel.now
        return self.directions[0].counts(now), self.directions[1].counts(now), self.residence

    def measure(
        self,
        start: tuple[DirectionCounts, DirectionCounts, float],
        end: tuple[DirectionCounts, DirectionCounts, float],
    ) -> StationMeasure:
        span = end[0].time - start[0].time
        busy: list[float] = []
        offered: list[float] = []
        transfers, waits, growth, mean_tx = 0, 0.0, 0.0, 0.0
        for a, b in ((start[0], end[0]), (start[1], end[1])):
            worked = b.busy_s - a.busy_s
            busy.append(worked / span)
            # work that arrived in the window: what was done plus the change in what is ahead
            arrived = worked + b.backlog_s - a.backlog_s
            offered.append(arrived / span)
            n = b.transfers - a.transfers
            transfers += n
            waits += b.wait_s - a.wait_s
            if n:
                mean_tx = max(mean_tx, arrived / n)
            growth = max(growth, b.backlog_s - a.backlog_s)
        payload = end[0].payload_s - start[0].payload_s + end[1].payload_s - start[1].payload_s
        moved = payload * self.bandwidth / 8  # bytes of payloads transmitted
        background = sum(busy) * span * self.bandwidth / 8 - moved
        total_bytes = moved + max(0.0, background)
        utilization = max(busy)
        return StationMeasure(
            capacity=1,
            utilization=utilization,
            mean_queue_length=waits / span,
            mean_wait_s=waits / transfers if transfers else 0.0,
            throughput_rps=transfers / span,
            arrival_rps=transfers / span,
            offered_load=max(offered),
            backlog_growth=round(growth / mean_tx) if mean_tx else 0,
            arrivals=transfers,
            rejected=0,
            residence_s=end[2] - start[2],
            constraints={"bandwidth": utilization},
            extra={
                "request_utilization": busy[0],
                "response_utilization": busy[1],
                "bytes_per_s": total_bytes / span,
                "gb_per_month": total_bytes / span * SECONDS_PER_MONTH / 1e9,
            },
        )


def build(name: str, component: Any, ctx: BuildContext) -> LinkStation:
    return LinkStation(name, component, ctx)

"""``type: delay``: time every call pays and that never queues (an infinite-server station).

For what adds latency but whose capacity is not ours or not in question: a client's own
time, a CDN, DNS, a managed service. No workers, no queue, no utilization; a call takes a
draw of ``service_time`` and nothing else. It runs in ``simulate`` and ``emulate`` like any
component and is left out of sizing and manifests.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any, Literal

from pydantic import model_validator

from capplan.kinds.base import Kind
from capplan.scenario.distributions import Distribution
from capplan.scenario.types import Model
from capplan.sim.stations.base import BuildContext, Request, StationMeasure

if TYPE_CHECKING:
    from capplan.scenario.model import Step
    from capplan.sim.kernel import Kernel
    from capplan.sim.plan import CompiledStep
    from capplan.sim.streams import Streams

QUEUEING_KEYS = ("replicas", "workers", "queue_limit", "load_balancing", "autoscaling")


class DelayComponent(Model):
    """A pure delay: each call takes ``service_time``, however many are in progress."""

    type: Literal["delay"]
    service_time: Distribution
    """Time one call takes ('40ms', or a distribution: {distribution: lognormal, ...})."""

    @model_validator(mode="before")
    @classmethod
    def _no_servers(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in QUEUEING_KEYS:
                if key in data:
                    raise ValueError(
                        f"a delay never queues, so it has no {key}; "
                        "use type: service for a component with limited capacity"
                    )
        return data


class DelayStation:
    """Adds a draw of the delay to the request's own clock: no shared state, no event."""

    __slots__ = ("calls", "component", "index", "kernel", "name", "total_s")

    def __init__(self, name: str, component: DelayComponent, kernel: Kernel):
        self.name = name
        self.component = component
        self.index = -1
        self.kernel = kernel
        self.calls = 0
        self.total_s = 0.0

    def prepare(self, compiled: CompiledStep, step: Step, key: str, streams: Streams) -> None:
        dist = step.service_time if step.service_time is not None else self.component.service_time
        compiled.service = streams.sampler(dist, f"{key}.service")

    def visit(self, step: CompiledStep, req: Request) -> Generator[float | None, Any, str | None]:
        d = step.service()
        req.lag += d
        req.spent[self.index] += d
        self.calls += 1
        self.total_s += d
        return None
        yield  # a generator, as every visit is

    def snapshot(self) -> tuple[float, int, float]:
        return self.kernel.now, self.calls, self.total_s

    def measure(
        self, start: tuple[float, int, float], end: tuple[float, int, float]
    ) -> StationMeasure:
        span = end[0] - start[0]
        calls = end[1] - start[1]
        spent = end[2] - start[2]
        return StationMeasure(
            capacity=0,
            utilization=0.0,
            mean_queue_length=0.0,
            mean_wait_s=0.0,
            throughput_rps=calls / span if span else 0.0,
            arrival_rps=calls / span if span else 0.0,
            offered_load=0.0,
            backlog_growth=0,
            arrivals=calls,
            rejected=0,
            residence_s=spent,
            constraints={},
            extra={"mean_delay_s": spent / calls if calls else 0.0},
        )


def build(name: str, component: Any, ctx: BuildContext) -> DelayStation:
    return DelayStation(name, component, ctx.kernel)


def analytic(m: Any, name: str, c: DelayComponent) -> None:
    """No queue: a call's time is its mean delay (the hold), nothing waits."""
    m.comps[name] = {"utilization": 0.0, "mean_wait_s": 0.0, "saturated": False}


KIND = Kind(DelayComponent, build, nested=False, analytic=analytic)

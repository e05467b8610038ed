"""The station contract and the registry of component types.

A station is the running form of one component in one replication. Each component kind
(:mod:`capplan.kinds`) names the builder of its station; the engine looks the kind up and
never branches on the type. A station fills exactly these hooks:

- ``visit(step, req)``: a generator (see :mod:`capplan.sim.kernel`: it yields delays, or
  None to park) that serves one step of request ``req``. It runs nested steps with
  ``cause = yield from run_steps(req, step.steps)`` while holding whatever the step
  holds, adds the time the request spent at this station (nested calls excluded) to
  ``req.spent[self.index]``, and returns ``None`` on success or an error cause string
  (``"rejected"``, ``"unavailable"``, ...) that aborts the request.
- ``snapshot()``: cumulative counters (any picklable value) at the current instant.
- ``measure(start, end)``: a :class:`StationMeasure` of the window between two snapshots.
- ``transfer(size_bytes, direction, req)`` (links only): what the engine calls for a
  step that names the station with ``via``, before (direction 0) and after (direction 1)
  the call, once the request has waited out its lag: it adds the crossing to the lag.
- ``prepare(compiled, step, key, streams)``: settle per step what the visit needs
  (service-time sampler, routing, hit or token draws) on the compiled step, from the
  scenario's ``step`` and streams named after ``key``. A component whose callers retry
  by its own policy (the LLM client's 429 retries) sets ``compiled.guard`` here to a
  :class:`~capplan.sim.steps.Guard`; the step's own client behaviour wraps it.

Stations whose capacity can change during a run (replicas that are added, drained or
fail) also offer ``replica_sets`` (see :mod:`capplan.sim.capacity`); controllers act on
those, never on the station's internals.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Final, Protocol

from capplan.sim.kernel import Kernel, Task
from capplan.sim.meter import MeterSnapshot
from capplan.sim.records import StationMeasure
from capplan.sim.streams import Streams

if TYPE_CHECKING:
    from capplan.scenario.model import Scenario, Step
    from capplan.sim.plan import CompiledStep


class Request(Task):
    """The request a visit serves. It is itself the kernel task that runs it (a station
    parks it in a queue and a releasing request hands it a worker); it runs nested steps
    and collects where its time went.

    Its clock may run ahead of the kernel's: a pure delay (a service time, a propagation
    delay, a transfer already placed on a link) is added to ``lag`` instead of waited for,
    and the request waits out its lag (``yield from req.sync()``, or inline) just before
    it next touches shared state: a queue, a link's FIFO, a quota, its own completion. So
    consecutive delays cost one event, and everything shared still happens at its exact
    time. A visit's own time is ``kernel.now + req.lag``."""

    __slots__ = ("lag", "memo", "retry_after", "spent")

    spent: list[float]
    """Seconds this request spent at each station (by station ``index``), waiting and
    being served there, nested calls excluded."""
    lag: float
    """Delay this request has yet to wait before its next shared action."""
    memo: Any
    """What a station keeps about the call in progress across its attempts (the LLM's
    prompt, resent on a retry), or None; the station owns it while its call lasts."""
    retry_after: float
    """Seconds a failed attempt was told to wait before the next (an HTTP Retry-After),
    or 0; the step runner honours it and resets it."""

    def sync(self) -> Generator[float, Any, None]:
        """Wait out the lag (a visit calls this before touching shared state)."""
        lag = self.lag
        if lag:
            self.lag = 0.0
            yield lag


def meter_measure(
    w: MeterSnapshot,
    growth: int,
    constraints: dict[str, float] | None = None,
    extra: dict[str, float] | None = None,
) -> StationMeasure:
    """The measure of a station with workers, from its meter's window (``w``) and the
    growth of its queue over the window."""
    span = w.time
    mean_hold = w.hold_sum / w.served if w.served else 0.0
    capacity = w.capacity_area / span if span else 0.0
    utilization = (
        w.busy_area / w.capacity_area if w.capacity_area else (1.0 if w.busy_area else 0.0)
    )
    offered = w.arrivals / span * mean_hold / capacity if capacity else (float(w.arrivals > 0))
    return StationMeasure(
        capacity=round(capacity) if abs(capacity - round(capacity)) < 1e-9 else capacity,
        utilization=utilization,
        mean_queue_length=w.queue_area / span,
        mean_wait_s=w.wait_sum / w.granted if w.granted else 0.0,
        throughput_rps=w.served / span,
        arrival_rps=w.arrivals / span,
        offered_load=offered,
        backlog_growth=growth,
        arrivals=w.arrivals,
        rejected=w.rejected,
        residence_s=w.wait_sum + w.service_sum,
        constraints=constraints if constraints is not None else {"workers": utilization},
        extra=extra or {},
    )


class Station(Protocol):
    name: str
    index: int
    """Position among the scenario's stations (set when the scenario is compiled)."""

    def visit(
        self, step: CompiledStep, req: Request
    ) -> Generator[float | None, Any, str | None]: ...

    def snapshot(self) -> Any: ...

    def measure(self, start: Any, end: Any) -> StationMeasure: ...

    def prepare(self, compiled: CompiledStep, step: Step, key: str, streams: Streams) -> None: ...


class BuildContext:
    """What a station builder may use besides its component."""

    __slots__ = ("kernel", "load_scale", "scenario", "streams")

    def __init__(self, kernel: Kernel, streams: Streams, load_scale: float, scenario: Scenario):
        self.kernel: Final = kernel
        self.streams: Final = streams
        self.load_scale: Final = load_scale
        """The scenario's load scale, for load a station generates itself (link background)."""
        self.scenario: Final = scenario
        """The whole scenario, for what depends on more than the component (a cache's hit
        ratio follows the lookup rate the requests send it)."""


Builder = Callable[[str, Any, BuildContext], Station]
"""Builds the station of one component: (name, component, context)."""

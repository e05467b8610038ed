"""Compiling a scenario into stations and step tuples bound to one replication's streams.

Everything the simulation loop needs per step is settled here, once: the station object,
the service-time sampler, probability and hit draws, the routing pickers. The loop then
reads plain attributes.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from capplan.kinds import kind_of
from capplan.scenario.model import Scenario, Step
from capplan.sim.kernel import Kernel
from capplan.sim.stations.base import BuildContext, Station
from capplan.sim.steps import Breaker, Guard
from capplan.sim.streams import Streams


class CompiledStep:
    """One step, ready to run; the called station fills what its visits need."""

    __slots__ = (
        "branches",
        "coin",
        "direct",
        "extra",
        "fallback",
        "group",
        "guard",
        "hit",
        "on_miss",
        "op",
        "path",
        "pick",
        "probability",
        "repeat",
        "request_bytes",
        "response_bytes",
        "route",
        "service",
        "simple",
        "station",
        "steps",
        "via",
    )

    def __init__(
        self,
        station: Station | None,
        path: str,
        step: Step,
        coin: Callable[[], float] | None,
        via: Any,
    ):
        self.station = cast(Station, station)
        """The station called; None for a choice (which visits none: see ``branches``)."""
        self.path = path
        self.op = step.op
        self.probability = step.probability
        self.repeat = step.repeat
        self.coin = coin
        self.via = via
        # always run once, no link: the step runner calls the station straight away
        self.guard: Guard | None = None
        """The client behaviour around the call (retry, timeout, breaker, fallback)."""
        self.simple = (
            coin is None
            and via is None
            and step.repeat == 1
            and not guarded(step)
            and step.choice is None
        )
        self.direct = False
        """Run by the step runner itself (see ``PooledStation.direct``)."""
        self.branches: tuple[tuple[CompiledStep, ...], ...] = ()
        """A choice's branches (its ``station`` is None); ``pick`` draws one's index."""
        self.pick: Callable[[], int] = _no_pick
        self.request_bytes = step.request_bytes
        self.response_bytes = step.response_bytes
        self.service: Callable[[], float] = _no_service
        self.steps: tuple[CompiledStep, ...] = ()
        self.on_miss: tuple[CompiledStep, ...] = ()
        self.fallback: tuple[CompiledStep, ...] = ()
        self.route: Callable[[], Any] = _no_route
        self.group: Any = None
        """The group every visit goes to, when that never changes (else ``route`` picks)."""
        self.hit: Callable[[], bool] | None = None
        """Set on steps that call a cache: draws whether this lookup hits."""
        self.extra: Any = None


def _no_service() -> float:
    return 0.0


def _no_pick() -> int:
    raise AssertionError("only a choice picks a branch")


def _no_route() -> Any:
    raise AssertionError("a pooled station routes every step it prepares")


@dataclass(frozen=True)
class RequestPlan:
    name: str
    steps: tuple[CompiledStep, ...]
    timeout: float | None
    stations: frozenset[str]
    """Every component the request type may visit (for saturation attribution)."""


def guarded(step: Step) -> bool:
    """Whether the step has client behaviour around its call."""
    return bool(
        step.retry is not None
        or step.timeout is not None
        or step.circuit_breaker is not None
        or step.fallback
    )


def _guard(kernel: Kernel, step: Step, name: str, streams: Streams, inner: Guard | None) -> Guard:
    retry = step.retry
    return Guard(
        kernel,
        retry,
        retry.causes if retry is not None else (),
        step.timeout,
        Breaker(step.circuit_breaker) if step.circuit_breaker is not None else None,
        streams.uniform(f"{name}.retry.jitter") if retry is not None and retry.jitter else None,
        inner,
    )


def _compile_steps(
    steps: list[Step],
    path: str,
    key: str,
    scenario: Scenario,
    stations: dict[str, Station],
    streams: Streams,
    touched: set[str],
    kernel: Kernel,
) -> tuple[CompiledStep, ...]:
    """Compile sibling steps. ``path`` locates a step in the file (for messages); ``key``
    names its random streams after the chain of components that leads to it and its
    occurrence among siblings calling the same component, so that adding, removing or
    moving calls to other components never changes the numbers this step draws."""
    out = []
    seen: dict[str, int] = {}
    for i, step in enumerate(steps):
        here = f"{path}[{i}]"
        callee = step.call if step.call is not None else "choice"
        k = seen.get(callee, 0)
        seen[callee] = k + 1
        name = f"{key}/{callee}" + (f"#{k}" if k else "")
        coin = streams.uniform(f"{name}.probability") if step.probability < 1 else None
        if step.call is None:
            out.append(
                _compile_choice(
                    step, here, name, coin, scenario, stations, streams, touched, kernel
                )
            )
            continue
        via = stations[step.via] if step.via is not None else None
        compiled = CompiledStep(stations[step.call], here, step, coin, via)
        stations[step.call].prepare(compiled, step, name, streams)
        if compiled.guard is not None:  # the component's own client policy
            compiled.simple = False
        touched.add(step.call)
        if step.via is not None:
            touched.add(step.via)
        compiled.steps = _compile_steps(
            step.steps, f"{here}.steps", name, scenario, stations, streams, touched, kernel
        )
        compiled.on_miss = _compile_steps(
            step.on_miss,
            f"{here}.on_miss",
            f"{name}/miss",
            scenario,
            stations,
            streams,
            touched,
            kernel,
        )
        if guarded(step):
            compiled.guard = _guard(kernel, step, name, streams, compiled.guard)
            compiled.fallback = _compile_steps(
                step.fallback,
                f"{here}.fallback",
                f"{name}/fallback",
                scenario,
                stations,
                streams,
                touched,
                kernel,
            )
        out.append(compiled)
    return tuple(out)


def _compile_choice(
    step: Step,
    here: str,
    name: str,
    coin: Callable[[], float] | None,
    scenario: Scenario,
    stations: dict[str, Station],
    streams: Streams,
    touched: set[str],
    kernel: Kernel,
) -> CompiledStep:
    """A choice: no station, its branches compiled, one drawn per run of the step from
    the step's own stream (branch j for a uniform draw within its share of [0, 1))."""
    compiled = CompiledStep(None, here, step, coin, None)
    shares = [share for share, _ in step.branches()]
    compiled.branches = tuple(
        _compile_steps(
            branch,
            f"{here}.choice[{j}].steps",
            f"{name}/{j}",
            scenario,
            stations,
            streams,
            touched,
            kernel,
        )
        for j, (_, branch) in enumerate(step.branches())
    )
    edges = list(itertools.accumulate(shares))
    edges[-1] = 1.0  # rounding never leaves a gap at the top
    draw = streams.uniform(f"{name}.choice")

    def pick() -> int:
        return bisect.bisect_right(edges, draw())

    compiled.pick = pick
    return compiled


def compile_scenario(
    scenario: Scenario, kernel: Kernel, streams: Streams
) -> tuple[dict[str, Station], list[RequestPlan]]:
    context = BuildContext(kernel, streams, scenario.load_scale, scenario)
    stations = {
        name: kind_of(component).station(name, component, context)
        for name, component in scenario.components.items()
    }
    for index, station in enumerate(stations.values()):
        station.index = index
    plans = []
    for name, rtype in scenario.requests.items():
        touched: set[str] = set()
        steps = _compile_steps(
            rtype.steps,
            f"requests.{name}.steps",
            f"requests.{name}",
            scenario,
            stations,
            streams,
            touched,
            kernel,
        )
        plans.append(RequestPlan(name, steps, rtype.timeout, frozenset(touched)))
    mark_direct(plans)
    return stations, plans


INLINE = True
"""Let the step runner drive the visits a station calls ``direct`` itself; False runs every
visit through its station's generator (the general path, the same events in the same
order: a test compares the two)."""


def mark_direct(plans: list[RequestPlan]) -> None:
    """Mark the steps whose visit the step runner drives itself (a station's ``direct``
    says which); again whenever what the stations do changes (failures track requests)."""

    def mark(steps: tuple[CompiledStep, ...]) -> None:
        for step in steps:
            direct = getattr(step.station, "direct", None)
            step.direct = INLINE and step.simple and direct is not None and direct(step)
            mark(step.steps)
            mark(step.on_miss)
            mark(step.fallback)
            for branch in step.branches:
                mark(branch)

    for plan in plans:
        mark(plan.steps)

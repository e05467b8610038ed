"""Compiling a scenario into stations and step tuples bound to one replication's streams.

Everything the simulation loop needs per step is settled here, once: the station object,
the service-time sampler, probability and hit draws, the routing pickers. The loop then
reads plain attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import simpy

from capplan.scenario.model import Scenario, Step
from capplan.sim.stations import Station, build_station
from capplan.sim.streams import Streams


class CompiledStep:
    """One step, ready to run."""

    __slots__ = (
        "coin",
        "hit",
        "on_miss",
        "op",
        "path",
        "pickers",
        "probability",
        "repeat",
        "service",
        "station",
        "steps",
    )

    def __init__(
        self,
        station: Station,
        path: str,
        step: Step,
        service: Callable[[], float],
        coin: Callable[[], float] | None,
    ):
        self.station = station
        self.path = path
        self.op = step.op
        self.probability = step.probability
        self.repeat = step.repeat
        self.service = service
        self.coin = coin
        self.steps: tuple[CompiledStep, ...] = ()
        self.on_miss: tuple[CompiledStep, ...] = ()
        self.pickers: tuple[Any, ...] = ()
        self.hit: Callable[[], float] | None = None


@dataclass(frozen=True)
class RequestPlan:
    name: str
    steps: tuple[CompiledStep, ...]
    timeout: float | None
    stations: frozenset[str]
    """Every component the request type may visit (for saturation attribution)."""


def _compile_steps(
    steps: list[Step],
    path: str,
    scenario: Scenario,
    stations: dict[str, Station],
    streams: Streams,
    touched: set[str],
) -> tuple[CompiledStep, ...]:
    out = []
    for i, step in enumerate(steps):
        here = f"{path}[{i}]"
        component = scenario.components[step.call]
        dist = step.service_time if step.service_time is not None else component.service_time
        coin = streams.uniform(f"{here}.probability") if step.probability < 1 else None
        compiled = CompiledStep(
            stations[step.call], here, step, streams.sampler(dist, f"{here}.service"), coin
        )
        stations[step.call].prepare(compiled, here, streams)
        touched.add(step.call)
        compiled.steps = _compile_steps(
            step.steps, f"{here}.steps", scenario, stations, streams, touched
        )
        compiled.on_miss = _compile_steps(
            step.on_miss, f"{here}.on_miss", scenario, stations, streams, touched
        )
        out.append(compiled)
    return tuple(out)


def compile_scenario(
    scenario: Scenario, env: simpy.Environment, streams: Streams
) -> tuple[dict[str, Station], list[RequestPlan]]:
    stations = {
        name: build_station(name, component, env, streams)
        for name, component in scenario.components.items()
    }
    plans = []
    for name, rtype in scenario.requests.items():
        touched: set[str] = set()
        steps = _compile_steps(
            rtype.steps, f"requests.{name}.steps", scenario, stations, streams, touched
        )
        plans.append(RequestPlan(name, steps, rtype.timeout, frozenset(touched)))
    return stations, plans

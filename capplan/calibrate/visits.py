"""How many times one request of each type visits a component, on average: the visit
ratios that turn a component's CPU per request type into CPU per visit."""

from __future__ import annotations

from capplan.kinds import kind_of
from capplan.scenario.model import Scenario, Step


def _count(scenario: Scenario, steps: list[Step], name: str) -> float:
    total = 0.0
    for step in steps:
        times = step.probability * step.repeat
        if step.call is None:
            total += times * sum(
                share * _count(scenario, branch, name) for share, branch in step.branches()
            )
            continue
        one = (1.0 if step.call == name else 0.0) + _count(scenario, step.steps, name)
        if step.on_miss:
            hits = kind_of(scenario.components[step.call]).hit_ratio
            miss = 1 - hits(scenario, step.call, step)[0] if hits is not None else 1.0
            one += miss * _count(scenario, step.on_miss, name)
        total += times * one
    return total


def visits_per_request(scenario: Scenario, name: str) -> dict[str, float]:
    """Mean visits to component ``name`` per request, by request type."""
    return {r: _count(scenario, t.steps, name) for r, t in scenario.requests.items()}

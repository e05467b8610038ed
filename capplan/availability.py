"""Availability over a month from random pod failures, without a month of request-level
simulation.

Each component with ``failures.random`` is ``n`` pods that fail independently (mean time
between failures ``pod_mtbf``) and are back after ``restart``: a pod is up a share
``a = mtbf / (mtbf + mean restart)`` of the time, and the number of pods down follows
the binomial distribution of n independent two-state Markov units (k-of-n with repair).
The request-level effect of each failure state (j pods of one component down) is measured
by a short simulation of the scenario in that state (ten minutes, no failures injected,
autoscalers off: the pods that are down are simply not there). Then, over the month:

- availability = sum over states of P(state) x (share of requests served in the state),
  less the requests in service on each crashed pod (lost with it);
- minutes outside the SLOs = sum over states whose SLOs do not hold of P(state) x the
  month's minutes.

States with pods of two or more components down at once are not simulated: their
probability is reported and bounds the estimate (as served fully, and as served not at
all), together with each state's simulation interval; the interval given is those bounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from capplan.api import simulate_all
from capplan.errors import SimulationError
from capplan.scenario.model import Scenario
from capplan.scenario.units import SECONDS_PER_MONTH
from capplan.sim import Progress
from capplan.sim.runner import Runner
from capplan.sizing import held, with_replicas

EPISODE_S = 600.0
"""Each failure state is simulated for this long (or the scenario's duration if shorter)."""

SMALLEST = 1e-9
"""States less likely than this are left out (their probability joins the bounds)."""


@dataclass(frozen=True)
class State:
    component: str | None
    """The component with pods down (None: every pod up)."""
    down: int
    probability: float
    served: float
    """Share of requests served in this state (point estimate)."""
    served_ci95: tuple[float, float]
    slos_hold: bool
    """Every request-level objective held in the state's simulation."""


@dataclass(frozen=True)
class MonthlyAvailability:
    target: float | None
    states: tuple[State, ...]
    availability: float
    low: float
    high: float
    violation_minutes: float
    violation_minutes_high: float
    other_probability: float
    """Probability of the states not simulated (two or more components degraded)."""
    lost_share: float
    """Requests lost in service on a crashed pod, as a share of all."""
    crashes_per_month: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        minutes = SECONDS_PER_MONTH / 60
        return {
            "target": self.target,
            "availability": self.availability,
            "availability_bounds": [self.low, self.high],
            "slo_violation_minutes": self.violation_minutes,
            "slo_violation_minutes_high": self.violation_minutes_high,
            "budget_minutes": None if self.target is None else (1 - self.target) * minutes,
            "other_states_probability": self.other_probability,
            "lost_share": self.lost_share,
            "crashes_per_month": self.crashes_per_month,
            "states": [
                {
                    "component": s.component,
                    "down": s.down,
                    "probability": s.probability,
                    "served": s.served,
                    "served_ci95": list(s.served_ci95),
                    "slos_hold": s.slos_hold,
                }
                for s in self.states
            ],
        }


def _served(result: dict[str, Any]) -> tuple[float, tuple[float, float]]:
    rate, ci = result["error_rate"], result["error_rate_ci95"]
    ci = ci if ci is not None else [rate, rate]
    return 1 - rate, (max(0.0, 1 - ci[1]), min(1.0, 1 - ci[0]))


def _slos_hold(result: dict[str, Any]) -> bool:
    rows = [r for r in result["slos"] if r["name"].startswith(("latency", "error_rate"))]
    return not result["saturated"] and all(r["passed"] for r in rows)


def monthly_availability(
    scenario: Scenario,
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
    runner: Runner | None = None,
) -> MonthlyAvailability:
    """The month's availability of ``scenario`` under its random pod failures."""
    f = scenario.failures
    if f is None or not f.random:
        raise SimulationError(
            f"{scenario.name}: no failures.random to estimate a month's availability from"
        )
    sim = scenario.simulation
    episode = sim.model_copy(
        update={"duration": min(sim.duration, EPISODE_S), "window": None, "start": 0.0}
    )
    steady = held(scenario).model_copy(update={"failures": None, "simulation": episode})
    units: dict[str, tuple[int, float]] = {}
    crashes: dict[str, float] = {}
    for name, spec in f.random.items():
        c = scenario.components[name]
        n = getattr(c, "replicas", None)
        if c.type != "service" or not isinstance(n, int):
            raise SimulationError(
                f"{scenario.name}: a month's availability is modelled for services' pods; "
                f"{name} is a {c.type}"
            )
        restart = spec.restart.mean
        units[name] = (n, spec.pod_mtbf / (spec.pod_mtbf + restart))
        crashes[name] = n * SECONDS_PER_MONTH / (spec.pod_mtbf + restart)
    plans: list[tuple[str | None, int, float]] = []
    all_up = math.prod(a**n for n, a in units.values())
    plans.append((None, 0, all_up))
    for name, (n, a) in units.items():
        others = all_up / a**n
        for j in range(1, n + 1):
            p = math.comb(n, j) * (1 - a) ** j * a ** (n - j) * others
            if p >= SMALLEST:
                plans.append((name, j, p))
    other = max(0.0, 1 - sum(p for _, _, p in plans))
    runs = [
        (name, j, p)
        for name, j, p in plans
        if name is None or j < units[name][0]  # with every pod down nothing is served
    ]
    scenarios = [
        steady if name is None else with_replicas(steady, {name: units[name][0] - j})
        for name, j, _ in runs
    ]
    if runner is None:
        with Runner(jobs) as own:
            results = simulate_all(scenarios, progress=progress, runner=own)
    else:
        results = simulate_all(scenarios, progress=progress, runner=runner)
    measured = {(name, j): r for (name, j, _), r in zip(runs, results, strict=True)}
    states = []
    for comp, j, p in plans:
        r = measured.get((comp, j))
        if r is None:
            states.append(State(comp, j, p, 0.0, (0.0, 0.0), False))
            continue
        served, ci = _served(r)
        states.append(State(comp, j, p, served, ci, _slos_hold(r)))
    base = measured[(None, 0)]
    # requests in service on a pod when it crashes are lost with it
    rate = base["workload"].get("arrival_rate_rps") or base["throughput_rps"]
    lost = 0.0
    for name, per_month in crashes.items():
        comp = base["components"][name]
        in_service = comp["utilization"] * comp["capacity"] / units[name][0]
        lost += per_month * in_service
    lost_share = lost / (rate * SECONDS_PER_MONTH) if rate else 0.0
    point = sum(s.probability * s.served for s in states) - lost_share
    low = sum(s.probability * s.served_ci95[0] for s in states) - lost_share
    high = sum(s.probability * s.served_ci95[1] for s in states) + other - lost_share
    minutes = SECONDS_PER_MONTH / 60
    violated = sum(s.probability for s in states if not s.slos_hold) * minutes
    return MonthlyAvailability(
        scenario.slos.availability,
        tuple(states),
        point,
        max(0.0, low),
        min(1.0, high),
        violated,
        violated + other * minutes,
        other,
        lost_share,
        crashes,
    )

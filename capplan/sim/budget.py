"""How much work a simulation is, estimated from the scenario before anything runs.

Every station visit (a call served, a payload sent across a link) costs the engine about
the same, so the expected number of visits is the measure of a run's time: the arrival
rate times the visits one request makes, over the simulated horizon, times the
replications. A run past ``DEFAULT_MAX_VISITS`` is refused with its estimate and the way
to allow it, instead of running for hours or until memory runs out.
"""

from __future__ import annotations

from dataclasses import dataclass

from capplan.errors import SimulationError
from capplan.kinds import kind_of
from capplan.scenario.external import LinkComponent
from capplan.scenario.model import Scenario, Step
from capplan.sim import compiled
from capplan.sim.stations.link import BACKGROUND_CHUNK_S

DEFAULT_MAX_VISITS = 500_000_000
"""Largest run simulated without being asked: about a quarter of an hour of one core's
time (half an hour with the engine uncompiled)."""
VISITS_PER_CPU_SECOND = 500_000
"""The engine's speed on layered scenarios, for the expected time: visits as counted here
per CPU second of a replication of the bundled 10x day's busiest hour (950,000 to 990,000
on one 2-core machine; about half, so that the estimate errs long)."""
UNCOMPILED_VISITS_PER_CPU_SECOND = 300_000
"""The same with the engine uncompiled (``CAPPLAN_COMPILE=0``; 540,000 to 580,000 there)."""
MAX_USERS = 1_000_000
"""Most users of a closed workload (each is a live process in the run)."""


@dataclass(frozen=True)
class Estimate:
    visits: float
    """Station visits over all replications."""
    requests: float
    """Requests over all replications."""

    @property
    def cpu_s(self) -> float:
        speed = VISITS_PER_CPU_SECOND if compiled() else UNCOMPILED_VISITS_PER_CPU_SECOND
        return self.visits / speed

    def describe(self) -> str:
        minutes = self.cpu_s / 60
        took = f"{minutes:.0f} minutes" if minutes >= 2 else f"{self.cpu_s:.0f} seconds"
        return (
            f"about {self.requests:,.0f} requests and {self.visits:,.0f} station visits, "
            f"roughly {took} of CPU"
        )


def _visits(steps: list[Step], scenario: Scenario) -> float:
    total = 0.0
    for step in steps:
        if step.call is None:
            one = sum(share * _visits(branch, scenario) for share, branch in step.branches())
            total += step.probability * step.repeat * one
            continue
        c = scenario.components[step.call]
        one = 1.0 + (2.0 if step.via is not None else 0.0) + _visits(step.steps, scenario)
        if step.on_miss:
            hits = kind_of(c).hit_ratio
            miss = 1 - hits(scenario, step.call, step)[0] if hits is not None else 1.0
            one += miss * _visits(step.on_miss, scenario)
        total += step.probability * step.repeat * one
    return total


def _mean_time(steps: list[Step], scenario: Scenario) -> float:
    """A lower bound on a request's time: its mean service times, without waiting."""
    total = 0.0
    for step in steps:
        if step.call is None:
            own = sum(share * _mean_time(branch, scenario) for share, branch in step.branches())
            total += step.probability * step.repeat * own
            continue
        c = scenario.components[step.call]
        service = step.service_time or getattr(c, "service_time", None)
        own = service.mean if service is not None else 0.0
        total += step.probability * step.repeat * (own + _mean_time(step.steps, scenario))
    return total


def closed_rate(scenario: Scenario) -> float:
    """Requests per second a closed workload offers at most: a user's cycle lasts at least
    its think time plus the requests' service times."""
    mix = scenario.mix()
    cycle = scenario.workload.think_time.mean + sum(
        mix[name] * _mean_time(rtype.steps, scenario) for name, rtype in scenario.requests.items()
    )
    return scenario.users / cycle if cycle > 0 else scenario.users * 1e3


def estimate(scenario: Scenario) -> Estimate:
    """Expected requests and station visits of the whole run (all replications)."""
    sim = scenario.simulation
    horizon = sim.warmup + sim.duration
    mix = scenario.mix()
    per_request = sum(
        mix[name] * _visits(rtype.steps, scenario) for name, rtype in scenario.requests.items()
    )
    rate = scenario.arrival_rate if scenario.workload.is_open else closed_rate(scenario)
    # the run goes on after the window until measured requests finish, at most this long
    timeouts = [r.timeout for r in scenario.requests.values() if r.timeout is not None]
    drain = max(timeouts) if len(timeouts) == len(scenario.requests) else sim.duration
    horizon += drain
    requests = rate * horizon * sim.replications
    visits = requests * per_request
    for c in scenario.components.values():
        if isinstance(c, LinkComponent) and c.background:
            # background traffic crosses in transfers of a fixed share of link time
            chunks = c.background * scenario.load_scale / (c.bandwidth * BACKGROUND_CHUNK_S)
            visits += 2 * chunks * horizon * sim.replications
    return Estimate(visits=visits, requests=requests)


def check(scenario: Scenario, max_visits: float | None = None) -> Estimate:
    """The estimate, or SimulationError (exit 2) if the run is past what may be run."""
    limit = DEFAULT_MAX_VISITS if max_visits is None else max_visits
    if not scenario.workload.is_open and scenario.users > MAX_USERS:
        raise SimulationError(
            f"{scenario.name}: {scenario.users:,} users after load_scale {scenario.load_scale:g}; "
            f"at most {MAX_USERS:,} can be simulated"
        )
    est = estimate(scenario)
    if est.visits > limit:
        raise SimulationError(
            f"{scenario.name}: this run would simulate {est.describe()}, past the limit of "
            f"{limit:,.0f} visits. Shorten simulation.duration, lower the replications or "
            "the load, or allow it with --max-visits N"
        )
    return est

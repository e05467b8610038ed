"""Availability over a month from random pod and node failures, without a month of
request-level simulation.

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

Node failures (``costs.node.mtbf``, with live nodes) come as episodes rather than states:
a node fails, its pods are lost and rescheduled where room allows or wait for the node
group's replacement (``costs.node.replacement``) and the cluster autoscaler. One episode,
from the failure to five minutes after the replacement, is simulated beside the same run
without it (the same seeds, so the same requests): the requests it fails beyond the
undisturbed run, and the windows it takes outside the SLOs that the undisturbed run had
within them (a window missed anyway is not the failure's), times the expected node
failures in a month (nodes x month / mtbf), come off the month's availability and add to
its minutes outside the SLOs; their intervals widen the bounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from capplan.api import run_with_records, simulate_all
from capplan.errors import SimulationError
from capplan.results.availability import windows_caused
from capplan.results.model import Result, typed
from capplan.results.stats import half_width
from capplan.scenario.failures import Failures, NodeLoss
from capplan.scenario.model import Scenario
from capplan.scenario.units import SECONDS_PER_MONTH
from capplan.sim import Progress
from capplan.sim.runner import Runner
from capplan.sizing import held, with_replicas

EPISODE_S = 600.0
"""Each failure state is simulated for this long (or the scenario's duration if shorter)."""

SMALLEST = 1e-9
"""States less likely than this are left out (their probability joins the bounds)."""

AFTER_REPLACEMENT_S = 300.0
"""A node failure's episode runs this long past the node's replacement."""
BEFORE_FAILURE_S = 60.0
"""...and starts this long before the failure."""
EPISODE_WINDOW_S = 60.0
"""Windows of the episode, for its minutes outside the SLOs."""


@dataclass(frozen=True)
class NodeFailures:
    """What node failures cost over a month."""

    nodes: float
    """Nodes up on average in the undisturbed run."""
    per_month: float
    """Expected node failures in a month."""
    failed_per_failure: float
    """Requests one failure fails beyond the undisturbed run (mean over replications)."""
    failed_per_failure_ci95: tuple[float, float]
    violation_s_per_failure: float
    """Seconds of windows outside the SLOs one failure causes."""
    lost_share: float
    """Share of the month's requests lost to node failures."""
    lost_share_ci95: tuple[float, float]
    undisturbed_saturated: bool = False
    """The run without the failure could not keep up and was ended early: the requests
    a failure fails are then judged against a system failing anyway (its error rate over
    the part it ran), a rough figure."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "nodes": self.nodes,
            "failures_per_month": self.per_month,
            "failed_requests_per_failure": self.failed_per_failure,
            "failed_requests_per_failure_ci95": list(self.failed_per_failure_ci95),
            "slo_violation_s_per_failure": self.violation_s_per_failure,
            "lost_share": self.lost_share,
            "lost_share_ci95": list(self.lost_share_ci95),
            "undisturbed_saturated": self.undisturbed_saturated,
        }


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
    node_failures: NodeFailures | None = None

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
            "node_failures": None if self.node_failures is None else self.node_failures.to_dict(),
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


def _served(result: Result) -> tuple[float, tuple[float, float]]:
    rate = result.error_rate
    ci = result.error_rate_ci95 or (rate, rate)
    return 1 - rate, (max(0.0, 1 - ci[1]), min(1.0, 1 - ci[0]))


def _slos_hold(result: Result) -> bool:
    rows = [o for o in result.objectives if o.name.startswith(("latency", "error_rate"))]
    return not result.saturated and all(o.passed for o in rows)


def check_failures(scenario: Scenario) -> None:
    """SimulationError unless ``scenario`` has failures a month's availability follows from."""
    f = scenario.failures
    node_mtbf = scenario.costs.node.mtbf if scenario.costs is not None else None
    if (f is None or not f.random) and node_mtbf is None:
        raise SimulationError(
            f"{scenario.name}: no failures.random or costs.node.mtbf to estimate a month's "
            "availability from"
        )


def monthly_availability(
    scenario: Scenario,
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
    runner: Runner | None = None,
) -> MonthlyAvailability:
    """The month's availability of ``scenario`` under its random pod and node failures."""
    check_failures(scenario)
    if runner is None:
        with Runner(jobs) as own:
            return _monthly(scenario, progress, own)
    return _monthly(scenario, progress, runner)


def _monthly(scenario: Scenario, progress: Progress | None, runner: Runner) -> MonthlyAvailability:
    f = scenario.failures
    random = f.random if f is not None else {}
    sim = scenario.simulation
    episode = sim.model_copy(
        update={"duration": min(sim.duration, EPISODE_S), "window": None, "start": 0.0}
    )
    steady = held(scenario).model_copy(update={"failures": None, "simulation": episode})
    units: dict[str, tuple[int, float]] = {}
    crashes: dict[str, float] = {}
    for name, spec in random.items():
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
    results = typed(simulate_all(scenarios, progress=progress, runner=runner))
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
    rate = base.arrival_rate_rps or base.throughput_rps
    lost = 0.0
    for name, per_month in crashes.items():
        pods = base.components[name]
        in_service = pods.utilization * (pods.capacity or 0.0) / units[name][0]
        lost += per_month * in_service
    lost_share = lost / (rate * SECONDS_PER_MONTH) if rate else 0.0
    point = sum(s.probability * s.served for s in states) - lost_share
    low = sum(s.probability * s.served_ci95[0] for s in states) - lost_share
    high = sum(s.probability * s.served_ci95[1] for s in states) + other - lost_share
    minutes = SECONDS_PER_MONTH / 60
    violated = sum(s.probability for s in states if not s.slos_hold) * minutes
    nodes = _node_failures(scenario, progress, runner)
    if nodes is not None:
        point -= nodes.lost_share
        low -= nodes.lost_share_ci95[1]
        high -= nodes.lost_share_ci95[0]
        violated += nodes.per_month * nodes.violation_s_per_failure / 60
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
        nodes,
    )


def _node_failures(
    scenario: Scenario, progress: Progress | None, runner: Runner
) -> NodeFailures | None:
    """One node failure's episode beside the same run without it (see the module)."""
    costs = scenario.costs
    if costs is None or costs.node.mtbf is None:
        return None
    node = costs.node
    sim = scenario.simulation
    quiet = scenario.model_copy(
        update={
            "failures": None,
            "costs": costs.model_copy(update={"node": node.model_copy(update={"mtbf": None})}),
            "simulation": sim.model_copy(
                update={
                    "duration": BEFORE_FAILURE_S + node.replacement + AFTER_REPLACEMENT_S,
                    "window": EPISODE_WINDOW_S,
                }
            ),
        }
    )
    event = NodeLoss(at=f"{sim.start + BEFORE_FAILURE_S:.6f}s", kind="node_loss")
    episode = quiet.model_copy(update={"failures": Failures(events=[event])})
    (base, quiet_records), (hit, episode_records) = run_with_records(
        [quiet, episode], progress=progress, runner=runner
    )
    run = base.section("cost")["run"]
    nodes = run["node_hours"] / run["hours"]
    per_month = nodes * SECONDS_PER_MONTH / node.mtbf
    # requests of one episode: the episode's own count (the undisturbed run may have been
    # ended early as saturated, and measured fewer)
    per_replication = hit.arrivals / sim.replications
    failed = (hit.error_rate - base.error_rate) * per_replication
    half = math.hypot(*(half_width(r.error_rate_ci95, r.error_rate) or 0.0 for r in (base, hit)))
    ci = (failed - half * per_replication, failed + half * per_replication)
    # windows are judged on the latency and error objectives: without any, none is missed;
    # a window the undisturbed run misses too is not the failure's
    caused = windows_caused(episode, quiet_records, episode_records)
    violation_s = (caused.value or 0.0) * EPISODE_WINDOW_S if caused is not None else 0.0
    month_requests = (base.arrival_rate_rps or base.throughput_rps) * SECONDS_PER_MONTH
    share = per_month / month_requests if month_requests else 0.0
    return NodeFailures(
        nodes,
        per_month,
        failed,
        ci,
        violation_s,
        max(0.0, failed) * share,
        (max(0.0, ci[0]) * share, max(0.0, ci[1]) * share),
        any(r.stopped_early for r in quiet_records),
    )

"""The library's front door: everything a command does, importable.

from capplan import load_scenario, simulate
result = simulate(load_scenario("scenarios/current.yaml"))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from capplan.errors import SimulationError
from capplan.results.model import Result
from capplan.results.summary import summarize
from capplan.scenario.model import Scenario
from capplan.sim import Progress, budget
from capplan.sim.records import ReplicationRecord
from capplan.sim.runner import Runner


def with_overrides(
    scenario: Scenario,
    *,
    replications: int | None = None,
    seed: int | None = None,
    duration_s: float | None = None,
) -> Scenario:
    """A copy of ``scenario`` with run settings replaced (the command line's options)."""
    update: dict[str, Any] = {}
    if replications is not None:
        update["replications"] = replications
    if seed is not None:
        update["seed"] = seed
    if duration_s is not None:
        update["duration"] = duration_s
    if not update:
        return scenario
    for key, value in update.items():
        if not value > 0 and not (key == "seed" and value == 0):
            raise SimulationError(f"{key} must be > 0 (got {value})")
        if key == "replications" and value > 1000:
            raise SimulationError(f"replications must be at most 1000 (got {value})")
        if key == "seed" and value >= 2**63:
            raise SimulationError(f"seed must be below 2**63 (got {value})")
    sim = scenario.simulation.model_copy(update=update)
    return scenario.model_copy(update={"simulation": sim})


def simulate(
    scenario: Scenario,
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
    max_visits: float | None = None,
    runner: Runner | None = None,
) -> dict[str, Any]:
    """Run every replication of ``scenario`` and return the JSON-ready result (docs/json.md).

    A run estimated past ``max_visits`` station visits (default
    :data:`capplan.sim.budget.DEFAULT_MAX_VISITS`) is refused with SimulationError.
    ``runner`` shares one pool of processes between calls (a search, a command)."""
    (result,) = simulate_all(
        [scenario], jobs=jobs, progress=progress, max_visits=max_visits, runner=runner
    )
    return result


def simulate_all(
    scenarios: Sequence[Scenario],
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
    max_visits: float | None = None,
    runner: Runner | None = None,
) -> list[dict[str, Any]]:
    """Several scenarios at once: every replication of every one goes to the same pool,
    so the cores stay busy across scenarios. Results in the order given."""
    return [
        r.to_dict()
        for r in run_all(
            scenarios, jobs=jobs, progress=progress, max_visits=max_visits, runner=runner
        )
    ]


def run_all(
    scenarios: Sequence[Scenario],
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
    max_visits: float | None = None,
    runner: Runner | None = None,
) -> list[Result]:
    """:func:`simulate_all`'s results, typed (:class:`~capplan.results.model.Result`):
    what the searches and judges inside capplan read."""
    return [
        result
        for result, _ in run_with_records(
            scenarios, jobs=jobs, progress=progress, max_visits=max_visits, runner=runner
        )
    ]


def run_with_records(
    scenarios: Sequence[Scenario],
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
    max_visits: float | None = None,
    runner: Runner | None = None,
) -> list[tuple[Result, list[ReplicationRecord]]]:
    """:func:`run_all`'s results, each with its replications' records, for a judgement
    that pairs replications of two runs on the same seeds."""
    for s in scenarios:
        budget.check(s, max_visits)
    if runner is None:
        with Runner(jobs) as own:
            records = own.run(scenarios, progress)
    else:
        records = runner.run(scenarios, progress)
    return [(Result.of(summarize(s, r)), r) for s, r in zip(scenarios, records, strict=True)]


def run(
    scenario: Scenario, *, max_visits: float | None = None, runner: Runner | None = None
) -> Result:
    """One scenario's typed result (see :func:`run_all`)."""
    (result,) = run_all([scenario], max_visits=max_visits, runner=runner)
    return result

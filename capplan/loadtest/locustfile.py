"""The locustfile a scenario turns into: its request mix, arrivals and timeouts as data.

The file is self-contained (it needs Locust, not capplan), so that workers on other
machines can fetch it from the master. Nothing here imports Locust.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from capplan._version import __version__
from capplan.scenario.model import Scenario, endpoint, scenario_hash

THINK_SAMPLES = 4096
"""Think times travel as this many draws of the scenario's distribution (a closed
workload's users pick among them), so the locustfile needs no distribution code."""


@dataclass(frozen=True)
class LoadPlan:
    """What the load generator does, for how long, with how many Locust users."""

    scenario: Scenario
    duration_s: float
    users: int
    """Open workload: Poisson generators (one per Locust process); closed: the users."""
    drain_s: float
    """After the last arrival, how long to wait for the answers still in flight."""
    max_in_flight: int = 2000
    """Open workload: requests one generator keeps in flight at most; further arrivals
    are counted as dropped (the generator, not the system, is then the limit)."""
    seed: int = 0
    """Seed of the arrival schedule, mix draws and think times: the same seed replays the
    same schedule."""

    @property
    def offered_rps(self) -> float | None:
        return self.scenario.arrival_rate if self.scenario.workload.is_open else None


def plan(
    scenario: Scenario, duration_s: float, generators: int, seed: int | None = None
) -> LoadPlan:
    """The load plan of ``scenario`` (after its load scale) for ``duration_s`` seconds;
    ``seed`` defaults to the scenario's."""
    timeouts = [r.timeout for r in scenario.requests.values()]
    # without a timeout the drain waits as long as the longest one that is set, or 60 s
    drain = max([t for t in timeouts if t is not None], default=60.0)
    users = generators if scenario.workload.is_open else scenario.users
    return LoadPlan(
        scenario, duration_s, users, drain, seed=scenario.simulation.seed if seed is None else seed
    )


def _think_times(scenario: Scenario, seed: int) -> list[float]:
    if scenario.workload.is_open:
        return []
    import numpy as np

    dist = scenario.workload.think_time
    rng = np.random.Generator(np.random.PCG64(seed))
    draws: list[float] = dist.draw(rng, THINK_SAMPLES).tolist()
    return [round(x, 6) for x in draws]


def config(p: LoadPlan) -> dict[str, Any]:
    """The data the locustfile runs on."""
    s = p.scenario
    mix = s.mix()
    requests = []
    for name, rtype in s.requests.items():
        if mix[name] <= 0:
            continue
        method, path = endpoint(name, rtype)
        requests.append(
            {
                "name": name,
                "method": method,
                "path": path,
                "weight": mix[name],
                "timeout_s": rtype.timeout,
            }
        )
    timeouts = [t for t in (r.timeout for r in s.requests.values()) if t is not None]
    return {
        "scenario": s.name,
        "scenario_hash": scenario_hash(s),
        "seed": p.seed,
        "open": s.workload.is_open,
        "rate_rps": p.offered_rps,
        "users": p.users,
        "duration_s": p.duration_s,
        "drain_s": p.drain_s,
        "max_in_flight": p.max_in_flight,
        # the client waits a little longer than the longest timeout, so that a late answer
        # is seen (and counted as a timeout) rather than cut off
        "client_timeout_s": max(timeouts, default=p.drain_s) + 5.0,
        "think_time_s": _think_times(s, p.seed),
        "requests": requests,
    }


def render(p: LoadPlan) -> str:
    """The locustfile's text."""
    template = resources.files("capplan.loadtest").joinpath("locustfile.tmpl").read_text()
    cfg = config(p)
    fields = {
        "__SCENARIO__": " ".join(cfg["scenario"].split()),
        "__HASH__": cfg["scenario_hash"],
        "__VERSION__": __version__,
        "__USERS__": str(p.users),
        "__CONFIG__": repr(json.dumps(cfg, indent=1)),
    }
    for key, value in fields.items():
        template = template.replace(key, value)
    return template

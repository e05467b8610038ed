"""Helpers shared by the tests: scenarios written in the scenario language itself."""

from __future__ import annotations

from typing import Any

import pytest

from capplan import simulate
from capplan.scenario import Scenario, validate_data


def scenario(data: dict[str, Any]) -> Scenario:
    """Validate a scenario given as the dict its YAML would load into."""
    return validate_data({"capplan": 1, "name": "test", **data}, {}, "<test>")


def single_station(
    rate: str,
    service: Any,
    *,
    workers: int = 1,
    replicas: int = 1,
    balancing: str = "shared_queue",
    queue_limit: int | None = None,
    duration: str = "1000s",
    warmup: str = "100s",
    replications: int = 4,
    seed: int = 1,
) -> Scenario:
    component: dict[str, Any] = {
        "type": "service",
        "replicas": replicas,
        "workers": workers,
        "load_balancing": balancing,
        "service_time": service,
    }
    if queue_limit is not None:
        component["queue_limit"] = queue_limit
    return scenario(
        {
            "simulation": {
                "duration": duration,
                "warmup": warmup,
                "replications": replications,
                "seed": seed,
            },
            "workload": {"arrival_rate": rate},
            "requests": {"r": {"steps": [{"call": "q"}]}},
            "components": {"q": component},
        }
    )


def run(s: Scenario, jobs: int | None = None) -> dict[str, Any]:
    return simulate(s, jobs=jobs)


def exp(mean: str) -> dict[str, str]:
    return {"distribution": "exponential", "mean": mean}


@pytest.fixture
def tmp_scenarios(tmp_path):
    """Write YAML texts to files in a temporary folder; returns a writer."""

    def write(name: str, text: str):
        path = tmp_path / name
        path.write_text(text)
        return path

    return write

"""``cpu_model: contended``: a replica's CPU limit shared by processor sharing among its
requests in service, checked against the queueing results it must reproduce."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from capplan.analytic import erlang_c
from capplan_helpers import cli, exp, run, scenario


def contended(service: Any, rate: str, workers: int, cpu: float, **component: Any) -> Any:
    return scenario(
        {
            "simulation": {"duration": "4000s", "warmup": "200s", "replications": 4},
            "workload": {"arrival_rate": rate},
            "requests": {"r": {"steps": [{"call": "q"}]}},
            "components": {
                "q": {
                    "type": "service",
                    "workers": workers,
                    "load_balancing": "shared_queue",
                    "cpu_model": "contended",
                    "service_time": service,
                    "resources": {"limits": {"cpu": cpu}},
                    **component,
                }
            },
        }
    )


@pytest.mark.parametrize("service", [exp("100ms"), "100ms"], ids=["M/M/1-PS", "M/D/1-PS"])
def test_one_core_shared_by_many_workers_is_processor_sharing(service: Any) -> None:
    """200 workers on one core at 70% load: M/G/1-PS, whose mean sojourn S/(1 - rho) =
    0.333 s holds whatever the service distribution (a FIFO M/D/1 would give 0.217 s, so
    the constant case tells sharing from queueing). 4 x 4,000 s at 7/s: the interval is
    a few percent wide."""
    result = run(contended(service, "7/s", 200, 1))
    low, high = result["latency_s"]["ci95"]["mean"]
    exact = 0.1 / (1 - 0.7)
    assert low * 0.98 <= exact <= high * 1.02, (low, high, exact)


def test_a_cpu_cap_below_the_workers_is_a_smaller_pool() -> None:
    """Four workers, two cores, exponential service: in every state the pool completes
    work at min(n, 2) x mu, the birth-death chain of M/M/2, so the mean sojourn is
    Erlang C's for two servers (0.229 s at 15/s, mu 10), not M/M/4's (0.104 s)."""
    result = run(contended(exp("100ms"), "15/s", 4, 2))
    low, high = result["latency_s"]["ci95"]["mean"]
    exact = erlang_c(2, 1.5) / (2 * 10 - 15) + 0.1
    assert low * 0.98 <= exact <= high * 1.02, (low, high, exact)


def test_light_demand_per_request_leaves_the_service_time_alone() -> None:
    """Each request uses 0.1 of a core (10 ms of CPU in a 100 ms service); four workers
    want at most 0.4 of the 1-core limit, so nothing stretches: exactly M/M/4's mean."""
    result = run(contended(exp("100ms"), "15/s", 4, 1, cpu_per_request="10ms"))
    low, high = result["latency_s"]["ci95"]["mean"]
    exact = erlang_c(4, 1.5) / (4 * 10 - 15) + 0.1
    assert low * 0.98 <= exact <= high * 1.02, (low, high, exact)


def test_a_contended_cpu_without_a_limit_is_refused(tmp_path: Path) -> None:
    data = {
        "capplan": 1,
        "name": "bad",
        "workload": {"arrival_rate": "1/s"},
        "requests": {"r": {"steps": [{"call": "q"}]}},
        "components": {
            "q": {
                "type": "service",
                "service_time": "10ms",
                "cpu_model": "contended",
                "resources": {"requests": {"cpu": 1}},
            }
        },
    }
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    code, _, err = cli("simulate", str(path), "--no-progress")
    assert code == 2 and "Traceback" not in err
    line = next(ln for ln in err.splitlines() if "components.q.cpu_model" in ln)
    assert line.startswith(f"{path}:") and line.split(":")[1].split()[0].isdigit(), err
    assert "resources.limits.cpu" in line

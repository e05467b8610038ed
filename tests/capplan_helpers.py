"""Helpers shared by the tests: scenarios written in the scenario language itself, and
the command line run in-process as ``capplan`` runs it.

Imported as ``capplan_helpers`` (pytest puts this folder on the path): a top-level name
no dependency ships, unlike ``tests``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


ROOT = Path(__file__).resolve().parent.parent
"""The repository's root, for bundled scenarios and docs (whatever the working folder)."""


def cli(*args: str) -> tuple[int, str, str]:
    """Run ``capplan ARGS`` in this process as the installed command does (expected errors
    become a message and an exit code in ``capplan.cli.main``); returns (exit code,
    standard output, standard error)."""
    import contextlib
    import io
    import sys

    from capplan.cli import main

    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["capplan", *args]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = argv
    return code, out.getvalue(), err.getvalue()


def cluster_system(
    failures: dict[str, Any] | None,
    mtbf: str | None = None,
    slos: dict[str, Any] | None = None,
    **sim: Any,
) -> Any:
    """Six pods of 2 CPU on 4-CPU nodes (three nodes, two pods each) at 50/s of 300 ms: 15
    of 24 workers busy; live nodes with a cluster autoscaler."""
    node: dict[str, Any] = {"cpu": "4", "memory": "16Gi", "price_per_hour": 1.0}
    if mtbf is not None:
        node["mtbf"] = mtbf
    data: dict[str, Any] = {
        "simulation": {
            "duration": "900s",
            "warmup": "0s",
            "replications": 1,
            "seed": 6,
            "window": "1min",
            **sim,
        },
        "workload": {"arrival_rate": "50/s"},
        "requests": {"r": {"steps": [{"call": "api"}]}},
        "components": {
            "api": {
                "type": "service",
                "replicas": 6,
                "workers": 4,
                "service_time": {"distribution": "exponential", "mean": "300ms"},
                "resources": {"requests": {"cpu": "2", "memory": "4Gi"}},
            }
        },
        "costs": {"node": node, "cluster": {"max_nodes": 10, "node_startup": "60s"}},
    }
    if failures is not None:
        data["failures"] = failures
    if slos is not None:
        data["slos"] = slos
    return scenario(data)

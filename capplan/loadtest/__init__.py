"""``capplan loadtest``: real HTTP load shaped like the scenario, measured and set beside
what the model predicts for the load that was actually offered.

    from capplan import load_scenario
    from capplan.loadtest import loadtest
    result = loadtest(load_scenario("scenarios/current.yaml"), "http://127.0.0.1:8080",
                      duration_s=60)

Locust runs in subprocesses (see ``locust_proc``); this package never imports it.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from capplan.errors import CapplanError
from capplan.loadtest.compare import compare, measured_slos
from capplan.loadtest.locust_proc import Files, LoadTestError, Progress, run_locust
from capplan.loadtest.locustfile import LoadPlan, plan, render
from capplan.loadtest.measure import (
    generator_warnings,
    measure,
    read_locust_csv,
    read_records,
)
from capplan.scenario.model import Scenario

__all__ = ["LoadPlan", "LoadTestError", "loadtest", "plan", "predict_at", "render"]


def predict_at(scenario: Scenario, measured: dict[str, Any]) -> Scenario:
    """The scenario at the load the generator actually offered (open workloads: the
    achieved arrival rate; closed: the same users)."""
    if not scenario.workload.is_open or not measured["achieved_rps"]:
        return scenario
    scale = scenario.load_scale * measured["achieved_rps"] / scenario.arrival_rate
    return scenario.model_copy(update={"load_scale": scale})


HEALTH_PATH = "/_capplan/health"
ARTIFACTS_MARK = ".capplan-loadtest"
"""Marks a folder as written by ``loadtest --artifacts``, so that a rerun may reuse it."""
LATE_WARN = 0.01
"""Warn when the emulator handled more model events late than this fraction of requests."""


def _emulator_status(host: str) -> dict[str, Any] | None:
    """The target's status if it is a ``capplan emulate`` twin, else None."""
    try:
        with urllib.request.urlopen(host.rstrip("/") + HEALTH_PATH, timeout=2) as resp:
            status = json.loads(resp.read())
    except (OSError, ValueError):
        return None
    return status if isinstance(status, dict) and "answered" in status else None


def _emulator_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What the twin did during the test: requests answered and model events it handled
    more than 5 ms late (the twin's machine, not the model, then added latency)."""
    return {
        "scenario": after["scenario"],
        "answered": after["answered"] - before["answered"],
        "late_events": after["late_events"] - before["late_events"],
    }


def artifacts_folder(folder: Path) -> Path:
    """``folder``, created if missing, refused if it holds files capplan did not write."""
    if folder.exists() and not folder.is_dir():
        raise CapplanError(f"--artifacts {folder}: is a file; name a folder")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / ARTIFACTS_MARK).exists():
        raise CapplanError(
            f"--artifacts {folder}: the folder holds files capplan did not write; "
            "name a new or empty folder"
        )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ARTIFACTS_MARK).write_text("written by capplan loadtest\n", encoding="utf-8")
    return folder


def _machine_load() -> str:
    try:
        one, _, _ = os.getloadavg()
    except OSError:  # pragma: no cover - not available
        return "load unknown"
    return f"load average {one:.1f} on {os.cpu_count() or 1} cores"


def failure(measured: dict[str, Any]) -> str | None:
    """Why the test as a whole failed (no request succeeded), or None."""
    if measured["successes"]:
        return None
    causes = ", ".join(f"{k} {v:,}" for k, v in measured["errors"].items()) or "no answers"
    return f"none of {measured['requests']:,} requests succeeded ({causes})"


def loadtest(
    scenario: Scenario,
    host: str,
    *,
    duration_s: float,
    warmup_s: float | None = None,
    workers: int = 0,
    remote_workers: int = 0,
    master_bind: str = "127.0.0.1",
    master_port: int | None = None,
    artifacts: Path | None = None,
    progress: Progress | None = None,
    predict: bool = True,
    jobs: int | None = None,
    emulator: bool = False,
    schedule_seed: int | None = None,
) -> dict[str, Any]:
    """Run the load test and return the JSON-ready result (docs/json.md, ``loadtest``).

    ``schedule_seed`` fixes the arrival schedule (default: a fresh one each run, recorded
    in the result), so that repeated tests are independent samples. ``emulator`` says the
    target is ``capplan emulate``: its health endpoint is read before and after (it
    reports model events it handled late); no other request than the scenario's is sent
    otherwise. An interrupted test (Ctrl-C, SIGTERM) still returns what was measured,
    without a prediction, and ``interrupted: true``."""
    from capplan.api import simulate

    warmup = duration_s / 10 if warmup_s is None else warmup_s
    if not 0 <= warmup < duration_s:
        raise LoadTestError(
            f"the warm-up ({warmup:g}s) must be shorter than the test ({duration_s:g}s)"
        )
    seed = secrets.randbits(32) if schedule_seed is None else schedule_seed
    lp = plan(scenario, duration_s, generators=max(1, workers + remote_workers), seed=seed)
    twin_before = _emulator_status(host) if emulator else None
    with ExitStack() as stack:
        if artifacts is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="capplan-")))
        else:
            folder = artifacts_folder(artifacts)
        files = Files(folder)
        files.samples.unlink(missing_ok=True)
        files.locustfile.write_text(render(lp), encoding="utf-8")
        outcome = run_locust(
            lp,
            host,
            files,
            workers=workers,
            remote_workers=remote_workers,
            master_bind=master_bind,
            master_port=master_port,
            progress=progress,
        )
        records = read_records(files.samples)
        span = max((r.scheduled for r in records), default=0.0) - min(
            (r.scheduled for r in records), default=0.0
        )
        if outcome.interrupted and span <= 0:
            raise KeyboardInterrupt  # stopped before anything could be measured
        if not records:
            raise LoadTestError(
                f"Locust recorded no requests against {host}; the end of its log:\n"
                + outcome.log_tail
            )
        ran = duration_s
        if outcome.interrupted:
            ran = span
            warmup = min(warmup, ran / 10)
        measured = measure(records, ran, warmup, scenario.workload.is_open)
        measured["locust"] = read_locust_csv(files.csv_prefix)
    warnings = generator_warnings(
        measured, outcome.generator_cpu_bound, outcome.generator_cpu, _machine_load()
    )
    generator_saturated = bool(warnings)
    twin_after = _emulator_status(host) if twin_before is not None else None
    twin = _emulator_delta(twin_before, twin_after) if twin_before and twin_after else None
    if twin and twin["late_events"] > LATE_WARN * max(1, twin["answered"]):
        warnings.append(
            f"the emulator handled {twin['late_events']} model events more than 5 ms late "
            "(its machine is busy): measured latencies include that delay"
        )
    result: dict[str, Any] = {
        "target": host,
        "scenario": scenario.name,
        "load_scale": scenario.load_scale,
        "plan": {
            "workload": "open" if scenario.workload.is_open else "closed",
            "offered_rps": lp.offered_rps,
            "users": lp.users if not scenario.workload.is_open else None,
            "generators": lp.users if scenario.workload.is_open else None,
            "duration_s": duration_s,
            "warmup_s": warmup,
            "workers": workers,
            "remote_workers": remote_workers,
            "seed": seed,
        },
        "interrupted": outcome.interrupted,
        "failed": failure(measured),
        "generator_cpu": outcome.generator_cpu,
        "warnings": warnings,
        "emulator": twin,
        "generator_saturated": generator_saturated,
        "measured": measured,
        "slos": measured_slos(scenario, measured),
        "predicted": None,
        "comparison": [],
    }
    if predict and not outcome.interrupted and not result["failed"]:
        try:
            predicted = simulate(predict_at(scenario, measured), jobs=jobs)
        except KeyboardInterrupt:  # keep the measurement; the prediction can be rerun
            result["interrupted"] = True
            return result
        result["predicted"] = predicted
        result["comparison"] = compare(predicted, measured)
    return result

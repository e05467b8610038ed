"""capplan gate: verdicts on confidence intervals, exit codes, JUnit, Markdown; compare."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from capplan.gate import FAIL, INCONCLUSIVE, PASS
from capplan.gate.verdicts import judge
from capplan.results.model import Objective

ROOT = Path(__file__).resolve().parent.parent


def write(
    tmp_path: Path, name: str, rate: str, slos: dict, replications: int = 3, workers: int = 1
) -> Path:
    data = {
        "capplan": 1,
        "name": name,
        "simulation": {"duration": "2000s", "warmup": "100s", "replications": replications},
        "workload": {"arrival_rate": rate},
        "requests": {"r": {"steps": [{"call": "q"}]}},
        "components": {
            "q": {
                "type": "service",
                "workers": workers,
                "service_time": {"distribution": "exponential", "mean": "100ms"},
            }
        },
        "slos": slos,
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def gate(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "capplan", "gate", *map(str, args), "--no-progress"],
        capture_output=True,
        text=True,
    )


def row(value, ci, target=1.0, name="latency_p95", scope="all"):
    return {
        "name": name,
        "scope": scope,
        "target": target,
        "value": value,
        "ci95": ci,
        "passed": value is not None and value <= target,
    }


@pytest.mark.parametrize(
    ("value", "ci", "status"),
    [
        (0.5, [0.4, 0.6], PASS),
        (0.95, [0.9, 1.0], PASS),  # the upper end exactly at the target
        (0.95, [0.9, 1.05], INCONCLUSIVE),  # point within, interval not
        (1.05, [0.98, 1.1], INCONCLUSIVE),  # point beyond, interval straddles
        (1.5, [1.2, 1.8], FAIL),
        (0.5, None, INCONCLUSIVE),  # one replication: no interval
        (None, None, INCONCLUSIVE),  # saturated: no value
    ],
)
def test_verdict_is_decided_on_the_interval(value, ci, status):
    v = judge("s", Objective.of(row(value, ci)), ["db"] if value is None else [])
    assert v.status == status
    assert "latency_p95" in v.reason and "1.000s" in v.reason
    if value is None:
        assert "db saturated" in v.reason


def test_exit_0_when_every_slo_holds(tmp_path):
    path = write(
        tmp_path,
        "light",
        "2/s",
        {"latency_p95": "1s", "error_rate": "1%", "max_utilization": "50%"},
    )
    proc = gate(path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "all SLOs hold" in proc.stdout


def test_exit_1_when_an_slo_is_violated_and_reports_are_still_written(tmp_path):
    path = write(tmp_path, "tight", "8/s", {"latency_p95": "50ms", "max_utilization": "50%"})
    junit, md, js = tmp_path / "g.xml", tmp_path / "g.md", tmp_path / "g.json"
    proc = gate(path, "--junit", junit, "--markdown", md, "--json", js)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert (
        "FAIL" in proc.stdout
        and "latency_p95" in proc.stdout
        and "exceeds target 50.0ms" in proc.stdout
    )
    suites = ET.parse(junit).getroot()
    assert suites.tag == "testsuites" and suites.get("failures") == "2"
    cases = {c.get("name"): c for c in suites.iter("testcase")}
    assert set(cases) == {"latency_p95", "max_utilization [q]"}
    failure = cases["latency_p95"].find("failure")
    assert failure is not None and "exceeds target" in failure.get("message")
    assert md.read_text().startswith("## capplan gate: ❌ SLO violated")
    data = json.loads(js.read_text())
    assert data["exit_code"] == 1 and {v["status"] for v in data["verdicts"]} == {"fail"}


def test_exit_2_on_invalid_input(tmp_path):
    path = write(tmp_path, "bad", "1/s", {"latency_p95": "fast"})
    proc = gate(path)
    assert proc.returncode == 2
    assert "slos.latency_p95" in proc.stderr and "Traceback" not in proc.stderr


def test_exit_3_when_saturated_or_without_an_interval(tmp_path):
    saturated = write(tmp_path, "over", "20/s", {"latency_p95": "1s"})
    junit = tmp_path / "g.xml"
    proc = gate(saturated, "--junit", junit)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "q saturated" in proc.stdout
    error = next(ET.parse(junit).getroot().iter("testcase")).find("error")
    assert error is not None and error.get("type") == "inconclusive"
    single = write(tmp_path, "single", "2/s", {"latency_p95": "1s"}, replications=1)
    assert gate(single).returncode == 3


def test_a_violation_outranks_an_inconclusive_result(tmp_path):
    a = write(tmp_path, "over", "20/s", {"latency_p95": "1s"})
    b = write(tmp_path, "tight", "8/s", {"latency_p95": "50ms"})
    assert gate(a, b).returncode == 1


def test_compare_shows_and_writes_the_change(tmp_path):
    a = write(tmp_path, "before", "2/s", {})
    b = write(tmp_path, "after", "6/s", {})
    out = tmp_path / "d.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "capplan",
            "compare",
            str(a),
            str(b),
            "--json",
            str(out),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Change from before to after" in proc.stdout
    data = json.loads(out.read_text())
    assert [s["scenario"] for s in data["scenarios"]] == ["before", "after"]
    u = data["deltas"]["utilization"]["q"]
    assert u["change"] == pytest.approx(u["b"] - u["a"]) and u["change"] > 0.3
    assert data["deltas"]["latency_s"]["mean"]["relative"] > 0


def test_example_workflow_runs_the_gate():
    workflow = yaml.safe_load((ROOT / "examples" / "ci" / "capacity-gate.yml").read_text())
    steps = workflow["jobs"]["gate"]["steps"]
    commands = " ".join(s.get("run", "") for s in steps)
    assert "capplan gate" in commands and "--junit" in commands and "--markdown" in commands

"""capplan size: fewest replicas within targets and SLOs, confirmed by simulation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capplan import load_scenario, simulate
from capplan.sim.runner import Runner
from capplan.sizing import size, sized_overlay
from capplan_helpers import cli, exp, scenario

ROOT = Path(__file__).resolve().parent.parent


def api(rate: float) -> dict:
    return {
        "simulation": {"duration": "300s", "warmup": "30s", "replications": 2},
        "workload": {"arrival_rate": f"{rate}/s"},
        "requests": {"r": {"steps": [{"call": "api"}]}},
        "components": {
            "api": {
                "type": "service",
                "replicas": 2,
                "workers": 4,
                "load_balancing": "shared_queue",
                "service_time": exp("100ms"),
            }
        },
    }


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rate=st.floats(1, 200), growth=st.floats(1.01, 3))
def test_more_load_never_gets_fewer_replicas(rate, growth):
    low = size(scenario(api(rate)))
    high = size(scenario(api(rate * growth)))
    assert high["components"][0]["replicas"] >= low["components"][0]["replicas"]
    # and each keeps worker utilization under the 70% target
    for result in (low, high):
        assert result["slos_met"]
        assert result["components"][0]["utilization"] <= 0.7 + 0.02


def test_utilization_law_sets_the_count():
    """40/s × 100 ms = 4 busy workers; at 70% of 4 workers per replica that is 2 replicas."""
    result = size(scenario(api(40)))
    row = result["components"][0]
    assert row["replicas"] == 2
    assert "1 would put it at" in row["reason"]


def _sized_passes(result: dict, base: Path, tmp_path: Path) -> dict:
    """Write the sized overlay, load it back as a user would, simulate it: every SLO holds."""
    assert result["slos_met"] and result["unmet"] is None
    path = tmp_path / "sized.yaml"
    path.write_text(sized_overlay(result, load_scenario(base), str(base)))
    again = simulate(load_scenario(path))
    assert all(row["passed"] for row in again["slos"]), [
        r for r in again["slos"] if not r["passed"]
    ]
    for row in result["components"]:
        assert again["components"][row["component"]]["utilization"] <= 0.7 + 0.02
    return again


def test_the_sized_plan_passes_its_slos_when_simulated(tmp_path):
    base = ROOT / "scenarios" / "10x-planned.yaml"
    result = size(load_scenario(base))
    assert result["infrastructure"] == []  # the plan already provisions enough
    _sized_passes(result, base, tmp_path)


def test_the_sized_10x_scenario_passes_its_slos_when_simulated(tmp_path):
    """The unchanged system at 10x saturates its 1 Gbps link and asks six times its
    OpenAI quota: sizing raises those too, apart from the service replicas, and the
    sized scenario meets every SLO."""
    base = ROOT / "scenarios" / "10x.yaml"
    result = size(load_scenario(base))
    infra = {row["component"]: row for row in result["infrastructure"]}
    assert infra["network"]["today"] == "1 Gbps"
    assert float(infra["network"]["sized"].split()[0]) >= 5  # 320% of 1 Gbps at 70%
    assert "tpm" in infra["openai"]["sized"]
    again = _sized_passes(result, base, tmp_path)
    for name, row in infra.items():
        assert again["components"][name]["utilization"] <= 0.7 + 0.02, row
        assert again["components"][name].get("quota_demand", 0.0) <= 0.7 + 0.02


def test_sizing_names_what_it_cannot_fix(tmp_path):
    """A p95 target below what the LLM itself takes: no replica, link or quota helps, and
    the command says so with exit code 1."""
    path = tmp_path / "slow-llm.yaml"
    path.write_text(
        """\
capplan: 1
name: slow-llm
simulation: {duration: 300s, warmup: 30s, replications: 2}
workload: {arrival_rate: 1/s}
slos: {latency_p95: 1s}
requests:
  ask: {steps: [{call: app, steps: [{call: gpt, tokens: {input: 10, output: 10}}]}]}
components:
  app: {type: service, workers: 8, service_time: 10ms}
  gpt:
    type: llm_api
    rate_limit: {requests_per_minute: 1000, tokens_per_minute: 1000000}
    latency: {base: 2s}
"""
    )
    proc = subprocess.run(
        [sys.executable, "-m", "capplan", "size", str(path), "--out", str(tmp_path / "s.yaml")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "latency_p95 missed while no service holds much" in proc.stdout
    assert "(gpt holds" in proc.stdout
    load_scenario(tmp_path / "s.yaml")  # still a valid scenario


def test_the_written_overlay_holds_only_what_sizing_changed(tmp_path):
    """A reviewable diff: extends the input, units as a person writes them, the scenario's
    own CPU request used both for sizing and in the file (it is not rewritten)."""
    src = tmp_path / "in.yaml"
    src.write_text(
        """\
capplan: 1
name: small
# a comment the overlay must not lose (it does not rewrite this file)
simulation: {duration: 300s, warmup: 30s, replications: 2}
workload: {arrival_rate: 40/s}
requests: {r: {steps: [{call: api, via: net, response_bytes: 1MB}]}}
components:
  api:
    type: service
    replicas: 1
    workers: 4
    service_time: {distribution: exponential, mean: 100ms}
    cpu_per_request: 50ms
    resources: {requests: {cpu: 500m}}
    autoscaling: {min: 1, max: 10, cpu_target: 70%}
  net: {type: link, bandwidth: 100Mbps}
"""
    )
    proc = subprocess.run(
        [sys.executable, "-m", "capplan", "size", str(src)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = tmp_path / "in-sized.yaml"
    text = out.read_text()
    body = [line for line in text.splitlines() if not line.startswith("#")]
    assert "extends: in.yaml" in body and len(body) < 15, text
    assert "bandwidth: 1Gbps" in text and "cpu_target: 70%" in text
    assert "service_time" not in text and "cpu:" not in text and "1.0" not in text
    sized = load_scenario(out)
    api_ = sized.components["api"]
    assert api_.resources.requests.cpu == 0.5  # the one CPU request, kept
    # 40/s x 50 ms = 2 cores of demand; at 70% of 0.5-core requests that is 6 replicas
    assert api_.replicas == 6
    assert "0.50" in proc.stdout  # the request shown is the one sized against
    # a second run replaces its own output; a file of the user's there is refused
    proc = subprocess.run([sys.executable, "-m", "capplan", "size", str(src)], capture_output=True)
    assert proc.returncode == 0
    out.write_text("my own notes\n")
    proc = subprocess.run(
        [sys.executable, "-m", "capplan", "size", str(src)], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "not written by capplan size" in proc.stderr
    assert out.read_text() == "my own notes\n"


class _Counting(Runner):
    """A runner that counts the batches it is given: a search's rounds of wall time."""

    def __init__(self, jobs: int) -> None:
        super().__init__(jobs)
        self.batches = 0

    def run(self, scenarios, progress=None):  # type: ignore[no-untyped-def]
        self.batches += 1
        return super().run(scenarios, progress)


def test_batched_sizing_gives_the_same_answer_in_fewer_rounds():
    """A p95 objective near the service time itself needs several 25% raises of one
    round-robin service: with --batch 4 they are simulated ahead, the rounds taken from
    them, and the answer (counts, reasons, the confirming result) is the one a
    one-at-a-time search gives."""
    s = scenario(
        {
            "simulation": {"duration": "300s", "warmup": "30s", "replications": 2},
            "workload": {"arrival_rate": "50/s"},
            "slos": {"latency_p95": "320ms"},
            "requests": {"r": {"steps": [{"call": "api"}]}},
            "components": {
                "api": {
                    "type": "service",
                    "replicas": 1,
                    "workers": 1,
                    "load_balancing": "round_robin",
                    "service_time": exp("100ms"),
                }
            },
        }
    )
    answers, batches = [], []
    for batch in (1, 4):
        with _Counting(1) as runner:
            answers.append(size(s, runner=runner, batch=batch))
            batches.append(runner.batches)
    one, ahead = answers
    assert one["slos_met"] and one["components"][0]["replicas"] > 8
    assert {k: v for k, v in one.items() if k != "sized"} == {
        k: v for k, v in ahead.items() if k != "sized"
    }
    assert one["sized"] == ahead["sized"]
    assert batches[0] >= 4 and batches[1] < batches[0], batches


@pytest.mark.parametrize("command", ["size", "headroom"])
def test_the_searches_log_their_rounds_unless_told_not_to(tmp_path, command):
    src = tmp_path / "in.yaml"
    src.write_text(
        """\
capplan: 1
name: small
simulation: {duration: 120s, warmup: 10s, replications: 2}
workload: {arrival_rate: 20/s}
slos: {latency_p95: 1s}
requests: {r: {steps: [{call: api}]}}
components:
  api: {type: service, replicas: 1, workers: 2, service_time: 80ms}
"""
    )
    logged = {}
    for flag in ("--progress", "--no-progress"):
        extra = ["--out", str(tmp_path / "s.yaml")] if command == "size" else ["--max-scale", "4"]
        code, out, err = cli(command, str(src), flag, "--jobs", "1", *extra)
        assert code in (0, 1), out + err
        logged[flag] = err
    mark = "round 1:" if command == "size" else "x: SLO"
    assert mark in logged["--progress"]
    assert mark not in logged["--no-progress"] and "x: SLOs hold" not in logged["--no-progress"]

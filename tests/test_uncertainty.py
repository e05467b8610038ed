"""Uncertain inputs: ranges sampled by Latin hypercube, checked against an M/M/1 whose
mean service time is uniform over a range (the output's quantiles are the formula's at
the input's quantiles), the SLO probability against the analytic share, and bad ranges."""

from __future__ import annotations

from pathlib import Path

import pytest

from capplan import load_scenario
from capplan.uncertainty import simulate_uncertain
from capplan_helpers import cli

MM1 = """\
capplan: 1
name: mm1-uncertain
simulation: {duration: 4000s, warmup: 200s, replications: 2, seed: 9}
workload: {arrival_rate: 4/s}
slos: {latency_mean: 200ms}
requests:
  r: {steps: [{call: q}]}
components:
  q:
    type: service
    workers: 1
    service_time: {distribution: exponential, mean: {between: [80ms, 140ms]}}
"""


def w(s: float) -> float:
    """M/M/1 mean sojourn at 4/s with mean service s."""
    return s / (1 - 4 * s)


def test_spread_and_slo_probability_match_mm1_over_the_range(tmp_path: Path) -> None:
    """S uniform on [80, 140] ms: the mean latency S/(1-4S) grows with S, so its p5 and
    p95 across inputs are the formula's at S's 5% and 95% points (125 ms and 303 ms).
    Each of the 40 samples is simulated (2 x 4,000 s at rho 0.32-0.56: a few percent of
    noise per sample), so 8% is the tolerance. The SLO latency_mean <= 200 ms holds
    exactly for S <= 111.1 ms, a share of 0.519 of the range; 40 Latin hypercube samples
    place one in each 1/40 of it, so the observed share is within 0.1 of that, noise near
    the threshold included."""
    path = tmp_path / "mm1.yaml"
    path.write_text(MM1)
    s = load_scenario(path)
    assert s.components["q"].service_time.mean == pytest.approx(0.110)  # the middle
    result = simulate_uncertain(s, samples=40)
    u = result["uncertainty"]
    q = u["outputs"]["latency_mean"]
    lo, hi = 0.080 + 0.05 * 0.060, 0.080 + 0.95 * 0.060
    assert q["p5"] == pytest.approx(w(lo), rel=0.08)
    assert q["p95"] == pytest.approx(w(hi), rel=0.08)
    share = (0.2 / 1.8 - 0.080) / 0.060
    assert u["slo_probability"]["latency_mean [all]"] == pytest.approx(share, abs=0.1)
    top = u["sensitivity"]["latency_mean"][0]
    assert top["input"] == "components.q.service_time.mean" and top["rank_correlation"] > 0.9
    # the central result is the scenario at the middle, with its own interval
    low, high = result["latency_s"]["ci95"]["mean"]
    assert low * 0.9 <= w(0.110) <= high * 1.1


def test_gate_with_confidence_judges_the_share_of_samples(tmp_path: Path) -> None:
    """The SLO holds in about half the samples: at 90% asked the gate fails (exit 1), at
    30% it passes."""
    path = tmp_path / "mm1.yaml"
    path.write_text(MM1.replace("duration: 4000s", "duration: 1000s"))
    code, out, err = cli(
        "gate", str(path), "--confidence", "90%", "--samples", "10", "--no-progress"
    )
    assert code == 1, err
    assert "samples over the uncertain inputs; 90% asked" in out
    code, out, err = cli(
        "gate", str(path), "--confidence", "30%", "--samples", "10", "--no-progress"
    )
    assert code == 0, err


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{between: [140ms, 80ms]}", "low is above high"),
        ("{between: [80ms]}", "a range is [low, high]"),
        ("{between: [80ms, 2s]}", "both ends need the same unit"),
    ],
)
def test_a_bad_range_names_file_line_and_key(tmp_path: Path, value: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(MM1.replace("{between: [80ms, 140ms]}", value))
    code, _, err = cli("validate", str(path))
    assert code == 2 and "Traceback" not in err, err
    line = next(ln for ln in err.splitlines() if message in ln)
    assert line.startswith(f"{path}:") and "components.q.service_time.mean.between" in line


@pytest.mark.parametrize("value", ["150%", "often"])
def test_a_bad_confidence_exits_2(tmp_path: Path, value: str) -> None:
    path = tmp_path / "mm1.yaml"
    path.write_text(MM1)
    code, _, err = cli("gate", str(path), "--confidence", value, "--no-progress")
    assert code == 2 and "Traceback" not in err and "--confidence" in err, err

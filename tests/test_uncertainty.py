"""Uncertain inputs: ranges sampled by Latin hypercube, checked against an M/M/1 whose
mean service time is uniform over a range (the output's quantiles are the formula's at
the input's quantiles), the SLO probability against the analytic share, and bad ranges."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from capplan import load_scenario
from capplan.uncertainty import Uncertain, sample_scenarios, simulate_uncertain
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


def test_each_shape_puts_its_quantiles_where_its_definition_does() -> None:
    """uniform: linear; triangular with the mode at the low end: F(x) = 1 - ((hi - x) /
    (hi - lo))^2, so the median is hi - (hi - lo)/sqrt(2); normal and lognormal: the range
    is the central 90% (or the stated confidence), so its ends are the 5% and 95% points,
    the median the middle (geometric for lognormal); tails cut at 0.1%."""
    u = Uncertain(("x",), 2.0, 4.0, "", False)
    assert [u.quantile(q) for q in (0, 0.25, 1)] == pytest.approx([2.0, 2.5, 4.0])
    tri = Uncertain(("x",), 2.0, 4.0, "", False, "triangular", mode=2.0)
    assert tri.quantile(0.5) == pytest.approx(4 - 2 / 2**0.5)
    assert tri.quantile(0.0) == pytest.approx(2.0) and tri.quantile(1.0) == pytest.approx(4.0)
    norm = Uncertain(("x",), 2.0, 4.0, "", False, "normal")
    assert [norm.quantile(q) for q in (0.05, 0.5, 0.95)] == pytest.approx([2.0, 3.0, 4.0])
    wide = Uncertain(("x",), 2.0, 4.0, "", False, "normal", confidence=0.5)
    assert wide.quantile(0.25) == pytest.approx(2.0) and wide.quantile(0.75) == pytest.approx(4.0)
    assert norm.quantile(0.0) == pytest.approx(3 + 1 / 1.6449 * stats.norm.ppf(0.001), rel=1e-4)
    logn = Uncertain(("x",), 2.0, 8.0, "", False, "lognormal")
    assert [logn.quantile(q) for q in (0.05, 0.5, 0.95)] == pytest.approx([2.0, 4.0, 8.0])


def test_a_lognormal_belief_gives_the_formula_at_its_quantiles(tmp_path: Path) -> None:
    """S lognormal with [50, 150] ms its central 90%, at 2/s: the inputs drawn follow that
    belief (median 86.6 ms, the geometric middle; a uniform one would put it at 100 ms),
    and since the mean latency S/(1-2S) grows with S, its p5, p50 and p95 across inputs
    are the formula's at the inputs' own p5, p50 and p95. The SLO latency_mean <= 110 ms holds for S <= 90.2 ms: probability 0.55
    under the lognormal, 0.40 under a uniform over the same range."""
    path = tmp_path / "mm1.yaml"
    path.write_text(
        MM1.replace("{between: [80ms, 140ms]}", "{between: [50ms, 150ms], distribution: lognormal}")
        .replace("arrival_rate: 4/s", "arrival_rate: 2/s")
        .replace("latency_mean: 200ms", "latency_mean: 110ms")
    )
    s = load_scenario(path)
    middle = (0.050 * 0.150) ** 0.5
    assert s.components["q"].service_time.mean == pytest.approx(middle)
    u = simulate_uncertain(s, samples=40)["uncertainty"]
    assert u["inputs"][0]["distribution"] == "lognormal"

    def w2(x: float) -> float:
        return x / (1 - 2 * x)

    sd = (math.log(0.150) - math.log(0.050)) / (2 * stats.norm.ppf(0.95))
    belief = stats.lognorm(sd, scale=middle)
    # the inputs drawn: one per 1/40 of the lognormal's probability, so each sample
    # quantile sits within 1/40 of its level on the belief's CDF
    _, drawn = sample_scenarios(s, 40, s.simulation.seed)
    means = np.array([d.components["q"].service_time.mean for d in drawn])
    levels = (0.05, 0.5, 0.95)
    for level, x in zip(levels, np.quantile(means, levels), strict=True):
        assert belief.cdf(x) == pytest.approx(level, abs=1 / 40)
    # and the outputs are the formula at those inputs, within the simulation's noise
    q = u["outputs"]["latency_mean"]
    for level, x in zip(levels, np.quantile(means, levels), strict=True):
        assert q[f"p{round(level * 100)}"] == pytest.approx(w2(x), rel=0.06)
    share = stats.norm.cdf((math.log(0.11 / 1.22) - math.log(middle)) / sd)
    assert share == pytest.approx(0.55, abs=0.01)
    assert u["slo_probability"]["latency_mean [all]"] == pytest.approx(share, abs=0.1)


@pytest.mark.parametrize(
    ("value", "key", "message"),
    [
        ("{between: [80ms, 140ms], distribution: beta}", "distribution", "one of uniform"),
        ("{between: [80ms, 140ms], distribution: triangular}", "mode", "needs its most likely"),
        ("{between: [80ms, 140ms], distribution: triangular, mode: 200ms}", "mode", "inside"),
        ("{between: [80ms, 140ms], mode: 100ms}", "mode", "only a triangular range"),
        ("{between: [80ms, 140ms], confidence: 90%}", "confidence", "only a normal or"),
        ("{between: [80ms, 140ms], distribution: normal, confidence: 150%}", "confidence", ""),
        ("{between: [0ms, 140ms], distribution: lognormal}", "between", "above zero"),
        ("{between: [1ms, 140ms], distribution: normal}", "between", "reaches below zero"),
        ("{between: [80ms, 140ms], shape: normal}", "shape", "a range takes"),
    ],
)
def test_a_bad_belief_names_file_line_and_key(
    tmp_path: Path, value: str, key: str, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(MM1.replace("{between: [80ms, 140ms]}", value))
    code, _, err = cli("validate", str(path))
    assert code == 2 and "Traceback" not in err, err
    line = next(ln for ln in err.splitlines() if f"service_time.mean.{key}" in ln)
    assert line.startswith(f"{path}:12 ") and message in line, err
    assert len([ln for ln in err.splitlines() if ln.startswith(str(path))]) == 1, err


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


def test_the_terminal_shows_each_output_spread_and_each_slo_probability(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # a terminal wide enough for the whole table
    path = tmp_path / "mm1.yaml"
    path.write_text(MM1.replace("duration: 4000s", "duration: 300s"))
    code, out, err = cli("simulate", str(path), "--samples", "4", "--no-progress")
    assert code == 0, err
    text = " ".join(out.split())
    assert "across the uncertain inputs (4 samples)" in text
    assert "components.q.utilization" in text
    assert "P(latency_mean [all] holds)" in text  # the scope is text, not markup


def test_headroom_says_it_reads_uncertain_inputs_at_their_central_values(
    tmp_path: Path,
) -> None:
    """headroom searches one scenario: it must say which ranges its answer leaves out."""
    path = tmp_path / "mm1.yaml"
    path.write_text(MM1.replace("duration: 4000s", "duration: 300s"))
    code, out, err = cli("headroom", str(path), "--max-scale", "2", "--no-progress")
    assert code == 0, out + err
    said = " ".join(err.split())
    assert "uncertain input(s) (components.q.service_time.mean) at their central" in said
    certain = tmp_path / "certain.yaml"
    certain.write_text(
        MM1.replace("duration: 4000s", "duration: 300s").replace(
            "{between: [80ms, 140ms]}", "110ms"
        )
    )
    code, out, err = cli("headroom", str(certain), "--max-scale", "2", "--no-progress")
    assert code == 0, out + err
    assert "uncertain" not in err

"""What the report draws, checked against queueing theory: where a request's time goes,
the latency-against-load curve's knee and saturation point; and the tidy results table."""

from __future__ import annotations

import math

import pytest

from capplan import result_frame
from capplan.headroom import load_curve
from capplan_helpers import ROOT, cli, exp, run, scenario, single_station


def test_time_by_component_is_each_stations_mm1_sojourn() -> None:
    """Two M/M/1 stations in tandem (Jackson): a request spends 1/(mu - lambda) at each,
    here 1/(10 - 5) = 0.2 s at A and 1/(20 - 5) = 0.0667 s at B; the split adds up to the
    mean latency."""
    result = run(
        scenario(
            {
                "simulation": {"duration": "4000s", "warmup": "200s", "replications": 4},
                "workload": {"arrival_rate": "5/s"},
                "requests": {"r": {"steps": [{"call": "a"}, {"call": "b"}]}},
                "components": {
                    "a": {"type": "service", "workers": 1, "service_time": exp("100ms")},
                    "b": {"type": "service", "workers": 1, "service_time": exp("50ms")},
                },
            }
        )
    )
    split = result["requests"]["r"]["time_by_component_s"]
    for name, exact in (("a", 1 / (10 - 5)), ("b", 1 / (20 - 5))):
        low, high = split[name]["ci95"]
        assert low * 0.97 <= exact <= high * 1.03, (name, split[name], exact)
    total = sum(v["value"] for v in split.values())
    assert total == pytest.approx(result["requests"]["r"]["latency_s"]["mean"], rel=1e-9)


def test_load_curve_marks_the_mm1_saturation_and_knee() -> None:
    """M/M/1 at rho = 0.3 with a p95 objective of 1 s: utilization-law saturation at
    1 / 0.3 = 3.33x; the sojourn's p95 is ln(20) / (mu - lambda), so it doubles when
    mu - lambda halves, at rho = 0.65, that is 2.17x today's load. The knee is read off
    the simulated points (linear between them), so it is within 10%."""
    s = single_station("3/s", exp("100ms"), duration="3000s", replications=4).model_copy(
        update={"slos": scenario({"slos": {"latency_p95": "1s"}, **_mm1()}).slos}
    )
    curve = load_curve(s)
    assert curve["saturation_scale"] == pytest.approx(1 / 0.3, rel=0.03)
    rho_knee = 1 - (1 - 0.3) / 2
    assert curve["knee"] == pytest.approx(rho_knee / 0.3, rel=0.10)
    # the objective breaks where ln(20) / (10 (1 - rho)) = 1 s: rho = 0.70, 2.33x
    exact = (1 - math.log(20) / 10) / 0.3
    assert curve["headroom"]["max_load_scale"] == pytest.approx(exact, rel=0.08)
    scales = [p["load_scale"] for p in curve["points"]]
    assert scales == sorted(scales) and len(scales) >= 8
    assert any(p["saturated"] for p in curve["points"])  # it reaches past saturation


def _mm1() -> dict:
    return {
        "workload": {"arrival_rate": "3/s"},
        "requests": {"r": {"steps": [{"call": "q"}]}},
        "components": {"q": {"type": "service", "service_time": exp("100ms")}},
    }


def test_result_frame_is_tidy_and_csv_writes_it(tmp_path) -> None:
    out = tmp_path / "r.csv"
    code, _, err = cli(
        "simulate",
        str(ROOT / "scenarios/current.yaml"),
        "--replications",
        "2",
        "--no-progress",
        "--csv",
        str(out),
        "--json",
        str(tmp_path / "r.json"),
    )
    assert code == 0, err
    import json

    import pandas as pd

    result = json.loads((tmp_path / "r.json").read_text())
    frame = result_frame(result)
    written = pd.read_csv(out)
    assert len(written) == len(frame)
    assert not frame.duplicated(["scenario", "metric", "scope"]).any()
    p95 = frame[(frame.metric == "latency_p95") & (frame.scope == "all")].iloc[0]
    assert p95.value == result["latency_s"]["p95"]
    assert [p95.ci95_low, p95.ci95_high] == result["latency_s"]["ci95"]["p95"]
    slo = frame[frame.metric == "slo:latency_p95"].iloc[0]
    assert slo.target == 0.5 and bool(slo.passed) is True

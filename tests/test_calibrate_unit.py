"""Calibration's estimators on data with known answers: the Utilization Law regression's
coverage, distribution fits, a hand-checkable Prometheus fixture, and bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from capplan.calibrate.demands import utilization_law
from capplan.calibrate.fits import fit_durations
from capplan.calibrate.prometheus import histogram_quantile, read_folder
from capplan.errors import CalibrationError
from capplan_helpers import cli


def test_utilization_law_intervals_cover_at_their_stated_rate() -> None:
    """Known demands (20, 5 and 0 ms of CPU for three request types), throughputs that
    vary over 60 windows, Gaussian noise on the CPU: over 400 seeds the 95% interval
    (estimate ± 1.96 standard errors) of each free demand holds the truth 95% of the
    time; 400 trials give the rate a standard error of 1.1 points, so 91-99% is allowed."""
    truth = np.array([0.020, 0.005, 0.0])
    hits = np.zeros(2)
    for seed in range(400):
        rng = np.random.default_rng(seed)
        x = rng.uniform([5, 10, 2], [40, 80, 20], size=(60, 3))
        u = x @ truth + rng.normal(0, 0.05, size=60)
        d = utilization_law(x, u, ("a", "b", "c"))
        for j in range(2):
            se = d.std_error[j]
            assert not math.isnan(se)
            hits[j] += abs(d.estimate[j] - truth[j]) <= 1.96 * se
        assert d.estimate[2] >= 0
    rate = hits / 400
    assert ((rate >= 0.91) & (rate <= 0.99)).all(), rate


def test_utilization_law_refuses_what_it_cannot_tell_apart() -> None:
    x = np.column_stack([np.arange(1, 21.0), 2 * np.arange(1, 21.0)])  # always 1:2
    with pytest.raises(CalibrationError, match="move together"):
        utilization_law(x, x @ [0.01, 0.02], ("a", "b"))
    with pytest.raises(CalibrationError, match="at least"):
        utilization_law(x[:3], (x @ [0.01, 0.02])[:3], ("a", "b"))


@pytest.mark.parametrize(
    ("draw", "family", "cv", "mean"),
    [
        (
            lambda r: r.lognormal(math.log(0.05), 0.6, 3000),
            "lognormal",
            math.sqrt(math.expm1(0.36)),
            0.05 * math.exp(0.18),
        ),
        (lambda r: r.gamma(4.0, 0.0125, 3000), "gamma", 0.5, 0.05),
    ],
)
def test_fits_recover_family_mean_and_cv(draw: Any, family: str, cv: float, mean: float) -> None:
    """3,000 draws: the MLE's mean and cv are within a few percent, and the KS test
    prefers the family drawn from."""
    fit = fit_durations(draw(np.random.default_rng(3)))
    assert fit.family == family
    assert fit.cv == pytest.approx(cv, rel=0.06)
    assert fit.mean_s == pytest.approx(mean, rel=0.05)


def test_a_poor_fit_falls_back_to_the_measured_values() -> None:
    """Two well separated modes fit neither family: the quantiles are kept, and said so."""
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.normal(0.010, 0.001, 2000), rng.normal(0.200, 0.01, 2000)])
    fit = fit_durations(x)
    assert fit.family == "empirical" and fit.ks_p < 0.05
    assert len(fit.samples_s) == 200 and "KS" in fit.describe()


def _matrix(series: list[tuple[dict[str, str], list[tuple[float, float]]]]) -> dict[str, Any]:
    return {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [{"metric": m, "values": [[t, str(v)] for t, v in pts]} for m, pts in series],
        },
    }


def prometheus_fixture(folder: Path, *, inf: bool = True, order_ok: bool = True) -> Path:
    folder.mkdir()
    times = [1000.0, 1060.0, 1120.0] if order_ok else [1000.0, 1120.0, 1060.0]
    rate = [
        ({"route": "/leads/{id}"}, list(zip(times, [10.0, 20.0, 30.0], strict=True))),
        ({"route": "/health"}, list(zip(times, [1.0, 1.0, 1.0], strict=True))),
    ]
    # per second: 100 requests, 50 under 0.1 s, 90 under 0.2 s, all under 0.4 s
    buckets = [
        ({"route": "/leads/{id}", "le": le}, [(t, v) for t in times[:1]])
        for le, v in (("0.1", 50.0), ("0.2", 90.0), ("0.4", 100.0), ("+Inf", 100.0))
        if inf or le != "+Inf"
    ]
    cpu = [({"container": "api"}, list(zip(times, [0.25, 0.45, 0.65], strict=True)))]
    (folder / "rate.json").write_text(json.dumps(_matrix(rate)))
    (folder / "buckets.json").write_text(json.dumps(_matrix(buckets)))
    (folder / "cpu.json").write_text(json.dumps(_matrix(cpu)))
    (folder / "mapping.yaml").write_text(
        yaml.safe_dump(
            {
                "queries": {
                    "request_rate": "rate.json",
                    "latency_buckets": "buckets.json",
                    "cpu": "cpu.json",
                },
                "labels": {"route": {"/leads/{id}": "lookup"}, "container": {"api": "api"}},
            }
        )
    )
    return folder


def test_a_prometheus_fixture_parses_to_its_rates_and_quantiles(tmp_path: Path) -> None:
    """By hand: rates 10, 20, 30/s; CPU 0.25, 0.45, 0.65 cores; buckets 50/90/100 of 100
    requests under 0.1/0.2/0.4 s give p50 = 0.1 s (rank 50 ends the first bucket), p95 =
    0.2 + 0.2 x (95 - 90)/10 = 0.3 s, p99 = 0.2 + 0.2 x 9/10 = 0.38 s. The /health series
    maps to nothing and is counted."""
    data = read_folder(prometheus_fixture(tmp_path / "prom"))
    assert data.rates["lookup"].tolist() == [10.0, 20.0, 30.0]
    assert data.cpu["api"].tolist() == [0.25, 0.45, 0.65]
    q = data.latency["lookup"]
    assert q["p50"] == pytest.approx(0.1)
    assert q["p95"] == pytest.approx(0.3)
    assert q["p99"] == pytest.approx(0.38)
    assert data.unmapped["request_rate"] == 1
    # and the regression on it: CPU = 0.05 + 0.02 x rate is exactly 20 ms per request
    # plus a constant, which a model through the origin cannot hold: the fit says so
    d = utilization_law(data.rates[["lookup"]].to_numpy(), data.cpu["api"].to_numpy(), ("lookup",))
    assert d.r_squared < 0.99


def test_histogram_quantile_matches_prometheus_semantics() -> None:
    bounds = np.array([0.1, 0.2, math.inf])
    assert histogram_quantile(0.5, bounds, np.array([10.0, 20.0, 20.0])) == pytest.approx(0.1)
    # a rank in the +Inf bucket gives the highest finite bound, as Prometheus does
    assert histogram_quantile(0.99, bounds, np.array([10.0, 10.0, 20.0])) == pytest.approx(0.2)


BAD_SCENARIO = """\
capplan: 1
name: one
workload: {arrival_rate: 10/s}
requests:
  lookup:
    http: {method: GET, path: "/leads/{id}"}
    steps: [{call: api}]
components:
  api: {type: service, workers: 4, service_time: 10ms}
"""


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_text(""), "empty"),
        (
            lambda p: p.write_text("timestamp,route,status,duration\n1,GET /other,200,0.01\n"),
            "no request maps",
        ),
        (
            lambda p: p.write_text(
                "timestamp,route,status,duration\n10,GET /leads/1,200,0.01\n5,GET /leads/2,200,0.01\n"
            ),
            "out of order",
        ),
        (lambda p: prometheus_fixture(p, inf=False), "+Inf"),
        (lambda p: prometheus_fixture(p, order_ok=False), "out of order"),
        (
            lambda p: p.write_text("timestamp,route,status,duration_hours\n1,GET /leads/1,200,1\n"),
            "duration",
        ),
    ],
    ids=["empty", "unmapped", "unordered", "no-inf", "prom-unordered", "units"],
)
def test_bad_measurements_exit_2_naming_the_file(tmp_path: Path, make: Any, message: str) -> None:
    scenario = tmp_path / "one.yaml"
    scenario.write_text(BAD_SCENARIO)
    data = tmp_path / "data.csv"
    make(data)
    out = tmp_path / "out.yaml"
    code, _, err = cli("calibrate", str(scenario), "--from", str(data), "--out", str(out))
    assert code == 2 and "Traceback" not in err, err
    assert message in err and "data.csv" in err, err
    assert not out.exists()


TWO_TYPES = """\
capplan: 1
name: two
workload: {arrival_rate: 10/s, mix: {lookup: 1, report: 1}}
requests:
  lookup:
    http: {method: GET, path: "/leads/{id}"}
    steps: [{call: api}]
  report:
    http: {method: GET, path: /report}
    steps: [{call: api, repeat: 2}]
components:
  api: {type: service, workers: 4, service_time: 10ms, cpu_per_request: 5ms}
"""


def test_prometheus_cpu_and_rates_give_cpu_per_visit_and_mix(tmp_path: Path) -> None:
    """Known demands: 10 ms of CPU per lookup, 30 ms per report (two visits of 15 ms).
    Over 30 windows of varying rates, CPU = 0.010 x lookups + 0.030 x reports exactly,
    so the regression recovers both and the CPU per visit is their rate-weighted sum over
    the visits: (0.010 L + 0.030 R) / (L + 2 R) summed over the windows' mean rates. The
    mix comes from the mean rates."""
    scenario = tmp_path / "two.yaml"
    scenario.write_text(TWO_TYPES)
    prom = tmp_path / "prom"
    prom.mkdir()
    t = [1000.0 + 60 * i for i in range(30)]
    rng = np.random.default_rng(1)
    lookups, reports = rng.uniform(5, 50, 30), rng.uniform(1, 20, 30)
    rate = [
        ({"route": "/leads/{id}"}, list(zip(t, lookups, strict=True))),
        ({"route": "/report"}, list(zip(t, reports, strict=True))),
    ]
    cpu = [({"container": "api"}, list(zip(t, 0.010 * lookups + 0.030 * reports, strict=True)))]
    (prom / "rate.json").write_text(json.dumps(_matrix(rate)))
    (prom / "cpu.json").write_text(json.dumps(_matrix(cpu)))
    (prom / "mapping.yaml").write_text(
        yaml.safe_dump(
            {
                "queries": {"request_rate": "rate.json", "cpu": "cpu.json"},
                "labels": {
                    "route": {"/leads/{id}": "lookup", "/report": "report"},
                    "container": {"api": "api"},
                },
            }
        )
    )
    out = tmp_path / "cal.yaml"
    code, _, err = cli(
        "calibrate", str(scenario), "--from", str(prom), "--out", str(out), "--json",
        str(tmp_path / "cal.json"),
    )  # fmt: skip
    assert code == 0, err
    cal = json.loads((tmp_path / "cal.json").read_text())
    d = cal["demands"]["api"]
    assert d["demand_s"]["lookup"] == pytest.approx(0.010, rel=1e-6)
    assert d["demand_s"]["report"] == pytest.approx(0.030, rel=1e-6)
    assert d["r_squared"] == pytest.approx(1.0)
    per_visit = (0.010 * lookups.mean() + 0.030 * reports.mean()) / (
        lookups.mean() + 2 * reports.mean()
    )
    from capplan.scenario import load_scenario

    s = load_scenario(out)
    assert s.components["api"].cpu_per_request == pytest.approx(per_visit, rel=1e-3)
    share = lookups.mean() / (lookups.mean() + reports.mean())
    assert s.mix()["lookup"] == pytest.approx(share, abs=1e-3)
    assert "utilization law" in out.read_text()


def test_access_logs_are_matched_to_request_types_by_method_and_path(tmp_path: Path) -> None:
    """An nginx log and a CSV log of the same 60 requests (two routes, one unknown): the
    same per-type counts and mean latency, the unknown route counted apart."""
    from capplan.calibrate.sources import read_sources
    from capplan.scenario import load_scenario

    scenario = tmp_path / "two.yaml"
    scenario.write_text(TWO_TYPES)
    s = load_scenario(scenario)
    nginx, rows = [], ["timestamp,route,status,duration_ms"]
    for i in range(60):
        path, ms = ("/leads/7", 20 + i % 5) if i % 3 else ("/report", 100 + i % 7)
        if i == 59:
            path = "/health"
        stamp = f"01/Dec/2026:10:{i // 60:02d}:{i % 60:02d} +0000"
        nginx.append(
            f'10.0.0.1 - - [{stamp}] "GET {path} HTTP/1.1" 200 512 "-" "curl" {ms / 1000:.3f}'
        )
        rows.append(f"2026-12-01T10:00:{i:02d}Z,GET {path},200,{ms}")
    (tmp_path / "access.log").write_text("\n".join(nginx) + "\n")
    (tmp_path / "access.csv").write_text("\n".join(rows) + "\n")
    a = read_sources(s, [tmp_path / "access.log"])
    b = read_sources(s, [tmp_path / "access.csv"])
    for m in (a, b):
        assert m.production
        lookups = m.durations["lookup"]
        assert len(lookups) == 39 and len(m.durations["report"]) == 20
        assert np.mean(lookups) == pytest.approx(0.022, abs=0.002)
        assert "1 line of other routes" in m.sources[0]


def test_a_day_of_access_logs_gives_the_daily_total_and_profile(tmp_path: Path) -> None:
    """Two days of requests, evenly spaced within each UTC hour, 60 x m(h) of them in hour
    h with m a known daily shape: the overlay's daily_requests is one day's count, its
    profile's point at each hour's middle is m(h) over the mean of m, peak_factor drops
    to 1 (the profile gives the peak) and the result names its source."""
    scenario = tmp_path / "one.yaml"
    scenario.write_text(
        TWO_TYPES.replace("arrival_rate: 10/s", "daily_requests: 100000, peak_factor: 3")
    )
    shape = [1 + (h % 12) for h in range(24)]  # 1..12, twice a day
    rows = ["timestamp,route,status,duration_ms"]
    start = 1_764_547_200  # 2025-12-01 00:00 UTC
    for day in range(2):
        for h, m in enumerate(shape):
            n = 60 * m
            for i in range(n):
                t = start + day * 86400 + h * 3600 + (i + 0.5) * 3600 / n
                route = "GET /report" if i % 4 == 0 else "GET /leads/1"
                rows.append(f"{t:.3f},{route},200,{10 + i % 7}")
    log = tmp_path / "access.csv"
    log.write_text("\n".join(rows) + "\n")
    out = tmp_path / "cal.yaml"
    code, _, err = cli("calibrate", str(scenario), "--from", str(log), "--out", str(out))
    assert code == 0, err
    from capplan.scenario import load_scenario

    s = load_scenario(out)
    assert s.workload.daily_requests == 60 * sum(shape)
    assert s.workload.peak_factor == 1
    points = s.workload.profile.points  # type: ignore[union-attr]
    mean = sum(shape) / 24
    for h, (t, m) in enumerate(points):
        assert t == pytest.approx(h * 3600 + 1800)
        assert m == pytest.approx(shape[h] / mean, rel=1e-3)
    assert "2 days of request counts" in out.read_text()


def test_calibrate_refuses_an_overlay_that_is_not_yaml(tmp_path: Path) -> None:
    scenario = tmp_path / "one.yaml"
    scenario.write_text(BAD_SCENARIO)
    out = tmp_path / "out.json"
    out.write_text("mine")
    code, _, err = cli(
        "calibrate", str(scenario), "--from", str(tmp_path / "x.csv"), "--out", str(out)
    )
    assert code == 2 and "Traceback" not in err and "name it .yaml" in err, err
    assert out.read_text() == "mine"

"""Time in the model: load profiles, capacity that changes during a run, the timeline.

Each check is one a wrong model fails: arrivals stepped per window or from the wrong
curve fail the chi-square test; capacity measured at its final value fails the
time-weighted utilization; a replica given work before it is ready, or after it drains,
is caught by a process watching it.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from capplan import simulate
from capplan.analytic import mmc
from capplan.sim import run_replication
from capplan.sim.capacity import READY
from capplan_helpers import cli, exp, scenario


def station(rate: str, service: Any, workers: int, **sim: Any) -> dict[str, Any]:
    return {
        "simulation": {"replications": 3, "seed": 4, **sim},
        "workload": {"arrival_rate": rate},
        "requests": {"r": {"steps": [{"call": "q"}]}},
        "components": {
            "q": {
                "type": "service",
                "workers": workers,
                "load_balancing": "shared_queue",
                "service_time": service,
            }
        },
    }


def test_a_constant_profile_gives_the_same_results_as_no_profile():
    base = station("2/s", exp("1s"), 4, duration="1000s", warmup="50s")
    flat = {**base, "workload": {**base["workload"], "profile": {"points": [["0s", 1.0]]}}}
    a, b = simulate(scenario(base)), simulate(scenario(flat))
    for key in ("latency_s", "throughput_rps", "error_rate", "requests", "components", "little"):
        assert a[key] == b[key], key
    assert [w["offered_rps"] for w in a["timeline"]["windows"]] == [
        w["offered_rps"] for w in b["timeline"]["windows"]
    ]


def _curve(profile: dict[str, Any], tau: np.ndarray) -> np.ndarray:
    """The profile's multiplier written from its definition (docs/scenario.md), as an
    oracle independent of capplan.sim.load."""
    m = np.ones_like(tau)
    if "points" in profile:
        t = np.array([p[0] for p in profile["points"]], dtype=float)
        v = np.array([p[1] for p in profile["points"]], dtype=float)
        period = profile.get("period")
        if period:
            t, v = np.append(t, t[0] + period), np.append(v, v[0])
            tau = t[0] + np.mod(tau - t[0], period)
        m = np.interp(tau, t, v)
    if "diurnal" in profile:
        d = profile["diurnal"]
        low = d["trough_to_peak"]
        m = low + (1 - low) * (1 + np.cos(2 * np.pi * (tau - d["peak"]) / 86400)) / 2
    for s in profile.get("spikes", []):
        m = np.where((tau >= s["at"]) & (tau < s["at"] + s["duration"]), m * s["multiplier"], m)
    return m


PROFILES = {
    "points": (
        {"points": [["0s", 0.2], ["2h", 1.0], ["3h", 1.0], ["5h", 0.4]]},
        {"points": [[0, 0.2], [7200, 1.0], [10800, 1.0], [18000, 0.4]]},
    ),
    "diurnal": (
        {"diurnal": {"peak": "3h", "trough_to_peak": 0.25}},
        {"diurnal": {"peak": 10800, "trough_to_peak": 0.25}},
    ),
    "spike": (
        {
            "points": [["0s", 0.5], ["6h", 1.0]],
            "spikes": [{"at": "2h", "multiplier": 3, "duration": "20m"}],
        },
        {
            "points": [[0, 0.5], [21600, 1.0]],
            "spikes": [{"at": 7200, "multiplier": 3, "duration": 1200}],
        },
    ),
}


@pytest.mark.parametrize("shape", PROFILES)
def test_arrivals_follow_the_integrated_rate(shape):
    """Counts per 5-minute window over 6 hours against the profile's integral (from its
    definition, by the trapezoid rule on a fine grid): chi-square over 72 windows at the
    0.1% level. Arrivals stepped per window, or sampled from a wrong curve, leave counts
    tens of standard deviations off somewhere on the slopes."""
    written, oracle = PROFILES[shape]
    data = station("4/s", "0s", 100_000, duration="6h", warmup="0s", window="5m", replications=2)
    data["workload"]["profile"] = written
    result = simulate(scenario(data))
    windows = result["timeline"]["windows"]
    observed = np.array([w["offered_rps"] * 300 * 2 for w in windows])
    expected = []
    for w in windows:
        grid = np.linspace(w["start_s"], w["start_s"] + 300, 3001)
        expected.append(4 * np.trapezoid(_curve(oracle, grid), grid) * 2)
    expected_arr = np.array(expected)
    chi2 = float(((observed - expected_arr) ** 2 / expected_arr).sum())
    p = stats.chi2.sf(chi2, len(windows))
    assert p > 0.001, (shape, chi2, len(windows))
    assert observed.sum() == pytest.approx(expected_arr.sum(), rel=0.02)


def test_slowly_varying_load_is_pointwise_stationary():
    """M/M/2 (service 100 ms) under a sinusoid between 6/s and 14/s with a 24 h period: the
    queue relaxes in seconds, so each 15-minute window behaves like a steady M/M/2 at its
    own rate (the pointwise stationary approximation). Each window's mean latency against
    Erlang C at the window's measured arrival rate: a 95% interval covers the exact value
    in about 95% of windows; 85% allows the binomial spread over 24 windows and the
    approximation's own small error."""
    data = station("10/s", exp("100ms"), 2, duration="6h", warmup="10m", window="15m")
    data["workload"]["profile"] = {"diurnal": {"peak": "3h", "trough_to_peak": 6 / 14}}
    data["workload"]["profile"]["diurnal"]["period"] = "24h"
    # arrival_rate is the multiplier-1 rate: peak 14/s at the peak
    data["workload"]["arrival_rate"] = "14/s"
    result = simulate(scenario(data))
    covered, total = 0, 0
    for w in result["timeline"]["windows"]:
        lam = w["offered_rps"]
        theory = mmc(lam, 10.0, 2).mean_response_s  # service rate 10/s
        lo, hi = w["latency_s"]["ci95"]["mean"]
        total += 1
        covered += lo <= theory <= hi
        # capplan's own pointwise figure, shown beside the timeline, is that same value
        analytic = w["analytic"]
        assert analytic["applies"], w["start_s"]
        assert analytic["latency_mean_s"] == pytest.approx(theory, rel=0.01)
    assert covered / total >= 0.85, (covered, total)


def test_the_pointwise_figure_is_the_steady_system_at_the_windows_rate():
    """Each window's analytic figure is the analytic model of the same system written
    with a steady load at that window's rate. load_scale also scales a link's background
    traffic, which a profile does not: scaling load_scale to reach a window's rate would
    triple the background here and put the link near saturation."""
    from capplan.analytic.layered import analyze

    def system(workload: dict[str, Any], **sim: Any) -> dict[str, Any]:
        return {
            "load_scale": 2,
            "simulation": {"replications": 2, "seed": 3, **sim},
            "workload": workload,
            "requests": {"r": {"steps": [{"call": "q", "via": "net", "response_bytes": "100KB"}]}},
            "components": {
                "q": {"type": "service", "workers": 4, "service_time": exp("10ms")},
                "net": {"type": "link", "bandwidth": "100Mbps", "background": "30Mbps"},
            },
        }

    moving = system(
        {"arrival_rate": "5/s", "profile": {"step": {"at": "10m", "after": 3}}},
        duration="20m",
        warmup="2m",
        window="2m",
    )
    result = simulate(scenario(moving))
    checked = 0
    for w in result["timeline"]["windows"]:
        if not w["analytic"]["applies"]:
            continue
        steady = scenario(system({"arrival_rate": f"{w['offered_rps'] / 2}/s"}))
        assert w["analytic"]["latency_mean_s"] == pytest.approx(
            analyze(steady)["latency_mean_s"], rel=1e-9
        )
        checked += 1
    assert checked >= 6


def _watch(name: str, every: float, log: list[tuple[float, int, int]], box: dict[str, Any]):
    """A controller that records (time, busy, queued) of the replica in ``box``."""

    def controller(kernel, stations):
        while True:
            r = box.get(name)
            if r is not None:
                log.append((kernel.now, r.busy, len(r.queue)))
            yield every

    return controller


def test_a_replica_added_takes_work_only_once_ready():
    s = scenario(
        {
            "simulation": {"duration": "400s", "warmup": "0s", "replications": 1},
            "workload": {"arrival_rate": "3/s"},
            "requests": {"r": {"steps": [{"call": "q"}]}},
            "components": {"q": {"type": "service", "workers": 2, "service_time": exp("500ms")}},
        }
    )
    box: dict[str, Any] = {}
    log: list[tuple[float, int, int]] = []

    def add(kernel, stations):
        yield 100.0
        box["new"] = stations["q"].replica_sets[0].add(startup=50.0)

    run_replication(s, 0, controllers=(add, _watch("new", 0.05, log, box)))
    busy_times = [t for t, busy, queued in log if busy or queued]
    assert busy_times, "the new replica never took work"
    assert min(busy_times) >= 150.0  # added at 100 s, ready 50 s later
    assert min(busy_times) < 152.0  # and busy at once: half the load goes its way


def test_a_drained_replica_finishes_its_requests_and_takes_no_new_ones():
    s = scenario(
        {
            "simulation": {"duration": "300s", "warmup": "0s", "replications": 1},
            "workload": {"arrival_rate": "6/s"},
            "requests": {"r": {"steps": [{"call": "q"}]}},
            "components": {
                "q": {"type": "service", "replicas": 2, "workers": 2, "service_time": exp("500ms")}
            },
        }
    )
    box: dict[str, Any] = {}
    log: list[tuple[float, int, int]] = []

    def drain(kernel, stations):
        rs = stations["q"].replica_sets[0]
        yield 100.0
        victim = next(r for r in rs.replicas if r.state == READY)
        box["old"] = victim
        held = victim.busy + len(victim.queue)
        box["held_at_drain"] = held
        rs.drain(victim)

    record = run_replication(s, 0, controllers=(drain, _watch("old", 0.01, log, box)))
    after = [(t, busy + queued) for t, busy, queued in log if t >= 100.0]
    assert box["held_at_drain"] > 0  # it held requests when drained
    loads = [n for _, n in after]
    assert all(b <= a for a, b in itertools.pairwise(loads))  # never more work
    assert loads[-1] == 0  # what it held is done
    assert record.types["r"].errors == {}  # and none of it was lost


def test_utilization_integrates_capacity_over_time():
    """Ten workers, then twenty from halfway: 5/s of 1 s requests keep 5 workers busy on
    average, so busy over available worker-seconds is 5 / 15 = 1/3 (not 5/20 from the
    final capacity, nor 5/10 from the first). 4 × 4,000 s keep the estimate within 2%."""
    s = scenario(
        {
            "simulation": {"duration": "4000s", "warmup": "100s", "replications": 4},
            "workload": {"arrival_rate": "5/s"},
            "requests": {"r": {"steps": [{"call": "q"}]}},
            "components": {
                "q": {
                    "type": "service",
                    "workers": 10,
                    "load_balancing": "shared_queue",
                    "service_time": exp("1s"),
                }
            },
        }
    )

    def double(kernel, stations):
        yield 2100.0  # halfway through the measured window
        stations["q"].replica_sets[0].add()

    from capplan.results import summarize

    records = [run_replication(s, rep, controllers=(double,)) for rep in range(4)]
    util = summarize(s, records)["components"]["q"]["utilization"]
    assert util == pytest.approx(1 / 3, rel=0.03)


def test_littles_law_holds_window_by_window():
    """M/M/1 at rho 0.5 (W = 2 s) in 60 s windows: requests crossing a window's edges
    make each window's L = lambda W approximate to a few percent; 90% of windows within
    10% of it, across 5 replications."""
    result = simulate(
        scenario(station("0.5/s", exp("1s"), 1, duration="2h", warmup="5m", replications=5))
    )
    ok = 0
    windows = result["timeline"]["windows"]
    for w in windows:
        lam, little = w["offered_rps"], w["little"]
        expected = lam * little["mean_sojourn_s"]
        ok += abs(little["mean_in_system"] - expected) <= 0.1 * max(expected, 1e-9)
    assert ok / len(windows) >= 0.9, ok


def test_the_timeline_has_a_fixed_json_contract_and_a_frame():
    from capplan.results.timeline import frame

    result = simulate(scenario(station("2/s", exp("200ms"), 2, duration="10m", warmup="1m")))
    tl = result["timeline"]
    assert tl["window_s"] == 60 and len(tl["windows"]) == 10
    w = tl["windows"][0]
    assert {
        "start_s",
        "offered_rps",
        "completed_rps",
        "error_rate",
        "latency_s",
        "components",
    } <= set(w)
    assert set(w["latency_s"]) >= {"mean", "p50", "p95", "p99", "ci95"}
    assert set(w["components"]["q"]) >= {
        "utilization",
        "cpu_utilization",
        "queue_length",
        "replicas_ready",
        "ci95",
    }
    df = frame(result)
    assert len(df) == 10 and "q.utilization" in df.columns and "latency_p95_s_lo" in df.columns


BAD = {
    "times": ("profile: {points: [[2h, 1], [1h, 2]]}", "points: times must increase"),
    "negative": ("profile: {points: [[0h, -1]]}", "greater than or equal to 0"),
    "spike": (
        "profile: {spikes: [{at: 20h, multiplier: 2, duration: 10m}]}",
        "spikes[0].at: the spike lies outside the run",
    ),
    "long-window": ("", "window: longer than the run"),
    "uneven-window": ("", "window: must divide the run"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_time_input_is_located(tmp_scenarios, case):
    extra, expected = BAD[case]
    window = {"long-window": "window: 2h, ", "uneven-window": "window: 7m, "}.get(case, "")
    text = (
        "capplan: 1\nname: t\n"
        f"simulation: {{{window}duration: 1h, warmup: 1m}}\n"
        "workload:\n  arrival_rate: 1/s\n"
        + (f"  {extra}\n" if extra else "")
        + "requests: {r: {steps: [{call: q}]}}\ncomponents: {q: {type: service}}\n"
    )
    code, out, err = cli("validate", str(tmp_scenarios("t.yaml", text)))
    assert code == 2 and "Traceback" not in out + err, err
    assert expected in err and "t.yaml:" in err


def test_a_peak_comes_from_the_profile_with_daily_requests():
    """With daily_requests the profile's mean over its period is the day's mean rate: the
    bundled day has 4,000,000 requests a day and its busiest hours near 3x the mean."""
    from capplan import load_scenario
    from capplan.sim.load import Curve
    from capplan_helpers import ROOT

    s = load_scenario(ROOT / "scenarios" / "10x-day.yaml")
    curve = Curve(s.workload.profile, normalize=True)
    daily = s.arrival_rate * curve.mean_over(0, 86400) * 86400
    assert daily == pytest.approx(4_000_000, rel=1e-6)
    assert s.arrival_rate * curve(12 * 3600) / (4_000_000 / 86400) == pytest.approx(3.06, abs=0.01)
    assert math.isfinite(curve.next_break(0))

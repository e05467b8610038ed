"""Queueing theory beside the simulation, and the instant analytic approximation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from capplan import load_scenario, simulate, with_overrides
from capplan.analytic import mmc
from capplan.analytic.crosscheck import _pooled, mgc_wait
from capplan.analytic.layered import analyze
from capplan.cli import app
from capplan_helpers import exp, run, scenario, single_station

ROOT = Path(__file__).resolve().parent.parent


def test_allen_cunneen_is_exact_for_mmc():
    assert mgc_wait(3.2, 1.0, 4, 1.0) == pytest.approx(mmc(3.2, 1.0, 4).mean_wait_s)
    assert mgc_wait(0.5, 1.0, 1, 0.0) == pytest.approx(0.5)  # M/D/1: rho / (2 mu (1 - rho))


def test_crosscheck_agrees_on_an_mmc_and_bounds_throughput():
    result = run(single_station("3.2/s", exp("1s"), workers=4, duration="20000s", warmup="200s"))
    q = result["analytic"]["components"]["q"]
    assert q["applies"] and not q["disagrees"]
    assert q["mean_wait_s"] == pytest.approx(mmc(3.2, 1.0, 4).mean_wait_s, rel=0.05)
    bound = result["analytic"]["throughput_bound"]
    assert bound["component"] == "q" and bound["rps"] == pytest.approx(4.0, rel=0.03)


def test_crosscheck_flags_a_wait_far_from_theory():
    component = scenario(
        {
            "workload": {"arrival_rate": "1/s"},
            "requests": {"r": {"steps": [{"call": "q"}]}},
            "components": {"q": {"type": "service", "workers": 2}},
        }
    ).components["q"]
    measured = {
        "throughput_rps": 1.5,
        "mean_hold_s": 1.0,
        "hold_scv": 1.0,
        "utilization": 0.75,
        "mean_wait_s": 0.5,  # M/M/2 at rho 0.75 waits 1.29 s
        "saturated": False,
    }
    verdict = _pooled(component, measured, poisson=True, exact=True)
    assert verdict["disagrees"] and "mean wait" in verdict["why"]
    close = {**measured, "mean_wait_s": 1.25}
    assert not _pooled(component, close, poisson=True, exact=True)["disagrees"]
    # the same gap against an approximation is shown, never flagged
    approximate = _pooled(component, measured, poisson=True, exact=False)
    assert not approximate["disagrees"] and "approximate" in approximate["why"]
    # utilization is an identity (Little's law): flagged either way
    off = {**measured, "utilization": 0.6}
    assert "utilization" in _pooled(component, off, poisson=True, exact=False)["why"]


def test_an_approximation_never_cries_wolf_on_a_lognormal_multi_server() -> None:
    """Lognormal (cv 3) service at 8 workers and 70%: Allen-Cunneen's wait is far off the
    simulated one (about 55 ms against 31 ms), and the cross-check shows it as an
    approximation without flagging; an exponential one at the same load is exact, and
    agrees."""

    def case(service: dict) -> tuple[dict, dict]:
        result = run(
            scenario(
                {
                    "simulation": {"duration": "10000s", "warmup": "500s", "replications": 3},
                    "workload": {"arrival_rate": "56/s"},
                    "requests": {"r": {"steps": [{"call": "q"}]}},
                    "components": {"q": {"type": "service", "workers": 8, "service_time": service}},
                }
            )
        )
        return result["analytic"]["components"]["q"], result["components"]["q"]

    lognormal, simulated = case({"distribution": "lognormal", "mean": "100ms", "cv": 3})
    assert lognormal["mean_wait_s"] > 1.3 * simulated["ci95"]["mean_wait_s"][1]  # far off
    assert lognormal["applies"] and not lognormal["exact"] and not lognormal["disagrees"]
    assert "approximate" in lognormal["why"]
    exponential, _ = case(exp("100ms"))
    assert exponential["exact"] and exponential["model"].startswith("M/M/8")
    assert not exponential["disagrees"]


def test_analytic_model_of_a_layered_two_tier_matches_simulation():
    """Front: 8 workers, 100 ms, holding its worker through an M/M/1 database call
    (200 ms mean at 1/s: response 250 ms). Mean latency 350 ms in both."""
    data = {
        "simulation": {"duration": "20000s", "warmup": "200s", "replications": 3},
        "workload": {"arrival_rate": "1/s"},
        "requests": {"r": {"steps": [{"call": "front", "steps": [{"call": "db"}]}]}},
        "components": {
            "front": {"type": "service", "workers": 8, "service_time": "100ms"},
            "db": {"type": "database", "service_time": exp("200ms")},
        },
    }
    approx = analyze(scenario(data))
    assert approx["approximation"] is True
    assert approx["latency_mean_s"] == pytest.approx(0.35, rel=0.01)
    assert approx["components"]["db"]["utilization"] == pytest.approx(0.2)
    simulated = run(scenario(data))
    assert simulated["latency_s"]["mean"] == pytest.approx(approx["latency_mean_s"], rel=0.03)


def test_analytic_model_is_close_on_the_reference_scenario():
    """Not exact (round robin, lognormal holds, link chunks), but within 10% of the mean."""
    s = load_scenario(ROOT / "scenarios" / "current.yaml")
    approx = analyze(s)
    simulated = simulate(with_overrides(s, replications=2))
    assert approx["latency_mean_s"] == pytest.approx(simulated["latency_s"]["mean"], rel=0.10)
    for name in ("mcp-server", "mongodb", "network"):
        assert approx["components"][name]["utilization"] == pytest.approx(
            simulated["components"][name]["utilization"], rel=0.05
        )


def test_simulate_analytic_flag(tmp_path):
    out = tmp_path / "a.json"
    result = CliRunner().invoke(
        app, ["simulate", str(ROOT / "scenarios" / "10x.yaml"), "--analytic", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "ANALYTIC APPROXIMATION" in result.output
    data = json.loads(out.read_text())
    assert data["approximation"] is True and data["latency_mean_s"] is None
    assert "network" in data["saturated_components"]


def test_different_numbers_never_print_the_same():
    from capplan.analytic.crosscheck import distinct

    assert distinct(0.0201, 0.0196) == ("0.0201", "0.0196")
    assert distinct(0.020001, 0.020002)[0] != distinct(0.020001, 0.020002)[1]
    assert distinct(1.5, 1.5) == ("1.5", "1.5")

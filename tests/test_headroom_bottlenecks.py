"""Headroom against queueing theory; bottleneck sentences."""

from __future__ import annotations

import pytest

from capplan.headroom import describe, headroom
from capplan_helpers import exp, run, scenario


def test_headroom_of_mm1_matches_the_analytic_threshold():
    """M/M/1 with 1 s mean service at 0.5/s today and a 4 s mean-latency SLO: 1/(1 - λ) = 4
    at λ = 0.75, so the threshold is 1.5x. Each evaluation runs 4 × 50,000 s; near the
    threshold the mean latency's standard error is about 2%, which moves the crossing by
    under 1% of scale; the search itself stops at 2%."""
    s = scenario(
        {
            "simulation": {"duration": "50000s", "warmup": "500s", "replications": 4, "seed": 3},
            "workload": {"arrival_rate": "0.5/s"},
            "slos": {"latency_mean": "4s"},
            "requests": {"r": {"steps": [{"call": "q"}]}},
            "components": {"q": {"type": "service", "service_time": exp("1s")}},
        }
    )
    h = headroom(s, tolerance=0.01)
    assert h["max_load_scale"] == pytest.approx(1.5, rel=0.03)
    lo, hi = h["ci95"]
    assert lo <= h["max_load_scale"] <= hi
    assert lo <= 1.5 * 1.01 and hi >= 1.5 * 0.99
    assert h["first_breach"]["slo"] == "latency_mean"
    assert h["first_breach"]["component"] == "q"
    assert "meets SLOs up to 1.4" in describe(h) or "meets SLOs up to 1.5" in describe(h)


def test_batched_headroom_matches_the_threshold_whatever_the_workers():
    """The same M/M/1 searched three scales at a time: the threshold is still 1.5x within
    the tolerance, and 1 or 2 worker processes give the same answer (the batch, not the
    workers, decides which scales are simulated)."""
    from capplan.sim.runner import Runner

    s = scenario(
        {
            "simulation": {"duration": "20000s", "warmup": "500s", "replications": 4, "seed": 3},
            "workload": {"arrival_rate": "0.5/s"},
            "slos": {"latency_mean": "4s"},
            "requests": {"r": {"steps": [{"call": "q"}]}},
            "components": {"q": {"type": "service", "service_time": exp("1s")}},
        }
    )
    with Runner(1) as one:
        a = headroom(s, tolerance=0.02, batch=3, runner=one)
    with Runner(2) as two:
        b = headroom(s, tolerance=0.02, batch=3, runner=two)
    assert a == b
    assert a["max_load_scale"] == pytest.approx(1.5, rel=0.04)
    scales = [e["load_scale"] for e in a["evaluations"]]
    assert len(scales) > 4  # three per narrowing step


def test_agents_waiting_on_an_llm_are_called_out_with_their_cpu():
    """The issue's example: agent workers full because every task waits seconds on the LLM
    while using little CPU. CPU-based autoscaling would never add agents."""
    s = scenario(
        {
            "simulation": {"duration": "2000s", "warmup": "100s", "replications": 2},
            "workload": {"arrival_rate": "3/s"},
            "requests": {
                "task": {
                    "steps": [
                        {
                            "call": "agents",
                            "steps": [{"call": "llm", "tokens": {"input": 100, "output": 50}}],
                        }
                    ]
                }
            },
            "components": {
                "agents": {
                    "type": "service",
                    "replicas": 2,
                    "workers": 4,
                    "load_balancing": "shared_queue",
                    "service_time": "20ms",
                    "cpu_per_request": "20ms",
                    "resources": {"requests": {"cpu": "1"}},
                    "autoscaling": {"min": 2, "max": 10, "cpu_target": "70%"},
                },
                "llm": {
                    "type": "llm_api",
                    "latency": {"base": "2s"},
                    "rate_limit": {"requests_per_minute": 10000, "tokens_per_minute": 1e7},
                },
            },
        }
    )
    result = run(s)
    top = result["bottlenecks"][0]
    assert (top["component"], top["resource"]) == ("agents", "workers")
    assert top["cpu_autoscaling_blind"] is True
    assert "agents workers are busy waiting on llm" in top["sentence"]
    assert "CPU-based autoscaling will not add replicas" in top["sentence"]
    # the slowest requests' time is the LLM call plus the wait for an agent worker
    shares = {n: c["latency_share_p95"] for n, c in result["components"].items()}
    assert shares["llm"] > 0.5
    assert shares["llm"] + shares["agents"] == pytest.approx(1.0, abs=1e-6)


def test_headroom_needs_an_slo():
    from capplan.errors import SimulationError

    s = scenario(
        {
            "simulation": {"duration": "100s", "warmup": "10s", "replications": 2},
            "workload": {"arrival_rate": "1/s"},
            "requests": {"r": {"steps": [{"call": "q"}]}},
            "components": {"q": {"type": "service", "service_time": "10ms"}},
        }
    )
    with pytest.raises(SimulationError, match="needs at least one SLO"):
        headroom(s)


def test_a_utilization_breach_names_the_quantity_the_objective_measures():
    """max_utilization counts busy workers; the first breach must not quote CPU at 161%."""
    from capplan.headroom import _first_breach
    from capplan.results.model import Component, Constraint, Latency, Objective, Result

    gunicorn = Component(
        utilization=0.9,
        offered_load=0.9,
        saturated=False,
        throughput_rps=10.0,
        latency_share_p95=1.0,
        constraints={"workers": 0.9, "cpu": 1.61},
        cpu_utilization=1.61,
        quota_demand=None,
        ci95={},
    )
    result = Result(
        scenario="s",
        load_scale=1.0,
        latency=Latency(0.1, 0.1, 0.2, 0.3, {}),
        throughput_rps=10.0,
        error_rate=0.0,
        saturated=False,
        saturated_components=(),
        constraints=(Constraint("gunicorn", "cpu", 1.61),),
        components={"gunicorn": gunicorn},
        requests={},
        objectives=(Objective("max_utilization", "gunicorn", 0.85, 0.9, None, False, None, False),),
        data={},
    )
    b = _first_breach(result)
    assert (b["component"], b["resource"], b["utilization"]) == ("gunicorn", "workers", 0.9)

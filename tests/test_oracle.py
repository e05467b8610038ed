"""The simulator against queueing theory.

Every scenario here is written in the scenario language and run through the public API
(``capplan.simulate``); the results are compared with closed forms from
``capplan.analytic``. Tolerances follow the issue's acceptance (mean within 3%, p95 within
5%); each test says why its run length makes that tolerance a fair test rather than a
coin toss. Seeds are fixed, so a failure is reproducible, but the run lengths are chosen so
that the tolerance is at least about two standard errors for any seed.
"""

from __future__ import annotations

import math

import pytest

from capplan import analytic
from capplan_helpers import exp, run, scenario, single_station


def rel(a: float, b: float) -> float:
    return abs(a - b) / b


def test_mm1_at_half_load():
    """M/M/1, rho = 0.5. The relative variance of the time-average number in system is
    2(1+rho)/(rho(1-rho)^2) = 24 per mean service time (Whitt 1989), so 4 × 100,000 s
    gives a standard error near 0.8% on the mean: 3% is about four standard errors."""
    s = single_station("0.5/s", exp("1s"), duration="100000s", warmup="200s")
    result = run(s)
    theory = analytic.mm1(0.5, 1.0)
    lat = result["latency_s"]
    assert rel(lat["mean"], theory.mean_response_s) < 0.03
    assert rel(lat["p95"], theory.p95_response_s) < 0.05
    assert rel(result["components"]["q"]["utilization"], 0.5) < 0.03


@pytest.mark.slow
def test_mm1_at_ninety_percent():
    """M/M/1, rho = 0.9: relative variance 422 per mean service time, so 4 × 600,000
    service times (about 2.2 million customers) give a standard error of about 1.3% on the
    mean; 3% is more than two standard errors. Warm-up of 2,000 service times is several
    relaxation times (1/(1-sqrt(rho))^2 ≈ 380)."""
    s = single_station("0.9/s", exp("1s"), duration="600000s", warmup="2000s")
    result = run(s)
    theory = analytic.mm1(0.9, 1.0)
    assert rel(result["latency_s"]["mean"], theory.mean_response_s) < 0.03
    assert rel(result["latency_s"]["p95"], theory.p95_response_s) < 0.05


@pytest.mark.parametrize(("c", "rho"), [(4, 0.8), (16, 0.9)])
def test_mmc_erlang_c(c: int, rho: float):
    """M/M/c with a shared queue. Several servers relax faster than one at the same
    utilization; 4 × 50,000 mean service times (0.64-2.9 million customers) keep the
    standard error of the mean near 0.5%."""
    lam = rho * c
    s = single_station(f"{lam}/s", exp("1s"), workers=c, duration="50000s", warmup="500s")
    result = run(s)
    theory = analytic.mmc(lam, 1.0, c)
    assert rel(result["latency_s"]["mean"], theory.mean_response_s) < 0.03
    assert rel(result["latency_s"]["p95"], theory.p95_response_s) < 0.05
    q = result["components"]["q"]
    assert rel(q["mean_wait_s"], theory.mean_wait_s) < 0.10  # the wait alone is small and noisier
    assert rel(q["utilization"], rho) < 0.03


def test_replicas_with_shared_queue_are_one_mmc():
    """replicas × workers under shared_queue is the same M/M/c as one replica with c workers."""
    s = single_station("3.2/s", exp("1s"), workers=2, replicas=2, duration="50000s", warmup="500s")
    theory = analytic.mmc(3.2, 1.0, 4)
    assert rel(run(s)["latency_s"]["mean"], theory.mean_response_s) < 0.03


def test_mmck_blocking():
    """M/M/2/5 at offered load 1.8 Erlang: blocking probability against the birth-death
    formula (14.1% blocked). About 180,000 arrivals per replication, some 25,000 of them
    blocked: the relative standard error of the pooled blocking fraction is under 1%, so
    5% is generous."""
    s = single_station(
        "1.8/s", exp("1s"), workers=2, queue_limit=3, duration="100000s", warmup="200s"
    )
    result = run(s)
    theory = analytic.mmck_blocking(1.8, 1.0, 2, 5)
    assert theory == pytest.approx(0.1411, abs=1e-4)
    assert result["errors"] == {"rejected": result["errors"]["rejected"]}
    assert rel(result["error_rate"], theory) < 0.05


def test_md1():
    """M/D/1, rho = 0.7 (constant service, a bare '1s'). Deterministic service halves the
    queueing variance of M/M/1; 4 × 100,000 service times give well under 1% error."""
    s = single_station("0.7/s", "1s", duration="100000s", warmup="200s")
    theory = analytic.mg1(0.7, 1.0, 0.0)
    assert rel(run(s)["latency_s"]["mean"], theory.mean_response_s) < 0.03


def test_mg1_lognormal():
    """M/G/1 with lognormal service (cv 1.5), rho = 0.5, against Pollaczek-Khinchine. The
    heavier tail raises the variance about (1+cv²)/2 ≈ 1.6 times over M/M/1 at this load, so
    the run is four times the M/M/1 test's: standard error near 0.8%."""
    service = {"distribution": "lognormal", "mean": "1s", "cv": 1.5}
    s = single_station("0.5/s", service, duration="400000s", warmup="500s")
    theory = analytic.mg1(0.5, 1.0, 1.5**2)
    assert rel(run(s)["latency_s"]["mean"], theory.mean_response_s) < 0.03


def test_tandem_of_three():
    """Open tandem of three M/M/1 stations (rho 0.5, 0.4, 0.3). End-to-end time is the sum
    of independent exponentials (Burke, Reich), so mean and p95 are exact. The busiest
    station dominates the variance; 4 × 100,000 s is the M/M/1 rho = 0.5 case again."""
    s = scenario(
        {
            "simulation": {"duration": "100000s", "warmup": "200s", "replications": 4},
            "workload": {"arrival_rate": "1/s"},
            "requests": {"r": {"steps": [{"call": "a"}, {"call": "b"}, {"call": "c"}]}},
            "components": {
                "a": {"type": "service", "service_time": exp("500ms")},
                "b": {"type": "service", "service_time": exp("400ms")},
                "c": {"type": "service", "service_time": exp("300ms")},
            },
        }
    )
    theory = analytic.tandem_mm1(1.0, [2.0, 2.5, 1 / 0.3])
    lat = run(s)["latency_s"]
    assert rel(lat["mean"], theory.mean_response_s) < 0.03
    assert rel(lat["p95"], theory.p95_response_s) < 0.05


@pytest.mark.parametrize("users", [1, 5, 20])
def test_closed_network_against_mva(users: int):
    """Closed network: users think (exponential, 1 s) and visit two single-server FCFS
    stations with exponential service (100 ms, 50 ms): product form, so exact MVA gives
    the throughput and mean response. 4 × 20,000 s is at least 60,000 requests per
    replication; the standard error of throughput is well under 1%."""
    s = scenario(
        {
            "simulation": {"duration": "20000s", "warmup": "200s", "replications": 4},
            "workload": {"users": users, "think_time": exp("1s")},
            "requests": {"r": {"steps": [{"call": "cpu"}, {"call": "disk"}]}},
            "components": {
                "cpu": {"type": "service", "service_time": exp("100ms")},
                "disk": {"type": "service", "service_time": exp("50ms")},
            },
        }
    )
    theory = analytic.mva([0.1, 0.05], 1.0, users)
    result = run(s)
    assert rel(result["throughput_rps"], theory.throughput_rps) < 0.03
    assert rel(result["latency_s"]["mean"], theory.response_s) < 0.03


def test_closed_network_past_its_knee_reports_latency_not_saturation():
    """50 users (think 1 s, exponential) over three exponential stations of 40, 30 and
    20 ms: the knee is at N* = (1 + 0.09) / 0.04 = 27 users, so the 40 ms station is
    99.9% busy. A closed population cannot overrun it: queues are bounded by the 50
    users, latency has a steady value, and exact MVA gives X = 24.98/s, R = 1.002 s.
    4 × 5,000 s is about 125,000 requests per replication: the response time's standard
    error is under 1%, so 3% is a fair tolerance."""
    s = scenario(
        {
            "simulation": {"duration": "5000s", "warmup": "200s", "replications": 4},
            "workload": {"users": 50, "think_time": exp("1s")},
            "requests": {"r": {"steps": [{"call": "a"}, {"call": "b"}, {"call": "c"}]}},
            "components": {
                "a": {"type": "service", "service_time": exp("40ms")},
                "b": {"type": "service", "service_time": exp("30ms")},
                "c": {"type": "service", "service_time": exp("20ms")},
            },
        }
    )
    theory = analytic.mva([0.04, 0.03, 0.02], 1.0, 50)
    assert theory.throughput_rps == pytest.approx(24.98, abs=0.01)
    assert theory.response_s == pytest.approx(1.002, abs=0.001)
    result = run(s)
    assert not result["saturated"] and result["saturated_components"] == []
    assert rel(result["throughput_rps"], theory.throughput_rps) < 0.03
    assert rel(result["latency_s"]["mean"], theory.response_s) < 0.03
    assert result["latency_s"]["p95"] is not None
    assert result["constraints"][0]["component"] == "a"  # the bottleneck is named


def test_analytic_formulas_agree_with_each_other():
    """The oracle's own consistency: M/M/c with c = 1 is M/M/1 (exponential response), M/G/1
    with scv 1 is M/M/1, MVA with one user has no queueing, Erlang C of a single server is rho."""
    mm1 = analytic.mm1(0.6, 1.0)
    assert math.isclose(mm1.mean_response_s, 1 / 0.4)
    assert math.isclose(mm1.p95_response_s, math.log(20) / 0.4, rel_tol=1e-9)
    assert math.isclose(analytic.mg1(0.6, 1.0, 1.0).mean_response_s, mm1.mean_response_s)
    assert math.isclose(analytic.erlang_c(1, 0.6), 0.6)
    assert math.isclose(analytic.mva([0.1, 0.05], 1.0, 1).response_s, 0.15)
    with pytest.raises(ValueError):
        analytic.mmc(4.0, 1.0, 4)


def ec_m_1_sigma(lam: float, mu: float, c: int) -> float:
    """The root in (0, 1) of sigma = (lam / (lam + mu (1 - sigma)))^c: the Erlang-c
    interarrival time's Laplace transform at mu (1 - sigma)."""
    from scipy.optimize import brentq

    return float(brentq(lambda s: (lam / (lam + mu * (1 - s))) ** c - s, 1e-12, 1 - 1e-12))


def test_round_robin_replicas_are_ec_m_1_queues():
    """Round robin over c replicas of one worker each feeds every replica every c-th
    arrival of the Poisson stream: an E_c/M/1 queue per replica, whose sojourn time is
    exponential with rate mu (1 - sigma). c = 4, rho = 0.8 gives sigma = 0.69394 and mean
    sojourn 3.2674 / mu. 4 × 50,000 s is 640,000 requests; the mean's standard error is
    well under 1%, so 3% is fair (round robin is every bundled scenario's default)."""
    sigma = ec_m_1_sigma(3.2, 1.0, 4)
    assert sigma == pytest.approx(0.69394, abs=1e-5)
    theory = 1 / (1.0 * (1 - sigma))
    assert theory == pytest.approx(3.2674, abs=1e-4)
    s = single_station(
        "3.2/s", exp("1s"), replicas=4, balancing="round_robin", duration="50000s", warmup="500s"
    )
    result = run(s)
    assert rel(result["latency_s"]["mean"], theory) < 0.03
    # exponential sojourn: p95 = ln(20) / (mu (1 - sigma))
    assert rel(result["latency_s"]["p95"], math.log(20) * theory) < 0.05


def test_balancing_orders_shared_queue_least_connections_round_robin():
    """Four replicas of one worker at rho 0.8: one shared queue is M/M/4 (Erlang C), round
    robin is E_4/M/1 per replica, and least connections (join the shortest queue, ties
    rotated) lies strictly between: it sees the queues that round robin ignores, but a
    request still cannot move to a replica that frees up first. Each is checked against
    its own value, then the order (the gaps are far beyond the 1-2% noise)."""
    kw = {"replicas": 4, "duration": "50000s", "warmup": "500s"}
    means = {
        lb: run(single_station("3.2/s", exp("1s"), balancing=lb, **kw))["latency_s"]["mean"]
        for lb in ("shared_queue", "least_connections", "round_robin")
    }
    erlang = analytic.mmc(3.2, 1.0, 4).mean_response_s
    assert rel(means["shared_queue"], erlang) < 0.03
    assert rel(means["round_robin"], 1 / (1 - ec_m_1_sigma(3.2, 1.0, 4))) < 0.03
    assert means["shared_queue"] * 1.05 < means["least_connections"]
    assert means["least_connections"] * 1.2 < means["round_robin"]

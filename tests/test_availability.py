"""Availability as a figure: per run against slos.availability and its error budget,
recovery after events, and a month's estimate from the k-of-n Markov model."""

from __future__ import annotations

from typing import Any

import pytest

from capplan import simulate
from capplan.availability import monthly_availability
from capplan_helpers import cli, cluster_system, scenario


def served(failures: dict[str, Any], slos: dict[str, Any], **sim: Any) -> Any:
    return scenario(
        {
            "simulation": {
                "duration": "20min",
                "warmup": "0s",
                "replications": 3,
                "seed": 5,
                "window": "1min",
                **sim,
            },
            "workload": {"arrival_rate": "10/s"},
            "requests": {"r": {"steps": [{"call": "api"}]}},
            "components": {
                "api": {
                    "type": "service",
                    "replicas": 3,
                    "workers": 4,
                    "load_balancing": "round_robin",
                    "service_time": {"distribution": "exponential", "mean": "200ms"},
                }
            },
            "slos": slos,
            "failures": failures,
        }
    )


def test_availability_is_the_share_served_and_the_budget_burn_follows() -> None:
    # a brownout failing 10% of calls for 2 of the 20 minutes: about 1% of requests fail
    s = served(
        {
            "events": [
                {
                    "at": "5min",
                    "kind": "brownout",
                    "target": "api",
                    "duration": "2min",
                    "error_share": "10%",
                }
            ]
        },
        {"availability": "99.9%", "latency_p95": "1s"},
    )
    r = simulate(s)
    a = r["availability"]
    failed = sum(r["errors"].values()) / r["arrivals"]
    assert a["requests"] == pytest.approx(1 - failed, rel=1e-4)  # mean of replications
    assert 1 - a["requests"] == pytest.approx(0.01, rel=0.25)
    assert a["burn_rate"] == pytest.approx((1 - a["requests"]) / 0.001)
    assert a["error_budget_minutes_per_month"] == pytest.approx(43.8)
    row = next(x for x in r["slos"] if x["name"] == "availability")
    assert row["at_least"] and not row["passed"]
    # windows judged on p95 and (without error_rate) the budget's error share: the two
    # brownout windows miss, the other 18 hold
    assert a["windows_within_slo"] == pytest.approx(18 / 20)
    (event,) = a["events"]
    assert event["recovery_s"] == pytest.approx(120) and event["missed_windows"] == 2


def test_gate_fails_a_run_that_misses_its_availability(tmp_path: Any) -> None:
    import yaml

    path = tmp_path / "a.yaml"
    data = {
        "capplan": 1,
        "name": "a",
        "simulation": {"duration": "10min", "warmup": "0s", "replications": 3},
        "workload": {"arrival_rate": "10/s"},
        "requests": {"r": {"steps": [{"call": "api"}]}},
        "components": {"api": {"type": "service", "replicas": 2, "service_time": "10ms"}},
        "slos": {"availability": "99.9%"},
        "failures": {
            "events": [
                {
                    "at": "2min",
                    "kind": "brownout",
                    "target": "api",
                    "duration": "5min",
                    "error_share": "5%",
                }
            ]
        },
    }
    path.write_text(yaml.safe_dump(data))
    code, out, _ = cli("gate", str(path), "--no-progress")
    assert code == 1 and "availability" in out
    data["failures"] = None
    path.write_text(yaml.safe_dump(data))
    code, out, _ = cli("gate", str(path), "--no-progress")
    assert code == 0


def monthly_case(rate: str, workers: int) -> Any:
    return scenario(
        {
            "simulation": {"duration": "5min", "warmup": "30s", "replications": 3, "seed": 2},
            "workload": {"arrival_rate": rate},
            "requests": {"r": {"steps": [{"call": "api"}]}},
            "components": {
                "api": {
                    "type": "service",
                    "replicas": 3,
                    "workers": workers,
                    "service_time": {"distribution": "exponential", "mean": "100ms"},
                }
            },
            "slos": {"availability": "99.9%", "latency_p95": "3s"},
            "failures": {
                "random": {
                    "api": {
                        "pod_mtbf": "1h",
                        "restart": {"distribution": "constant", "value": "20min"},
                    }
                }
            },
        }
    )


def test_a_month_with_spare_pods_is_down_only_when_all_are() -> None:
    # light load: one pod of three carries it, so the month is unavailable only while
    # all three are down, (1 - a)^3, plus the few requests in service at each crash
    m = monthly_availability(monthly_case("1/s", 8))
    a = 60 / (60 + 20)
    assert m.availability == pytest.approx(1 - (1 - a) ** 3 - m.lost_share, abs=1e-4)
    assert m.lost_share < 1e-4
    assert m.low <= m.availability <= m.high
    assert m.violation_minutes == pytest.approx((1 - a) ** 3 * 730 * 60, rel=1e-6)


def test_a_month_without_spare_pods_misses_whenever_one_is_down() -> None:
    # 3 pods x 1 worker at 25/s of 100 ms: 2.5 busy; with one down the other two saturate
    m = monthly_availability(monthly_case("25/s", 1))
    a = 60 / (60 + 20)
    all_up = a**3
    assert m.violation_minutes == pytest.approx((1 - all_up) * 730 * 60, rel=1e-6)
    holds = {(st.component, st.down): st.slos_hold for st in m.states}
    assert holds == {(None, 0): True, ("api", 1): False, ("api", 2): False, ("api", 3): False}
    assert m.crashes_per_month["api"] == pytest.approx(3 * 730 / (80 / 60))


def test_a_month_needs_random_failures() -> None:
    from capplan.errors import SimulationError

    s = monthly_case("1/s", 8).model_copy(update={"failures": None})
    with pytest.raises(SimulationError, match=r"failures\.random"):
        monthly_availability(s)


def test_a_month_of_node_failures_loses_what_a_node_holds_in_service() -> None:
    """Each node failure fails exactly the requests in service on its two pods (nothing
    times out, and the four pods left have room): 8 workers x 15/24 busy = 5 requests
    on average; three nodes failing once in 30 days each is 3 x 730 / 720 a month."""
    # a lost node takes two of the six pods; the other four (16 workers) carry the load
    # until the autoscaler's node (or the replacement) takes the pods back
    s = cluster_system(None, mtbf="30d", duration="5min", warmup="60s", replications=4, seed=3)
    m = monthly_availability(s)
    n = m.node_failures
    assert n is not None
    assert n.nodes == pytest.approx(3)
    assert n.per_month == pytest.approx(3 * 730 / 720)
    low, high = n.failed_per_failure_ci95
    assert low <= 8 * 15 / 24 <= high and high - low < 8, n
    month = 50 * 730 * 3600
    assert n.lost_share == pytest.approx(n.per_month * n.failed_per_failure / month)
    assert m.availability == pytest.approx(1 - m.lost_share - n.lost_share, abs=1e-12)
    assert not n.undisturbed_saturated


@pytest.mark.parametrize(
    ("slos", "caused"),
    [
        # the failure's lost requests (a handful of 3,000 a window) break a 0.05% error
        # objective that the undisturbed run meets: its windows are the failure's
        ({"error_rate": "0.05%"}, True),
        # a p95 of 300 ms exponential service is ~0.9 s: every window is missed with or
        # without the failure, so none of them is the failure's
        ({"latency_p95": "100ms"}, False),
    ],
)
def test_node_failure_minutes_are_the_windows_it_caused(slos: dict, caused: bool) -> None:
    s = cluster_system(
        None, mtbf="30d", slos=slos, duration="5min", warmup="60s", replications=3, seed=3
    )
    n = monthly_availability(s).node_failures
    assert n is not None
    if caused:
        assert n.violation_s_per_failure >= 60, n
    else:
        assert n.violation_s_per_failure == 0, n


def test_node_failure_minutes_when_the_undisturbed_run_is_saturated() -> None:
    """120/s against 80/s of capacity: the undisturbed run is ended early as saturated (it
    has fewer windows than the episode) and misses its objective throughout, so none of
    the episode's windows is the failure's."""
    s = cluster_system(
        None, mtbf="30d", slos={"latency_p95": "2s"}, duration="5min", warmup="60s",
        replications=2, seed=3,
    )  # fmt: skip
    s = s.model_copy(update={"workload": s.workload.model_copy(update={"arrival_rate": 120.0})})
    n = monthly_availability(s).node_failures
    assert n is not None and n.violation_s_per_failure == 0, n
    # and the failed requests are flagged as judged against a system failing anyway
    assert n.undisturbed_saturated, n

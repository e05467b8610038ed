"""Engine semantics: layering, routing, caches, limits, timeouts, saturation, streams."""

from __future__ import annotations

import json

import pytest

from capplan import simulate
from capplan.report import dumps
from capplan.sim import run_replication
from capplan_helpers import exp, run, scenario, single_station


def two_tier(**front: object) -> dict:
    return {
        "simulation": {"duration": "20000s", "warmup": "200s", "replications": 3},
        "workload": {"arrival_rate": "1/s"},
        "requests": {"r": {"steps": [{"call": "front", "steps": [{"call": "db"}]}]}},
        "components": {
            "front": {"type": "service", "workers": 8, "service_time": "100ms", **front},
            "db": {"type": "database", "service_time": exp("200ms")},
        },
    }


def test_worker_is_held_while_it_waits_on_nested_steps():
    """Layered queueing: the front worker stays busy through the database call, so its
    busy time per request is its own 100 ms plus the database's response time."""
    result = run(scenario(two_tier()))
    front, db = result["components"]["front"], result["components"]["db"]
    db_response = 1 / (1 / 0.2 - 1)  # M/M/1 at rho 0.2: 0.25 s
    expected_busy = 1.0 * (0.1 + db_response) / 8
    assert front["utilization"] == pytest.approx(expected_busy, rel=0.03)
    assert db["utilization"] == pytest.approx(0.2, rel=0.03)
    assert result["latency_s"]["mean"] == pytest.approx(0.1 + db_response, rel=0.03)


def test_sibling_steps_release_before_the_next():
    """Siblings run one after another; the first releases its worker before the second."""
    s = scenario(
        {
            "simulation": {"duration": "20000s", "warmup": "100s", "replications": 2},
            "workload": {"arrival_rate": "1/s"},
            "requests": {"r": {"steps": [{"call": "a"}, {"call": "b"}]}},
            "components": {
                "a": {"type": "service", "workers": 4, "service_time": "100ms"},
                "b": {"type": "service", "workers": 4, "service_time": "300ms"},
            },
        }
    )
    comps = run(s)["components"]
    assert comps["a"]["utilization"] == pytest.approx(0.1 / 4, rel=0.03)
    assert comps["b"]["utilization"] == pytest.approx(0.3 / 4, rel=0.03)


def test_probability_repeat_and_step_service_time():
    s = scenario(
        {
            "simulation": {"duration": "20000s", "warmup": "100s", "replications": 2},
            "workload": {"arrival_rate": "2/s"},
            "requests": {
                "r": {
                    "steps": [
                        {"call": "a", "probability": "25%"},
                        {"call": "a", "repeat": 3, "service_time": "10ms"},
                    ]
                }
            },
            "components": {"a": {"type": "service", "workers": 100, "service_time": "1s"}},
        }
    )
    a = run(s)["components"]["a"]
    assert a["throughput_rps"] == pytest.approx(2 * (0.25 + 3), rel=0.02)
    # busy worker-seconds per second: 0.25 × 1 s + 3 × 10 ms per request
    assert a["utilization"] * 100 == pytest.approx(2 * (0.25 * 1 + 0.03), rel=0.03)


def test_cache_miss_runs_on_miss_after_release():
    s = scenario(
        {
            "simulation": {"duration": "20000s", "warmup": "100s", "replications": 2},
            "workload": {"arrival_rate": "5/s"},
            "requests": {"r": {"steps": [{"call": "cache", "on_miss": [{"call": "db"}]}]}},
            "components": {
                "cache": {"type": "cache", "workers": 4, "hit_ratio": "80%", "service_time": "1ms"},
                "db": {"type": "database", "workers": 4, "service_time": "50ms"},
            },
        }
    )
    comps = run(s)["components"]
    assert comps["db"]["throughput_rps"] == pytest.approx(5 * 0.2, rel=0.03)
    # the cache worker is not held during the database call
    assert comps["cache"]["utilization"] == pytest.approx(5 * 0.001 / 4, rel=0.03)


def test_shards_and_read_replicas_split_the_load():
    """Two shards, one primary and two read replicas each: writes reach primaries only;
    reads spread over all three instances of a shard."""
    s = scenario(
        {
            "simulation": {"duration": "20000s", "warmup": "100s", "replications": 2},
            "workload": {"arrival_rate": "6/s", "mix": {"read": 1, "write": 1}},
            "requests": {
                "read": {"steps": [{"call": "db", "op": "read"}]},
                "write": {"steps": [{"call": "db", "op": "write"}]},
            },
            "components": {
                "db": {
                    "type": "database",
                    "shards": 2,
                    "read_replicas": 2,
                    "workers": 2,
                    "service_time": "100ms",
                }
            },
        }
    )
    db = run(s)["components"]["db"]
    assert db["capacity"] == 2 * 3 * 2
    # 6/s × 100 ms = 0.6 busy workers over 12
    assert db["utilization"] == pytest.approx(0.6 / 12, rel=0.03)


@pytest.mark.parametrize("policy", ["round_robin", "least_connections"])
def test_per_replica_queues_wait_more_than_a_shared_queue(policy: str):
    """Four single-worker replicas with their own queues wait longer than one shared queue
    of four workers (the M/M/4 ideal); least connections sits between."""
    common = dict(workers=1, replicas=4, duration="20000s", warmup="200s", replications=3)
    shared = run(single_station("3.2/s", exp("1s"), balancing="shared_queue", **common))
    split = run(single_station("3.2/s", exp("1s"), balancing=policy, **common))
    assert split["latency_s"]["mean"] > shared["latency_s"]["mean"] * 1.1
    assert split["components"]["q"]["utilization"] == pytest.approx(0.8, rel=0.03)


def test_queue_limit_rejects_and_timeouts_count_as_errors():
    s = single_station("3/s", exp("1s"), workers=2, queue_limit=2, duration="5000s")
    result = run(s)
    assert set(result["errors"]) == {"rejected"}
    assert result["components"]["q"]["rejected"] == result["errors"]["rejected"]
    timed = scenario(
        {
            "simulation": {"duration": "5000s", "warmup": "100s", "replications": 2},
            "workload": {"arrival_rate": "0.8/s"},
            "requests": {"r": {"timeout": "2s", "steps": [{"call": "q"}]}},
            "components": {"q": {"type": "service", "service_time": exp("1s")}},
        }
    )
    out = run(timed)
    # M/M/1 at rho 0.8: response time exponential with rate 0.2, P(T > 2) = e^-0.4 ≈ 0.67
    assert out["errors"].keys() == {"timeout"}
    assert out["error_rate"] == pytest.approx(0.670, abs=0.04)
    # the server keeps working on requests the client gave up on: utilization stays 0.8
    assert out["components"]["q"]["utilization"] == pytest.approx(0.8, rel=0.05)


def test_saturation_ends_on_time_and_hides_meaningless_percentiles():
    """Five arrivals a second against two a second of capacity: the backlog grows 3/s, so
    by the end of the window (and a drain as long as the window) measured requests are
    still queued; they are counted as unfinished, and no percentile is given."""
    s = single_station("5/s", exp("1s"), workers=2, duration="2000s", replications=2)
    result = run(s)
    assert result["saturated"] is True
    assert result["components"]["q"]["saturated"] is True
    assert result["latency_s"]["p95"] is None
    assert result["errors"].get("unfinished", 0) > 0
    assert result["components"]["q"]["offered_load"] == pytest.approx(2.5, rel=0.05)
    assert result["requests"]["r"]["saturated_by"] == ["q"]


def test_little_law_holds_on_reported_numbers():
    """L = λW for the whole system and for each station's queue, on the numbers reported."""
    result = run(scenario(two_tier()))
    little = result["little"]
    assert little["mean_in_system"] == pytest.approx(
        little["arrival_rps"] * little["mean_sojourn_s"], rel=0.02
    )
    assert little["mean_in_system"] == pytest.approx(
        result["throughput_rps"] * result["latency_s"]["mean"], rel=0.02
    )
    db = result["components"]["db"]
    assert db["mean_queue_length"] == pytest.approx(
        db["throughput_rps"] * db["mean_wait_s"], rel=0.02
    )


def test_same_seed_gives_byte_identical_json_serial_or_parallel():
    s = scenario(two_tier())
    serial = dumps([simulate(s, jobs=1)])
    parallel = dumps([simulate(s, jobs=2)])
    assert serial == parallel
    other = dumps(
        [
            simulate(
                s.model_copy(update={"simulation": s.simulation.model_copy(update={"seed": 2})}),
                jobs=1,
            )
        ]
    )
    assert other != serial


def test_adding_a_component_does_not_change_another_components_draws():
    """Through the engine: a new component, created first and called first by the same
    request (a pass-through that takes no time, so nothing else moves), must leave every
    draw of the existing components as it was. Streams keyed by creation order of
    stations or steps would shift, and the existing components' figures would change."""
    base = two_tier()
    extra = json.loads(json.dumps(base))
    extra["components"] = {
        "aaa-gateway": {"type": "service", "workers": 100_000},
        **base["components"],
    }
    extra["requests"]["r"]["steps"] = [
        {"call": "aaa-gateway"},
        *base["requests"]["r"]["steps"],
    ]
    a, b = run_replication(scenario(base), 0), run_replication(scenario(extra), 0)
    for name in base["components"]:
        ma, mb = a.components[name], b.components[name]
        assert ma.arrivals == mb.arrivals
        assert ma.extra["mean_hold_s"] == mb.extra["mean_hold_s"], name
        assert ma.mean_wait_s == mb.mean_wait_s, name
    assert a.latency == b.latency


def test_replications_are_independent():
    s = scenario(two_tier())
    r0, r1 = run_replication(s, 0), run_replication(s, 1)
    assert r0.latency != r1.latency
    assert run_replication(s, 0).latency == r0.latency


def test_every_estimate_has_an_interval_even_with_no_errors():
    """With no failure in any replication the replications' spread is zero; the interval
    then comes from the exact binomial bound, about 3.7 / arrivals, not [0, 0]."""
    result = run(scenario(two_tier()))
    lo, hi = result["error_rate_ci95"]
    assert lo == 0.0
    assert hi == pytest.approx(3.689 / result["arrivals"], rel=0.01)
    lo, hi = result["throughput_rps_ci95"]
    assert lo < result["throughput_rps"] < hi
    for comp in result["components"].values():
        assert set(comp["ci95"]) >= {
            "utilization",
            "mean_queue_length",
            "mean_wait_s",
            "throughput_rps",
            "work_utilization",
        }
        for key, (lo, hi) in comp["ci95"].items():
            assert lo <= comp[key] <= hi

"""Invariants that must hold for any scenario, checked on generated ones (hypothesis)."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capplan import ScenarioError, simulate
from capplan.report import dumps
from capplan.scenario import Scenario, units
from capplan_helpers import exp, scenario, single_station

FAST = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])

means_ms = st.integers(min_value=5, max_value=500)
rho = st.floats(min_value=0.05, max_value=0.85)


@FAST
@given(mean=means_ms, util=rho, workers=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_same_seed_same_bytes(mean, util, workers, seed):
    rate = util * workers / (mean / 1000)
    s = single_station(
        f"{rate}/s",
        exp(f"{mean}ms"),
        workers=workers,
        duration="200s",
        warmup="10s",
        replications=2,
        seed=seed,
    )
    assert dumps([simulate(s, jobs=1)]) == dumps([simulate(s, jobs=1)])


@FAST
@given(
    mean=means_ms, util=st.floats(0.05, 0.6), factor=st.floats(1.05, 1.6), seed=st.integers(0, 999)
)
def test_more_load_never_lowers_utilization(mean, util, factor, seed):
    """Same seed: the arrival stream is the same sequence of exponentials rescaled, so the
    heavier run sees the same customers sooner (common random numbers). Utilization can
    only rise, up to the edge effects of a finite window (1%)."""
    rate = util / (mean / 1000)
    kwargs = dict(duration="300s", warmup="10s", replications=2, seed=seed)
    low = simulate(single_station(f"{rate}/s", exp(f"{mean}ms"), **kwargs), jobs=1)
    high = simulate(single_station(f"{rate * factor}/s", exp(f"{mean}ms"), **kwargs), jobs=1)
    assert high["components"]["q"]["utilization"] >= low["components"]["q"]["utilization"] * 0.99


@FAST
@given(util=st.floats(0.3, 0.75), replicas=st.integers(1, 4), seed=st.integers(0, 999))
def test_more_replicas_never_raise_p95(util, replicas, seed):
    """One more replica behind a shared queue, same customers: every wait is at most what
    it was (a c+1-server FIFO queue is never slower for the same arrivals and services),
    so p95 may not rise; 1% allows for the quantile interpolation. Utilization stays at or
    below 75% so that no short window is judged saturated."""
    rate = util * replicas
    kwargs = dict(duration="600s", warmup="10s", replications=2, seed=seed)
    fewer = simulate(single_station(f"{rate}/s", exp("1s"), replicas=replicas, **kwargs), jobs=1)
    more = simulate(single_station(f"{rate}/s", exp("1s"), replicas=replicas + 1, **kwargs), jobs=1)
    assert more["latency_s"]["p95"] <= fewer["latency_s"]["p95"] * 1.01


dist = st.one_of(
    st.integers(1, 900).map(lambda n: f"{n}ms"),
    st.integers(1, 900).map(lambda n: {"distribution": "exponential", "mean": f"{n}ms"}),
    st.tuples(st.integers(1, 900), st.floats(0.1, 3)).map(
        lambda t: {"distribution": "lognormal", "mean": f"{t[0]}ms", "cv": t[1]}
    ),
    st.tuples(st.integers(1, 900), st.floats(0.1, 3)).map(
        lambda t: {"distribution": "gamma", "mean": f"{t[0]}ms", "cv": t[1]}
    ),
)


@settings(max_examples=60, deadline=None)
@given(
    service=dist,
    workers=st.integers(1, 64),
    replicas=st.integers(1, 20),
    rate=st.floats(0.01, 1e4),
    probability=st.floats(0, 1),
    policy=st.sampled_from(["round_robin", "least_connections", "shared_queue"]),
)
def test_yaml_round_trip(service, workers, replicas, rate, probability, policy):
    s = scenario(
        {
            "workload": {"arrival_rate": f"{rate}/s"},
            "requests": {
                "r": {"timeout": "3s", "steps": [{"call": "a", "probability": probability}]}
            },
            "components": {
                "a": {
                    "type": "service",
                    "workers": workers,
                    "replicas": replicas,
                    "load_balancing": policy,
                    "service_time": service,
                }
            },
        }
    )
    text = yaml.safe_dump(s.model_dump(mode="json", by_alias=True, exclude_none=True))
    assert Scenario.model_validate(yaml.safe_load(text)) == s


@settings(max_examples=40, deadline=None)
@given(field=st.sampled_from(["workers", "replicas", "shards"]), value=st.integers(-1000, 0))
def test_every_non_positive_capacity_is_rejected(field, value):
    data = {
        "workload": {"arrival_rate": "1/s"},
        "requests": {"r": {"steps": [{"call": "db"}]}},
        "components": {"db": {"type": "database", field: value}},
    }
    try:
        scenario(data)
    except ScenarioError as exc:
        assert any(p.path == f"components.db.{field}" and p.value == value for p in exc.problems)
    else:
        raise AssertionError(f"{field}={value} accepted")


@given(st.floats(min_value=1e-9, max_value=1e7, allow_nan=False))
def test_duration_text_round_trip(x):
    assert units.parse_duration(f"{x!r}s") == x

"""Client behaviour on a step: retries, a timeout per call, a circuit breaker, fallback."""

from __future__ import annotations

from typing import Any

import pytest
from test_failures import Probe, system

from capplan.sim import run_replication
from capplan_helpers import cli


def test_one_retry_on_lost_saves_every_request_while_capacity_remains() -> None:
    kill = {"events": [{"at": "200s", "kind": "pod_kill", "target": "api", "count": 2}]}
    bare = run_replication(system(kill, rate="30/s"), 0)
    assert bare.types["r"].errors.get("lost", 0) > 0
    retried = system(
        kill,
        rate="30/s",
        steps=[
            {"call": "api", "retry": {"attempts": 2, "causes": ["lost"], "initial_delay": "0s"}}
        ],
    )
    rec = run_replication(retried, 0)
    assert rec.types["r"].errors == {}
    assert rec.types["r"].completed == rec.types["r"].arrivals


def storm(guard: dict[str, Any], duration: str = "900s") -> Any:
    """One pod of 10 workers at 60%, then a brownout that halves its capacity: calls
    queue past their 3 s timeout and are retried, while the server still works through
    the calls their clients gave up on."""
    return system(
        {
            "events": [
                {
                    "at": "100s",
                    "kind": "brownout",
                    "target": "api",
                    "duration": "200s",
                    "latency_factor": 2,
                }
            ]
        },
        rate="6/s",
        replicas=1,
        workers=10,
        service={"distribution": "constant", "value": "1s"},
        duration=duration,
        steps=[{"call": "api", "timeout": "3s", **guard}],
    )


RETRY = {"retry": {"attempts": 3, "causes": ["timeout"], "initial_delay": "100ms"}}


def test_a_retry_storm_multiplies_the_load_by_what_the_policy_implies() -> None:
    s = storm(RETRY)
    calls = Probe([200, 300], lambda st: st["api"].meter.arrivals)
    rec = run_replication(s, 0, (calls,))
    rate = (calls.seen[1] - calls.seen[0]) / 100
    # every attempt times out once the queue is past 3 s: each request makes all 3
    # attempts, 1 + p + p^2 with p = 1
    assert rate / 6 == pytest.approx(3, rel=0.08)
    requests = [w.offered for w in rec.windows if 200 <= w.start_s < 300]
    assert sum(requests) / 60 / len(requests) == pytest.approx(6, rel=0.15)


def errors_after(rec: Any, t: float) -> tuple[int, int]:
    late = [w for w in rec.windows if w.start_s >= t]
    return sum(sum(w.errors.values()) for w in late), sum(w.completed for w in late)


def test_without_a_breaker_the_storm_outlives_the_brownout() -> None:
    rec = run_replication(storm(RETRY), 0)
    failed, ok = errors_after(rec, 600)
    assert failed > 10 * ok  # metastable: the retries keep the queue past the timeout


def test_a_breaker_lets_the_system_recover_within_its_open_time() -> None:
    breaker = {"circuit_breaker": {"failure_ratio": "50%", "open_for": "30s"}}
    rec = run_replication(storm({**RETRY, **breaker}), 0)
    during = sum(w.errors.get("circuit_open", 0) for w in rec.windows if 100 <= w.start_s < 300)
    assert during > 0
    # the brownout ends at 300 s: clean from the first window after 300 + 30 s
    failed, ok = errors_after(rec, 360)
    assert failed == 0 and ok > 0


def test_a_fallback_answers_when_the_call_fails() -> None:
    s = system(
        {
            "events": [
                {
                    "at": "60s",
                    "kind": "brownout",
                    "target": "api",
                    "duration": "60s",
                    "error_share": "100%",
                }
            ]
        },
        rate="5/s",
        steps=[{"call": "api", "fallback": [{"call": "cache"}]}],
        extra={"cache": {"type": "cache", "hit_ratio": 1.0, "service_time": "1ms"}},
        duration="180s",
    )
    rec = run_replication(s, 0)
    assert rec.types["r"].errors == {}
    assert rec.components["cache"].arrivals == pytest.approx(5 * 60, rel=0.2)


def test_a_call_timeout_fails_the_call_when_the_caller_gives_up() -> None:
    s = system(
        {},
        rate="1/s",
        service={"distribution": "constant", "value": "2s"},
        steps=[{"call": "api", "timeout": "1s"}],
        duration="100s",
    )
    rec = run_replication(s, 0)
    t = rec.types["r"]
    assert t.completed == 0 and t.errors == {"timeout": t.arrivals}
    assert t.sojourn_sum_s == pytest.approx(t.arrivals * 1.0)


BASE = {
    "simulation": {"duration": "600s", "warmup": "0s"},
    "workload": {"arrival_rate": "1/s"},
    "components": {"api": {"type": "service", "service_time": "10ms"}},
}


@pytest.mark.parametrize(
    ("step", "key"),
    [
        ({"call": "api", "retry": {"causes": ["oops"]}}, "requests.r.steps[0].retry.causes[0]"),
        (
            {"call": "api", "circuit_breaker": {"failure_ratio": 1.5}},
            "requests.r.steps[0].circuit_breaker.failure_ratio",
        ),
        (
            {"call": "api", "circuit_breaker": {"failure_ratio": 0}},
            "requests.r.steps[0].circuit_breaker.failure_ratio",
        ),
        ({"call": "api", "fallback": [{"call": "nowhere"}]}, "requests.r.steps[0].fallback[0]"),
        ({"call": "api", "timeout": "-1s"}, "requests.r.steps[0].timeout"),
    ],
)
def test_bad_client_behaviour_is_located(tmp_path: Any, step: Any, key: str) -> None:
    import yaml

    path = tmp_path / "c.yaml"
    data = {"capplan": 1, "name": "c", **BASE, "requests": {"r": {"steps": [step]}}}
    path.write_text(yaml.safe_dump(data))
    code, _out, err = cli("simulate", str(path), "--no-progress")
    assert code == 2 and "Traceback" not in err
    assert str(path) in err and key in err, err

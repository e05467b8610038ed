"""LLM API quotas, 429s and retries; network links."""

from __future__ import annotations

import math

import pytest

from capplan import ScenarioError, analytic
from capplan.sim.stations.llm import Limiter, TokenBucket
from capplan_helpers import run, scenario


def llm_scenario(
    workload: dict,
    llm: dict,
    *,
    tokens: dict,
    duration: str = "3000s",
    warmup: str = "300s",
    replications: int = 2,
    timeout: str | None = None,
) -> dict:
    request: dict = {"steps": [{"call": "gpt", "tokens": tokens}]}
    if timeout:
        request["timeout"] = timeout
    return run(
        scenario(
            {
                "simulation": {
                    "duration": duration,
                    "warmup": warmup,
                    "replications": replications,
                },
                "workload": workload,
                "requests": {"r": request},
                "components": {
                    "gpt": {
                        "type": "llm_api",
                        "latency": {"base": "100ms"},
                        **llm,
                    }
                },
            }
        )
    )


def test_token_bucket_arithmetic():
    bucket = TokenBucket(rate=2.0, capacity=10.0)
    bucket.refill(0.0)
    assert bucket.shortfall_s(10) == 0
    bucket.level = 4.0
    assert bucket.shortfall_s(10) == pytest.approx(3.0)
    assert bucket.shortfall_s(11) == math.inf
    bucket.refill(100.0)
    assert bucket.level == 10.0  # never above capacity
    limiter = Limiter(rpm=60, tpm=600, burst_requests=None, burst_tokens=None)
    assert limiter.admit(0.0, 600) == 0.0  # a full minute's tokens at once
    assert limiter.admit(0.0, 10) == pytest.approx(1.0)  # 10 tokens at 10/s


@pytest.mark.parametrize(
    ("tokens", "expected_per_min"),
    [
        ({"input": 300, "output": 100}, 120.0),  # request quota binds: 120 rpm < 60,000 / 400
        ({"input": 800, "output": 200}, 60.0),  # token quota binds: 60,000 tpm / 1,000
    ],
)
def test_limiter_far_above_its_limits_admits_exactly_the_quota(tokens, expected_per_min):
    """Offered 10 calls/s against 2/s of request quota and 1,000 tokens/s: sustained
    admissions equal min(rpm, tpm / tokens per call) within 2%. No retries, so every
    refused call fails at once as rate_limited."""
    result = llm_scenario(
        {"arrival_rate": "10/s"},
        {
            "rate_limit": {"requests_per_minute": 120, "tokens_per_minute": 60000},
            "retry": {"attempts": 1},
        },
        tokens=tokens,
    )
    gpt = result["components"]["gpt"]
    assert gpt["requests_per_min"] == pytest.approx(expected_per_min, rel=0.02)
    assert result["errors"].keys() == {"rate_limited"}
    assert result["error_rate"] == pytest.approx(1 - expected_per_min / 600, rel=0.02)
    assert gpt["http_429_per_min"] == pytest.approx(600 - expected_per_min, rel=0.02)


def test_limiter_well_below_its_limits_never_refuses():
    result = llm_scenario(
        {"arrival_rate": "0.5/s"},
        {"rate_limit": {"requests_per_minute": 120, "tokens_per_minute": 60000}},
        tokens={"input": 300, "output": 100},
    )
    gpt = result["components"]["gpt"]
    assert gpt["http_429_per_min"] == 0
    assert result["error_rate"] == 0
    assert gpt["tokens_per_min"] == pytest.approx(0.5 * 60 * 400, rel=0.05)
    assert result["latency_s"]["mean"] == pytest.approx(0.1)


def two_users_at_once(retry: dict) -> dict:
    """Two users think exactly 1,000 s, so both call at t = 1,000 s; the request bucket
    holds one call and refills one a minute, so the second gets a 429 with a 60 s
    retry-after. Each user calls once inside the 1,500 s window."""
    return llm_scenario(
        {"users": 2, "think_time": "1000s"},
        {
            "rate_limit": {
                "requests_per_minute": 1,
                "tokens_per_minute": 1e9,
                "burst": {"requests": 1},
            },
            "retry": retry,
        },
        tokens={"input": 10, "output": 10},
        duration="1500s",
        warmup="0s",
        replications=1,
    )


def test_retry_waits_for_the_limiters_retry_after_when_it_is_later():
    result = two_users_at_once({"attempts": 3, "initial_delay": "1s", "backoff_factor": 2})
    # first call: 100 ms; second: 429 at 1,000 s, retried at 1,060 s, done at 1,060.1 s
    assert result["arrivals"] == 2 and result["error_rate"] == 0
    assert result["latency_s"]["mean"] == pytest.approx((0.1 + 60.1) / 2)
    assert result["components"]["gpt"]["retries_per_min"] == pytest.approx(60 / 1500)


def test_retry_waits_for_the_backoff_when_it_is_later():
    result = two_users_at_once({"attempts": 3, "initial_delay": "100s", "backoff_factor": 2})
    assert result["latency_s"]["mean"] == pytest.approx((0.1 + 100.1) / 2)


def test_backoff_grows_by_its_factor_and_the_last_429_fails_the_request():
    """Three users call at 1,000 s against one call a minute, two attempts each. The first
    is admitted; the other two get 429s with a 60 s retry-after (longer than the 1 s
    backoff) and retry at 1,060 s, in the order they were refused: the second is admitted,
    the third is refused on its last attempt and fails as rate_limited."""
    result = llm_scenario(
        {"users": 3, "think_time": "1000s"},
        {
            "rate_limit": {
                "requests_per_minute": 1,
                "tokens_per_minute": 1e9,
                "burst": {"requests": 1},
            },
            "retry": {"attempts": 2, "initial_delay": "1s"},
        },
        tokens={"input": 10, "output": 10},
        duration="1500s",
        warmup="0s",
        replications=1,
    )
    # one succeeds at once, one after a retry, one exhausts its two attempts
    assert result["arrivals"] == 3
    assert result["errors"] == {"rate_limited": 1}
    assert result["latency_s"]["mean"] == pytest.approx((0.1 + 60.1) / 2)


def test_a_steps_retry_wraps_the_llm_clients_own_retries():
    """The client's 429 retries are the step runner's, nested inside the step's own: as
    in the test above, the third user's two client attempts (1,000 s and 1,060 s) get
    429s, but the step retries ``rate_limited`` once after 30 s: at 1,090 s the bucket
    holds half a call, a 429 with a 30 s retry-after, and the client's second attempt is
    admitted at 1,120 s. Four 429s; one client call failed, no request did."""
    request = {
        "steps": [
            {
                "call": "gpt",
                "tokens": {"input": 10, "output": 10},
                "retry": {"attempts": 2, "causes": ["rate_limited"], "initial_delay": "30s"},
            }
        ]
    }
    result = run(
        scenario(
            {
                "simulation": {"duration": "1500s", "warmup": "0s", "replications": 1},
                "workload": {"users": 3, "think_time": "1000s"},
                "requests": {"r": request},
                "components": {
                    "gpt": {
                        "type": "llm_api",
                        "latency": {"base": "100ms"},
                        "rate_limit": {
                            "requests_per_minute": 1,
                            "tokens_per_minute": 1e9,
                            "burst": {"requests": 1},
                        },
                        "retry": {"attempts": 2, "initial_delay": "1s"},
                    }
                },
            }
        )
    )
    assert result["arrivals"] == 3 and result["error_rate"] == 0
    assert result["latency_s"]["mean"] == pytest.approx((0.1 + 60.1 + 120.1) / 3)
    gpt = result["components"]["gpt"]
    assert gpt["http_429_per_min"] * 1500 / 60 == pytest.approx(4)
    assert gpt["rate_limited_per_min"] * 1500 / 60 == pytest.approx(1)


def test_cache_hits_spend_no_tokens_and_cost_is_priced_per_month():
    """0.1 calls/s of 1,000 input and 500 output tokens at $0.01 and $0.03 per 1K: $0.025 a
    call, $6,570 a 730-hour month without cache; a 50% hit ratio halves it. 2 × 20,000 s
    gives ~4,000 calls, so the Poisson noise on the rate is under 2%; 5% tolerance."""
    common = {
        "rate_limit": {"requests_per_minute": 1000, "tokens_per_minute": 1e7},
        "pricing": {"input_per_1k": 0.01, "output_per_1k": 0.03},
    }
    tokens = {"input": 1000, "output": 500}
    plain = llm_scenario({"arrival_rate": "0.1/s"}, common, tokens=tokens, duration="20000s")
    cached = llm_scenario(
        {"arrival_rate": "0.1/s"},
        {**common, "cache_hit_ratio": "50%"},
        tokens=tokens,
        duration="20000s",
    )
    assert plain["components"]["gpt"]["cost_per_month_usd"] == pytest.approx(6570, rel=0.05)
    assert cached["components"]["gpt"]["cost_per_month_usd"] == pytest.approx(6570 / 2, rel=0.05)
    assert cached["components"]["gpt"]["cache_hits_per_min"] == pytest.approx(3, rel=0.05)


def test_link_with_constant_payloads_is_md1():
    """1.25 MB payloads over 1 Gbps take exactly 10 ms; at 70 a second the request
    direction is an M/D/1 queue at rho 0.7. 2 × 3,000 s is 420,000 transfers."""
    s = scenario(
        {
            "simulation": {"duration": "3000s", "warmup": "100s", "replications": 2},
            "workload": {"arrival_rate": "70/s"},
            "requests": {
                "r": {"steps": [{"call": "app", "via": "lan", "request_bytes": "1.25MB"}]}
            },
            "components": {
                "app": {"type": "service", "workers": 1000},
                "lan": {"type": "link", "bandwidth": "1Gbps"},
            },
        }
    )
    result = run(s)
    theory = analytic.mg1(70, 0.010, 0.0)
    assert result["latency_s"]["mean"] == pytest.approx(theory.mean_response_s, rel=0.03)
    lan = result["components"]["lan"]
    assert lan["utilization"] == pytest.approx(0.7, rel=0.02)
    assert lan["bytes_per_s"] == pytest.approx(70 * 1.25e6, rel=0.02)
    assert lan["constraints"]["bandwidth"] == pytest.approx(0.7, rel=0.02)
    assert result["constraints"][0]["component"] == "lan"


def test_link_propagation_latency_adds_both_ways():
    s = scenario(
        {
            "simulation": {"duration": "100s", "warmup": "10s", "replications": 2},
            "workload": {"arrival_rate": "1/s"},
            "requests": {"r": {"steps": [{"call": "app", "via": "wan"}]}},
            "components": {
                "app": {"type": "service", "workers": 100, "service_time": "5ms"},
                "wan": {"type": "link", "bandwidth": "1Gbps", "latency": "40ms"},
            },
        }
    )
    assert run(s)["latency_s"]["mean"] == pytest.approx(0.085)


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"call": "lan"}, "a link is crossed with 'via', not called"),
        ({"call": "app", "via": "app"}, "must name a link (app is a service)"),
        ({"call": "app", "via": "nowhere"}, "names an undefined component"),
        ({"call": "gpt"}, "a call to an llm_api needs tokens"),
        ({"call": "app", "tokens": {"input": 5}}, "tokens apply to llm_api components"),
        ({"call": "app", "request_bytes": "5KB"}, "payload sizes need 'via: <link>'"),
    ],
)
def test_misuse_of_links_and_llms_is_rejected(step, message):
    data = {
        "workload": {"arrival_rate": "1/s"},
        "requests": {"r": {"steps": [step]}},
        "components": {
            "app": {"type": "service"},
            "lan": {"type": "link", "bandwidth": "1Gbps"},
            "gpt": {
                "type": "llm_api",
                "latency": {"base": "1s"},
                "rate_limit": {"requests_per_minute": 10, "tokens_per_minute": 1000},
            },
        },
    }
    with pytest.raises(ScenarioError) as info:
        scenario(data)
    assert any(message in str(p) for p in info.value.problems), info.value.problems


@pytest.mark.parametrize(("scale", "expected"), [(1, 0.4), (2, 0.8)])
def test_background_traffic_takes_its_share_and_grows_with_load(scale, expected):
    s = scenario(
        {
            "load_scale": scale,
            "simulation": {"duration": "2000s", "warmup": "100s", "replications": 2},
            "workload": {"arrival_rate": "1/s"},
            "requests": {"r": {"steps": [{"call": "app", "via": "lan", "request_bytes": "1KB"}]}},
            "components": {
                "app": {"type": "service", "workers": 10},
                "lan": {"type": "link", "bandwidth": "1Gbps", "background": "400Mbps"},
            },
        }
    )
    lan = run(s)["components"]["lan"]
    assert lan["request_utilization"] == pytest.approx(expected, rel=0.03)
    assert lan["response_utilization"] == pytest.approx(expected, rel=0.03)


def test_who_waits_on_whom():
    from capplan.scenario.graph import waits_on

    s = scenario(
        {
            "workload": {"arrival_rate": "1/s"},
            "requests": {
                "r": {
                    "steps": [
                        {
                            "call": "api",
                            "steps": [
                                {"call": "cache", "on_miss": [{"call": "db", "via": "lan"}]},
                            ],
                        }
                    ]
                }
            },
            "components": {
                "api": {"type": "service"},
                "cache": {"type": "cache", "hit_ratio": 0.5},
                "db": {"type": "database"},
                "lan": {"type": "link", "bandwidth": "1Gbps"},
            },
        }
    )
    graph = waits_on(s)
    assert graph["api"] == {"cache", "db", "lan"}  # the miss is fetched by the api worker
    assert graph["cache"] == frozenset()
    assert graph["db"] == frozenset()


def test_a_call_lasts_its_base_latency_plus_each_output_token():
    """Constant base 100 ms and 20 ms per output token: a call with 50 output tokens takes
    exactly 1.1 s, and with output tokens exponential of mean 50 its mean is 1.1 s too
    (duration is linear in the tokens). No quota is near, so nothing else adds time."""

    def llm(output: object) -> dict:
        return scenario(
            {
                "simulation": {"duration": "2000s", "warmup": "10s", "replications": 2},
                "workload": {"arrival_rate": "0.5/s"},
                "requests": {
                    "r": {"steps": [{"call": "gpt", "tokens": {"input": 10, "output": output}}]}
                },
                "components": {
                    "gpt": {
                        "type": "llm_api",
                        "rate_limit": {"requests_per_minute": 1e6, "tokens_per_minute": 1e9},
                        "latency": {"base": "100ms", "per_output_token": "20ms"},
                    }
                },
            }
        )

    fixed = run(llm(50))
    assert fixed["latency_s"]["mean"] == pytest.approx(1.1, rel=1e-9)
    assert fixed["latency_s"]["p50"] == pytest.approx(1.1, rel=0.006)  # sketch resolution
    varied = run(llm({"distribution": "exponential", "mean": 50}))
    # 2,000 calls of sd 1 s: the mean's standard error is 2.2%; 7% is three of them
    assert varied["latency_s"]["mean"] == pytest.approx(1.1, rel=0.07)

"""`choice` steps: exactly one branch per request, checked against a Jackson network with
branching and against the latency distribution exclusive branches imply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from capplan.analytic.layered import analyze
from capplan_helpers import cli, exp, run, scenario


def branching(service: dict[str, Any], rate: str, **sim: Any) -> Any:
    return scenario(
        {
            "simulation": {"replications": 4, **sim},
            "workload": {"arrival_rate": rate},
            "requests": {
                "r": {
                    "steps": [
                        {"call": "a"},
                        {
                            "choice": [
                                {"weight": 60, "steps": [{"call": "b"}]},
                                {"weight": 40, "steps": [{"call": "c"}]},
                            ]
                        },
                    ]
                }
            },
            "components": {
                name: {"type": "service", "workers": 1, "service_time": st}
                for name, st in service.items()
            },
        }
    )


def test_a_choice_is_a_jackson_network_with_branching() -> None:
    """A (M/M/1, mu 10) then B (mu 10) with 0.6 or C (mu 5) with 0.4, at 5/s: B sees 3/s,
    C 2/s; each station is M/M/1 at its own rate, so the mean sojourn is
    1/(10-5) + 0.6/(10-3) + 0.4/(5-2) = 0.419 s."""
    s = branching(
        {"a": exp("100ms"), "b": exp("100ms"), "c": exp("200ms")},
        "5/s",
        duration="20000s",
        warmup="500s",
    )
    result = run(s)
    comps = result["components"]
    for name, rate in (("a", 5.0), ("b", 3.0), ("c", 2.0)):
        low, high = comps[name]["ci95"]["throughput_rps"]
        assert low * 0.99 <= rate <= high * 1.01, (name, comps[name]["throughput_rps"])
    exact = 1 / (10 - 5) + 0.6 / (10 - 3) + 0.4 / (5 - 2)
    low, high = result["latency_s"]["ci95"]["mean"]
    assert low * 0.98 <= exact <= high * 1.02, result["latency_s"]
    # the analytic model walks the branches at their shares too
    approx = analyze(s)
    assert approx["components"]["b"]["utilization"] == pytest.approx(0.3)
    assert approx["components"]["c"]["utilization"] == pytest.approx(0.4)
    assert approx["latency_mean_s"] == pytest.approx(exact, rel=1e-6)


def test_exactly_one_branch_runs() -> None:
    """Constant 10 ms at A, 100 ms at B, 1 s at C, at a load that never queues: every
    latency is 110 ms or 1.01 s, so p95 is 1.01 s. Independent 60% and 40% steps would
    give the same means but 1.11 s for the 24% that take both, and p95 there."""
    s = branching(
        {"a": "10ms", "b": "100ms", "c": "1s"},
        "0.05/s",
        duration="40000s",
        warmup="0s",
    )
    lat = run(s)["latency_s"]
    assert lat["p95"] == pytest.approx(1.01, rel=0.01)
    assert lat["p50"] == pytest.approx(0.11, rel=0.01)
    assert lat["mean"] == pytest.approx(0.01 + 0.6 * 0.1 + 0.4 * 1.0, rel=0.03)


@pytest.mark.parametrize(
    ("choice_step", "key", "message"),
    [
        (
            {
                "choice": [
                    {"weight": 0, "steps": [{"call": "b"}]},
                    {"weight": 1, "steps": [{"call": "c"}]},
                ]
            },
            ".choice[0].weight",
            "greater than 0",
        ),
        (
            {
                "choice": [
                    {"weight": -2, "steps": [{"call": "b"}]},
                    {"weight": 1, "steps": [{"call": "c"}]},
                ]
            },
            ".choice[0].weight",
            "greater than 0",
        ),
        (
            {
                "call": "b",
                "choice": [
                    {"weight": 1, "steps": [{"call": "b"}]},
                    {"weight": 1, "steps": [{"call": "c"}]},
                ],
            },
            ":",
            "either 'call' or 'choice'",
        ),
        (
            {
                "choice": [
                    {"weight": 1, "steps": [{"call": "b"}]},
                    {"weight": 1, "steps": [{"call": "nope"}]},
                ]
            },
            ".choice[1].steps[0].call",
            "undefined component",
        ),
    ],
)
def test_a_bad_choice_names_file_line_and_key(
    tmp_path: Path, choice_step: dict[str, Any], key: str, message: str
) -> None:
    data = {
        "capplan": 1,
        "name": "bad",
        "workload": {"arrival_rate": "1/s"},
        "requests": {"r": {"steps": [{"call": "a"}, choice_step]}},
        "components": {n: {"type": "service", "service_time": "10ms"} for n in "abc"},
    }
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    code, _, err = cli("validate", str(path))
    assert code == 2 and "Traceback" not in err
    assert f"{path}:" in err and message in err, err
    assert f"requests.r.steps[1]{key}" in err, err

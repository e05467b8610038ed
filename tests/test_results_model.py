"""The typed result: the same figures as the JSON form, read back from it unchanged."""

from __future__ import annotations

import json

from capplan.api import run, simulate
from capplan.files import to_json
from capplan.results.model import Component, Result
from capplan_helpers import exp, scenario


def _scenario():  # type: ignore[no-untyped-def]
    return scenario(
        {
            "simulation": {"duration": "300s", "warmup": "30s", "replications": 3, "seed": 4},
            "workload": {"arrival_rate": "20/s"},
            "slos": {"latency_p95": "300ms", "max_utilization": "60%"},
            "requests": {"r": {"steps": [{"call": "api", "steps": [{"call": "db"}]}]}},
            "components": {
                "api": {"type": "service", "workers": 4, "service_time": exp("50ms")},
                "db": {"type": "database", "workers": 2, "service_time": exp("20ms")},
            },
        }
    )


def test_the_typed_result_holds_the_json_forms_figures() -> None:
    s = _scenario()
    typed, plain = run(s), simulate(s)
    assert typed.to_dict() == plain  # the edge gives the documented form, unchanged
    again = Result.of(json.loads(to_json(plain)))  # as read back from a --json file
    for r in (typed, again):
        assert r.latency.p95 == plain["latency_s"]["p95"]
        assert list(r.latency.ci95["p95"] or ()) == plain["latency_s"]["ci95"]["p95"]
        assert r.components["db"].utilization == plain["components"]["db"]["utilization"]
        assert [(o.name, o.scope, o.passed) for o in r.objectives] == [
            (row["name"], row["scope"], row["passed"]) for row in plain["slos"]
        ]
        first = plain["constraints"][0]
        assert (r.constraints[0].component, r.constraints[0].resource) == (
            first["component"],
            first["resource"],
        )
        assert r.slos_hold == all(row["passed"] for row in plain["slos"])
        assert {o.label for o in r.missed} == {
            row["name"] if row["scope"] == "all" else f"{row['name']} [{row['scope']}]"
            for row in plain["slos"]
            if not row["passed"]
        }


def test_a_components_load_is_its_busy_share_its_offered_load_when_saturated_or_its_cpu() -> None:
    def c(util: float, offered: float, saturated: bool, cpu: float | None) -> Component:
        return Component(util, offered, saturated, 1.0, 0.0, {}, cpu, None, {})

    assert c(0.5, 0.5, False, None).load == 0.5
    assert c(1.0, 1.7, True, None).load == 1.7  # busy all the time, and 70% more asked
    assert c(0.5, 0.5, False, 0.8).load == 0.8
    assert c(1.0, 1.7, True, 2.0).load == 2.0

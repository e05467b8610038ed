"""The bundled scenarios of the scaling guide's system."""

from __future__ import annotations

from pathlib import Path

import pytest

from capplan import load_scenario, simulate, with_overrides

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def run(name: str, replications: int, duration_s: float | None = None) -> dict:
    s = load_scenario(SCENARIOS / f"{name}.yaml")
    return simulate(with_overrides(s, replications=replications, duration_s=duration_s))


@pytest.fixture(scope="module")
def current():
    return run("current", 3)


@pytest.fixture(scope="module")
def tenfold():
    return run("10x", 2, 300)


@pytest.fixture(scope="module")
def planned():
    return run("10x-planned", 2, 300)


def test_all_bundled_scenarios_validate():
    files = sorted(SCENARIOS.glob("*.yaml"))
    assert {f.stem for f in files} >= {"current", "10x", "10x-planned"}
    for f in files:
        load_scenario(f)


def test_current_cpu_and_network_land_where_the_guide_observes_them(current):
    """The guide observes 40-60% CPU and 30-40% network today."""
    for name in ("mcp-server", "marketing-agents"):
        cpu = current["components"][name]["cpu_utilization"]
        assert 0.40 <= cpu <= 0.60, (name, cpu)
    assert 0.30 <= current["components"]["network"]["utilization"] <= 0.40


def test_current_meets_the_guides_success_criteria_and_uses_the_llm_within_quota(current):
    assert not current["saturated"]
    assert all(s["passed"] for s in current["slos"])
    openai = current["components"]["openai"]
    assert openai["requests_per_min_limit"] == 100 and openai["tokens_per_min_limit"] == 10000
    assert 0 < openai["tokens_per_min"] < 10000
    assert current["constraints"][0] == {
        "component": "openai",
        "resource": "tokens_per_minute",
        "utilization": openai["constraints"]["tokens_per_minute"],
    }


def test_tenfold_load_saturates_the_unchanged_system_at_the_network(tenfold):
    assert tenfold["load_scale"] == 10
    assert tenfold["saturated"] is True
    assert "network" in tenfold["saturated_components"]
    # agents and the MCP server are full because they wait on the network, not the cause
    assert tenfold["constraints"][0]["component"] == "network"
    assert tenfold["latency_s"]["p95"] is None
    assert not all(s["passed"] for s in tenfold["slos"])


def test_the_guides_plan_holds_its_success_criteria_at_tenfold_load(planned):
    assert not planned["saturated"]
    overall = {s["name"]: s for s in planned["slos"] if s["scope"] == "all"}
    assert overall["latency_p95"]["passed"] and overall["error_rate"]["passed"]
    assert planned["components"]["network"]["utilization"] < 0.5
    assert planned["components"]["openai"]["cache_hits_per_min"] > 0

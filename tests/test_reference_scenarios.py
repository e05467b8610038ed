"""The bundled scenarios of the scaling guide's system."""

from __future__ import annotations

from pathlib import Path

import pytest

from capplan import load_scenario, simulate, with_overrides

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


@pytest.fixture(scope="module")
def current():
    s = with_overrides(load_scenario(SCENARIOS / "current.yaml"), replications=3)
    return simulate(s)


@pytest.fixture(scope="module")
def tenfold():
    s = with_overrides(load_scenario(SCENARIOS / "10x.yaml"), replications=2, duration_s=300)
    return simulate(s)


def test_all_bundled_scenarios_validate():
    files = sorted(SCENARIOS.glob("*.yaml"))
    assert files
    for f in files:
        load_scenario(f)


def test_current_cpu_lands_where_the_guide_observes_it(current):
    """The guide observes 40-60% CPU today on the services."""
    for name in ("mcp-server", "marketing-agents"):
        cpu = current["components"][name]["cpu_utilization"]
        assert 0.40 <= cpu <= 0.60, (name, cpu)


def test_current_meets_the_guides_success_criteria(current):
    assert not current["saturated"]
    assert current["error_rate"] < 0.01
    overall = [s for s in current["slos"] if s["scope"] == "all"]
    assert overall and all(s["passed"] for s in overall)


def test_tenfold_load_saturates_the_unchanged_system(tenfold):
    assert tenfold["load_scale"] == 10
    assert tenfold["saturated"] is True
    assert "mcp-server" in tenfold["saturated_components"]
    assert tenfold["latency_s"]["p95"] is None
    assert not all(s["passed"] for s in tenfold["slos"])

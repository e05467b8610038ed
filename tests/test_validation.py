"""Bad input: every problem at once, each with file, line, YAML path and value; exit code 2."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from capplan import ScenarioError, load_scenario
from capplan.scenario import units

GOOD = """\
capplan: 1
name: shop
workload:
  arrival_rate: 5/s
requests:
  browse:
    steps:
      - call: api
components:
  api:
    type: service
    workers: 4
    service_time: 20ms
"""


def problems_of(path) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return [str(p) for p in info.value.problems]


def test_good_file_loads(tmp_scenarios):
    s = load_scenario(tmp_scenarios("ok.yaml", GOOD))
    assert s.components["api"].capacity == 4
    assert s.arrival_rate == 5.0


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "    workers: 4",
            "    workers: 0",
            "ok.yaml:12 components.api.workers: must be greater than 0 (got 0)",
        ),
        (
            "    workers: 4",
            "    workerz: 4",
            "ok.yaml:12 components.api.workerz: unknown key; did you mean 'workers'?",
        ),
        (
            "service_time: 20ms",
            "service_time: 20",
            "ok.yaml:13 components.api.service_time: a duration needs a unit",
        ),
        (
            "service_time: 20ms",
            "service_time: 20 parsecs",
            "ok.yaml:13 components.api.service_time: expected a duration",
        ),
        (
            "arrival_rate: 5/s",
            "arrival_rate: 5",
            "ok.yaml:4 workload.arrival_rate: a rate needs a unit",
        ),
        (
            "      - call: api",
            "      - call: apx",
            "ok.yaml:8 requests.browse.steps[0].call: calls an undefined component (got 'apx')",
        ),
        (
            "      - call: api",
            "      - {call: api, probability: 1.5}",
            "ok.yaml:8 requests.browse.steps[0].probability: a bare number is a fraction of 1: write '1.5%' for 1.5 percent (got 1.5)",
        ),
        (
            "      - call: api",
            "      - {call: api, probability: -10%}",
            "requests.browse.steps[0].probability",
        ),
        ("    type: service", "    type: servce", "ok.yaml:11 components.api.type: unknown type"),
        ("capplan: 1", "capplan: 2", "ok.yaml:1 capplan: must be 1 (got 2)"),
        (
            "  arrival_rate: 5/s",
            "  arrival_rate: 5/s\n  users: 10",
            "ok.yaml:3 workload: give exactly one of",
        ),
    ],
)
def test_each_problem_is_located(tmp_scenarios, old, new, expected):
    path = tmp_scenarios("ok.yaml", GOOD.replace(old, new))
    found = problems_of(path)
    assert any(expected in p for p in found), found


def test_every_problem_reported_at_once(tmp_scenarios):
    text = GOOD.replace("workers: 4", "workers: -1").replace("call: api", "call: nope")
    text += "  db:\n    type: database\n    replicas: 0\n"
    text = text.replace("arrival_rate: 5/s", "arrival_rate: 5/s\n  mix: {browse: 1, buy: 2}")
    found = problems_of(tmp_scenarios("many.yaml", text))
    assert len(found) == 4, found
    joined = "\n".join(found)
    for part in ("workers", "calls an undefined component", "replicas", "mix.buy"):
        assert part in joined


def test_misplaced_step_options(tmp_scenarios):
    text = GOOD.replace(
        "      - call: api", "      - {call: api, op: read, on_miss: [{call: api}]}"
    )
    joined = "\n".join(problems_of(tmp_scenarios("x.yaml", text)))
    assert "op applies to database components" in joined
    assert "only cache components miss" in joined


def test_yaml_syntax_error_has_a_line(tmp_scenarios):
    found = problems_of(tmp_scenarios("bad.yaml", GOOD.replace("  api:\n", "  api: [\n")))
    assert found[0].startswith("bad.yaml:") or "bad.yaml:" in found[0]
    assert "not valid YAML" in found[0]


def test_duplicate_keys_are_errors(tmp_scenarios):
    found = problems_of(tmp_scenarios("dup.yaml", GOOD + "name: again\n"))
    assert any("dup.yaml:14 name: duplicate key" in p for p in found)


def test_missing_file_and_non_mapping(tmp_scenarios, tmp_path):
    assert "file not found" in problems_of(tmp_path / "absent.yaml")[0]
    assert "must be a YAML mapping" in problems_of(tmp_scenarios("list.yaml", "- 1\n- 2\n"))[0]


def test_extends_merges_and_locates_lines_in_the_right_file(tmp_scenarios):
    tmp_scenarios("base.yaml", GOOD)
    child = tmp_scenarios(
        "child.yaml",
        "capplan: 1\nextends: base.yaml\nname: child\nload_scale: 10\n"
        "components:\n  api:\n    workers: 8\n",
    )
    s = load_scenario(child)
    assert (s.name, s.load_scale, s.components["api"].workers) == ("child", 10.0, 8)
    assert s.components["api"].service_time.mean == pytest.approx(0.02)  # kept from base
    assert s.arrival_rate == pytest.approx(50.0)
    broken = tmp_scenarios(
        "child2.yaml", "capplan: 1\nextends: base.yaml\ncomponents:\n  api:\n    replicas: 0\n"
    )
    found = problems_of(broken)
    assert found == [f"{broken}:5 components.api.replicas: must be greater than 0 (got 0)"]


def test_extends_lists_replace(tmp_scenarios):
    tmp_scenarios("base.yaml", GOOD + "  db:\n    type: database\n    service_time: 5ms\n")
    child = tmp_scenarios(
        "child.yaml",
        "capplan: 1\nextends: base.yaml\nrequests:\n  browse:\n    steps:\n      - call: db\n",
    )
    steps = load_scenario(child).requests["browse"].steps
    assert [st.call for st in steps] == ["db"]


def test_extends_cycle_is_an_error(tmp_scenarios):
    tmp_scenarios("a.yaml", "capplan: 1\nextends: b.yaml\n")
    b = tmp_scenarios("b.yaml", "capplan: 1\nextends: a.yaml\n")
    found = problems_of(b)
    assert "a.yaml:2 extends: cycle: b.yaml -> a.yaml -> b.yaml" in found[0]


def test_scale_override_replaces_load_scale(tmp_scenarios):
    path = tmp_scenarios("s.yaml", GOOD.replace("name: shop", "name: shop\nload_scale: 3"))
    assert load_scenario(path).arrival_rate == 15.0
    assert load_scenario(path, load_scale=10).arrival_rate == 50.0


def test_cli_exit_code_2_without_traceback_and_output_untouched(tmp_scenarios, tmp_path):
    bad = tmp_scenarios("bad.yaml", GOOD.replace("workers: 4", "workers: 0"))
    out = tmp_path / "out.json"
    out.write_text("previous results\n")
    proc = subprocess.run(
        [sys.executable, "-m", "capplan", "simulate", str(bad), "--json", str(out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert f"{bad}:12 components.api.workers: must be greater than 0 (got 0)" in proc.stderr
    assert out.read_text() == "previous results\n"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("250ms", 0.25), ("2s", 2), ("1.5min", 90), ("1h", 3600), ("100us", 1e-4), (0, 0)],
)
def test_durations(text, seconds):
    assert units.parse_duration(text) == pytest.approx(seconds)


def test_other_units():
    assert units.parse_rate("300/min") == pytest.approx(5)
    assert units.parse_bytes("4Gi") == 4 * 2**30
    assert units.parse_bytes("500MB") == 5e8
    assert units.parse_cpu("500m") == 0.5
    assert units.parse_cpu(2) == 2
    assert units.parse_fraction("70%") == pytest.approx(0.7)
    for bad in ("fast", True, "5 /fortnight"):
        with pytest.raises(ValueError):
            units.parse_rate(bad)


def test_lognormal_parametrizations(tmp_scenarios):
    text = GOOD.replace(
        "service_time: 20ms",
        textwrap.dedent(
            """\
            service_time: {distribution: lognormal, p50: 20ms, p95: 10ms}"""
        ),
    )
    assert any(
        "p95 must be greater than p50" in p for p in problems_of(tmp_scenarios("l.yaml", text))
    )
    text = GOOD.replace("service_time: 20ms", "service_time: {distribution: lognormal, mean: 20ms}")
    assert any("give either" in p for p in problems_of(tmp_scenarios("l2.yaml", text)))

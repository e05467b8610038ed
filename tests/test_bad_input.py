"""Bad input of every kind the command line meets: each is exit 2 with a located message,
never a traceback, a hang or a lost file. One test per class of problem found by feeding
capplan malformed scenarios and command lines."""

from __future__ import annotations

import os

import pytest

from capplan_helpers import cli

GOOD = """\
capplan: 1
name: ok
simulation: {duration: 20s, warmup: 2s, replications: 2, seed: 3}
workload: {arrival_rate: 2/s, mix: {r: 1, s: 1}}
slos: {latency_p95: 1s, error_rate: 1%}
requests:
  r: {steps: [{call: api, steps: [{call: db, via: net, response_bytes: 4KB}]}], timeout: 5s}
  s: {steps: [{call: api}]}
components:
  api: {type: service, workers: 4, service_time: 20ms}
  db: {type: database, workers: 2, service_time: {distribution: exponential, mean: 10ms}}
  net: {type: link, bandwidth: 1Gbps}
"""


def refused(path, *args: str, command: str = "validate") -> str:
    """Run a command on ``path``: exit 2, no traceback; returns standard error."""
    code, out, err = cli(command, str(path), *args)
    assert code == 2, (code, out, err)
    assert "Traceback" not in out + err
    return err


def with_(old: str, new: str) -> str:
    assert old in GOOD, old
    return GOOD.replace(old, new)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: &a [*a]\n", "bad.yaml:1 an alias refers to a value that contains it"),
        ("x: " + "[" * 2000 + "]" * 2000 + "\n", "nested deeper than 64 levels"),
        ("a: " + "{b: " * 1000 + "1" + "}" * 1000 + "\n", "nested deeper than 64 levels"),
        (
            "a0: &a0 [x,x,x,x,x,x,x,x,x,x]\n"
            + "".join(
                f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]\n" for i in range(1, 10)
            ),
            "aliases expand to more than",
        ),
        ("capplan: 1\nname: \x07x\n", "bad.yaml:2 not valid YAML: control character '\\x07'"),
        ("? [a, b]\n: 1\n", "a key must be a plain name"),
    ],
    ids=["self-alias", "deep-lists", "deep-maps", "billion-laughs", "control-char", "list-key"],
)
def test_hostile_yaml_is_refused_with_its_line(tmp_scenarios, text, expected):
    assert expected in refused(tmp_scenarios("bad.yaml", text))


def test_merge_keys_work_and_explicit_keys_override(tmp_scenarios):
    text = with_(
        "  api: {type: service, workers: 4, service_time: 20ms}",
        "  base: &b {type: service, workers: 4, service_time: 20ms}\n  api: {<<: *b, workers: 8}",
    )
    path = tmp_scenarios("merge.yaml", text)
    code, _, err = cli("validate", str(path))
    assert code == 0, err
    from capplan import load_scenario

    assert load_scenario(path).components["api"].workers == 8


@pytest.mark.parametrize("target", ["/dev/zero", "fifo"])
def test_extends_only_reads_regular_files(tmp_path, target):
    if target == "fifo":
        os.mkfifo(tmp_path / "fifo")  # opening it would block until a writer came
    (tmp_path / "x.yaml").write_text(f"capplan: 1\nextends: {target}\n")
    assert "x.yaml:2 extends: base scenario: not a regular file" in refused(tmp_path / "x.yaml")


def test_a_file_too_large_is_refused(tmp_path):
    (tmp_path / "big.yaml").write_text("# " + "x" * (5 * 2**20) + "\n")
    assert "file too large" in refused(tmp_path / "big.yaml")


def test_the_language_version_is_the_number_one(tmp_scenarios):
    err = refused(tmp_scenarios("v.yaml", with_("capplan: 1", "capplan: true")))
    assert "capplan: must be the number 1" in err


CYCLES = {
    "self": ("r: {steps: [{call: api, steps: [{call: api}]}]}", "api -> api"),
    "a-b-a": (
        "r: {steps: [{call: api, steps: [{call: db, steps: [{call: api}]}]}]}",
        "api -> db -> api",
    ),
    "across-types": (
        "r: {steps: [{call: api, steps: [{call: db}]}]}\n"
        "  s: {steps: [{call: db, steps: [{call: api}]}]}",
        "api -> db -> api",
    ),
}


@pytest.mark.parametrize("case", CYCLES)
def test_a_call_cycle_is_a_validation_error_naming_the_cycle(tmp_scenarios, case):
    requests, cycle = CYCLES[case]
    mix = "{r: 1, s: 1}" if "  s:" in requests else "{r: 1}"
    text = (
        f"capplan: 1\nname: cyc\nworkload: {{arrival_rate: 1/s, mix: {mix}}}\n"
        f"requests:\n  {requests}\n"
        "components:\n  api: {type: service}\n  db: {type: database}\n"
    )
    path = tmp_scenarios("cyc.yaml", text)
    for command in ("validate", "size"):
        assert f"call cycle: {cycle}" in refused(path, command=command)
    assert f"call cycle: {cycle}" in refused(path, "--analytic", command="simulate")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("mix: {r: 1, s: 1}", "mix: {r: .inf, s: .inf}", "workload.mix.r: must be a finite number"),
        ("mix: {r: 1, s: 1}", "mix: {r: 1e308, s: 1e308}", "less than or equal to 1000000000"),
        ("mix: {r: 1, s: 1}", "mix: {r: .nan, s: 1}", "workload.mix.r"),
        (
            "service_time: {distribution: exponential, mean: 10ms}",
            "service_time: {distribution: lognormal, mean: 10ms, cv: 1e200}",
            "cv: must be less than or equal to 100",
        ),
        ("arrival_rate: 2/s", "arrival_rate: 1e9/s", "arrival_rate: too large: at most 1e+07/s"),
        ("duration: 20s", "duration: 1e9s", "simulation.duration: too large: at most 366d"),
        ("workers: 4", "workers: 1000000000000000000000000000000", "workers: must be less than"),
        ("bandwidth: 1Gbps", "bandwidth: 1e300Gbps", "bandwidth"),
        (
            "error_rate: 1%",
            "error_rate: 1",
            "a bare 1 is ambiguous: write '1%' for 1 percent, or 1.0 for 100%",
        ),
        ("error_rate: 1%", "error_rate: 1%, max_utilization: 85", "write '85%' for 85 percent"),
        (
            "workers: 4, service_time: 20ms",
            "workers: 4, service_time: 20ms, cpu_per_request: 50m",
            "cpu_per_request: '50m' would be 50 minutes of CPU per request; for milliseconds "
            "write '50ms'",
        ),
    ],
    ids=[
        "mix-inf",
        "mix-huge",
        "mix-nan",
        "cv",
        "rate",
        "duration",
        "workers",
        "bandwidth",
        "error-rate-1",
        "util-85",
        "cpu-50m",
    ],
)
def test_numbers_outside_a_sensible_range_are_refused(tmp_scenarios, old, new, expected):
    assert expected in refused(tmp_scenarios("n.yaml", with_(old, new)))


def test_prices_beyond_a_million_dollars_an_hour_are_refused(tmp_scenarios):
    text = GOOD + "costs: {node: {cpu: 8, memory: 32Gi, price_per_hour: 1.79e+308}}\n"
    assert "price_per_hour: must be less than or equal to 1000000" in refused(
        tmp_scenarios("c.yaml", text)
    )


def test_a_bare_one_point_zero_is_a_hundred_percent(tmp_scenarios):
    path = tmp_scenarios("e.yaml", with_("error_rate: 1%", "error_rate: 1.0"))
    from capplan import load_scenario

    assert load_scenario(path).slos.error_rate == 1.0


@pytest.mark.parametrize(
    "text", ["1m", "10m", "1h30m", "90s", "1m30s", "500ms", "2d", "1w", "5min"]
)
def test_go_and_prometheus_durations_are_read(text):
    from capplan.scenario.units import parse_duration

    expected = {"1m": 60, "10m": 600, "1h30m": 5400, "90s": 90, "1m30s": 90, "500ms": 0.5,
                "2d": 172800, "1w": 604800, "5min": 300}[text]  # fmt: skip
    assert parse_duration(text) == pytest.approx(expected)


def test_scale_must_be_finite_and_sensible(tmp_scenarios):
    path = tmp_scenarios("s.yaml", GOOD)
    for bad in ("inf", "nan", "1e12", "0", "-1"):
        assert "--scale" in refused(path, "--scale", bad, command="simulate")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("call: db, via: net", "call: db, via: [net]", "via: must be a valid string"),
        ("r: {steps", "'a b{': {steps", "requests.a b{: a name has letters"),
        ("  api: {type", "  '../../v': {type", "components.../../v: a name has letters"),
        ("name: ok", "name: '[/x]'", "name: a name has letters"),
        ("  r: {steps", "  r: {http: {path: api/x}, steps", "must be an absolute URL path"),
        ("  r: {steps", "  r: {http: {path: '/a/{'}, steps", "must be an absolute URL path"),
        (
            "  r: {steps",
            "  r: {http: {path: '/a/x{id}'}, steps",
            "parameter must be a whole path segment",
        ),
    ],
    ids=[
        "via-list",
        "request-name",
        "component-path",
        "scenario-markup",
        "relative-path",
        "open-brace",
        "partial-segment",
    ],
)
def test_references_names_and_paths_are_checked(tmp_scenarios, old, new, expected):
    assert expected in refused(tmp_scenarios("r.yaml", with_(old, new)))


def test_a_reference_list_among_egress_links_is_refused(tmp_scenarios):
    text = GOOD + (
        "costs: {node: {cpu: 8, memory: 32Gi, price_per_hour: 1}, "
        "network: {egress_links: [[net]]}}\n"
    )
    assert "egress_links[0]: must be a valid string" in refused(tmp_scenarios("e.yaml", text))


def test_control_characters_in_names_are_escaped_not_printed(tmp_scenarios):
    err = refused(tmp_scenarios("t.yaml", with_("  api: {type", '  "\\e]0;PWNED\\a": {type')))
    assert "\x1b" not in err and "\x07" not in err
    assert "\\x1b]0;PWNED\\x07" in err

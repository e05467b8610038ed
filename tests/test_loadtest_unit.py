"""The load test's parts that need no Locust: the locustfile, the measurement, the
comparison."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import numpy as np
import pytest

from capplan.loadtest.compare import compare, measured_slos
from capplan.loadtest.locustfile import plan, render
from capplan.loadtest.measure import MeasurementError, Record, measure, read_records
from capplan.scenario import load_scenario
from capplan_helpers import ROOT, scenario

REFERENCE = sorted((ROOT / "scenarios").glob("*.yaml"))


def _config(text: str) -> dict:
    """The CONFIG the generated file runs on, read from its syntax tree."""
    tree = ast.parse(text)
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "CONFIG":
            call = node.value
            assert isinstance(call, ast.Call)
            return json.loads(ast.literal_eval(call.args[0]))
    raise AssertionError("no CONFIG in the locustfile")


@pytest.mark.parametrize("path", REFERENCE, ids=lambda p: p.stem)
def test_reference_locustfiles_are_python_and_carry_the_mix(path: Path):
    s = load_scenario(path)
    text = render(plan(s, 60.0, generators=1))
    compile(text, str(path), "exec")
    cfg = _config(text)
    mix = {r["name"]: r["weight"] for r in cfg["requests"]}
    assert mix == pytest.approx(s.mix())
    assert cfg["open"] is True
    assert cfg["rate_rps"] == pytest.approx(s.arrival_rate)
    routes = {r["name"]: (r["method"], r["path"]) for r in cfg["requests"]}
    assert routes["lead_lookup"] == ("GET", "/api/v1/leads/{id}")
    assert {r["name"]: r["timeout_s"] for r in cfg["requests"]} == {
        n: t.timeout for n, t in s.requests.items()
    }
    assert "import capplan" not in text  # workers elsewhere need Locust only
    assert cfg["seed"] == s.simulation.seed
    # every random draw comes from a named stream, none from the module's global state
    draws = re.findall(r"\brandom\.(\w+)", text)
    assert set(draws) == {"Random"}, draws


def test_closed_workload_locustfile_has_users_and_think_times():
    s = scenario(
        {
            "workload": {
                "users": 7,
                "think_time": {"distribution": "exponential", "mean": "2s"},
            },
            "requests": {"r": {"steps": [{"call": "app"}]}},
            "components": {"app": {"type": "service", "service_time": "10ms"}},
        }
    )
    cfg = _config(render(plan(s, 30.0, generators=3)))
    assert cfg["open"] is False and cfg["users"] == 7
    assert cfg["requests"][0]["method"] == "GET" and cfg["requests"][0]["path"] == "/r"
    think = np.array(cfg["think_time_s"])
    assert think.size == 4096
    # the mean of 4,096 exponential draws is within 5% of 2 s (4 standard errors)
    assert think.mean() == pytest.approx(2.0, rel=0.0625)


def _records(latencies: list[float], start: float = 1000.0, gap: float = 0.1) -> list[Record]:
    return [
        Record(start + i * gap, start + i * gap, "r", x, 200, "ok") for i, x in enumerate(latencies)
    ]


def test_measure_uses_the_window_and_the_simulations_percentile_definition():
    lat = [float(i) for i in range(1, 1001)]  # 1..1000 s, one every 0.1 s over 100 s
    m = measure(_records(lat), duration_s=100.0, warmup_s=10.0, open_workload=True)
    kept = np.array(lat[100:])  # scheduled at or after 10 s
    assert m["requests"] == 900
    assert m["latency_s"]["mean"] == pytest.approx(kept.mean())
    # the smallest value with at least 95% of the 900 (855 of them) at or below it
    assert m["latency_s"]["p95"] == 955.0
    assert m["offered_rps"] == pytest.approx(10.0)
    assert m["throughput_rps"] == pytest.approx(10.0)
    assert m["error_rate"] == 0.0
    lo, hi = m["error_rate_ci95"]
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** (1 / 900))
    # a trend makes batches differ: the interval is honest about it
    lo, hi = m["latency_s"]["ci95"]["mean"]
    assert lo < kept.mean() < hi


def test_measure_counts_failures_drops_and_lateness():
    recs = _records([0.1] * 200)
    recs[50] = Record(recs[50].scheduled, None, "r", None, 0, "dropped")
    recs[60] = Record(recs[60].scheduled, recs[60].sent, "r", 2.0, 504, "timeout")
    recs[70] = Record(recs[70].scheduled, recs[70].scheduled + 0.5, "r", 0.1, 200, "ok")
    m = measure(recs, duration_s=20.0, warmup_s=0.0, open_workload=True)
    assert m["dropped"] == 1
    assert m["errors"] == {"dropped": 1, "timeout": 1}
    assert m["error_rate"] == pytest.approx(2 / 200)
    assert m["achieved_rps"] == pytest.approx(199 / 20)
    assert m["late_fraction"] == pytest.approx(1 / 199)
    assert m["latency_s"]["mean"] == pytest.approx(0.1)  # failures are not in the latency


def test_tail_percentiles_of_few_requests_have_no_interval():
    m = measure(_records([0.1 + 0.001 * i for i in range(300)]), 30.0, 0.0, True)
    ci = m["latency_s"]["ci95"]
    assert ci["mean"] is not None and ci["p50"] is not None
    assert ci["p95"] is None and ci["p99"] is None  # 300 requests: 30 per batch


def test_measure_without_records_after_warmup_is_an_error():
    with pytest.raises(MeasurementError, match="warm-up"):
        measure(_records([0.1] * 5, gap=0.1), duration_s=60.0, warmup_s=30.0, open_workload=True)


def test_read_records_skips_a_torn_last_line(tmp_path: Path):
    path = tmp_path / "samples.jsonl"
    path.write_text('[1.0, 1.0, "r", 0.1, 200, "ok"]\n[2.0, 2.0, "r", 0.')
    assert read_records(path) == [Record(1.0, 1.0, "r", 0.1, 200, "ok")]


def _group(mean: float, half: float | None) -> dict:
    ci = [mean - half, mean + half] if half is not None else None
    lat = {k: mean for k in ("mean", "p50", "p95", "p99")}
    lat["ci95"] = {k: ci for k in ("mean", "p50", "p95", "p99")}
    return {
        "latency_s": lat,
        "throughput_rps": 10.0,
        "throughput_rps_ci95": [9.0, 11.0],
        "error_rate": 0.0,
        "error_rate_ci95": [0.0, 0.01],
    }


@pytest.mark.parametrize(
    ("measured", "half", "flagged"),
    [
        (1.04, 0.03, False),  # 0.04 < hypot(0.03, 0.03) = 0.042
        (1.05, 0.03, True),  # 0.05 > 0.042
        (1.50, None, None),  # no measured interval: nothing can be said
    ],
)
def test_a_difference_is_flagged_beyond_both_intervals(measured, half, flagged):
    predicted = {**_group(1.0, 0.03), "requests": {}}
    rows = compare(predicted, {**_group(measured, half), "by_type": {}})
    mean = next(r for r in rows if r["metric"] == "latency mean")
    assert mean["relative"] == pytest.approx(measured - 1.0)
    assert mean["flagged"] is flagged


def test_measured_slos_use_the_scenarios_objectives():
    s = scenario(
        {
            "workload": {"arrival_rate": "1/s"},
            "slos": {"latency_p95": "500ms", "error_rate": "1%", "max_utilization": "80%"},
            "requests": {"r": {"steps": [{"call": "app"}]}},
            "components": {"app": {"type": "service", "service_time": "10ms"}},
        }
    )
    m = {**_group(0.6, 0.05), "by_type": {}}
    rows = measured_slos(s, m)
    assert [(r["name"], r["passed"]) for r in rows] == [
        ("latency_p95", False),
        ("error_rate", True),
    ]  # utilization is not something a load generator measures


def _fake_locust(records: list[list], interrupted: bool):
    """A stand-in for the Locust run: writes the given records, reports how it ended."""
    from capplan.loadtest.locust_proc import Outcome

    def run(plan, host, files, **_kw):
        files.samples.write_text("".join(json.dumps(r) + "\n" for r in records))
        return Outcome(interrupted, 0, False, "")

    return run


def _one_type() -> object:
    return scenario(
        {
            "workload": {"arrival_rate": "10/s"},
            "requests": {"r": {"steps": [{"call": "app"}]}},
            "components": {"app": {"type": "service", "service_time": "10ms"}},
        }
    )


def test_an_interrupted_test_keeps_its_measurement_without_a_prediction(monkeypatch):
    import capplan.loadtest as lt

    rows = [[1000 + i * 0.1, 1000 + i * 0.1, "r", 0.01, 200, "ok"] for i in range(100)]
    monkeypatch.setattr(lt, "run_locust", _fake_locust(rows, interrupted=True))
    result = lt.loadtest(_one_type(), "http://127.0.0.1:9", duration_s=60.0)
    assert result["interrupted"] is True and result["predicted"] is None
    assert result["measured"]["window_s"] == pytest.approx(9.9 * 0.9)  # what ran, less 10%


def test_an_interrupt_before_anything_was_measured_is_just_an_interrupt(monkeypatch):
    import capplan.loadtest as lt

    rows = [[1000.0, 1000.0, "r", 0.01, 200, "ok"]]
    monkeypatch.setattr(lt, "run_locust", _fake_locust(rows, interrupted=True))
    with pytest.raises(KeyboardInterrupt):
        lt.loadtest(_one_type(), "http://127.0.0.1:9", duration_s=60.0)


def test_locust_csv_placeholders_are_null_not_nan(tmp_path: Path):
    """Locust writes N/A for percentiles it has no requests for; JSON has no NaN."""
    from capplan.loadtest.measure import read_locust_csv

    (tmp_path / "locust_stats.csv").write_text(
        "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
        "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
        "50%,95%,99%\n"
        ",Aggregated,0,0,0,0.0,0,0,0.0,0.0,0.0,N/A,N/A,N/A\n"
    )
    stats = read_locust_csv(tmp_path / "locust")["Aggregated"]
    assert stats["requests"] == 0 and stats["p95_ms"] is None
    json.dumps(stats, allow_nan=False)


def test_a_request_type_with_no_request_in_the_window_is_left_out():
    """A short test where a rare type got no arrival after the warm-up: no division by
    zero; the type is simply absent from the measurement."""
    recs = _records([0.1] * 100)
    recs.insert(0, Record(recs[0].scheduled - 50, recs[0].scheduled - 50, "rare", 0.1, 200, "ok"))
    m = measure(recs, duration_s=60.0, warmup_s=20.0, open_workload=True)
    assert "rare" not in m["by_type"] and "r" in m["by_type"]
    from capplan.loadtest.measure import _group

    empty = _group([], 0.0, 10.0)
    assert empty["error_rate"] is None and empty["error_rate_ci95"] is None


def test_measured_intervals_never_reach_below_the_fastest_request():
    """No estimate of a latency can be below what no request went under: requests of
    100 ms plus a few slow ones give batch spreads that would reach under 100 ms."""
    values = [0.1] * 900 + [2.0] * 100
    m = measure(_records(values), 100.0, 0.0, True)
    for key in ("mean", "p50", "p95"):
        ci = m["latency_s"]["ci95"][key]
        assert ci is not None and ci[0] >= 0.1, (key, ci)


def test_a_percentile_interval_is_never_narrower_than_the_sketch():
    """Constant service times: every replication reads the same histogram bucket, and the
    interval is then the bucket's ±0.5%, not a zero width that flags any offset."""
    from capplan_helpers import run

    s = scenario(
        {
            "simulation": {"duration": "200s", "warmup": "10s", "replications": 3},
            "workload": {"arrival_rate": "1/s"},
            "requests": {"r": {"steps": [{"call": "app"}]}},
            "components": {"app": {"type": "service", "workers": 100, "service_time": "116ms"}},
        }
    )
    lat = run(s)["latency_s"]
    assert lat["ci95"]["mean"] == [pytest.approx(0.116), pytest.approx(0.116)]  # exact
    for key in ("p50", "p95", "p99"):
        lo, hi = lat["ci95"][key]
        assert hi - lo == pytest.approx(2 * 0.005 * lat[key], rel=1e-6), key


def test_a_latency_slo_without_an_interval_says_how_many_requests_it_needs():
    s = scenario(
        {
            "workload": {"arrival_rate": "1/s"},
            "slos": {"latency_p99": "500ms"},
            "requests": {"r": {"steps": [{"call": "app"}]}},
            "components": {"app": {"type": "service", "service_time": "10ms"}},
        }
    )
    m = measure(_records([0.1 + 0.0001 * i for i in range(600)]), 60.0, 0.0, True)
    (row,) = measured_slos(s, m)
    assert row["ci95"] is None
    assert "600 successful requests; an interval on p99 needs about 2,500" in row["no_interval"]
    from capplan.gate import evaluate

    (verdict,) = evaluate([{**m, "scenario": "s", "slos": [row], "saturated_components": []}])
    assert "one replication" not in verdict.reason
    assert "needs about 2,500" in verdict.reason


@pytest.mark.parametrize(
    ("cpu", "cpu_bound", "expected", "unexpected"),
    [
        (
            0.95,
            False,
            "the load generator is CPU-bound (95% of a core per process)",
            "would not help",
        ),
        (0.2, False, "the machine is busy with other work", "add --workers"),
        (0.3, True, "add --workers", "would not help"),
    ],
)
def test_lateness_names_its_cause(cpu, cpu_bound, expected, unexpected):
    from capplan.loadtest.measure import generator_warnings

    measured = {"dropped": 0, "late_fraction": 0.2}
    (warning,) = generator_warnings(measured, cpu_bound, cpu, "load average 3.0 on 2 cores")
    assert expected in warning and unexpected not in warning


def test_a_test_in_which_nothing_succeeded_has_failed(monkeypatch):
    import capplan.loadtest as lt

    rows = [[1000 + i * 0.1, 1000 + i * 0.1, "r", None, 0, "connection"] for i in range(100)]
    monkeypatch.setattr(lt, "run_locust", _fake_locust(rows, interrupted=False))
    result = lt.loadtest(_one_type(), "http://127.0.0.1:9", duration_s=10.0, predict=False)
    assert result["failed"] == "none of 90 requests succeeded (connection 90)"


def test_the_schedule_seed_is_fresh_unless_fixed_and_is_recorded(monkeypatch):
    import capplan.loadtest as lt

    rows = [[1000 + i * 0.1, 1000 + i * 0.1, "r", 0.01, 200, "ok"] for i in range(100)]
    monkeypatch.setattr(lt, "run_locust", _fake_locust(rows, interrupted=False))
    seeds = {
        lt.loadtest(_one_type(), "http://127.0.0.1:9", duration_s=10.0, predict=False)["plan"][
            "seed"
        ]
        for _ in range(3)
    }
    assert len(seeds) == 3
    fixed = lt.loadtest(
        _one_type(), "http://127.0.0.1:9", duration_s=10.0, predict=False, schedule_seed=42
    )
    assert fixed["plan"]["seed"] == 42
    assert _config(lt.render(lt.plan(_one_type(), 10.0, 1, seed=42)))["seed"] == 42


def test_an_artifacts_folder_with_the_users_files_is_refused(tmp_path, monkeypatch):
    import capplan.loadtest as lt
    from capplan.errors import CapplanError

    mine = tmp_path / "art"
    mine.mkdir()
    (mine / "locustfile.py").write_text("my own locustfile\n")
    rows = [[1000 + i * 0.1, 1000 + i * 0.1, "r", 0.01, 200, "ok"] for i in range(100)]
    monkeypatch.setattr(lt, "run_locust", _fake_locust(rows, interrupted=False))
    with pytest.raises(CapplanError, match="holds files capplan did not write"):
        lt.loadtest(_one_type(), "http://x", duration_s=10.0, predict=False, artifacts=mine)
    assert (mine / "locustfile.py").read_text() == "my own locustfile\n"
    fresh = tmp_path / "fresh"
    for _ in range(2):  # a folder it wrote itself may be used again
        lt.loadtest(_one_type(), "http://x", duration_s=10.0, predict=False, artifacts=fresh)
    assert (fresh / "locustfile.py").exists()


def test_no_request_but_the_scenarios_is_sent_unless_the_target_is_an_emulator(monkeypatch):
    import capplan.loadtest as lt

    asked = []
    monkeypatch.setattr(lt, "_emulator_status", lambda host: asked.append(host))
    rows = [[1000 + i * 0.1, 1000 + i * 0.1, "r", 0.01, 200, "ok"] for i in range(100)]
    monkeypatch.setattr(lt, "run_locust", _fake_locust(rows, interrupted=False))
    lt.loadtest(_one_type(), "http://x", duration_s=10.0, predict=False)
    assert asked == []
    lt.loadtest(_one_type(), "http://x", duration_s=10.0, predict=False, emulator=True)
    assert asked == ["http://x"]

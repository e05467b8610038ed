"""Scale-out: the same simulations on a Dask cluster (a LocalCluster of two worker
processes on 127.0.0.1, started here) give byte-identical results to local processes;
sweeps over a grid and a Latin hypercube; bad input."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from capplan.api import simulate
from capplan.cluster import runner_for
from capplan.files import to_json
from capplan.headroom import headroom
from capplan.scenario import load_scenario
from capplan.sizing import size
from capplan.sweep import parse_vary, points
from capplan_helpers import cli

SCENARIO = """\
capplan: 1
name: mm2
simulation: {duration: 200s, warmup: 20s, replications: 4, seed: 3}
workload: {arrival_rate: 12/s}
slos: {latency_p95: 400ms, error_rate: 1%}
requests:
  r:
    timeout: 5s
    steps: [{call: app}]
components:
  app:
    type: service
    workers: 2
    load_balancing: shared_queue
    service_time: {distribution: exponential, mean: 100ms}
"""


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "mm2.yaml"
    path.write_text(SCENARIO)
    return path


@pytest.fixture(scope="module")
def dask_address() -> Iterator[str]:
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def _sizing(result: dict[str, Any]) -> dict[str, Any]:
    """A sizing's JSON form, as `size --json` writes it."""
    return {k: v for k, v in result.items() if k not in ("result", "sized", "survive_result")}


def test_dask_gives_byte_identical_simulate_headroom_and_sweep(
    dask_address: str, scenario_file: Path, tmp_path: Path
) -> None:
    s = load_scenario(scenario_file)
    with runner_for(2) as local:
        expected = to_json(simulate(s, runner=local))
        expected_h = to_json(headroom(s, tolerance=0.05, runner=local))
        expected_s = to_json(_sizing(size(s, runner=local)))
    with runner_for(dask=dask_address) as remote:
        assert to_json(simulate(s, runner=remote)) == expected
        assert to_json(headroom(s, tolerance=0.05, runner=remote)) == expected_h
        assert to_json(_sizing(size(s, runner=remote, batch=3))) == expected_s
    args = ["sweep", str(scenario_file), "--vary", "load_scale=0.5..1.5:3", "--vary",
            "components.app.workers=2,3"]  # fmt: skip
    code, _, err = cli(*args, "--json", str(tmp_path / "local.json"), "--jobs", "2")
    assert code == 0, err
    code, _, err = cli(*args, "--json", str(tmp_path / "dask.json"), "--dask", dask_address)
    assert code == 0, err
    assert (tmp_path / "dask.json").read_bytes() == (tmp_path / "local.json").read_bytes()
    gate = ["gate", str(scenario_file), "--json"]
    local_code, _, err = cli(*gate, str(tmp_path / "gate-local.json"), "--jobs", "2")
    assert local_code in (0, 1, 3), err
    code, _, err = cli(*gate, str(tmp_path / "gate-dask.json"), "--dask", dask_address)
    assert code == local_code, err
    assert (tmp_path / "gate-dask.json").read_bytes() == (tmp_path / "gate-local.json").read_bytes()


def test_an_interrupt_leaves_no_work_on_the_cluster(dask_address: str, scenario_file: Path) -> None:
    """Ctrl-C while tasks are out on the cluster: the outstanding ones are cancelled and
    the client closed, so the scheduler is left holding none of them."""
    from distributed import Client

    s = load_scenario(scenario_file)
    many = [
        s.model_copy(
            update={"simulation": s.simulation.model_copy(update={"seed": k, "duration": 4000})}
        )
        for k in range(12)
    ]  # 48 replications of about a second each: most still queued at the interrupt

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), runner_for(dask=dask_address) as remote:
        remote.run(many, progress=interrupt)
    with Client(dask_address, timeout=10, set_as_default=False) as client:
        deadline = time.monotonic() + 5  # far less than the work left would take
        left = -1
        while time.monotonic() < deadline:
            left = client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))
            if left == 0:
                break
            time.sleep(0.2)
    assert left == 0


FAILURES = """\
failures:
  random:
    app: {pod_mtbf: 1h, restart: {distribution: constant, value: 10min}}
"""


def test_availability_on_dask_is_byte_identical(
    dask_address: str, scenario_file: Path, tmp_path: Path
) -> None:
    two_pods = SCENARIO.replace("workers: 2", "replicas: 2\n    workers: 2")
    scenario_file.write_text(two_pods + FAILURES)
    args = ["availability", str(scenario_file), "--json"]
    code, _, err = cli(*args, str(tmp_path / "local.json"), "--jobs", "2")
    assert code in (0, 1), err
    code, _, err = cli(*args, str(tmp_path / "dask.json"), "--dask", dask_address)
    assert code in (0, 1), err
    assert (tmp_path / "dask.json").read_bytes() == (tmp_path / "local.json").read_bytes()
    assert len(json.loads((tmp_path / "dask.json").read_text())["states"]) == 3


def test_availability_without_failures_is_refused_before_any_scheduler(
    scenario_file: Path, tmp_path: Path
) -> None:
    """Nothing to estimate from is the error, not the unreachable address; nothing written."""
    code, out, err = cli(
        "availability", str(scenario_file), "--dask", "tcp://127.0.0.1:9",
        "--json", str(tmp_path / "a.json"),
    )  # fmt: skip
    assert code == 2 and "Traceback" not in out + err, err
    assert "no failures.random or costs.node.mtbf" in err and "Dask" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mm2.yaml"]


@pytest.mark.parametrize(
    "command", ["simulate", "compare", "gate", "headroom", "size", "availability", "report"]
)
def test_an_unreachable_scheduler_is_a_clear_error_within_seconds(
    scenario_file: Path, tmp_path: Path, command: str
) -> None:
    """Every command that takes --dask says so at once, and writes nothing."""
    pytest.importorskip("distributed")
    if command == "availability":
        scenario_file.write_text(SCENARIO + FAILURES)
    out = {
        "size": ["--out", str(tmp_path / "sized.yaml")],
        "report": ["--out", str(tmp_path / "r.html")],
        "compare": [str(scenario_file)],
    }
    start = time.monotonic()
    code, _, err = cli(
        command, str(scenario_file), *out.get(command, []), "--dask", "tcp://127.0.0.1:9"
    )
    assert code == 2 and "Traceback" not in err, err
    assert "no Dask scheduler answered" in err and "tcp://127.0.0.1:9" in err
    assert time.monotonic() - start < 30
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mm2.yaml"]


def test_render_manifests_on_dask_writes_the_same_files(
    dask_address: str, scenario_file: Path, tmp_path: Path
) -> None:
    """The set is annotated with the simulated projections: the same bytes either way. An
    unreachable scheduler is the clear error, after the scenario's inputs are checked, and
    no folder is written."""
    deployable = SCENARIO.replace(
        "    workers: 2", "    workers: 2\n    image: registry.example.com/app:1.0\n    port: 8080"
    )
    scenario_file.write_text(deployable)
    args = ["render-manifests", str(scenario_file), "--no-progress", "--out"]
    code, _, err = cli(*args, str(tmp_path / "local"), "--jobs", "2")
    assert code == 0, err
    code, _, err = cli(*args, str(tmp_path / "dask"), "--dask", dask_address)
    assert code == 0, err

    def written(folder: Path) -> dict[Path, bytes]:
        return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}

    local = written(tmp_path / "local")
    assert len(local) >= 5 and written(tmp_path / "dask") == local
    code, _, err = cli(*args, str(tmp_path / "gone"), "--dask", "tcp://127.0.0.1:9")
    assert code == 2 and "no Dask scheduler answered" in err, err
    assert not (tmp_path / "gone").exists()
    scenario_file.write_text(SCENARIO)  # no image: the scenario's error comes first
    code, _, err = cli(*args, str(tmp_path / "gone"), "--dask", "tcp://127.0.0.1:9")
    assert code == 2 and "image" in err and "Dask" not in err, err


LOCUST_STATS = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
    "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
    "50%,95%,99%\n"
    "GET,r,2400,0,140,180.0,20,900,512,12.0,0.0,140,450,700\n"
)


def test_calibrate_on_dask_writes_the_same_overlay(
    dask_address: str, scenario_file: Path, tmp_path: Path
) -> None:
    """Calibration's search simulates round after round: on Dask it finds the same values
    and writes the same overlay and JSON. An unreachable scheduler is the clear error,
    after the measurements are read and checked, and nothing is written."""
    stats = tmp_path / "locust_stats.csv"
    stats.write_text(LOCUST_STATS)
    args = ["calibrate", str(scenario_file), "--from", str(stats)]
    runs = {}
    for label, where in (("local", ["--jobs", "2"]), ("dask", ["--dask", dask_address])):
        out, doc = tmp_path / f"{label}.yaml", tmp_path / f"{label}.json"
        code, _, err = cli(*args, "--out", str(out), "--json", str(doc), *where)
        assert code == 0, err
        runs[label] = (out.read_bytes(), doc.read_bytes())
    assert runs["dask"] == runs["local"]
    assert b"service_time" in runs["local"][0]  # the search changed something
    gone = tmp_path / "gone.yaml"
    code, _, err = cli(*args, "--out", str(gone), "--dask", "tcp://127.0.0.1:9")
    assert code == 2 and "no Dask scheduler answered" in err and "Traceback" not in err, err
    assert not gone.exists()
    stats.write_text(LOCUST_STATS.replace("GET,r,", "GET,other,"))
    code, _, err = cli(*args, "--out", str(gone), "--dask", "tcp://127.0.0.1:9")
    assert code == 2 and "no row names a request type" in err and "Dask" not in err, err
    assert not gone.exists()


def test_a_sweep_sets_each_value_and_validates_each_point(
    scenario_file: Path, tmp_path: Path
) -> None:
    """Six points of a grid: each result carries its load and its workers; more load
    never lowers utilization, and more workers never raise it (a property of the
    queue, checked on every pair of neighbours)."""
    out = tmp_path / "sweep.csv"
    code, stdout, err = cli(
        "sweep", str(scenario_file), "--vary", "load_scale=0.5..1.5:3",
        "--vary", "components.app.workers=2,3", "--out", str(out),
        "--json", str(tmp_path / "s.json"), "--jobs", "1",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads((tmp_path / "s.json").read_text())
    pts, results = doc["points"], doc["results"]
    assert [p["components.app.workers"] for p in pts] == [2, 3, 2, 3, 2, 3]
    assert [r["components"]["app"]["capacity"] for r in results] == [2, 3, 2, 3, 2, 3]
    assert [r["load_scale"] for r in results] == [0.5, 0.5, 1.0, 1.0, 1.5, 1.5]
    util = {(p["load_scale"], p["components.app.workers"]): r["components"]["app"]["utilization"]
            for p, r in zip(pts, results, strict=True)}  # fmt: skip
    for w in (2, 3):
        assert util[(0.5, w)] < util[(1.0, w)] < util[(1.5, w)]
    for scale in (0.5, 1.0, 1.5):
        assert util[(scale, 3)] < util[(scale, 2)]
    import pandas as pd

    table = pd.read_csv(out)
    assert set(table["point"]) == set(range(1, 7))
    assert "components.app.workers" in table.columns
    assert "latency_p95" in stdout  # the per-SLO summary


def test_latin_hypercube_points_cover_each_range_once_per_stratum() -> None:
    """20 samples of two ranges: each range's twenty equal strata hold one sample each
    (1.0..3.0 is a real range; 1..3 would give whole numbers, as for replicas)."""
    varies = [parse_vary("load_scale=1.0..3.0"), parse_vary("components.a.service_time=10ms..30ms")]
    pts = points(varies, samples=20, seed=4)
    for name, lo, hi in (("load_scale", 1.0, 3.0), ("components.a.service_time", 10.0, 30.0)):
        xs = [float(str(p[name]).removesuffix("ms")) for p in pts]
        strata = sorted(int((x - lo) / (hi - lo) * 20) for x in xs)
        assert strata == list(range(20)), name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--vary", "components.ap.workers=1,2"], "no 'ap' under components; did you mean 'app'?"),
        (["--vary", "load_scale=5..1:3"], "low (5) is above high"),
        (["--vary", "load_scale=1..2000:2000"], "more than --max-points 1,000"),
        (["--vary", "load_scale"], "write path=low..high:points"),
        (["--vary", "components.app.workers=0,1"], "point 1 (components.app.workers=0)"),
    ],
)
def test_bad_sweeps_exit_2(scenario_file: Path, args: list[str], message: str) -> None:
    before = scenario_file.read_text()
    code, _, err = cli("sweep", str(scenario_file), *args)
    assert code == 2 and "Traceback" not in err, err
    assert message in err, err
    assert scenario_file.read_text() == before


def test_a_sweep_past_max_points_runs_with_yes(scenario_file: Path, tmp_path: Path) -> None:
    data = yaml.safe_load(SCENARIO)
    data["simulation"] = {"duration": "20s", "warmup": "2s", "replications": 2, "seed": 1}
    scenario_file.write_text(yaml.safe_dump(data))
    code, _, err = cli(
        "sweep", str(scenario_file), "--vary", "load_scale=0.1..0.2:3", "--max-points", "2", "--yes",
        "--jobs", "1",
    )  # fmt: skip
    assert code == 0, err


def test_a_sweep_table_must_be_csv_or_parquet(scenario_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep.xlsx"
    out.write_text("mine")
    code, _, err = cli("sweep", str(scenario_file), "--vary", "load_scale=0.5,1", "--out", str(out))
    assert code == 2 and "Traceback" not in err and ".csv or .parquet" in err, err
    assert out.read_text() == "mine"

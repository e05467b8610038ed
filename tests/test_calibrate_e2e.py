"""Ground truth recovery on 127.0.0.1: ``capplan emulate`` runs a twin whose service times
differ from the scenario's (the API 1.5x slower, the database's cv 1.2 instead of 0.3),
``capplan loadtest`` measures it, and ``capplan calibrate`` recovers the twin's values
from the artifacts, and again from Locust's CSV alone. About three minutes."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from capplan.scenario import load_scenario

pytestmark = pytest.mark.slow

ORIGINAL = """\
capplan: 1
name: shop
simulation: {duration: 5min, warmup: 30s, replications: 4, seed: 5}
workload: {arrival_rate: 20/s, mix: {browse: 2, buy: 1}}
requests:
  browse:
    timeout: 10s
    http: {method: GET, path: "/items/{id}"}
    steps: [{call: api}]
  buy:
    timeout: 10s
    http: {method: POST, path: /orders}
    steps: [{call: api, steps: [{call: db}]}]
components:
  api: {type: service, workers: 8, service_time: {distribution: lognormal, mean: 20ms, cv: 0.5}}
  db: {type: database, workers: 4, service_time: {distribution: lognormal, mean: 80ms, cv: 0.3}}
"""
TRUTH = (
    ORIGINAL.replace("name: shop", "name: shop-truth")
    .replace("mean: 20ms, cv: 0.5", "mean: 30ms, cv: 0.5")
    .replace("mean: 80ms, cv: 0.3", "mean: 80ms, cv: 1.2")
)


def _run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "capplan", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The original scenario and a load test of the twin, in one folder."""
    folder = tmp_path_factory.mktemp("calibrate")
    (folder / "original.yaml").write_text(ORIGINAL)
    (folder / "truth.yaml").write_text(TRUTH)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    twin = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "capplan",
            "emulate",
            str(folder / "truth.yaml"),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/_capplan/health", timeout=1):
                    break
            except OSError:
                assert twin.poll() is None and time.monotonic() < deadline, "no emulator"
                time.sleep(0.2)
        done = _run(
            "loadtest", str(folder / "original.yaml"), "--host", url, "--no-progress",
            "--emulator", "--no-predict", "--duration", "120s",
            "--artifacts", str(folder / "art"), "--json", str(folder / "lt.json"),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        yield folder
    finally:
        twin.send_signal(signal.SIGTERM)
        twin.communicate(timeout=20)


def _means(overlay: Path) -> dict[str, float]:
    s = load_scenario(overlay)
    return {n: s.components[n].service_time.mean for n in ("api", "db")}  # type: ignore[union-attr]


def test_calibration_recovers_the_twins_service_times(measured: Path) -> None:
    """From the records: both means within 10% of the twin's (30 ms, 80 ms), and every
    request type's calibrated mean and p95 within the load test's interval; before
    calibration the API's 20 ms put browse's mean well outside it."""
    out = measured / "calibrated.yaml"
    done = _run(
        "calibrate", str(measured / "original.yaml"), "--from", str(measured / "art"),
        "--out", str(out), "--json", str(measured / "cal.json"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    means = _means(out)
    assert means["api"] == pytest.approx(0.030, rel=0.10)
    assert means["db"] == pytest.approx(0.080, rel=0.10)
    cal = json.loads((measured / "cal.json").read_text())
    for name, row in cal["latency"].items():
        for key in ("mean", "p95"):
            assert row[key]["within"] is True, (name, key, row[key])
    assert cal["latency"]["browse"]["mean"]["before"]["value"] < 0.9 * 0.030
    # the overlay holds only the changes, each with its source
    text = out.read_text()
    assert "extends: original.yaml" in text
    assert len(re.findall(r"# calibrated: .*from [\d,]+ requests", text)) == 2
    data = yaml.safe_load(text)
    assert set(data["components"]) == {"api", "db"}
    assert set(data["components"]["db"]) == {"service_time"}
    # the database's wider spread comes back as a larger cv (truth 1.2, scenario 0.3)
    s = load_scenario(out)
    assert s.components["db"].service_time.scv ** 0.5 > 0.7  # type: ignore[union-attr]


def test_calibration_from_locust_csv_alone(measured: Path) -> None:
    """Locust's totals, without records or intervals: the means still come back within
    10%, and the result says the figures carried no interval."""
    out = measured / "from-csv.yaml"
    done = _run(
        "calibrate", str(measured / "original.yaml"),
        "--from", str(measured / "art" / "locust_stats.csv"), "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    means = _means(out)
    assert means["api"] == pytest.approx(0.030, rel=0.10)
    assert means["db"] == pytest.approx(0.080, rel=0.10)
    assert "no interval" in out.read_text()

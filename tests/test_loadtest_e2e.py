"""End to end on 127.0.0.1: ``capplan emulate`` serves an M/M/4-like twin and ``capplan
loadtest`` drives Locust (in subprocesses) against it.

Runs take real time (about three minutes for this file). The twin is the simulation
engine itself, so agreement between predicted and measured here checks the plumbing end
to end: the generated locustfile's arrivals and mix, Locust in subprocesses, the HTTP
round trip, per-request timing, batch-means intervals, and the comparison. It does not
check the model against an independent system; that check is
``test_closed_users_follow_the_response_time_law``, whose law (X = N / (R + Z)) holds for
any system, and the queueing-theory oracles of tests/test_oracle.py.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

MM4 = """\
capplan: 1
name: mm4
description: four workers, exponential 50 ms service; 40/s is 50% utilization
simulation: {duration: 20min, warmup: 1min, replications: 5, seed: 11}
workload: {arrival_rate: 40/s}
slos: {latency_p95: P95_SLO, error_rate: 1%}
requests:
  work:
    timeout: 10s
    http: {method: GET, path: "/work/{id}"}
    steps: [{call: server}]
components:
  server:
    type: service
    workers: 4
    service_time: {distribution: exponential, mean: 50ms}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def capplan(*args: str, **kwargs) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "capplan", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


@pytest.fixture
def mm4(tmp_path: Path) -> Callable[[str], Path]:
    def write(p95_slo: str = "1s") -> Path:
        path = tmp_path / f"mm4-{p95_slo}.yaml"
        path.write_text(MM4.replace("P95_SLO", p95_slo))
        return path

    return write


@pytest.fixture
def emulator(mm4: Callable[[str], Path]) -> Iterator[str]:
    """A running ``capplan emulate`` of the M/M/4 scenario; stopped with SIGTERM after."""
    port = _free_port()
    proc = capplan("emulate", str(mm4("1s")), "--port", str(port))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url + "/_capplan/health", timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"emulator did not start: {proc.communicate()[1]}") from None
            time.sleep(0.2)
    yield url
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0, stderr  # SIGTERM is a clean shutdown
    assert "stopped after" in stderr


def _loadtest(path: Path, url: str, *args: str) -> tuple[int, str, str]:
    proc = capplan("loadtest", str(path), "--host", url, "--no-progress", "--emulator", *args)
    out, err = proc.communicate(timeout=600)
    return proc.returncode, out, err


def _relative(result: dict, key: str) -> float:
    row = next(r for r in result["comparison"] if r["scope"] == "all" and r["metric"] == key)
    return abs(row["relative"])


def test_measured_latency_matches_the_prediction_at_50_and_80_percent(
    emulator: str, mm4: Callable[[str], Path], tmp_path: Path
):
    """At 50% utilization: mean within 10% and p95 within 15% of the prediction (90 s,
    about 3,200 measured requests: the measured mean's standard error is about 2.5%, so
    10% leaves room for the HTTP round trip, a few percent of a 54 ms mean). At 80%: both
    within 25%; near saturation successive latencies are strongly correlated and 54 s of
    measurement gave batch-means intervals of ±12-15% in trial runs, so 25% is about
    3.5 standard errors."""
    for scale, duration, tolerance in (("1", "90s", (0.10, 0.15)), ("1.6", "60s", (0.25, 0.25))):
        out, page = tmp_path / f"lt-{scale}.json", tmp_path / f"lt-{scale}.html"
        code, stdout, stderr = _loadtest(
            mm4("1s"), emulator, "--duration", duration, "--scale", scale, "--json", str(out),
            "--html", str(page),
        )  # fmt: skip
        assert code == 0, stderr
        html = page.read_text()  # the report's load-test section, beside the prediction
        assert "Load test: predicted against measured" in html and "latency p95" in html
        result = json.loads(out.read_text())
        assert not result["generator_saturated"], result["warnings"]
        measured = result["measured"]
        planned = 40 * float(scale)
        n = planned * measured["window_s"]
        # the offered Poisson count is within four standard deviations of plan
        assert abs(measured["offered_rps"] * measured["window_s"] - n) < 4 * n**0.5
        assert measured["error_rate"] == 0
        assert set(result["measured"]["latency_s"]) >= {"mean", "p50", "p95", "p99"}
        assert result["predicted"]["load_scale"] == pytest.approx(
            float(scale) * measured["achieved_rps"] / planned
        )
        mean_tol, p95_tol = tolerance
        assert _relative(result, "latency mean") <= mean_tol, stdout
        assert _relative(result, "latency p95") <= p95_tol, stdout
        assert "predicted vs measured" in stdout


def test_gate_fails_an_slo_the_emulator_cannot_meet(
    emulator: str, mm4: Callable[[str], Path], tmp_path: Path
):
    """A p95 target of 20 ms against a 50 ms exponential service: violated beyond doubt."""
    junit = tmp_path / "gate.xml"
    code, stdout, stderr = _loadtest(
        mm4("20ms"), emulator, "--duration", "20s", "--no-predict", "--gate",
        "--junit", str(junit),
    )  # fmt: skip
    assert code == 1, stdout + stderr
    assert "FAIL" in stdout and "latency_p95" in stdout
    assert "<failure" in junit.read_text()


def test_closed_users_follow_the_response_time_law(emulator: str, tmp_path: Path):
    """Eight users with 200 ms think time against the same twin: throughput and response
    time obey the interactive response-time law X = N / (R + Z), whatever the queueing,
    within 10% (a 20 s run; the law holds exactly over a whole run, the rest is the window's
    edges)."""
    path = tmp_path / "closed.yaml"
    closed = MM4.replace("P95_SLO", "1s").replace(
        "workload: {arrival_rate: 40/s}",
        "workload: {users: 8, think_time: {distribution: exponential, mean: 200ms}}",
    )
    path.write_text(closed)
    out = tmp_path / "closed.json"
    code, _, stderr = _loadtest(
        path, emulator, "--duration", "20s", "--no-predict", "--json", str(out)
    )
    assert code == 0, stderr
    m = json.loads(out.read_text())["measured"]
    assert m["offered_rps"] is None  # a closed workload's rate follows from the system
    law = 8 / (m["latency_s"]["mean"] + 0.2)
    assert m["throughput_rps"] == pytest.approx(law, rel=0.10)


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="process listing needs /proc")
def test_ctrl_c_stops_locust_and_keeps_what_was_measured(
    emulator: str, mm4: Callable[[str], Path], tmp_path: Path
):
    """SIGINT (Ctrl-C) mid-run, in distributed mode (a master and a worker): exit 130,
    the measurement so far is written, and no Locust process is left behind."""
    artifacts = tmp_path / "artifacts"
    out = tmp_path / "lt.json"
    proc = capplan(
        "loadtest", str(mm4("1s")), "--host", emulator, "--no-progress", "--duration", "120s",
        "--workers", "1", "--artifacts", str(artifacts), "--json", str(out),
    )  # fmt: skip
    samples = artifacts / "samples.jsonl"
    deadline = time.monotonic() + 60
    while not (samples.exists() and samples.stat().st_size > 2000):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no records after 60 s"
        time.sleep(0.2)
    locustfile = str(artifacts / "locustfile.py")
    assert len(_processes_mentioning(locustfile)) == 2  # master and worker
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    result = json.loads(out.read_text())
    assert result["interrupted"] is True
    assert result["measured"]["requests"] > 0
    assert result["predicted"] is None
    assert _processes_mentioning(locustfile) == []


def test_a_non_loopback_target_needs_yes(mm4: Callable[[str], Path]):
    """Refused before anything is sent (stdin is not a terminal, so no question is asked)."""
    code, _, stderr = _loadtest(mm4("1s"), "http://192.0.2.1:8080", "--duration", "5s")
    assert code == 2
    assert "not a loopback address" in stderr and "--yes" in stderr


def test_a_test_against_a_closed_port_fails_with_a_reason(mm4: Callable[[str], Path]):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    code, _, stderr = _loadtest(mm4("1s"), f"http://127.0.0.1:{port}", "--duration", "5s")
    assert code == 1, stderr
    assert "load test failed: none of" in stderr and "connection" in stderr
    assert "Traceback" not in stderr

"""The live twin: the model's limits, answered in real time over HTTP.

Times here are lower bounds the model guarantees (a request cannot be answered before its
service times have passed), with loose upper bounds, so a busy machine cannot fail them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from capplan.emulate.server import EmulatorError, build_app
from capplan_helpers import scenario


def limits_scenario() -> Any:
    return scenario(
        {
            "workload": {"arrival_rate": "1/s", "mix": {"slow": 1, "tight": 1, "llm": 1}},
            "requests": {
                "slow": {"http": {"path": "/slow"}, "steps": [{"call": "app"}]},
                "tight": {
                    "timeout": "50ms",
                    "http": {"path": "/tight/{id}"},
                    "steps": [{"call": "app"}],
                },
                "llm": {
                    "http": {"method": "POST", "path": "/llm"},
                    "steps": [{"call": "gpt", "tokens": {"input": 10, "output": 10}}],
                },
            },
            "components": {
                "app": {
                    "type": "service",
                    "workers": 1,
                    "queue_limit": 1,
                    "service_time": "400ms",
                },
                "gpt": {
                    "type": "llm_api",
                    "latency": {"base": "20ms"},
                    "rate_limit": {
                        "requests_per_minute": 1,
                        "tokens_per_minute": 1e6,
                        "burst": {"requests": 1},
                    },
                    "retry": {"attempts": 1},
                },
            },
        }
    )


async def _with_client(scn: Any, body: Any) -> Any:
    async with TestClient(TestServer(build_app(scn))) as client:
        return await body(client)


def run(scn: Any, body: Any) -> Any:
    return asyncio.run(_with_client(scn, body))


async def _timed(client: TestClient, method: str, path: str) -> tuple[int, float]:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    async with client.request(method, path) as resp:
        await resp.read()
        return resp.status, loop.time() - t0


def test_workers_are_a_real_concurrency_limit_and_the_queue_limit_refuses():
    """One worker, 400 ms each, room for one waiting: of three at once, one is served at
    400 ms, one waits for it and is served at 800 ms, the third is refused at once (503).
    (400 ms, not less: the three are sent 20 ms apart, and a loaded test machine can stall
    an event loop for tens of milliseconds.)"""

    async def body(client: TestClient) -> list[tuple[int, float]]:
        first = asyncio.create_task(_timed(client, "GET", "/slow"))
        await asyncio.sleep(0.02)  # in this order: the first is in service before the others
        second = asyncio.create_task(_timed(client, "GET", "/slow"))
        await asyncio.sleep(0.02)
        third = asyncio.create_task(_timed(client, "GET", "/slow"))
        return list(await asyncio.gather(first, second, third))

    (s1, t1), (s2, t2), (s3, t3) = run(limits_scenario(), body)
    assert (s1, s2, s3) == (200, 200, 503)
    assert 0.399 <= t1 < 0.9
    assert 0.8 - 0.02 - 0.001 <= t2 < 1.3  # waited for the first (sent 20 ms after it)
    assert t3 < t1  # refused at once, not after a service time


def test_timeout_answers_504_while_the_model_keeps_working():
    async def body(client: TestClient) -> tuple[int, float, dict[str, Any]]:
        status, took = await _timed(client, "GET", "/tight/42")
        async with client.get("/_capplan/health") as resp:
            health = await resp.json()
        return status, took, health

    status, took, health = run(limits_scenario(), body)
    assert status == 504
    assert 0.049 <= took < 0.4  # at the timeout, before the 400 ms service ends
    assert health["in_flight"] == 1  # the abandoned request still holds its worker


def test_llm_quota_answers_429():
    """One request a minute with a burst of one and a single attempt: the second call
    within the minute is refused."""

    async def body(client: TestClient) -> list[int]:
        statuses = []
        for _ in range(2):
            async with client.post("/llm", json={}) as resp:
                statuses.append(resp.status)
        return statuses

    assert run(limits_scenario(), body) == [200, 429]


def test_unknown_path_is_404_and_health_counts_outcomes():
    async def body(client: TestClient) -> tuple[int, dict[str, Any]]:
        async with client.get("/nowhere") as resp:
            missing = resp.status
        await _timed(client, "GET", "/slow")
        async with client.get("/_capplan/health") as resp:
            return missing, await resp.json()

    missing, health = run(limits_scenario(), body)
    assert missing == 404
    assert health["outcomes"]["slow"] == {"ok": 1}


def test_an_idle_twin_sleeps():
    """With nothing due, the twin sets no timer: the loop does not spin between requests."""

    async def body(client: TestClient) -> tuple[int, int]:
        from capplan.emulate import server

        twin = client.server.app[server._TWIN]
        ticks = [0]
        tick = twin._tick

        def counting() -> None:
            ticks[0] += 1
            tick()

        twin._tick = counting  # type: ignore[method-assign]
        await _timed(client, "GET", "/slow")
        busy = ticks[0]
        await asyncio.sleep(0.3)
        return busy, ticks[0] - busy

    busy, idle = run(limits_scenario(), body)
    assert busy >= 1  # the service time was a timer
    assert idle == 0


def test_two_request_types_on_one_route_are_refused():
    """The emulator's own check, for scenarios built in code without validation."""
    scn = scenario(
        {
            "workload": {"arrival_rate": "1/s", "mix": {"a": 1, "b": 1}},
            "requests": {
                "a": {"http": {"path": "/x/{id}"}, "steps": [{"call": "app"}]},
                "b": {"http": {"path": "/y/{other}"}, "steps": [{"call": "app"}]},
            },
            "components": {"app": {"type": "service", "service_time": "1ms"}},
        }
    )
    clash = scn.requests["b"].model_copy(update={"http": scn.requests["a"].http})
    scn = scn.model_copy(update={"requests": {**scn.requests, "b": clash}})
    with pytest.raises(EmulatorError, match="share GET /x/"):
        build_app(scn)


def test_two_request_types_on_one_route_are_a_validation_error():
    from capplan.errors import ScenarioError

    with pytest.raises(ScenarioError, match="same HTTP method and path as request 'a'"):
        scenario(
            {
                "workload": {"arrival_rate": "1/s", "mix": {"a": 1, "b": 1}},
                "requests": {
                    "a": {"http": {"path": "/x/{id}"}, "steps": [{"call": "app"}]},
                    "b": {"http": {"path": "/x/{other}"}, "steps": [{"call": "app"}]},
                },
                "components": {"app": {"type": "service", "service_time": "1ms"}},
            }
        )


def _raw(port: int, data: bytes, wait: float = 0.3) -> bytes:
    import socket
    import time

    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        time.sleep(wait)
        try:
            return s.recv(100)
        except OSError:
            return b""


def test_bad_clients_cost_one_line_each_never_a_traceback(tmp_path):
    """Malformed request lines and headers, oversized bodies, a client that drops in the
    middle of its body: each gets its HTTP error (or nothing, when gone), and the twin's
    standard error has at most one line per bad request and no traceback."""
    import socket
    import subprocess
    import sys
    import time

    path = tmp_path / "s.yaml"
    path.write_text(
        "capplan: 1\nname: twin\nworkload: {arrival_rate: 1/s}\n"
        "requests: {r: {http: {method: POST, path: /r}, steps: [{call: app}]}}\n"
        "components: {app: {type: service, workers: 4, service_time: 10ms}}\n"
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "capplan", "emulate", str(path), "--port", str(port)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        bad = [
            b"GARBAGE\r\n\r\n",
            b"POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
            b"POST /r HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 20000 + b"\r\n\r\n",
            b"POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999\r\n\r\nshort",
            b"POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc",  # then gone
        ]
        answers = [_raw(port, data) for data in bad]
        assert all(a.startswith(b"HTTP/1.") for a in answers[:3])
        assert answers[3].startswith(b"HTTP/1.1 413")
        assert _raw(port, b"POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").startswith(
            b"HTTP/1.1 200"
        )
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert "Traceback" not in err
    problem_lines = [line for line in err.splitlines() if line.startswith("emulate:")]
    assert len(problem_lines) <= len(bad), err


def test_a_body_that_never_arrives_gets_408(monkeypatch):
    from capplan.emulate import server

    monkeypatch.setattr(server, "BODY_TIMEOUT_S", 0.3)

    async def body(client: TestClient) -> bytes:
        reader, writer = await asyncio.open_connection(client.host, client.port)
        writer.write(b"POST /llm HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(100), 5)
        writer.close()
        return answer

    answer = asyncio.run(_with_client(limits_scenario(), body))
    assert answer.startswith(b"HTTP/1.1 408")

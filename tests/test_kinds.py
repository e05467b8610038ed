"""Component kinds: the registry is the one place a type is defined, and ``type: delay``
(an infinite-server station) behaves as queueing theory says one does."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from capplan.analytic.layered import analyze
from capplan.kinds import KINDS
from capplan.scenario import json_schema
from capplan_helpers import ROOT, cli, exp, run, scenario


def test_every_kind_is_registered_once_and_documented() -> None:
    """The union of the scenario language is the registry's, and docs/scenario.md has a
    section for each type."""
    schema = json_schema()
    text = yaml.safe_dump(schema)
    doc = (ROOT / "docs" / "scenario.md").read_text()
    for name, kind in KINDS.items():
        assert kind.type == name
        assert f"type: {name}" in doc or f"`{name}`" in doc, name
        assert kind.model.__name__ in text, name


def test_the_type_checkers_union_lists_every_kind() -> None:
    """components.py spells the union out for the type checker; it must name every kind."""
    text = (ROOT / "capplan" / "scenario" / "components.py").read_text()
    checked = text[text.index("if TYPE_CHECKING:") : text.index("else:")]
    for kind in KINDS.values():
        assert kind.model.__name__ in checked, kind.type


def delayed(rate: str, delay: Any, then: Any | None = None, **sim: Any) -> Any:
    steps: list[dict[str, Any]] = [{"call": "cdn"}]
    components: dict[str, Any] = {"cdn": {"type": "delay", "service_time": delay}}
    if then is not None:
        steps.append({"call": "app"})
        components["app"] = {"type": "service", "workers": 1, "service_time": then}
    return scenario(
        {
            "simulation": {"replications": 4, **sim},
            "workload": {"arrival_rate": rate},
            "requests": {"r": {"steps": steps}},
            "components": components,
        }
    )


def test_a_delay_never_queues() -> None:
    """M/G/inf: at 200 arrivals a second, each taking a lognormal 1 s (cv 1), about 200 are
    in progress at once; each still takes exactly its own draw, so the latency is the
    delay's distribution: mean 1 s, median exp(mu) = 1/sqrt(2) s, p95 exp(mu + 1.645
    sigma) with sigma^2 = ln 2. 4 x 300 s x 200/s = 240,000 draws: 1% is many standard
    errors."""
    d = {"distribution": "lognormal", "mean": "1s", "cv": 1.0}
    result = run(delayed("200/s", d, duration="300s", warmup="10s"))
    lat = result["latency_s"]
    sigma = math.sqrt(math.log(2))
    mu = -(sigma**2) / 2
    assert lat["mean"] == pytest.approx(1.0, rel=0.01)
    assert lat["p50"] == pytest.approx(math.exp(mu), rel=0.02)
    assert lat["p95"] == pytest.approx(math.exp(mu + 1.6449 * sigma), rel=0.02)
    cdn = result["components"]["cdn"]
    assert cdn["utilization"] == 0.0 and cdn["mean_wait_s"] == 0.0 and not cdn["saturated"]
    assert cdn["mean_delay_s"] == pytest.approx(1.0, rel=0.01)


def test_a_delay_in_front_of_a_queue_adds_its_mean() -> None:
    """An exponential 50 ms delay, then an M/M/1 (mu 10/s) at 5/s: the delay does not
    change the queue's Poisson input (M/G/inf output is Poisson), so the mean sojourn is
    0.05 + 1/(10 - 5) = 0.25 s; the analytic model says the same."""
    s = delayed("5/s", exp("50ms"), exp("100ms"), duration="20000s", warmup="500s")
    low, high = run(s)["latency_s"]["ci95"]["mean"]
    assert low * 0.98 <= 0.25 <= high * 1.02, (low, high)
    assert analyze(s)["latency_mean_s"] == pytest.approx(0.25, rel=1e-9)


def test_a_delay_is_real_time_in_the_emulator() -> None:
    """The twin answers a call through a 300 ms delay after 300 ms, and ten at once all
    after about 300 ms (nothing queues)."""
    from capplan.emulate.server import build_app

    s = delayed("1/s", "300ms")

    async def body() -> list[float]:
        async with TestClient(TestServer(build_app(s))) as client:
            loop = asyncio.get_running_loop()

            async def one() -> float:
                t0 = loop.time()
                async with client.get("/r") as resp:
                    await resp.read()
                    assert resp.status == 200
                return loop.time() - t0

            return list(await asyncio.gather(*(one() for _ in range(10))))

    times = asyncio.run(body())
    assert all(0.299 <= t < 0.9 for t in times), times


@pytest.mark.parametrize(
    ("component", "key", "message"),
    [
        (
            {"type": "delay", "service_time": "10ms", "workers": 4},
            "components.cdn",
            "a delay never queues, so it has no workers",
        ),
        (
            {"type": "delay", "service_time": "10ms", "replicas": 2},
            "components.cdn",
            "no replicas",
        ),
        ({"type": "delay"}, "components.cdn.service_time", "required"),
    ],
)
def test_a_bad_delay_names_file_line_and_key(
    tmp_path: Path, component: dict[str, Any], key: str, message: str
) -> None:
    data = {
        "capplan": 1,
        "name": "bad",
        "workload": {"arrival_rate": "1/s"},
        "requests": {"r": {"steps": [{"call": "cdn"}]}},
        "components": {"cdn": component},
    }
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    code, _, err = cli("validate", str(path))
    assert code == 2 and "Traceback" not in err
    line = next(ln for ln in err.splitlines() if message in ln)
    assert line.startswith(f"{path}:") and key in line, err


def test_a_delay_call_has_no_nested_steps(tmp_path: Path) -> None:
    data = {
        "capplan": 1,
        "name": "bad",
        "workload": {"arrival_rate": "1/s"},
        "requests": {"r": {"steps": [{"call": "cdn", "steps": [{"call": "cdn"}]}]}},
        "components": {"cdn": {"type": "delay", "service_time": "1ms"}},
    }
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    code, _, err = cli("validate", str(path))
    assert code == 2 and "requests.r.steps[0].steps" in err and "no nested steps" in err, err

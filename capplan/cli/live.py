"""``capplan emulate`` and ``capplan loadtest``: the live side, against real HTTP."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from capplan.cli.app import (
    HtmlPath,
    Jobs,
    JsonPath,
    Replications,
    Scale,
    Scenario1,
    Seed,
    _load_all,
    app,
    err,
)
from capplan.cli.simulation import judge
from capplan.errors import CapplanError


def _duration(text: str, option: str) -> float:
    from capplan.scenario.units import parse_duration

    try:
        value = parse_duration(text)
    except (TypeError, ValueError) as exc:
        raise CapplanError(f"{option}: {exc} (got {text!r})") from exc
    if value <= 0:
        raise CapplanError(f"{option}: must be > 0 (got {text!r})")
    return value


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CapplanError(f"--host: expected a URL such as http://127.0.0.1:8080 (got {url!r})")


@app.command()
def emulate(
    file: Scenario1,
    host: Annotated[
        str, typer.Option(metavar="ADDRESS", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, metavar="PORT", help="Port to listen on.")
    ] = 8080,
    scale: Scale = None,
    seed: Seed = None,
) -> None:
    """Serve a live twin of the scenario over HTTP: each request type at its http method
    and path, each component a real concurrency limit with the scenario's service times,
    caches, LLM rate limits (HTTP 429), queue limits (503) and timeouts (504), in real
    time. The load comes from outside (capplan loadtest, or any HTTP client); --scale only
    sets the load scale of load the model makes itself (a link's background traffic).
    Stops cleanly on Ctrl-C or SIGTERM.

    Example:

        capplan emulate scenarios/current.yaml --port 8080
    """
    from capplan.emulate.server import serve
    from capplan.scenario.model import endpoint

    (scenario,) = _load_all([file], scale, seed, None)
    for name, rtype in scenario.requests.items():
        method, path = endpoint(name, rtype)
        err.print(f"  {method:6} {path}  ({name})", highlight=False, markup=False)

    def announce(url: str) -> None:
        err.print(f"emulating {scenario.name} on {url} (Ctrl-C stops)", highlight=False)

    status = serve(scenario, host, port, seed, announce)
    if status:
        err.print(
            f"stopped after {status['uptime_s']:.0f}s: {status['answered']:,} requests answered, "
            f"{status['in_flight']} in flight; model events more than 5 ms late: "
            f"{status['late_events']}",
            highlight=False,
        )


@app.command()
def loadtest(
    file: Scenario1,
    host: Annotated[str, typer.Option(metavar="URL", help="Base URL of the system under test.")],
    duration: Annotated[
        str, typer.Option(metavar="DURATION", help="Length of the test, e.g. 60s, 5m.")
    ] = "60s",
    warmup: Annotated[
        str | None,
        typer.Option(
            metavar="DURATION", help="Start of the test left out of the figures (default: 10%)."
        ),
    ] = None,
    scale: Scale = None,
    workers: Annotated[
        int,
        typer.Option(min=0, metavar="N", help="Local Locust worker processes (distributed mode)."),
    ] = 0,
    remote_workers: Annotated[
        int, typer.Option(min=0, metavar="N", help="Locust workers expected from other machines.")
    ] = 0,
    master_bind: Annotated[
        str,
        typer.Option(metavar="ADDRESS", help="Address the Locust master listens on for workers."),
    ] = "127.0.0.1",
    master_port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            metavar="PORT",
            help="Master port (default 5557 with remote workers, else free).",
        ),
    ] = None,
    json_path: JsonPath = None,
    html: HtmlPath = None,
    gate: Annotated[
        bool, typer.Option("--gate", help="Judge the scenario's SLOs on the measurement.")
    ] = False,
    junit: Annotated[
        Path | None, typer.Option(metavar="PATH", help="With --gate: JUnit XML here.")
    ] = None,
    markdown: Annotated[
        Path | None, typer.Option(metavar="PATH", help="With --gate: Markdown here.")
    ] = None,
    artifacts: Annotated[
        Path | None,
        typer.Option(
            metavar="FOLDER",
            help="Keep the locustfile, Locust's CSV and log, and the records in this new or "
            "empty folder.",
        ),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Do not ask before loading a non-loopback target.")
    ] = False,
    predict: Annotated[bool, typer.Option(help="Simulate the measured load and compare.")] = True,
    emulator: Annotated[
        bool,
        typer.Option(
            "--emulator",
            help="The target is capplan emulate: also read its health endpoint, which "
            "reports model events it handled late.",
        ),
    ] = False,
    seed: Annotated[
        int | None,
        typer.Option(
            min=0,
            metavar="N",
            help="Seed of the arrival schedule and of the prediction (default: a fresh "
            "schedule each run, printed so that it can be replayed; the scenario's seed "
            "for the prediction).",
            show_default=False,
        ),
    ] = None,
    replications: Replications = None,
    jobs: Jobs = None,
    progress: Annotated[bool, typer.Option(help="Show progress while the test runs.")] = True,
) -> None:
    """Drive real HTTP load shaped like the scenario with Locust (run as subprocesses):
    open workloads as Poisson arrivals on a fixed schedule, closed ones as users with
    think time. Reports measured latency percentiles, throughput and errors with 95%
    intervals beside what the model predicts at the measured load, flagging differences
    larger than the noise. With --gate, judges the SLOs on the measurement: exit codes as
    capplan gate (0 hold, 1 violated, 3 inconclusive). A test in which no request
    succeeded exits 1. Ctrl-C stops Locust and still reports and writes what was measured
    (exit 130).

    Example:

        capplan loadtest scenarios/current.yaml --host http://127.0.0.1:8080 --duration 60s
    """
    from capplan.cli.report import check_html
    from capplan.files import write_json
    from capplan.loadtest import loadtest as run
    from capplan.report.loadtest import render

    _check_url(host)
    check_html(html)
    duration_s = _duration(duration, "--duration")
    warmup_s = None if warmup is None else _duration(warmup, "--warmup")
    (scenario,) = _load_all([file], scale, seed, replications)
    generators = max(1, workers + remote_workers)
    _announce(scenario, host, duration_s, generators)
    if not _is_loopback(host) and not yes:
        if not sys.stdin.isatty():
            raise CapplanError(f"{host} is not a loopback address: give --yes to load it")
        if not typer.confirm("Start this load test?", default=False, err=True):
            raise CapplanError("load test not started")

    bar_progress = None
    bar: Progress | None = None
    if progress and err.is_terminal:
        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        task = bar.add_task("starting Locust", total=duration_s)

        def bar_progress(elapsed: float, records: int, failed: int) -> None:
            assert bar is not None
            bar.update(
                task,
                completed=min(elapsed, duration_s),
                description=f"{records:,} answered, {failed:,} failed",
            )

    try:
        if bar is not None:
            bar.start()
        result = run(
            scenario,
            host,
            duration_s=duration_s,
            warmup_s=warmup_s,
            workers=workers,
            remote_workers=remote_workers,
            master_bind=master_bind,
            master_port=master_port,
            artifacts=artifacts,
            progress=bar_progress,
            predict=predict,
            jobs=jobs,
            emulator=emulator,
            schedule_seed=seed,
        )
    finally:
        if bar is not None:
            bar.stop()
    Console().print(render(result))
    err.print(
        f"arrival schedule seed {result['plan']['seed']} (--seed {result['plan']['seed']} "
        "replays it)",
        highlight=False,
    )
    code = 0
    if gate:
        from capplan.gate import evaluate

        verdicts = evaluate([{**result, "saturated_components": []}])
        result["gate"] = [v.to_dict() for v in verdicts]
        code = judge(verdicts, junit, markdown, None)
    if json_path is not None:
        write_json(json_path, result)
        err.print(f"wrote {json_path}", highlight=False)
    if html is not None:
        from capplan.cli.report import sources_of, write_html
        from capplan.report.html import payload

        predicted = [result["predicted"]] if result.get("predicted") else []
        write_html(html, payload(predicted, None, [result], sources_of([file])))
    if result["interrupted"]:
        raise KeyboardInterrupt
    if result["failed"]:
        err.print(f"load test failed: {result['failed']}; is {host} serving?", highlight=False)
        code = max(code, 1)
    raise typer.Exit(code)


def _announce(scenario: Any, host: str, duration_s: float, generators: int) -> None:
    from capplan.scenario.units import format_duration

    mix = ", ".join(f"{n} {w:.0%}" for n, w in scenario.mix().items() if w > 0)
    if scenario.workload.is_open:
        load = f"Poisson arrivals at {scenario.arrival_rate:.3g}/s from {generators} generator(s)"
    else:
        load = f"{scenario.users} users with think time"
    err.print(
        f"load test of {scenario.name} against {host}: {load} for "
        f"{format_duration(duration_s)}; mix: {mix}",
        highlight=False,
        markup=False,
    )

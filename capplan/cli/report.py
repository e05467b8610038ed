"""``capplan report``: one self-contained HTML page of the charts a capacity review needs;
and the page writing that ``simulate``, ``gate`` and ``loadtest --html`` share."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from capplan.cli.app import (
    Dask,
    Jobs,
    Replications,
    Samples,
    Scale,
    Seed,
    ShowProgress,
    _load_all,
    app,
    err,
    replication_bar,
)
from capplan.errors import CapplanError


def sources_of(files: list[Path]) -> dict[str, str]:
    """The scenario files' text by name, for the page's 'how it was computed'."""
    out = {}
    for f in files:
        try:
            out[str(f)] = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):  # already read once by the loader
            continue
    return out


def write_html(path: Path, data: dict[str, Any]) -> None:
    """Render ``data`` (a report payload) and write it atomically."""
    from capplan.files import write_text
    from capplan.report.html import render

    html = render(
        data["results"],
        curves=data["curves"],
        loadtests=data["loadtests"],
        sweeps=data.get("sweeps") or [],
        sources=data["sources"],
    )
    write_text(path, html, make_folder=False)
    err.print(f"wrote {path} ({len(html.encode()) / 1e6:.1f} MB)", highlight=False)


def write_results_html(path: Path, results: list[dict[str, Any]], files: list[Path]) -> None:
    """The page of a command's own results (``simulate``, ``gate``: no load sweep)."""
    from capplan.report.html import payload

    write_html(path, payload(results, sources=sources_of(files)))


def check_html(path: Path | None, option: str = "--html") -> None:
    if path is not None:
        from capplan.report.html import check_html_path

        check_html_path(path, option)


@app.command()
def report(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Scenario YAML files to simulate.", metavar="SCENARIO...", show_default=False
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", metavar="PATH", help="The page to write (.html).")
    ] = Path("report.html"),
    from_: Annotated[
        list[Path] | None,
        typer.Option(
            "--from",
            metavar="JSON",
            help="Reuse results instead of simulating: the --json of report, simulate, "
            "sweep or loadtest (repeatable).",
        ),
    ] = None,
    json_path: Annotated[
        Path | None,
        typer.Option(
            "--json", metavar="PATH", help="Also save what the page shows, for --from later."
        ),
    ] = None,
    curve: Annotated[
        bool,
        typer.Option(
            help="Sweep the load of each stationary scenario for the latency-against-load "
            "chart (the headroom search's evaluations plus a few more)."
        ),
    ] = True,
    scale: Scale = None,
    seed: Seed = None,
    replications: Replications = None,
    jobs: Jobs = None,
    dask: Dask = None,
    progress: ShowProgress = True,
    samples: Samples = 32,
) -> None:
    """Write one self-contained HTML page (no network needed to open it): the SLO
    verdicts, latency against load with the knee and saturation marked, utilization,
    where the time goes, the run over time, cost, sweeps (--from a sweep's --json),
    uncertain inputs, load-test comparisons and how it was computed.

    Example:

        capplan report scenarios/current.yaml scenarios/10x.yaml --out report.html
    """
    from capplan.files import write_json
    from capplan.report.html import PARTS, compute, payload, read_inputs

    check_html(out, "--out")
    if not files and not from_:
        raise CapplanError("give scenario files to simulate, or --from saved JSON")
    data = read_inputs(from_) if from_ else payload([])
    if files:
        scenarios = _load_all(files, scale, seed, replications)

        def point(name: str, load_scale: float, holds: bool) -> None:
            verdict = "SLOs hold" if holds else "SLO breached"
            err.print(f"  {name} at {load_scale:8.3f}x: {verdict}", highlight=False)

        from capplan.cluster import runner_for

        with runner_for(jobs, dask) as runner, replication_bar(scenarios, progress) as advance:
            fresh = compute(
                scenarios,
                sources_of(files),
                curve=curve,
                progress=advance,
                on_point=point if progress else None,
                samples=samples,
                runner=runner,
            )
        for key in PARTS:
            data[key] += fresh[key]
        data["sources"].update(fresh["sources"])
    if not data["results"] and not data["loadtests"] and not data["sweeps"]:
        raise CapplanError("nothing to report: the --from files hold no results")
    if json_path is not None:
        write_json(json_path, data)
    write_html(out, data)

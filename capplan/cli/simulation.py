"""``capplan simulate``, ``compare`` and ``gate``: the commands that simulate scenarios
and show, compare or judge their results."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from capplan.cli.app import (
    Dask,
    Files,
    HtmlPath,
    Jobs,
    JsonPath,
    MaxVisits,
    Replications,
    Samples,
    Scale,
    Seed,
    ShowProgress,
    _load_all,
    _simulate_all,
    app,
)
from capplan.errors import CapplanError

if TYPE_CHECKING:
    from capplan.gate import Verdict
    from capplan.scenario import Scenario


@app.command()
def simulate(
    files: Files,
    scale: Scale = None,
    seed: Seed = None,
    replications: Replications = None,
    json_path: JsonPath = None,
    jobs: Jobs = None,
    dask: Dask = None,
    samples: Samples = 32,
    progress: ShowProgress = True,
    max_visits: MaxVisits = None,
    analytic: Annotated[
        bool,
        typer.Option(
            "--analytic",
            help="Answer at once from queueing formulas instead of simulating: an "
            "approximation, means only, labelled as such.",
        ),
    ] = False,
    timeline: Annotated[
        Path | None,
        typer.Option(
            "--timeline",
            metavar="PATH",
            help="Also write the run window by window: .csv, or .parquet (needs pyarrow).",
        ),
    ] = None,
    window: Annotated[
        str | None,
        typer.Option(
            metavar="DURATION",
            help="Timeline window ('1m', '5m'); overrides simulation.window; must divide the run.",
        ),
    ] = None,
    html: HtmlPath = None,
    csv: Annotated[
        Path | None,
        typer.Option(
            "--csv",
            metavar="PATH",
            help="Also write the results as a tidy table: one row per scenario, metric and "
            "scope, with 95% intervals.",
        ),
    ] = None,
) -> None:
    """Simulate scenarios and report latency, errors, utilization and cost with 95% CIs;
    several files are shown side by side. A run whose load changes over time (a load
    profile) leads with its timeline and SLO attainment.

    Example:

        capplan simulate scenarios/current.yaml scenarios/10x.yaml --json out.json
    """
    from capplan.cli.report import check_html
    from capplan.report import render, write_results
    from capplan.report.timeline import check_timeline_path, write_timeline

    if timeline is not None:
        check_timeline_path(timeline)
    check_html(html)
    scenarios = _load_all(files, scale, seed, replications)
    if window is not None:
        scenarios = [_with_window(s, window) for s in scenarios]
    if analytic:
        from capplan.analytic.layered import analyze
        from capplan.report.analytic import render_analytic

        approximations = [analyze(s) for s in scenarios]
        if json_path is not None:
            write_results(json_path, approximations)
        Console().print(render_analytic(approximations))
        return
    results = _simulate_all(scenarios, jobs, progress, max_visits, dask, samples)
    if json_path is not None:
        write_results(json_path, results)
    if timeline is not None:
        write_timeline(timeline, results)
    if csv is not None:
        from capplan.files import write_text
        from capplan.results.frame import result_frame

        write_text(csv, result_frame(results).to_csv(index=False))
    if html is not None:
        from capplan.cli.report import write_results_html

        write_results_html(html, results, files)
    Console().print(render(results))


def _with_window(s: Scenario, text: str) -> Scenario:
    from capplan.scenario.units import format_duration, parse_duration

    try:
        w = parse_duration(text)
    except ValueError as exc:
        raise CapplanError(f"--window: {exc} (got {text!r})") from None
    d = s.simulation.duration
    if not 0 < w <= d or abs(d / w - round(d / w)) > 1e-9 * d / w:
        raise CapplanError(
            f"--window: must divide {s.name}'s run ({format_duration(d)}) into whole windows "
            f"(got {text!r})"
        )
    return s.model_copy(update={"simulation": s.simulation.model_copy(update={"window": w})})


@app.command()
def compare(
    a: Annotated[Path, typer.Argument(help="The scenario to compare from.", metavar="FROM")],
    b: Annotated[Path, typer.Argument(help="The scenario to compare to.", metavar="TO")],
    scale: Scale = None,
    seed: Seed = None,
    replications: Replications = None,
    json_path: JsonPath = None,
    jobs: Jobs = None,
    progress: ShowProgress = True,
    max_visits: MaxVisits = None,
    dask: Dask = None,
) -> None:
    """Simulate two scenarios and show them side by side with the change in latency,
    errors, utilization and cost. JSON: {"scenarios": [a, b], "deltas": {...}}.

    Example:

        capplan compare scenarios/current.yaml scenarios/10x.yaml --json delta.json
    """
    from capplan.files import write_json
    from capplan.report import render
    from capplan.report.compare import delta_table
    from capplan.results.compare import deltas

    ra, rb = _simulate_all(
        _load_all([a, b], scale, seed, replications), jobs, progress, max_visits, dask
    )
    d = deltas(ra, rb)
    if json_path is not None:
        payload = {"scenarios": [ra, rb], "deltas": d}
        write_json(json_path, payload)
    out = Console()
    out.print(render([ra, rb]))
    out.print(delta_table(ra, rb, d))


@app.command()
def gate(
    files: Files,
    junit: Annotated[
        Path | None, typer.Option(metavar="PATH", help="Write JUnit XML here.")
    ] = None,
    markdown: Annotated[
        Path | None, typer.Option(metavar="PATH", help="Write a Markdown summary here.")
    ] = None,
    json_path: JsonPath = None,
    html: HtmlPath = None,
    scale: Scale = None,
    seed: Seed = None,
    replications: Replications = None,
    jobs: Jobs = None,
    progress: ShowProgress = True,
    max_visits: MaxVisits = None,
    confidence: Annotated[
        str | None,
        typer.Option(
            metavar="P",
            help="For scenarios with uncertain inputs: pass an SLO only when it holds in at "
            "least this share of the samples ('90%').",
        ),
    ] = None,
    samples: Samples = 32,
    dask: Dask = None,
) -> None:
    """CI gate: simulate and judge every SLO on its 95% confidence interval. An SLO passes
    only if its whole interval is within target, fails if the whole interval is beyond it,
    and is inconclusive otherwise (interval straddles the target, a component saturated,
    or a single replication).

    Exit codes: 0 all SLOs hold; 1 an SLO is violated; 2 invalid input; 3 inconclusive.
    Reports are written whatever the verdict.

    Example:

        capplan gate scenarios/*.yaml --junit gate.xml --markdown gate.md
    """
    from capplan.cli.report import check_html
    from capplan.gate import evaluate

    check_html(html)
    share = None
    if confidence is not None:
        from capplan.scenario.units import parse_fraction

        try:
            share = parse_fraction(confidence)
        except ValueError as exc:
            raise CapplanError(f"--confidence {confidence}: {exc}") from None
        if not 0 < share <= 1:
            raise CapplanError(f"--confidence {confidence}: a share between 0 and 100%")
    results = _simulate_all(
        _load_all(files, scale, seed, replications), jobs, progress, max_visits, dask, samples
    )
    verdicts = evaluate(results, share)
    if html is not None:
        from capplan.cli.report import write_results_html

        write_results_html(html, results, files)
    raise typer.Exit(judge(verdicts, junit, markdown, json_path))


def judge(
    verdicts: list[Verdict], junit: Path | None, markdown: Path | None, json_path: Path | None
) -> int:
    """Write the gate reports asked for, print one line per verdict; the exit code."""
    from capplan.files import write_text
    from capplan.gate import exit_code, json_report
    from capplan.gate import junit as junit_xml
    from capplan.gate import markdown as markdown_text

    for path, render in ((junit, junit_xml), (markdown, markdown_text), (json_path, json_report)):
        if path is not None:
            write_text(path, render(verdicts))
    out = Console(highlight=False)
    styles = {"pass": "green", "fail": "red", "inconclusive": "yellow"}
    for v in verdicts:
        line = f"{v.status.upper():12} {v.scenario}: {v.reason}"
        out.print(line, style=styles[v.status], markup=False, soft_wrap=True)
    code = exit_code(verdicts)
    summary = {0: "all SLOs hold", 1: "an SLO is violated", 3: "inconclusive"}[code]
    out.print(f"gate: {summary} (exit {code})", markup=False)
    return code

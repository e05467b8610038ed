"""``capplan`` commands. Each parses options, calls the library and renders.

Exit codes are decided here and only here: 0 success; 1 an SLO is violated (gate);
2 invalid input (any :class:`~capplan.errors.CapplanError` carries its own code);
3 inconclusive (gate); 130 interrupted.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress
from typer.core import TyperArgument, TyperGroup

from capplan._version import __version__
from capplan.errors import CapplanError, ScenarioError

if TYPE_CHECKING:
    from capplan.gate import Verdict
    from capplan.scenario import Scenario

COMMANDS = (
    "simulate",
    "compare",
    "gate",
    "render-manifests",
    "validate",
    "schema",
    "calibrate",
    "availability",
    "emulate",
    "loadtest",
    "headroom",
    "size",
    "report",
    "sweep",
)
"""The order of ``capplan --help``, whichever module defines each command."""


class _Commands(TyperGroup):
    def list_commands(self, ctx: Any) -> list[str]:
        known = [c for c in COMMANDS if c in self.commands]
        return known + [c for c in self.commands if c not in COMMANDS]


app = typer.Typer(
    name="capplan",
    cls=_Commands,
    help="Capacity planning and load simulation for service systems.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

err = Console(stderr=True)


def _usage_name(self: TyperArgument) -> str:
    """``SCENARIO...`` as a person writes it, not typer's ``{SCENARIO...}...``."""
    name = self.display_name_raw
    return name if self.required else f"[{name}]"


def _argument_type(self: TyperArgument, ctx: Any) -> str:
    """No ``<list[Path]>`` beside an argument whose metavar already says what it takes."""
    return "" if self.metavar else _typer_display_type(self, ctx)


# typer has no setting for these two; every argument here has a metavar
_typer_display_type = TyperArgument.display_type
TyperArgument._usage_display_name = _usage_name  # type: ignore[method-assign]
TyperArgument.display_type = _argument_type  # type: ignore[method-assign,assignment]

Files = Annotated[
    list[Path],
    typer.Argument(help="Scenario YAML files.", metavar="SCENARIO...", show_default=False),
]
Scenario1 = Annotated[
    Path, typer.Argument(help="Scenario YAML file.", metavar="SCENARIO", show_default=False)
]
Scale = Annotated[
    float | None,
    typer.Option(
        "--scale", metavar="X", help="Load scale (1 = today); overrides the files' load_scale."
    ),
]
Seed = Annotated[
    int | None,
    typer.Option(
        min=0, metavar="N", help="Root seed; overrides simulation.seed.", show_default=False
    ),
]
Replications = Annotated[
    int | None,
    typer.Option(
        min=1,
        metavar="N",
        help="Replications; overrides simulation.replications.",
        show_default=False,
    ),
]
Jobs = Annotated[
    int | None,
    typer.Option(
        min=1,
        metavar="N",
        help="Most processes running replications at once (default: one per core, or a "
        "batch of a few replications that the cores do not divide all at once).",
        show_default=False,
    ),
]
Dask = Annotated[
    str | None,
    typer.Option(
        "--dask",
        envvar="CAPPLAN_DASK",
        metavar="ADDRESS",
        help="Run the simulations on this Dask scheduler (tcp://host:8786) instead of local "
        "processes; same results. Needs pip install 'capplan[dask]'.",
        show_default=False,
    ),
]
Samples = Annotated[
    int,
    typer.Option(
        min=3,
        metavar="N",
        help="Samples over the inputs given as ranges (between: [low, high] in the file).",
    ),
]
JsonPath = Annotated[
    Path | None,
    typer.Option("--json", metavar="PATH", help="Also write JSON to this path ('-': stdout)."),
]
ShowProgress = Annotated[bool, typer.Option(help="Show a progress bar.")]
HtmlPath = Annotated[
    Path | None,
    typer.Option(
        "--html",
        metavar="PATH",
        help="Also write the HTML report of these results here (.html; 'capplan report' "
        "adds the latency-against-load sweep).",
    ),
]
MaxVisits = Annotated[
    float | None,
    typer.Option(
        "--max-visits",
        metavar="N",
        help="Allow runs estimated at up to N station visits in all (default 5e8, about "
        "half an hour of CPU); longer runs are refused with their estimate.",
        show_default=False,
    ),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"capplan {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Capacity planning and load simulation for service systems."""


def _load_all(
    files: list[Path], scale: float | None, seed: int | None, replications: int | None
) -> list[Scenario]:
    """Every file, validated before anything runs; the problems of all files at once."""
    from capplan.api import with_overrides
    from capplan.scenario import load_scenario

    scenarios, problems = [], []
    for f in files:
        try:
            s = load_scenario(f, load_scale=scale)
            scenarios.append(with_overrides(s, replications=replications, seed=seed))
        except ScenarioError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ScenarioError(problems)
    return scenarios


def note_central(scenario: Scenario, command: str) -> None:
    """Tell on standard error that ``command`` reads a scenario's uncertain inputs at their
    central values: its answer carries the simulation's interval, not their ranges."""
    from capplan.scenario.yamlfile import format_path

    inputs = scenario._uncertain
    if inputs:
        names = ", ".join(format_path(i.path) for i in inputs[:3])
        more = f" and {len(inputs) - 3} more" if len(inputs) > 3 else ""
        err.print(
            f"{scenario.name}: {command} reads the {len(inputs)} uncertain input(s) ({names}"
            f"{more}) at their central values; their ranges are not carried into its "
            "answer (simulate, gate and sweep carry them)",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


def _simulate_all(
    scenarios: list[Scenario],
    jobs: int | None,
    progress: bool,
    max_visits: float | None = None,
    dask: str | None = None,
    samples: int = 32,
) -> list[dict[str, Any]]:
    """Every scenario's result; one with uncertain inputs (ranges) also simulated at
    ``samples`` points over them (see capplan.uncertainty)."""
    from capplan.api import simulate_all
    from capplan.cluster import runner_for
    from capplan.sim import budget
    from capplan.uncertainty import simulate_uncertain

    for s in scenarios:  # every run's size is known before the first starts
        est = budget.check(s, max_visits)
        if est.cpu_s > 60:
            err.print(f"{s.name}: {est.describe()}", highlight=False, markup=False)
    plain = [s for s in scenarios if not s._uncertain]
    with runner_for(jobs, dask) as runner:
        with replication_bar(plain, progress) as advance:
            done = iter(simulate_all(plain, progress=advance, max_visits=max_visits, runner=runner))
        out = []
        for s in scenarios:
            if not s._uncertain:
                out.append(next(done))
                continue
            err.print(
                f"{s.name}: {len(s._uncertain)} uncertain input(s): simulating the central "
                f"inputs and {samples} samples over the ranges",
                highlight=False,
                markup=False,
            )
            out.append(simulate_uncertain(s, samples=samples, runner=runner, max_visits=max_visits))
        return out


@contextlib.contextmanager
def replication_bar(
    scenarios: list[Scenario], show: bool
) -> Iterator[Callable[[int, int], None] | None]:
    """A transient bar counting the scenarios' replications on a terminal, as the
    ``progress`` callback of a simulation; None (no bar) when not shown."""
    if not (show and err.is_terminal):
        yield None
        return
    total = sum(s.simulation.replications for s in scenarios)
    names = ", ".join(s.name for s in scenarios)
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task(f"simulating {names}", total=total)

        def advance(done: int, _total: int) -> None:
            bar.update(task, completed=done)

        yield advance


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


def main() -> None:
    """Entry point: run the app, turning expected errors into a message and an exit code."""
    try:
        code = app(standalone_mode=False, prog_name="capplan")
    except CapplanError as exc:
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        # usage errors from the option parser (click's, as vendored by typer): shown as
        # click shows them, with click's exit code (2)
        show, usage_code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(usage_code, int):
            show()
            sys.exit(usage_code)
        if type(exc).__name__ == "Abort":  # click's form of KeyboardInterrupt
            err.print("interrupted")
            sys.exit(130)
        raise
    if code == 130:  # typer turns a KeyboardInterrupt into exit code 130
        err.print("interrupted")
    sys.exit(code if isinstance(code, int) else 0)

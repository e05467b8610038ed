"""``capplan`` commands. Each parses options, calls one library function and renders.

Exit codes are decided here and only here: 0 success, 2 invalid input (any
:class:`~capplan.errors.CapplanError` carries its own code), 130 interrupted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import TaskID

from capplan import __version__
from capplan.errors import CapplanError

app = typer.Typer(
    name="capplan",
    help="Capacity planning and load simulation for service systems.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    rich_markup_mode=None,
)

err = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"capplan {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Capacity planning and load simulation for service systems."""


@app.command()
def simulate(
    files: Annotated[list[Path], typer.Argument(help="Scenario YAML files, shown side by side.")],
    scale: Annotated[
        float | None,
        typer.Option("--scale", min=0.0, help="Load scale; overrides the files' load_scale."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(min=0, help="Root seed; overrides simulation.seed.")
    ] = None,
    replications: Annotated[
        int | None, typer.Option(min=1, help="Replications; overrides simulation.replications.")
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the results as JSON to this path.")
    ] = None,
    jobs: Annotated[
        int | None, typer.Option(min=1, help="Processes for replications (default: all cores).")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Simulate scenarios and report latency, errors and utilization with 95% CIs.

    Example:

        capplan simulate scenarios/current.yaml scenarios/10x.yaml --json out.json
    """
    from capplan.api import simulate as run
    from capplan.api import with_overrides
    from capplan.report import render, write_json
    from capplan.scenario import load_scenario

    scenarios = [
        with_overrides(load_scenario(f, load_scale=scale), replications=replications, seed=seed)
        for f in files
    ]
    results = []
    show = progress and err.is_terminal
    for scenario in scenarios:
        if show:
            from rich.progress import Progress

            with Progress(console=err, transient=True) as bar:
                task = bar.add_task(
                    f"simulating {scenario.name}", total=scenario.simulation.replications
                )

                def advance(done: int, _total: int, task: TaskID = task) -> None:
                    bar.update(task, completed=done)

                results.append(run(scenario, jobs=jobs, progress=advance))
        else:
            results.append(run(scenario, jobs=jobs))
    if json_path is not None:
        write_json(json_path, results)
    Console().print(render(results))


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Scenario YAML files.")],
) -> None:
    """Check scenario files and report every problem with file, line, YAML path and value.

    Example:

        capplan validate scenarios/*.yaml
    """
    from capplan.errors import ScenarioError
    from capplan.scenario import load_scenario

    problems = []
    for f in files:
        try:
            load_scenario(f)
            typer.echo(f"{f}: ok")
        except ScenarioError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ScenarioError(problems)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the scenario language (for editor completion).

    Example:

        capplan schema > scenario.schema.json
    """
    from capplan.scenario import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))


def main() -> None:
    """Entry point: run the app, turning expected errors into a message and an exit code."""
    try:
        app(standalone_mode=False)
    except CapplanError as exc:
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        # usage errors from the option parser (click's, as vendored by typer): shown as
        # click shows them, with click's exit code (2)
        show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            sys.exit(code)
        if type(exc).__name__ == "Abort":
            sys.exit(130)
        raise

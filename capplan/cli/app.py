"""The ``capplan`` application: the command group, the options its commands share,
loading and simulating scenarios for them, and the entry point. The commands live in
the modules beside it (``simulation``: simulate, compare and gate; ``planning``; ...);
each parses options, calls the library and renders.

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

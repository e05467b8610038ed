"""``capplan calibrate``: measurements in, a calibrated overlay out."""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from capplan.cli.app import Dask, Jobs, JsonPath, Scenario1, _load_all, app, err
from capplan.errors import CapplanError


def _ms(stat: dict[str, Any]) -> str:
    v, ci = stat["value"], stat["ci95"]
    if v is None:
        return "-"
    text = f"{v * 1000:.4g}ms"
    if ci:
        text += f" ±{(ci[1] - ci[0]) / 2 * 1000:.2g}"
    return text


def _flow(value: Any) -> str:
    from capplan.calibrate.overlay import _flow as flow

    return flow(value)


def _tables(cal: Any) -> list[Table]:
    changes = Table(title="Calibrated values")
    for col in ("parameter", "before", "after", "standard error"):
        changes.add_column(col)
    for c in cal.changes:
        changes.add_row(".".join(c.path), _flow(c.before), _flow(c.after), c.std_error or "-")
    latency = Table(title="Latency at the measured load: measured vs predicted")
    for col in ("request", "statistic", "measured", "before", "after", "within"):
        latency.add_column(col)
    for name, row in cal.latency.items():
        for key in ("mean", "p95"):
            r = row[key]
            within = {True: "yes", False: "no", None: "?"}[r["within"]]
            latency.add_row(
                name, key, _ms(r["measured"]), _ms(r["before"]), _ms(r["after"]), within
            )
    tables = [changes, latency]
    if cal.distributions:
        dists = Table(title="Measured latency distributions (maximum likelihood, KS test)")
        for col in ("request", "requests", "family", "mean", "cv", "KS p"):
            dists.add_column(col)
        for name, d in cal.distributions.items():
            family = d["family"] if d["fits"] else "empirical (no family fits)"
            dists.add_row(
                name, f"{d['requests']:,}", family, f"{d['mean_s'] * 1000:.4g}ms",
                f"{d['cv']:.3g}", f"{d['ks_p']:.2g}",
            )  # fmt: skip
        tables.append(dists)
    return tables


@app.command()
def calibrate(
    file: Scenario1,
    sources: Annotated[
        list[Path],
        typer.Option(
            "--from",
            metavar="DATA",
            help="Measurements: a loadtest --artifacts folder or --json file, Locust's "
            "PREFIX_stats.csv, an access log (CSV or nginx), or a folder of Prometheus "
            "query_range JSON with its mapping.yaml. Repeatable.",
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="PATH",
            help="Write the overlay here (default: <name>-calibrated.yaml next to the input).",
        ),
    ] = None,
    json_path: JsonPath = None,
    jobs: Jobs = None,
    dask: Dask = None,
) -> None:
    """Calibrate a scenario from measurements: service times searched by simulation so
    that the predicted latency matches the measured one at the measured load, their shape
    fitted where records allow, CPU per request from Prometheus by the Utilization Law,
    the mix from the system's own traffic. Writes an overlay holding only the changed
    values, each with its source and fit, and prints the values and the predicted vs
    measured latency before and after.

    Example:

        capplan calibrate scenarios/current.yaml --from artifacts/ --out calibrated.yaml
    """
    from capplan.api import simulate
    from capplan.calibrate import calibrate as run
    from capplan.calibrate.overlay import MARK, overlay
    from capplan.cluster import runner_for
    from capplan.files import write_json, write_text
    from capplan.sim.runner import Runner

    (scenario,) = _load_all([file], None, None, None)
    path = out if out is not None else _default_path(file, MARK)
    if path.suffix not in (".yaml", ".yml"):
        raise CapplanError(f"--out {path}: the overlay is YAML; name it .yaml")
    if not path.parent.is_dir():
        raise CapplanError(f"--out {path}: no folder {path.parent}")
    rounds = 0
    runner: Runner | None = None

    with ExitStack() as stack:

        def sim(s: Any) -> dict[str, Any]:
            # the processes (or the Dask client) start with the first simulation: the
            # measurements are read and checked before, and some need none
            nonlocal rounds, runner
            if runner is None:
                runner = stack.enter_context(runner_for(jobs, dask))
            rounds += 1
            err.print(f"  simulation {rounds}", highlight=False)
            return simulate(s, runner=runner)

        cal = run(scenario, list(sources), sim)
    console = Console()
    for table in _tables(cal):
        console.print(table)
    for note in cal.notes:
        console.print(f"note: {note}", highlight=False, markup=False)
    base = os.path.relpath(file.resolve(), path.resolve().parent)
    write_text(path, overlay(cal, base))
    typer.echo(f"wrote {path} (extends {base}; only what calibration changed)")
    if json_path is not None:
        write_json(json_path, cal.to_dict())


def _default_path(file: Path, mark: str) -> Path:
    """``<input>-calibrated.yaml`` beside the input; an existing file there is replaced
    only if capplan wrote it."""
    path = file.with_name(f"{file.stem}-calibrated.yaml")
    if path.exists():
        head = path.read_text(encoding="utf-8", errors="replace")[:300]
        if mark not in head:
            raise CapplanError(
                f"{path} exists and was not written by capplan calibrate: name the output with --out"
            )
    return path

"""``capplan headroom`` and ``capplan size``: the planning commands, searches over the
simulation."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from capplan.cli.app import (
    Dask,
    Jobs,
    JsonPath,
    MaxVisits,
    Replications,
    Scenario1,
    Seed,
    ShowProgress,
    _load_all,
    app,
    err,
    note_central,
)
from capplan.errors import CapplanError


@app.command()
def headroom(
    file: Scenario1,
    json_path: JsonPath = None,
    tolerance: Annotated[
        float,
        typer.Option(min=0.001, max=0.5, metavar="X", help="Relative precision of the search."),
    ] = 0.02,
    max_scale: Annotated[
        float, typer.Option(min=1.0, metavar="X", help="Give up above this load scale.")
    ] = 1000.0,
    seed: Seed = None,
    replications: Replications = None,
    jobs: Jobs = None,
    dask: Dask = None,
    batch: Annotated[
        int,
        typer.Option(
            min=1,
            max=16,
            metavar="K",
            help="Load scales each narrowing step simulates at once: with several workers "
            "(or --dask) 3 or more finish sooner; the answer moves within --tolerance.",
        ),
    ] = 1,
    max_visits: MaxVisits = None,
    progress: ShowProgress = True,
) -> None:
    """Find the largest load scale at which every SLO still holds, with a 95% interval
    and the SLO and resource that break first. Scales are absolute: today's load is 1.

    Example:

        capplan headroom scenarios/current.yaml --json headroom.json
    """
    from capplan.files import write_json
    from capplan.headroom import describe
    from capplan.headroom import headroom as search

    (scenario,) = _load_all([file], None, seed, replications)
    note_central(scenario, "headroom")

    def show(scale: float, holds: bool) -> None:
        err.print(f"  {scale:8.3f}x: {'SLOs hold' if holds else 'SLO breached'}", highlight=False)

    from capplan.cluster import runner_for

    with runner_for(jobs, dask) as runner:
        result = search(
            scenario,
            tolerance=tolerance,
            max_scale=max_scale,
            progress=show if progress else None,
            max_visits=max_visits,
            runner=runner,
            batch=batch,
        )
    if json_path is not None:
        write_json(json_path, result)
    typer.echo(describe(result))


@app.command()
def size(
    file: Scenario1,
    load_scale: Annotated[
        float | None,
        typer.Option(metavar="X", help="Size for this load scale (default: the file's)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="PATH",
            help="Write the sized scenario here (default: <name>-sized.yaml next to the input).",
        ),
    ] = None,
    json_path: JsonPath = None,
    jobs: Jobs = None,
    dask: Dask = None,
    batch: Annotated[
        int,
        typer.Option(
            min=1,
            max=16,
            metavar="K",
            help="Candidates a round may simulate at once: a round that adds replicas to "
            "a service also tries its next K - 1 additions. With several workers (or "
            "--dask) rounds are saved; the answer is the same.",
        ),
    ] = 1,
    max_visits: MaxVisits = None,
    survive: Annotated[
        str | None,
        typer.Option(
            metavar="FAILURE",
            help="Also hold the SLOs through this failure at the projected load: "
            "zone_outage (one zone of kubernetes.zones gone) or node_loss (the fullest "
            "node gone; needs costs).",
        ),
    ] = None,
    progress: ShowProgress = True,
) -> None:
    """Find the fewest replicas of each service that keep every SLO and every utilization
    under the autoscaling target at the projected load, confirmed by simulation, and write
    the sized scenario. Links, LLM quotas, database shards and cache nodes running above
    their target are raised too and listed apart (they are provisioned, not autoscaled).
    Exit code 1 when no sizing meets the SLOs; the cause is named.

    Example:

        capplan size scenarios/10x.yaml --out 10x-sized.yaml
    """
    from capplan.cluster import runner_for
    from capplan.files import write_json, write_text
    from capplan.report.sizing import progress_line, render_sizing
    from capplan.sizing import size as run_sizing
    from capplan.sizing import sized_overlay

    (scenario,) = _load_all([file], None, None, None)
    note_central(scenario, "size")
    path = out if out is not None else _default_sized_path(file)
    with runner_for(jobs, dask) as runner:
        result = run_sizing(
            scenario,
            load_scale,
            max_visits=max_visits,
            progress=(
                (lambda r, n: err.print("  " + progress_line(r, n), highlight=False, markup=False))
                if progress
                else None
            ),
            survive=survive,
            runner=runner,
            batch=batch,
        )
    Console().print(render_sizing(result, scenario.name))
    base = os.path.relpath(file.resolve(), path.resolve().parent)
    write_text(path, sized_overlay(result, scenario, base))
    typer.echo(f"wrote {path} (extends {base}; only what sizing changed)")
    if json_path is not None:
        payload = {
            k: v for k, v in result.items() if k not in ("result", "sized", "survive_result")
        }
        write_json(json_path, payload)
    if result["slos_met"]:
        typer.echo("every SLO holds at the sized configuration (confirmed by simulation)")
        return
    unmet = result["unmet"] or (result.get("survive") or {}).get("unmet")
    typer.echo(f"SLOs not met by sizing services: {unmet or 'see the gate'}")
    raise typer.Exit(1)


SIZED_MARK = "sized by capplan"


def _default_sized_path(file: Path) -> Path:
    """``<input>-sized.yaml`` beside the input; an existing file there is replaced only if
    capplan wrote it (the user did not name it, so it must not be theirs)."""
    path = file.with_name(f"{file.stem}-sized.yaml")
    if path.exists():
        try:
            head = path.read_text(encoding="utf-8", errors="replace")[:300]
        except OSError:
            head = ""
        if SIZED_MARK not in head:
            raise CapplanError(
                f"{path} exists and was not written by capplan size: name the output with --out"
            )
    return path

"""``capplan sweep``: a scenario over a grid (or a Latin hypercube) of its inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from capplan.cli.app import Dask, Jobs, JsonPath, MaxVisits, Scenario1, app, err
from capplan.errors import CapplanError

SHOWN_POINTS = 40
"""Sweeps up to this size are shown point by point."""


def _points_table(pts: list[dict[str, Any]], results: list[dict[str, Any]]) -> Table:
    table = Table(title="Points: p95 latency and error rate with 95% intervals")
    names = list(pts[0])
    for col in ("point", *names, "p95", "error rate", "SLOs"):
        table.add_column(col)
    for i, (point, r) in enumerate(zip(pts, results, strict=True), start=1):
        lat = r["latency_s"]
        p95 = "saturated" if lat["p95"] is None else f"{lat['p95'] * 1000:.4g}ms"
        ci = lat["ci95"]["p95"] if lat["p95"] is not None else None
        if ci:
            p95 += f" ±{(ci[1] - ci[0]) / 2 * 1000:.2g}"
        held = sum(s["passed"] for s in r["slos"])
        table.add_row(
            str(i),
            *(str(point[n]) for n in names),
            p95,
            f"{r['error_rate'] * 100:.2g}%",
            f"{held} of {len(r['slos'])}" if r["slos"] else "-",
        )
    return table


@app.command()
def sweep(
    file: Scenario1,
    vary: Annotated[
        list[str],
        typer.Option(
            "--vary",
            metavar="PATH=VALUES",
            help="A value by its YAML path and its values: low..high:points "
            "(load_scale=1..20:20; units allowed: 40ms..80ms:5) or a list (a,b,c). Repeatable.",
        ),
    ],
    samples: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="N",
            help="A Latin hypercube of N points over the ranges instead of the grid.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="PATH", help="Write the tidy table: .csv, or .parquet (needs pyarrow)."
        ),
    ] = None,
    json_path: JsonPath = None,
    max_points: Annotated[
        int, typer.Option(min=1, metavar="N", help="Refuse a sweep of more points without --yes.")
    ] = 1000,
    yes: Annotated[bool, typer.Option("--yes", help="Run past --max-points.")] = False,
    jobs: Jobs = None,
    dask: Dask = None,
    max_visits: MaxVisits = None,
) -> None:
    """Simulate a scenario at every point of a grid of its inputs (or a Latin hypercube
    with --samples), all points' replications at once on local processes or a Dask
    cluster, and write the results as one tidy table. Prints, per SLO, at how many points
    it holds and the first where it stops holding.

    Example:

        capplan sweep scenarios/current.yaml --vary load_scale=1..20:20 --out sweep.csv
    """
    from capplan.cluster import runner_for
    from capplan.files import write_json
    from capplan.sweep import frame, parse_vary, summary
    from capplan.sweep import sweep as run

    if out is not None and out.suffix not in (".csv", ".parquet"):
        raise CapplanError(f"--out {out}: name a .csv or .parquet file")
    if out is not None and not out.parent.is_dir():
        raise CapplanError(f"--out {out}: no folder {out.parent}")
    varies = [parse_vary(v) for v in vary]
    done = 0

    def progress(n: int, total: int) -> None:
        nonlocal done
        if n * 10 // total > done * 10 // total:
            err.print(f"  {n:,} of {total:,} replications", highlight=False)
        done = n

    with runner_for(jobs, dask) as runner:
        pts, results = run(
            file,
            varies,
            samples=samples,
            runner=runner,
            max_points=10**9 if yes else max_points,
            progress=progress,
            max_visits=max_visits,
        )
    rows = summary(pts, results)
    console = Console()
    if len(pts) <= SHOWN_POINTS:
        console.print(_points_table(pts, results))
    if not rows:
        err.print("the scenario has no SLOs: the table holds every figure of every point")
    table = Table(title=f"{len(pts)} points: where each SLO holds")
    for col in ("objective", "scope", "holds at", "first miss"):
        table.add_column(col)
    for row in rows:
        miss = row["first_miss"]
        where = (
            "-"
            if miss is None
            else f"point {miss['point']}: "
            + ", ".join(f"{k}={v}" for k, v in miss.items() if k != "point")
        )
        table.add_row(row["objective"], row["scope"], f"{row['held']} of {len(pts)}", where)
    if rows:
        console.print(table)
    if out is not None:
        from capplan.files import write_bytes

        f = frame(pts, results)
        if out.suffix == ".parquet":
            import io

            buf = io.BytesIO()
            try:
                f.to_parquet(buf, index=False)
            except ImportError:
                raise CapplanError("--out .parquet needs pyarrow: pip install pyarrow") from None
            write_bytes(out, buf.getvalue())
        else:
            write_bytes(out, f.to_csv(index=False).encode())
        typer.echo(f"wrote {out} ({len(f):,} rows)")
    if json_path is not None:
        from capplan.sweep import SWEEP_KIND

        write_json(
            json_path,
            {
                "kind": SWEEP_KIND,
                "scenario": results[0]["scenario"] if results else None,
                "points": pts,
                "results": results,
                "summary": rows,
            },
        )

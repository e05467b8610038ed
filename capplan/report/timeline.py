"""The run over time in the terminal: sparklines of the load, p95 against its SLO and the
busiest component, the worst window, and SLO attainment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from capplan.report import autoscaling
from capplan.report.text import NotedTable, percent
from capplan.scenario.units import format_clock, format_duration

BARS = "▁▂▃▄▅▆▇█"
WIDTH = 48
"""Most columns a sparkline takes; windows are grouped to fit."""


def _groups(n: int) -> list[range]:
    size = max(1, -(-n // WIDTH))
    return [range(i, min(n, i + size)) for i in range(0, n, size)]


def spark(
    values: list[float | None], top: float | None = None, marks: list[bool] | None = None
) -> Text:
    """One character per group of windows (its largest value), scaled to ``top``; a gap
    for no value; red where a window is marked (an objective missed)."""
    groups = _groups(len(values))
    present = [v for v in values if v is not None]
    ceiling = top if top is not None else (max(present) if present else 0.0)
    text = Text()
    for g in groups:
        vs = [v for v in (values[i] for i in g) if v is not None]
        bad = marks is not None and any(marks[i] for i in g)
        if not vs:
            text.append("×" if bad else " ", style="red" if bad else "")
            continue
        v = max(vs)
        level = 0 if ceiling <= 0 else min(len(BARS) - 1, int(v / ceiling * (len(BARS) - 1) + 0.5))
        text.append(BARS[level], style="red" if bad else "")
    return text


def _p95_target(result: dict[str, Any]) -> float | None:
    return next(
        (s["target"] for s in result["slos"] if s["name"] == "latency_p95" and s["scope"] == "all"),
        None,
    )


def timeline_view(result: dict[str, Any]) -> RenderableType:
    """Load, p95 and the busiest component over the run, for one scenario."""
    tl = result["timeline"]
    wins = tl["windows"]
    if not wins:
        return Text("")
    target = _p95_target(result)
    p95 = [w["latency_s"]["p95"] for w in wins]
    missed = [
        w["saturated"] or (target is not None and (v is None or v > target))
        for w, v in zip(wins, p95, strict=True)
    ]
    busiest = max(
        wins[0]["components"],
        key=lambda n: max((w["components"][n]["utilization"] or 0.0) for w in wins),
    )
    util = [w["components"][busiest]["utilization"] for w in wins]
    offered = [w["offered_rps"] for w in wins]
    table = NotedTable(
        title=f"{result['scenario']} over time: {len(wins)} windows of "
        f"{format_duration(tl['window_s'])}, from {wins[0]['clock']} to "
        f"{format_clock(tl['start_clock_s'] + wins[-1]['start_s'] + tl['window_s'])}",
        note="each column is the largest value of its windows; red: windows where p95 missed "
        "its objective or a component saturated (×: no latency, saturated)",
        show_header=False,
    )
    table.add_column("")
    table.add_column("")
    table.add_column("")
    peak = max((v for v in offered if v is not None), default=0.0)
    table.add_row("offered load", spark(offered), Text(f"peak {peak:.3g}/s"))
    top = max([v for v in p95 if v is not None] + ([target] if target else []), default=0.0)
    label = f"max {format_duration(max((v for v in p95 if v is not None), default=0.0))}"
    if target is not None:
        label += f", SLO {format_duration(target)}"
    table.add_row("latency p95", spark(p95, top, missed), Text(label))
    table.add_row(
        Text(f"{busiest} util."),
        spark(util, 1.0),
        Text(f"max {percent(max((u or 0.0) for u in util))}"),
    )
    ready = [w["components"][busiest].get("replicas_ready") for w in wins]
    scaled = (result.get("autoscaling") or {}).get("components", {})
    if (
        busiest not in scaled
        and any(r is not None for r in ready)
        and len({round(r or 0, 6) for r in ready}) > 1
    ):
        table.add_row(
            Text(f"{busiest} ready"),
            spark(ready),
            Text(f"{min(r or 0 for r in ready):.1f}-{max(r or 0 for r in ready):.1f}"),
        )
    autoscaling.add_rows(table, result, spark)
    parts: list[RenderableType] = [table]
    parts += autoscaling.notes(result)
    worst = max(wins, key=lambda w: (w["saturated"], w["latency_s"]["p95"] or 0.0))
    if worst["saturated"]:
        what = f"saturated ({', '.join(worst['saturated_components'])})"
    else:
        what = f"p95 {format_duration(worst['latency_s']['p95'] or 0.0)} at {worst['offered_rps']:.3g}/s"
    parts.append(Text(f"{result['scenario']}: worst window {worst['clock']}: {what}", style="dim"))
    applies = [
        w
        for w in wins
        if w.get("analytic", {}).get("applies") and w["latency_s"]["mean"] is not None
    ]
    if applies:
        close = sum(
            abs(w["analytic"]["latency_mean_s"] - w["latency_s"]["mean"])
            <= 0.2 * w["latency_s"]["mean"]
            for w in applies
        )
        parts.append(
            Text(
                f"{result['scenario']}: analytic cross-check, each window at its own rate "
                f"(pointwise stationary): within 20% of the simulated mean in {close} of the "
                f"{len(applies)} windows where it applies (not in {len(wins) - len(applies)}: "
                "load changing fast, or saturated)",
                style="dim",
            )
        )
    for a in tl["attainment"]:
        need = f", must reach {percent(a['required'])}" if a["required"] is not None else ""
        ci = a["share_ci95"]
        share = percent(a["share"]) if a["share"] is not None else "-"
        band = f" ({percent(ci[0])}-{percent(ci[1])})" if ci else ""
        parts.append(
            Text(
                f"{result['scenario']}: {a['name']} held in {share}{band} of windows{need}",
                style="red"
                if a["required"] is not None and (a["share"] or 0) < a["required"]
                else "",
            )
        )
    return Group(*parts)


TIMELINE_SUFFIXES = (".csv", ".parquet")


def check_timeline_path(path: Path) -> None:
    """Refuse, before anything runs, a timeline file capplan cannot write."""
    from capplan.errors import CapplanError

    if path.suffix not in TIMELINE_SUFFIXES:
        raise CapplanError(f"--timeline {path}: write a .csv or a .parquet file")
    if path.suffix == ".parquet":
        import importlib.util

        if importlib.util.find_spec("pyarrow") is None:
            raise CapplanError(
                f"--timeline {path}: Parquet needs pyarrow (pip install pyarrow); "
                "or write a .csv file"
            )


def write_timeline(path: Path, results: list[dict[str, Any]]) -> None:
    """Every scenario's timeline as one table (a ``scenario`` column first)."""
    import io

    import pandas as pd

    from capplan.files import write_bytes
    from capplan.results.timeline import frame

    frames = []
    for r in results:
        df = frame(r)
        df.insert(0, "scenario", r["scenario"])
        frames.append(df)
    table = pd.concat(frames, ignore_index=True)
    if path.suffix == ".parquet":
        buf = io.BytesIO()
        table.to_parquet(buf, index=False)
        write_bytes(path, buf.getvalue())
    else:
        write_bytes(path, table.to_csv(index=False).encode("utf-8"))

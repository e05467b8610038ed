"""The table of differences shown by ``capplan compare``."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from capplan.report.text import NotedTable, percent
from capplan.scenario.units import format_duration


def points(x: float) -> str:
    """A change of a fraction, in percentage points: 0.075 -> '7.5 pp'."""
    return f"{x * 100:.2g} pp" if 0 < x < 0.01 else f"{x * 100:.1f} pp"


def _row(
    label: str, d: dict[str, Any], fmt: Any, worse_if_higher: bool = True, change_fmt: Any = None
) -> list[Any]:
    a, b, change, rel = d["a"], d["b"], d["change"], d["relative"]
    if change is None:
        return [
            Text(label),
            fmt(a) if a is not None else "saturated",
            fmt(b) if b is not None else "saturated",
            "",
        ]
    sign = "+" if change >= 0 else "-"
    text = f"{sign}{(change_fmt or fmt)(abs(change))}" + (
        f" ({rel * 100:+.1f}%)" if rel is not None else ""
    )
    worse = change > 0 if worse_if_higher else change < 0
    verdict = ("  worse" if worse else "  better") if change else ""
    return [
        Text(label),
        fmt(a),
        fmt(b),
        Text(text + verdict, style="red" if worse and change else "green" if change else ""),
    ]


def delta_table(a: dict[str, Any], b: dict[str, Any], d: dict[str, Any]) -> NotedTable:
    table = NotedTable(
        title=f"Change from {a['scenario']} to {b['scenario']}",
        note="changes of point estimates (see the intervals above); pp: percentage points",
    )
    for col in ("", a["scenario"], b["scenario"], "change"):
        table.add_column(Text(col), justify="left" if not col else "right")
    for key in ("mean", "p95", "p99"):
        table.add_row(*_row(f"latency {key}", d["latency_s"][key], format_duration))
    table.add_row(*_row("error rate", d["error_rate"], percent, change_fmt=points))
    table.add_row(
        *_row("throughput", d["throughput_rps"], lambda x: f"{x:.3g}/s", worse_if_higher=False)
    )
    for name, u in d["utilization"].items():
        table.add_row(*_row(f"{name} utilization", u, percent, change_fmt=points))
    if d["monthly_cost_usd"]["a"] is not None or d["monthly_cost_usd"]["b"] is not None:
        table.add_row(*_row("monthly cost", d["monthly_cost_usd"], lambda x: f"${x:,.0f}"))
    return table

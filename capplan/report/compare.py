"""The table of differences shown by ``capplan compare``."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from capplan.report.text import percent
from capplan.scenario.units import format_duration


def _row(label: str, d: dict[str, Any], fmt: Any, worse_if_higher: bool = True) -> list[Any]:
    a, b, change, rel = d["a"], d["b"], d["change"], d["relative"]
    if change is None:
        return [
            label,
            fmt(a) if a is not None else "saturated",
            fmt(b) if b is not None else "saturated",
            "",
        ]
    sign = "+" if change >= 0 else "-"
    text = f"{sign}{fmt(abs(change))}" + (f" ({rel * 100:+.1f}%)" if rel is not None else "")
    worse = change > 0 if worse_if_higher else change < 0
    return [
        label,
        fmt(a),
        fmt(b),
        Text(text, style="red" if worse and change else "green" if change else ""),
    ]


def delta_table(a: dict[str, Any], b: dict[str, Any], d: dict[str, Any]) -> Table:
    table = Table(
        title=f"Change from {a['scenario']} to {b['scenario']}",
        title_justify="left",
        caption="red: worse, green: better (point estimates; see the intervals above)",
        caption_justify="left",
    )
    for col in ("", a["scenario"], b["scenario"], "change"):
        table.add_column(col, justify="left" if not col else "right")
    for key in ("mean", "p95", "p99"):
        table.add_row(*_row(f"latency {key}", d["latency_s"][key], format_duration))
    table.add_row(*_row("error rate", d["error_rate"], percent))
    table.add_row(
        *_row("throughput", d["throughput_rps"], lambda x: f"{x:.3g}/s", worse_if_higher=False)
    )
    for name, u in d["utilization"].items():
        table.add_row(*_row(f"{name} utilization", u, percent))
    if d["monthly_cost_usd"]["a"] is not None or d["monthly_cost_usd"]["b"] is not None:
        table.add_row(*_row("monthly cost", d["monthly_cost_usd"], lambda x: f"${x:,.0f}"))
    return table

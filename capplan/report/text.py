"""Small formatting helpers shared by the report tables."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from capplan.scenario.units import format_duration


def estimate(
    value: float | None, ci: list[float] | None, fmt: Any = format_duration, style: str = ""
) -> Text:
    """A value with the half-width of its 95% interval; a missing value means saturation."""
    if value is None:
        return Text("saturated", style="bold red")
    text = Text(fmt(value), style=style)
    if ci is not None:
        text.append(f" ±{fmt(max(ci[1] - value, value - ci[0]))}", style="dim")
    return text


def scenario_table(
    title: str,
    results: list[dict[str, Any]],
    first: str = "",
    caption: str | None = None,
    justify: str = "left",
) -> Table:
    """A table with a label column, then one column per scenario (side by side)."""
    table = Table(title=title, caption=caption, title_justify="left", caption_justify="left")
    table.add_column(first)
    for r in results:
        table.add_column(r["scenario"], justify=justify)  # type: ignore[arg-type]
    return table


def per_second(x: float) -> str:
    return f"{x:.3g}/s"


def percent(x: float) -> str:
    return f"{x * 100:.2g}%" if 0 < x < 0.01 else f"{x * 100:.1f}%"


def count(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"

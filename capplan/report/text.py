"""Small formatting helpers shared by the report tables."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
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


class NotedTable(Table):
    """A table whose footnote is a paragraph under it, wrapped at the console's width
    rather than squeezed to the table's; its first column (the names) is never cut, and
    other columns fold their text onto more lines instead of cutting it."""

    def __init__(self, *args: Any, note: str | None = None, **kwargs: Any):
        super().__init__(*args, title_justify="left", **kwargs)
        self.note = note

    def add_column(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("overflow", "fold")
        super().add_column(*args, **kwargs)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.columns:
            first = self.columns[0]
            longest = max((len(_plain(c)) for c in first._cells), default=0)
            if longest <= options.max_width // 2:
                first.min_width = max(first.min_width or 0, longest)
        yield from super().__rich_console__(console, options)
        if self.note:
            yield Text(self.note, style="dim")


def _plain(cell: Any) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def names(values: Iterable[str]) -> list[Text]:
    """Names from a scenario as plain text cells (never read as rich markup)."""
    return [Text(v) for v in values]


def scenario_table(
    title: str,
    results: list[dict[str, Any]],
    first: str = "",
    caption: str | None = None,
    justify: str = "left",
) -> NotedTable:
    """A table with a label column, then one column per scenario (side by side)."""
    table = NotedTable(title=title, note=caption)
    table.add_column(Text(first))
    for r in results:
        table.add_column(Text(r["scenario"]), justify=justify)
    return table


def per_second(x: float) -> str:
    return f"{x:.3g}/s"


def percent(x: float) -> str:
    return f"{x * 100:.2g}%" if 0 < x < 0.01 else f"{x * 100:.1f}%"


def count(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"

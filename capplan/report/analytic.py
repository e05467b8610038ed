"""The report of ``capplan simulate --analytic``: an approximation, and labelled as one."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from capplan.report.text import percent, scenario_table
from capplan.scenario.units import format_duration


def _latency(x: float | None) -> Text:
    return Text("saturated", style="bold red") if x is None else Text(format_duration(x))


def render_analytic(results: list[dict[str, Any]]) -> RenderableType:
    banner = Text(
        "ANALYTIC APPROXIMATION (no simulation): queueing formulas per component, means only, "
        "no percentiles, no confidence intervals. Run without --analytic for the reference figures.",
        style="bold yellow",
    )
    table = scenario_table("Mean latency (approximation)", results, justify="right")
    table.add_row(
        "load", *[f"{r['arrival_rate_rps']:.3g}/s (×{r['load_scale']:g})" for r in results]
    )
    table.add_row("all requests", *[_latency(r["latency_mean_s"]) for r in results])
    for name in results[0]["requests"]:
        table.add_row(name, *[_latency(r["requests"][name]["latency_mean_s"]) for r in results])
    comps = scenario_table(
        "Components (approximation): utilization, mean wait", results, "component", justify="right"
    )
    for name in results[0]["components"]:
        cells = []
        for r in results:
            c = r["components"][name]
            if c["saturated"] or c["utilization"] is None:
                cells.append(Text("SATURATED", style="bold red"))
                continue
            text = Text(percent(c["utilization"]))
            if c["mean_wait_s"]:
                text.append(f"  wait {format_duration(c['mean_wait_s'])}", style="dim")
            if c.get("refused_fraction"):
                text.append(f"  {percent(c['refused_fraction'])} refused", style="red")
            cells.append(text)
        comps.add_row(name, *cells)
    return Group(banner, table, comps)

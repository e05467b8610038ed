"""The terminal report: scenarios side by side, estimates with their uncertainty.

Pure rendering: it takes result dicts (docs/json.md) and returns rich renderables; the
command line decides where they go.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from capplan.report.availability import availability_lines
from capplan.report.resources import (
    bottleneck_lines,
    components_table,
    cost_table,
    crosscheck_line,
    keyspace_table,
    link_table,
    llm_table,
)
from capplan.report.text import estimate, per_second, percent, scenario_table
from capplan.report.timeline import timeline_view
from capplan.scenario.units import format_duration


def _load(result: dict[str, Any]) -> str:
    w = result["workload"]
    scale = f"×{result['load_scale']:g}"
    wins = result["timeline"]["windows"]
    if not result["timeline"]["stationary"] and wins:
        # the profile's base rate is not what ran: say what arrived over the run
        offered = [x["offered_rps"] for x in wins if x["offered_rps"] is not None]
        mean = sum(offered) / len(offered) if offered else 0.0
        return f"{mean:.3g}/s mean, {max(offered, default=0.0):.3g}/s peak ({scale})"
    if "arrival_rate_rps" in w:
        return f"{w['arrival_rate_rps']:.3g}/s ({scale})"
    return f"{w['users']} users ({scale})"


def summary_table(results: list[dict[str, Any]]) -> Table:
    table = scenario_table(
        "End-to-end latency",
        results,
        caption="successful requests; ± is the 95% CI half-width across replications; "
        "error counts are totals over all replications",
        justify="right",
    )
    table.add_row("load", *[_load(r) for r in results])
    for key in ("mean", "p50", "p95", "p99"):
        table.add_row(
            f"latency {key}",
            *[estimate(r["latency_s"][key], r["latency_s"]["ci95"][key]) for r in results],
        )
    table.add_row(
        "throughput",
        *[estimate(r["throughput_rps"], r["throughput_rps_ci95"], per_second) for r in results],
    )
    table.add_row(
        "error rate",
        *[
            estimate(
                r["error_rate"], r["error_rate_ci95"], percent, "red" if r["error_rate"] else ""
            )
            for r in results
        ],
    )
    causes = sorted({c for r in results for c in r["errors"]})
    for cause in causes:
        table.add_row(f"  {cause}", *[str(r["errors"].get(cause, 0)) for r in results])
    return table


def requests_table(results: list[dict[str, Any]]) -> Table:
    table = scenario_table(
        "Per request type: p95 latency, error rate", results, "request", justify="right"
    )
    for name in results[0]["requests"]:
        cells = []
        for r in results:
            req = r["requests"].get(name)
            if req is None:
                cells.append(Text("-"))
                continue
            cell = estimate(req["latency_s"]["p95"], req["latency_s"]["ci95"]["p95"])
            cell.append(
                f"  {percent(req['error_rate'])}", style="red" if req["error_rate"] else "dim"
            )
            cells.append(cell)
        table.add_row(Text(name), *cells)
    return table


def slo_table(results: list[dict[str, Any]]) -> Table | None:
    keys = list(dict.fromkeys((s["scope"], s["name"]) for r in results for s in r["slos"]))
    if not keys:
        return None
    table = scenario_table(
        "SLOs",
        results,
        "objective",
        caption="✓ met, ✗ missed; ? the 95% CI straddles the target",
        justify="right",
    )
    for scope, name in keys:
        target = next(
            s["target"]
            for r in results
            for s in r["slos"]
            if (s["scope"], s["name"]) == (scope, name)
        )
        fmt = {
            "error_rate": percent,
            "max_utilization": percent,
            "monthly_cost_max": lambda x: f"${x:,.0f}",
            "availability": lambda x: f"{x * 100:.3f}%",
        }.get(name, percent if name.startswith("attainment") else format_duration)
        relation = "≥" if name.startswith("attainment") or name == "availability" else "≤"
        label = f"{name} {relation} {fmt(target)}" + ("" if scope == "all" else f" [{scope}]")
        cells = []
        for r in results:
            row = next((s for s in r["slos"] if (s["scope"], s["name"]) == (scope, name)), None)
            if row is None:
                cells.append(Text("-"))
                continue
            mark, style = ("✓", "green") if row["passed"] else ("✗", "red")
            if not row["confident"] and row["value"] is not None:
                mark, style = mark + "?", "yellow"
            value = row["reason"] if row["value"] is None else fmt(row["value"])
            cells.append(Text(f"{mark} {value}", style=style))
        table.add_row(Text(label), *cells)
    return table


def _over_time(r: dict[str, Any]) -> bool:
    """Whether a result is best read over time: its load changed, or an objective is
    judged window by window."""
    tl = r.get("timeline")
    if not tl:
        return False
    return not tl["stationary"] or any(a["required"] is not None for a in tl["attainment"])


def uncertainty_table(r: dict[str, Any]) -> Table:
    """A result's spread across its uncertain inputs beside the simulation's interval:
    the whole system's outputs, the cost, and the three busiest components (every output
    is in the JSON)."""
    from capplan.results.model import Result
    from capplan.uncertainty import HEADLINE, figures

    u = r["uncertainty"]
    table = Table(
        title=f"{r['scenario']}: across the uncertain inputs ({u['samples']} samples)",
        caption="central: the inputs at their medians, ± the simulation's 95% CI; "
        "p5-p95: the spread over the samples; follows: the input with the strongest rank "
        "correlation",
    )
    for col in ("output", "central", "p5", "p50", "p95", "follows"):
        table.add_column(col)
    central = figures(Result.of(r))
    busiest = sorted(
        (k for k in u["outputs"] if k.endswith(".utilization")),
        key=lambda k: -(u["outputs"][k]["p95"] or 0.0),
    )[:3]
    shown = [*HEADLINE, *[k for k in ("cost.monthly_usd",) if k in u["outputs"]], *busiest]
    for key in shown:
        q = u["outputs"][key]
        value, ci = central.get(key, (None, None))
        text = spread_value(value, key)
        if ci and value is not None:
            text += f" ±{spread_value((ci[1] - ci[0]) / 2, key)}"
        top = u["sensitivity"].get(key) or []
        follows = f"{top[0]['input']} ({top[0]['rank_correlation']:+.2f})" if top else "-"
        table.add_row(
            key,
            text,
            spread_value(q["p5"], key),
            spread_value(q["p50"], key),
            spread_value(q["p95"], key),
            follows,
        )
    for name, p in u["slo_probability"].items():
        table.add_row(escape(f"P({name} holds)"), "", "", f"{p:.0%}", "", "")
    return table


def spread_value(x: float | None, key: str) -> str:
    """An uncertain output's value in its unit (None: saturated, no finite value)."""
    if x is None:
        return "saturated"
    if key == "error_rate" or key.endswith("utilization"):
        return f"{x * 100:.3g}%"
    if key == "throughput_rps":
        return f"{x:.4g}/s"
    if key.startswith("cost"):
        return f"${x:,.0f}"
    return f"{x * 1000:.4g}ms"


def render(results: list[dict[str, Any]]) -> RenderableType:
    """The whole report for one or several scenarios, side by side. A run whose load or
    capacity changes leads with its timeline and SLO attainment: a single percentile over
    a day with a ramp hides the ramp."""
    parts: list[RenderableType] = [timeline_view(r) for r in results if _over_time(r)]
    slos = slo_table(results)
    if slos is not None:
        parts.append(slos)
    parts += [summary_table(results), requests_table(results), components_table(results)]
    parts += [uncertainty_table(r) for r in results if r.get("uncertainty")]
    parts += [
        t
        for t in (
            keyspace_table(results),
            llm_table(results),
            link_table(results),
            cost_table(results),
        )
        if t is not None
    ]
    notes = []
    for r in results:
        notes.extend(bottleneck_lines(r))
        notes.extend(availability_lines(r))
        notes.append(crosscheck_line(r))
        if r["saturated"]:
            names = ", ".join(r["saturated_components"]) or "requests left unfinished"
            notes.append(
                Text(
                    f"{r['scenario']}: saturated ({names}): arrivals exceed what it can serve, so "
                    "queues grow for as long as the run lasts and latency has no steady value.",
                    style="red",
                )
            )
        if r.get("stopped_early"):
            notes.append(
                Text(
                    f"{r['scenario']}: each replication stopped after "
                    f"{format_duration(r['measured_s'])} of its {format_duration(r['duration_s'])}: "
                    "saturation was established, and a longer run would only grow the backlog",
                    style="dim",
                )
            )
        notes.append(
            Text(
                f"{r['scenario']}: {r['replications']} replications × {format_duration(r['duration_s'])} "
                f"after {format_duration(r['warmup_s'])} warm-up, seed {r['seed']}, "
                f"scenario {r['scenario_hash']}, capplan {r['capplan_version']}",
                style="dim",
            )
        )
    parts.extend(notes)
    return Group(*parts)

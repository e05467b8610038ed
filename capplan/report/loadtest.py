"""The terminal report of ``capplan loadtest``: measured beside predicted."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text

from capplan.report.text import NotedTable, estimate, per_second, percent
from capplan.scenario.units import format_duration

FORMATS = {
    "throughput": per_second,
    "error rate": percent,
}


def _fmt(metric: str) -> Any:
    return FORMATS.get(metric, format_duration)


def _difference(row: dict[str, Any]) -> Text:
    if row["difference"] is None:
        return Text("")
    fmt = _fmt(row["metric"])
    d = row["difference"]
    text = ("+" if d >= 0 else "-") + fmt(abs(d))
    if row["relative"] is not None:
        text += f" ({row['relative'] * 100:+.1f}%)"
    return Text(text)


def _verdict(row: dict[str, Any]) -> Text:
    if row["flagged"] is None:
        return Text("?" if row["difference"] is not None else "", style="dim")
    if row["flagged"]:
        return Text("differs", style="bold yellow")
    return Text("ok", style="green")


def comparison_table(result: dict[str, Any]) -> NotedTable:
    table = NotedTable(
        title=f"{result['scenario']}: predicted vs measured at the measured load",
        note=(
            "± half-widths of 95% intervals (prediction: across replications; measurement: "
            "batch means). differs: the difference exceeds both intervals together; ok: it "
            "does not; ?: no interval (too few requests for that statistic)."
        ),
    )
    for col, justify in (
        ("requests", "left"),
        ("", "left"),
        ("predicted", "right"),
        ("measured", "right"),
        ("difference", "right"),
        ("", "left"),
    ):
        table.add_column(col, justify=justify)
    scope = None
    for row in result["comparison"]:
        fmt = _fmt(row["metric"])
        if scope is not None and row["scope"] != scope:
            table.add_section()
        table.add_row(
            Text(row["scope"] if row["scope"] != scope else ""),
            row["metric"].removeprefix("latency "),
            estimate(row["predicted"], row["predicted_ci95"], fmt),
            estimate(row["measured"], row["measured_ci95"], fmt),
            _difference(row),
            _verdict(row),
        )
        scope = row["scope"]
    return table


def measured_table(result: dict[str, Any]) -> NotedTable:
    """Measurement alone (an interrupted test has no prediction)."""
    m = result["measured"]
    table = NotedTable(title=f"{result['scenario']}: measured")
    for col in ("requests", "mean", "p50", "p95", "p99", "throughput", "error rate"):
        table.add_column(col, justify="left" if col == "requests" else "right")
    groups = [("all", m), *m["by_type"].items()]
    for name, g in groups:
        lat = g["latency_s"]
        table.add_row(
            Text(name),
            *(estimate(lat[k], lat["ci95"][k]) for k in ("mean", "p50", "p95", "p99")),
            estimate(g["throughput_rps"], g["throughput_rps_ci95"], per_second),
            estimate(g["error_rate"], g["error_rate_ci95"], percent),
        )
    return table


def load_line(result: dict[str, Any]) -> str:
    m, plan = result["measured"], result["plan"]
    parts = [
        f"{m['requests']:,} requests scheduled in a {format_duration(m['window_s'])} window "
        f"after {format_duration(m['warmup_s'])} of warm-up"
    ]
    if plan["offered_rps"] is not None:
        parts.append(
            f"planned {per_second(plan['offered_rps'])}, offered {per_second(m['offered_rps'])}, "
            f"sent {per_second(m['achieved_rps'])}"
        )
    else:
        parts.append(f"{plan['users']} users, sent {per_second(m['achieved_rps'])}")
    parts.append(f"answered {per_second(m['throughput_rps'])}")
    if m["errors"]:
        parts.append("errors: " + ", ".join(f"{k} {v}" for k, v in m["errors"].items()))
    return "; ".join(parts)


def locust_line(result: dict[str, Any]) -> str | None:
    agg = result["measured"].get("locust", {}).get("Aggregated")
    if not agg or agg["requests"] is None:
        return None

    def ms(key: str) -> str:
        return "n/a" if agg[key] is None else f"{agg[key]:.0f}ms"

    return (
        f"Locust's own statistics (whole run, warm-up included, percentiles in rounded "
        f"buckets): {agg['requests']:,.0f} requests, {agg['failures'] or 0:,.0f} failures, "
        f"mean {ms('mean_ms')}, p95 {ms('p95_ms')}, p99 {ms('p99_ms')}"
    )


def render(result: dict[str, Any]) -> Group:
    parts: list[Any] = [Text(load_line(result))]
    for w in result["warnings"]:
        parts.append(Text(f"warning: {w}", style="bold yellow"))
    if result["interrupted"]:
        parts.append(
            Text("interrupted: what was measured until then, without a prediction", style="yellow")
        )
    parts.append(comparison_table(result) if result["comparison"] else measured_table(result))
    line = locust_line(result)
    if line:
        parts.append(Text(line, style="dim"))
    return Group(*parts)

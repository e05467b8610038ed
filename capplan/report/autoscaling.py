"""What the autoscalers did, in the terminal: replicas (ready, desired, pending) and nodes
under the load curve, each scaling event with its lag, ``max_nodes`` when it bound, and
the windows in which an objective broke while capacity lagged."""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from rich.text import Text

from capplan.report.text import NotedTable
from capplan.scenario.units import format_clock, format_duration

MOST_EVENTS = 12
"""Scaling events listed one by one; beyond that, a count per component."""


def add_rows(table: NotedTable, result: dict[str, Any], spark: Any) -> None:
    """Sparkline rows for every autoscaled component and the cluster."""
    control = result.get("autoscaling")
    wins = result["timeline"]["windows"]
    if not control or not wins:
        return
    for name in control["components"]:
        cs = [w["components"][name] for w in wins]
        ready = [c.get("replicas_ready") for c in cs]
        desired = [c.get("replicas_desired") for c in cs]
        pending = [c.get("replicas_pending") for c in cs]
        top = max([v for v in ready + desired if v is not None], default=0.0)
        lag = [
            d is not None and r is not None and d - r > 0.5
            for d, r in zip(desired, ready, strict=True)
        ]
        table.add_row(
            Text(f"{name} ready"),
            spark(ready, top, lag),
            Text(f"{_range(ready)} (red: fewer than desired)"),
        )
        table.add_row(Text(f"{name} desired"), spark(desired, top), Text(_range(desired)))
        if any(p for p in pending):
            table.add_row(Text(f"{name} pending"), spark(pending, top), Text(_range(pending)))
        metrics: dict[str, list[float | None]] = {}
        for c in cs:
            for m, v in (c.get("hpa_metrics") or {}).items():
                metrics.setdefault(m, []).append(v)
        for m, vs in metrics.items():
            table.add_row(Text(f"{name} HPA {m}"), spark(vs), Text(f"max {_num(vs)}"))
    if control.get("cluster"):
        nodes = [w.get("nodes") for w in wins]
        cap = control["cluster"]["max_nodes"]
        table.add_row(
            Text("nodes"),
            spark(nodes, cap, [bool(w.get("at_max_nodes")) for w in wins]),
            Text(f"{_range(nodes)} of max {cap} (red: at max_nodes, pods pending)"),
        )
        pending_pods = [w.get("pods_pending") for w in wins]
        if any(p for p in pending_pods):
            table.add_row(Text("pods pending"), spark(pending_pods), Text(_range(pending_pods)))


def notes(result: dict[str, Any]) -> list[RenderableType]:
    """Lines under the timeline: events and lags, max_nodes, lagging windows."""
    control = result.get("autoscaling")
    if not control:
        return []
    name = result["scenario"]
    clock0 = result["timeline"]["start_clock_s"]
    out: list[RenderableType] = []
    events = control["events"]
    if not events:
        out.append(Text(f"{name}: no scaling event (every HPA held its size)", style="dim"))
    elif len(events) <= MOST_EVENTS:
        out.append(
            Text(
                f"{name}: scaling events (replication {control['events_replication'] + 1}):",
                style="dim",
            )
        )
        for i, e in enumerate(events):
            when = format_clock(clock0 + e["at_s"])
            what = f"{e['component']} {e['before']}→{e['after']} at {when}"
            if e["lag_s"] is not None:
                what += f", ready {format_duration(e['lag_s'])} after the load rose"
            elif e["after"] > e["before"]:
                undone = any(x["component"] == e["component"] for x in events[i + 1 :])
                what += (
                    ", its new pods never all ready before the next change"
                    if undone
                    else ", its new pods not all ready by the end"
                )
            out.append(Text(f"  {what}", style="dim"))
    for component, c in control["components"].items():
        lag = c["lag_s"]
        text = (
            f"{name}: {component} {c['min']}-{c['max']} replicas, peak {c['replicas_peak']:.3g}; "
            f"{c['scale_ups']:.3g} scale-ups and {c['scale_downs']:.3g} scale-downs per run"
        )
        if lag["mean"] is not None:
            text += (
                f"; from the load rising to the pods ready {format_duration(lag['mean'])} "
                f"on average, at most {format_duration(lag['max'])}"
            )
        out.append(Text(text, style="dim"))
    cluster = control.get("cluster")
    if cluster:
        binding = cluster["max_nodes_binding"]
        if binding:
            out.append(
                Text(
                    f"{name}: binding constraint: max_nodes {cluster['max_nodes']} reached with "
                    f"pods pending from {format_clock(clock0 + binding['since_s'])} "
                    f"(in {binding['replications']} of {binding['of']} replications)",
                    style="red",
                )
            )
        out.append(
            Text(
                f"{name}: nodes {cluster['min_nodes']}-{cluster['max_nodes']}, peak "
                f"{cluster['nodes_peak']}; {cluster['nodes_added']:.3g} added and "
                f"{cluster['nodes_removed']:.3g} removed per run",
                style="dim",
            )
        )
    lagging = control["slo_broke_while_lagging"]
    if lagging:
        width = result["timeline"]["window_s"]
        first = lagging[0]["start_s"]
        out.append(
            Text(
                f"{name}: an objective broke while capacity lagged (replicas wanted not ready, "
                f"or pods pending) in {len(lagging)} windows of {format_duration(width)}, "
                f"from {format_clock(clock0 + first)}",
                style="red",
            )
        )
    return out


def _range(vs: list[float | None]) -> str:
    present = [v for v in vs if v is not None]
    if not present:
        return "-"
    lo, hi = min(present), max(present)
    return f"{lo:.3g}" if abs(hi - lo) < 1e-9 else f"{lo:.3g}-{hi:.3g}"


def _num(vs: list[float | None]) -> str:
    present = [v for v in vs if v is not None]
    return f"{max(present):.3g}" if present else "-"

"""The report of ``capplan size``: the sized services, and what else must be provisioned."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text

from capplan.report.text import NotedTable


def progress_line(round_: int, replicas: dict[str, int]) -> str:
    """'round 2: mcp-server 22, marketing-agents 19'."""
    return f"round {round_}: " + ", ".join(f"{name} {n}" for name, n in replicas.items())


def _hpa(h: dict[str, Any] | None) -> str:
    if not h:
        return "-"
    targets = ", ".join(
        f"{k.removesuffix('_target')} {h[k]}"
        for k in ("cpu_target", "memory_target", "rps_target", "inflight_target")
        if k in h
    )
    up = (h.get("behavior") or {}).get("scaleUp")
    policy = ""
    if up and up.get("policies"):
        policy = "; up " + ", ".join(
            f"{p['value']}{'%' if p['type'] == 'Percent' else ' pods'}/{p['periodSeconds']}s"
            for p in up["policies"]
        )
    return f"{h['min']}-{h['max']} on {targets}{policy}"


def render_over_time(result: dict[str, Any], scenario_name: str) -> Group:
    """Sizing of autoscaled services under a load profile: HPA settings, node-hours."""
    ot = result["over_time"]
    table = NotedTable(
        title=f"HPA settings for {scenario_name} over its run (load scale {result['load_scale']:g})",
        note=(
            f"min and max from steady-state sizing at the quietest and busiest windows "
            f"(load x{ot['multiplier_trough']:.3g} and x{ot['multiplier_peak']:.3g}); then "
            "each round simulated with the HPAs and the cluster autoscaler acting"
        ),
    )
    for col in ("service", "today", "sized", "why"):
        table.add_column(col)
    for row in result["components"]:
        table.add_row(
            Text(row["component"]),
            Text(_hpa(row.get("hpa_today"))),
            Text(_hpa(row.get("hpa")) if row.get("hpa") else f"{row['replicas']} replicas"),
            Text(row["reason"]),
        )
    parts: list[Any] = [table]
    unit = "node-hours" if result["result"].section("cost") else "pod-hours"
    today = "met" if ot["objectives_met_today"] else "missed"
    parts.append(
        Text(
            f"{unit} over the run: today {ot['node_hours_today']:.4g} (objectives {today}), "
            f"sized {ot['node_hours']:.4g}; "
            + ", ".join(
                f"round {r['round']} {r['node_hours']:.4g} {'met' if r['met'] else 'missed'}"
                for r in ot["rounds"]
            )
        )
    )
    if result["infrastructure"]:
        parts.append(_infrastructure(result))
    return Group(*parts)


def _infrastructure(result: dict[str, Any]) -> NotedTable:
    infra = NotedTable(title="Also needed (provisioned, not autoscaled)")
    for col in ("component", "setting", "today", "sized", "why"):
        infra.add_column(col)
    for row in result["infrastructure"]:
        infra.add_row(*(Text(row[k]) for k in ("component", "setting", "today", "sized", "reason")))
    return infra


def render_sizing(result: dict[str, Any], scenario_name: str) -> Group:
    if "over_time" in result:
        return render_over_time(result, scenario_name)
    table = NotedTable(
        title=f"Sizing {scenario_name} at load scale {result['load_scale']:g}",
        note=(
            "CPU request: the scenario's, which the HPA's CPU target is a share of; cpu use: "
            "mean CPU per replica at the sized count; HPA max: sized + 25%; HPA min: what "
            "today's load needs."
        ),
    )
    survived = result.get("survive")
    cols = ["service", "today", "sized"] + (["to survive"] if survived else [])
    for col in (*cols, "HPA min-max", "CPU request", "cpu use", "why"):
        table.add_column(col)
    for row in result["components"]:
        request = f"{row['cpu_request']:.2f}" if row.get("cpu_request") else "-"
        use = f"{row['cpu_use_per_replica']:.2f}" if "cpu_use_per_replica" in row else "-"
        extra = [str(row["replicas_to_survive"])] if survived else []
        table.add_row(
            Text(row["component"]),
            str(row["replicas_today"]),
            str(row["replicas"]),
            *extra,
            f"{row['hpa_min_replicas']}-{row['hpa_max_replicas']}",
            request,
            use,
            Text(row["reason"]),
        )
    parts: list[Any] = [table]
    if result["infrastructure"]:
        parts.append(_infrastructure(result))
    if survived is not None:
        zone = survived["failure"] == "zone_outage"
        counts = ", ".join(
            f"{name} {r}" + (f" ({survived['survivors'][name]} left)" if zone else "")
            for name, r in survived["replicas"].items()
        )
        if zone:
            line = (
                f"to survive a zone_outage over {survived['zones']} zones: {counts}; the zone "
                "spread is made required so that the pods are spread as assumed"
            )
            gone = "zone a out"
        else:
            line = f"to survive the loss of the fullest node: {counts}"
            gone = "the fullest node lost and no node coming"
        if survived["slos_met"]:
            parts.append(Text(line + f"; objectives met with {gone} (simulated)", style="green"))
        else:
            parts.append(Text(line + f"; not enough: {survived['unmet']}", style="red"))
    return Group(*parts)

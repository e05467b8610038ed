"""The report of ``capplan size``: the sized services, and what else must be provisioned."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text

from capplan.report.text import NotedTable


def progress_line(round_: int, replicas: dict[str, int]) -> str:
    """'round 2: mcp-server 22, marketing-agents 19'."""
    return f"round {round_}: " + ", ".join(f"{name} {n}" for name, n in replicas.items())


def render_sizing(result: dict[str, Any], scenario_name: str) -> Group:
    table = NotedTable(
        title=f"Sizing {scenario_name} at load scale {result['load_scale']:g}",
        note=(
            "CPU request: the scenario's, which the HPA's CPU target is a share of; cpu use: "
            "mean CPU per replica at the sized count; HPA max: sized + 25%; HPA min: what "
            "today's load needs."
        ),
    )
    for col in ("service", "today", "sized", "HPA min-max", "CPU request", "cpu use", "why"):
        table.add_column(col)
    for row in result["components"]:
        request = f"{row['cpu_request']:.2f}" if row.get("cpu_request") else "-"
        use = f"{row['cpu_use_per_replica']:.2f}" if "cpu_use_per_replica" in row else "-"
        table.add_row(
            Text(row["component"]),
            str(row["replicas_today"]),
            str(row["replicas"]),
            f"{row['hpa_min_replicas']}-{row['hpa_max_replicas']}",
            request,
            use,
            Text(row["reason"]),
        )
    parts: list[Any] = [table]
    if result["infrastructure"]:
        infra = NotedTable(title="Also needed (provisioned, not autoscaled)")
        for col in ("component", "setting", "today", "sized", "why"):
            infra.add_column(col)
        for row in result["infrastructure"]:
            infra.add_row(
                *(Text(row[k]) for k in ("component", "setting", "today", "sized", "reason"))
            )
        parts.append(infra)
    return Group(*parts)

"""Monthly cost of a simulated scenario: compute from bin-packed pod requests, storage,
network, LLM tokens.

Compute and storage follow from the scenario alone; LLM spend and egress follow from the
simulated traffic, so they carry the simulation's uncertainty, and so does the total.
"""

from __future__ import annotations

import math
from typing import Any

from capplan.errors import CapplanError
from capplan.scenario.costs import Costs, NodeShape
from capplan.scenario.model import Scenario
from capplan.scenario.units import SECONDS_PER_MONTH

HOURS_PER_MONTH = SECONDS_PER_MONTH / 3600


class CostError(CapplanError):
    """The costs section cannot price the scenario (e.g. a pod larger than a node)."""


def pods(scenario: Scenario) -> list[tuple[str, float, float]]:
    """Every pod the scenario runs as (component, CPU request, memory request)."""
    out = []
    for name, c in scenario.components.items():
        requests = getattr(getattr(c, "resources", None), "requests", None)
        if requests is None:
            continue
        cpu, memory = requests.cpu or 0.0, requests.memory or 0.0
        out += [(name, cpu, memory)] * c.pods  # type: ignore[union-attr]
    return out


def pack(items: list[tuple[str, float, float]], node: NodeShape) -> int:
    """Nodes needed to hold every pod: first-fit decreasing on CPU, then memory.

    First-fit decreasing uses at most 11/9 of the optimal number of bins plus one, and is
    what a scheduler filling nodes in turn approximates."""
    free: list[list[float]] = []
    for name, cpu, memory in sorted(items, key=lambda p: (-p[1], -p[2], p[0])):
        if cpu > node.cpu or memory > node.memory:
            raise CostError(
                f"components.{name}.resources.requests: a pod asks {cpu:g} CPU and "
                f"{memory / 2**30:g}Gi, more than a node holds (costs.node: {node.cpu:g} CPU, "
                f"{node.memory / 2**30:g}Gi)"
            )
        for bin_ in free:
            if bin_[0] >= cpu and bin_[1] >= memory:
                bin_[0] -= cpu
                bin_[1] -= memory
                break
        else:
            free.append([node.cpu - cpu, node.memory - memory])
    return len(free)


def _sum_ci(parts: list[tuple[float, list[float] | None]]) -> list[float] | None:
    """Interval of a sum of independent estimates (half-widths add in quadrature); None if
    some part has no interval (a single replication)."""
    if any(ci is None for _, ci in parts):
        return None
    half = sum(((ci[1] - ci[0]) / 2) ** 2 for _, ci in parts if ci is not None) ** 0.5
    total = sum(v for v, _ in parts)
    return [total - half, total + half]


def monthly_cost(scenario: Scenario, result: dict[str, Any]) -> dict[str, Any] | None:
    """The ``cost`` section of a result, or None when the scenario has no ``costs``."""
    costs: Costs | None = scenario.costs
    if costs is None:
        return None
    comps = result["components"]
    all_pods = pods(scenario)
    needed = pack(all_pods, costs.node)
    nodes = max(needed, costs.cluster.min_nodes)
    node_month = costs.node.price_per_hour * HOURS_PER_MONTH
    compute = nodes * node_month
    by_component: dict[str, float] = {}
    requested_cpu = sum(cpu for _, cpu, _ in all_pods)
    for name, cpu, _ in all_pods:
        # compute is shared out by requested CPU: what the pods reserve is what they cost
        by_component[name] = by_component.get(name, 0.0) + compute * cpu / requested_cpu
    storage = 0.0
    if costs.storage is not None:
        growth = scenario.load_scale if costs.storage.grows_with_load else 1.0
        storage = costs.storage.size / 1e9 * growth * costs.storage.price_per_gb_month
    network: list[tuple[float, list[float] | None]] = []
    if costs.network is not None:
        fixed = costs.network.fixed_per_month
        network.append((fixed, [fixed, fixed]))
        for link in costs.network.egress_links:
            gb, ci = comps[link]["gb_per_month"], comps[link]["ci95"].get("gb_per_month")
            price = costs.network.egress_price_per_gb
            network.append((gb * price, [ci[0] * price, ci[1] * price] if ci else None))
            by_component[link] = gb * price
    llm: list[tuple[float, list[float] | None]] = []
    for name, c in comps.items():
        if "cost_per_month_usd" in c:
            llm.append((c["cost_per_month_usd"], c["ci95"].get("cost_per_month_usd")))
            by_component[name] = by_component.get(name, 0.0) + c["cost_per_month_usd"]
    categories = {
        "compute": compute,
        "storage": storage,
        "network": sum(v for v, _ in network),
        "llm": sum(v for v, _ in llm),
    }
    total = sum(categories.values())
    total_ci = _sum_ci([(compute + storage, [compute + storage] * 2), *network, *llm])
    served_per_month = result["throughput_rps"] * SECONDS_PER_MONTH
    baseline = costs.baseline.model_dump(exclude_none=True) if costs.baseline else {}
    return {
        "monthly_usd": total,
        "monthly_usd_ci95": total_ci,
        "by_category": categories,
        "by_component": dict(sorted(by_component.items())),
        "per_1000_requests_usd": total / served_per_month * 1000 if served_per_month else None,
        "nodes": nodes,
        "nodes_needed": needed,
        "max_nodes": costs.cluster.max_nodes,
        "exceeds_max_nodes": costs.cluster.max_nodes is not None
        and needed > costs.cluster.max_nodes,
        "baseline": baseline,
    }


def run_cost(
    scenario: Scenario, timeline: dict[str, Any], nodes_peak: int | None = None
) -> dict[str, Any] | None:
    """Compute over the measured run, window by window: the nodes billed in each window
    when nodes were live (the cluster autoscaler's), else nodes for the replicas present
    (bin-packed as for the monthly cost); against the same system held at its
    busiest window's size for the whole run; both in dollars over the run and per month at
    that rate. ``nodes_peak`` is the most nodes present at any instant when they were live
    (a window's average understates it). None without ``costs`` or a timeline."""
    costs: Costs | None = scenario.costs
    windows = timeline.get("windows") or []
    if costs is None or not windows:
        return None
    hours = timeline["window_s"] / 3600
    per_node = costs.node.price_per_hour
    nodes: list[float] = []
    for w in windows:
        if w.get("nodes") is not None:
            # nodes were live: the cluster autoscaler's, billed from being asked for
            nodes.append(w["nodes"])
            continue
        items = []
        for name, c in scenario.components.items():
            requests = getattr(getattr(c, "resources", None), "requests", None)
            if requests is None:
                continue
            ready = w["components"].get(name, {}).get("replicas_ready")
            count = c.pods if ready is None else math.ceil(ready - 1e-9)  # type: ignore[union-attr]
            items += [(name, requests.cpu or 0.0, requests.memory or 0.0)] * count
        nodes.append(max(pack(items, costs.node), costs.cluster.min_nodes))
    span = hours * len(windows)
    used = sum(n * hours * per_node for n in nodes)
    most = max(math.ceil(max(nodes) - 1e-9), nodes_peak or 0)
    peak = most * span * per_node
    month = SECONDS_PER_MONTH / 3600 / span
    return {
        "hours": span,
        "node_hours": sum(n * hours for n in nodes),
        "compute_usd": used,
        "peak_provisioned_compute_usd": peak,
        "compute_per_month_usd": used * month,
        "peak_provisioned_per_month_usd": peak * month,
        "saving_per_month_usd": max(0.0, peak - used) * month,
        "nodes_min": min(nodes),
        "nodes_max": most,
    }

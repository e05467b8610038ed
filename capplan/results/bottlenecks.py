"""What binds, in words: each limited resource ranked, with its share of the slowest
requests' time and a sentence a capacity review can act on."""

from __future__ import annotations

from typing import Any

from capplan.scenario.graph import waits_on
from capplan.scenario.model import Scenario

SHOWN = 0.5
"""Resources at or above this utilization are listed (the binding one always is)."""


def _pct(x: float) -> str:
    return f"{x * 100:.0f}%"


def _workers(
    name: str, c: dict[str, Any], scenario: Scenario, comps: dict[str, Any], callees: frozenset[str]
) -> tuple[str, bool]:
    util, own = c["utilization"], c.get("work_utilization", c["utilization"])
    stuck_behind = None
    if callees and own < util / 2:
        slowest = max(callees, key=lambda n: comps[n]["latency_share"])
        text = f"{name} workers are busy waiting on {slowest}: {_pct(util)} occupied, {_pct(own)} on their own work"
        if comps[slowest]["saturated"]:
            stuck_behind = slowest
    else:
        text = f"{name} workers are {_pct(util)} busy"
    if stuck_behind is not None:
        # more replicas would only queue more requests behind the saturated dependency
        return text + f"; {stuck_behind} is saturated, so more replicas here would not help", False
    blind = False
    if "cpu_utilization" in c:
        cpu = c["cpu_utilization"]
        text += f", at {_pct(cpu)} CPU"
        autoscaling = getattr(scenario.components[name], "autoscaling", None)
        target = autoscaling.cpu_target if autoscaling is not None else 0.7
        if util >= 0.7 and cpu < target:
            blind = True
            text += (
                f"; CPU is under the {_pct(target)} autoscaling target, so CPU-based "
                "autoscaling will not add replicas: scale on in-flight requests instead"
            )
    return text, blind


def _sentence(
    name: str,
    resource: str,
    c: dict[str, Any],
    scenario: Scenario,
    comps: dict[str, Any],
    callees: frozenset[str],
) -> tuple[str, bool]:
    util = c["constraints"][resource]
    if resource == "workers":
        return _workers(name, c, scenario, comps, callees)
    if resource == "cpu":
        return f"{name} uses {_pct(util)} of its CPU requests", False
    if resource in ("requests_per_minute", "tokens_per_minute"):
        kind = "request" if resource == "requests_per_minute" else "token"
        used, limit = (
            c[resource.replace("_minute", "_min")],
            c[resource.replace("_minute", "_min_limit")],
        )
        return (
            f"{name} {kind} quota {_pct(util)} used ({used:,.0f} of {limit:,.0f} a minute); "
            f"{c['http_429_per_min']:,.1f} 429s and {c['rate_limited_per_min']:,.1f} failed calls a minute",
            False,
        )
    if resource == "bandwidth":
        return (
            f"{name} bandwidth {_pct(util)} used in its busier direction ({c['bytes_per_s'] / 1e6:,.0f} MB/s)",
            False,
        )
    return f"{name} {resource.replace('_', ' ')} {_pct(util)} used", False


def bottlenecks(scenario: Scenario, result: dict[str, Any]) -> list[dict[str, Any]]:
    """Resources from the binding constraint down, each with utilization, share of the
    slowest 5% of requests' time, saturation and a sentence."""
    comps = result["components"]
    graph = waits_on(scenario)
    rows = []
    for i, con in enumerate(result["constraints"]):
        name, resource = con["component"], con["resource"]
        if i > 0 and con["utilization"] < SHOWN:
            continue
        c = comps[name]
        text, blind = _sentence(name, resource, c, scenario, comps, graph.get(name, frozenset()))
        if c["saturated"]:
            text = f"saturated: {text}"
        rows.append(
            {
                "component": name,
                "resource": resource,
                "utilization": con["utilization"],
                "latency_share_p95": c["latency_share_p95"],
                "saturated": c["saturated"],
                "cpu_autoscaling_blind": blind,
                "sentence": text,
            }
        )
    for name, c in comps.items():
        if c["rejected"]:
            rows.append(
                {
                    "component": name,
                    "resource": "queue_limit",
                    "utilization": None,
                    "latency_share_p95": c["latency_share_p95"],
                    "saturated": c["saturated"],
                    "cpu_autoscaling_blind": False,
                    "sentence": f"{name} refused {c['rejected']:,} visits at its queue limit",
                }
            )
    return rows

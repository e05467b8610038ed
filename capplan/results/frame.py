"""Results as a tidy table: one row per scenario x metric x scope, for notebooks and CSV.

Columns: ``scenario``, ``load_scale``, ``metric``, ``scope`` (``all``, a request type or a
component), ``value``, ``ci95_low``, ``ci95_high`` (empty where the figure has no
interval), ``unit``, and for SLO rows ``target`` and ``passed``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = (
    "scenario",
    "load_scale",
    "metric",
    "scope",
    "value",
    "ci95_low",
    "ci95_high",
    "unit",
    "target",
    "passed",
)

LATENCY = ("mean", "p50", "p95", "p99")
COMPONENT = {
    "utilization": "ratio",
    "cpu_utilization": "ratio",
    "mean_queue_length": "requests",
    "mean_wait_s": "s",
    "throughput_rps": "1/s",
    "replicas_ready": "pods",
    "tokens_per_min": "1/min",
    "http_429_per_min": "1/min",
    "cost_per_month_usd": "USD/month",
}


def _row(
    metric: str,
    scope: str,
    value: Any,
    ci: Any,
    unit: str,
    target: float | None = None,
    passed: bool | None = None,
) -> dict[str, Any]:
    low, high = (ci[0], ci[1]) if ci else (None, None)
    return {
        "metric": metric,
        "scope": scope,
        "value": value,
        "ci95_low": low,
        "ci95_high": high,
        "unit": unit,
        "target": target,
        "passed": passed,
    }


def _latency(scope: str, lat: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key in LATENCY:
        yield _row(f"latency_{key}", scope, lat.get(key), lat.get("ci95", {}).get(key), "s")


def rows(result: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The rows of one simulation result (the JSON form)."""
    yield from _latency("all", result["latency_s"])
    yield _row("throughput", "all", result["throughput_rps"], result["throughput_rps_ci95"], "1/s")
    yield _row("error_rate", "all", result["error_rate"], result["error_rate_ci95"], "ratio")
    for name, req in result["requests"].items():
        yield from _latency(name, req["latency_s"])
        yield _row("throughput", name, req["throughput_rps"], req["throughput_rps_ci95"], "1/s")
        yield _row("error_rate", name, req["error_rate"], req["error_rate_ci95"], "ratio")
        for comp, t in req.get("time_by_component_s", {}).items():
            yield _row(f"time_at:{comp}", name, t["value"], t["ci95"], "s")
    for name, comp in result["components"].items():
        cis = comp.get("ci95", {})
        for key, unit in COMPONENT.items():
            if key in comp:
                yield _row(key, name, comp[key], cis.get(key), unit)
        yield _row("latency_share", name, comp["latency_share"], None, "ratio")
    cost = result.get("cost")
    if cost:
        yield _row("cost_monthly", "all", cost["monthly_usd"], cost["monthly_usd_ci95"], "USD")
        for cat, usd in cost["by_category"].items():
            yield _row("cost_monthly", f"category:{cat}", usd, None, "USD")
        yield _row("cost_per_1000_requests", "all", cost["per_1000_requests_usd"], None, "USD")
    for slo in result["slos"]:
        yield _row(
            f"slo:{slo['name']}",
            slo["scope"],
            slo["value"],
            slo["ci95"],
            "",
            slo["target"],
            slo["passed"],
        )


def result_frame(result: dict[str, Any] | list[dict[str, Any]]) -> pd.DataFrame:
    """A tidy pandas DataFrame of one result or several (the JSON form of ``simulate``):
    one row per scenario x metric x scope, with its 95% interval where it has one."""
    import pandas as pd

    results = [result] if isinstance(result, dict) else list(result)
    records = [
        {"scenario": r["scenario"], "load_scale": r["load_scale"], **row}
        for r in results
        for row in rows(r)
    ]
    return pd.DataFrame.from_records(records, columns=list(COLUMNS))

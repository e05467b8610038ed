"""Prediction beside measurement: which differences are larger than the noise.

A difference is flagged when it is larger than the two 95% intervals allow together:
|measured − predicted| > √(h_p² + h_m²), with h the half-widths (the predicted interval
from the simulation's replications, the measured one from batch means). Without either
interval nothing can be said, and the row says so.
"""

from __future__ import annotations

import math
from typing import Any

from capplan.loadtest.measure import no_interval_reason
from capplan.results.stats import half_width
from capplan.results.summary import slo_rows

METRICS = (
    ("latency mean", "latency_s", "mean"),
    ("latency p50", "latency_s", "p50"),
    ("latency p95", "latency_s", "p95"),
    ("latency p99", "latency_s", "p99"),
    ("throughput", "throughput_rps", None),
    ("error rate", "error_rate", None),
)


def _pick(group: dict[str, Any], key: str, sub: str | None) -> tuple[Any, Any]:
    if sub is not None:
        return group[key][sub], group[key]["ci95"][sub]
    return group[key], group.get(f"{key}_ci95")


def _row(scope: str, label: str, pred: tuple[Any, Any], meas: tuple[Any, Any]) -> dict[str, Any]:
    (p, p_ci), (m, m_ci) = pred, meas
    row: dict[str, Any] = {
        "scope": scope,
        "metric": label,
        "predicted": p,
        "predicted_ci95": p_ci,
        "measured": m,
        "measured_ci95": m_ci,
        "difference": None,
        "relative": None,
        "noise": None,
        "flagged": None,
    }
    if p is None or m is None:
        return row
    row["difference"] = m - p
    row["relative"] = (m - p) / p if p else None
    hp, hm = half_width(p_ci, p), half_width(m_ci, m)
    if hp is not None and hm is not None:
        row["noise"] = math.hypot(hp, hm)
        row["flagged"] = abs(m - p) > row["noise"]
    return row


def compare(predicted: dict[str, Any], measured: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows for all requests, then each request type the test sent."""
    rows = [
        _row("all", label, _pick(predicted, k, s), _pick(measured, k, s)) for label, k, s in METRICS
    ]
    for name, group in measured["by_type"].items():
        if name not in predicted["requests"]:
            continue
        pgroup = predicted["requests"][name]
        rows += [
            _row(name, label, _pick(pgroup, k, s), _pick(group, k, s)) for label, k, s in METRICS
        ]
    return rows


def measured_slos(scenario: Any, measured: dict[str, Any]) -> list[dict[str, Any]]:
    """The scenario's request-level SLOs (latency, error rate) judged on the measurement.

    Utilization and cost objectives are not measured by a load generator and are left
    out."""
    rows = _explained(
        slo_rows(scenario.slos, "all", measured["latency_s"], measured, False), measured
    )
    for name, rtype in scenario.requests.items():
        if rtype.slos and name in measured["by_type"]:
            group = measured["by_type"][name]
            rows += _explained(slo_rows(rtype.slos, name, group["latency_s"], group, False), group)
    return rows


def _explained(rows: list[dict[str, Any]], group: dict[str, Any]) -> list[dict[str, Any]]:
    """A measured latency objective without an interval says why: its intervals come from
    batches of requests, and a tail percentile needs many requests per batch."""
    for row in rows:
        if row["value"] is not None and row["ci95"] is None and row["name"].startswith("latency_"):
            row["no_interval"] = no_interval_reason(
                row["name"].removeprefix("latency_"), group["successes"]
            )
    return rows

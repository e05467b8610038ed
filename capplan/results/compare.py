"""Differences between two results, for ``capplan compare``."""

from __future__ import annotations

from typing import Any


def _delta(a: float | None, b: float | None) -> dict[str, float | None]:
    if a is None or b is None:
        return {"a": a, "b": b, "change": None, "relative": None}
    return {"a": a, "b": b, "change": b - a, "relative": (b - a) / a if a else None}


def deltas(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """B minus A for latency, errors, throughput, each shared component's utilization and
    the monthly cost; ``relative`` is the change over A."""
    out: dict[str, Any] = {
        "latency_s": {
            k: _delta(a["latency_s"][k], b["latency_s"][k]) for k in ("mean", "p50", "p95", "p99")
        },
        "error_rate": _delta(a["error_rate"], b["error_rate"]),
        "throughput_rps": _delta(a["throughput_rps"], b["throughput_rps"]),
        "utilization": {
            name: _delta(a["components"][name]["utilization"], b["components"][name]["utilization"])
            for name in a["components"]
            if name in b["components"]
        },
    }
    cost_a, cost_b = a.get("cost"), b.get("cost")
    out["monthly_cost_usd"] = _delta(
        cost_a["monthly_usd"] if cost_a else None, cost_b["monthly_usd"] if cost_b else None
    )
    return out

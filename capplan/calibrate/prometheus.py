"""Prometheus range queries saved as the HTTP API's JSON (``/api/v1/query_range``).

A folder holds one file per query and a ``mapping.yaml`` that says which query each file
answers and which series labels name which scenario components and request types:

```yaml
queries:
  request_rate: rate.json       # sum by (route) (rate(http_server_request_duration_seconds_count[1m]))
  latency_buckets: buckets.json # sum by (route, le) (rate(http_server_request_duration_seconds_bucket[1m]))
  cpu: cpu.json                 # sum by (container) (rate(container_cpu_usage_seconds_total[1m]))
  memory: memory.json           # avg by (container) (container_memory_working_set_bytes)
  replicas: replicas.json       # kube_deployment_status_replicas_available
labels:
  route: {"/api/v1/leads/{id}": lead_lookup}
  container: {mcp: mcp-server}
```

Every query is optional; each series is mapped by the first of its labels listed under
``labels``. Series that map to nothing are counted and reported, never guessed.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from capplan.errors import CalibrationError

QUERIES = ("request_rate", "latency_buckets", "cpu", "memory", "replicas")


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    t: np.ndarray
    """Unix seconds, increasing."""
    v: np.ndarray


def read_matrix(path: Path) -> list[Series]:
    """The series of one saved ``query_range`` response."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CalibrationError(f"{path}: not a Prometheus JSON response ({exc})") from None
    data = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(data, dict) or doc.get("status") != "success":
        raise CalibrationError(f"{path}: not a successful Prometheus query_range response")
    if data.get("resultType") != "matrix":
        raise CalibrationError(
            f"{path}: resultType is {data.get('resultType')!r}; save a range query "
            "(/api/v1/query_range), whose result is a matrix"
        )
    out = []
    for i, item in enumerate(data.get("result") or []):
        try:
            labels = {str(k): str(v) for k, v in item["metric"].items()}
            t = np.array([float(p[0]) for p in item["values"]])
            v = np.array([float(p[1]) for p in item["values"]])
        except (KeyError, TypeError, ValueError, IndexError):
            raise CalibrationError(f"{path}: series {i} is not [[time, value], ...]") from None
        if t.size > 1 and (np.diff(t) <= 0).any():
            at = int(np.argmax(np.diff(t) <= 0)) + 1
            raise CalibrationError(
                f"{path}: series {i} {labels}: timestamps out of order at point {at} "
                f"({t[at - 1]:.0f} then {t[at]:.0f})"
            )
        out.append(Series(labels, t, v))
    if not out:
        raise CalibrationError(f"{path}: the query returned no series")
    return out


def histogram_quantile(q: float, bounds: np.ndarray, cumulative: np.ndarray) -> float:
    """Prometheus's ``histogram_quantile``: linear within the bucket holding rank q x
    total, the first bucket starting at 0; the ``+Inf`` bucket gives the highest finite
    bound. ``bounds`` sorted, the last inf."""
    total = cumulative[-1]
    if not math.isinf(bounds[-1]):
        raise CalibrationError("a latency histogram without its +Inf bucket")
    if total <= 0:
        return math.nan
    rank = q * total
    i = int(np.searchsorted(cumulative, rank, side="left"))
    if i >= len(bounds) - 1:
        return float(bounds[-2])
    lo_b = 0.0 if i == 0 else float(bounds[i - 1])
    lo_c = 0.0 if i == 0 else float(cumulative[i - 1])
    width = float(cumulative[i]) - lo_c
    return lo_b + (float(bounds[i]) - lo_b) * ((rank - lo_c) / width if width > 0 else 1.0)


@dataclass(frozen=True)
class PrometheusData:
    """What the saved queries say, by scenario name, one row per sample time."""

    rates: pd.DataFrame
    """Requests per second by request type (columns), indexed by time."""
    cpu: pd.DataFrame
    """CPU cores used by component."""
    memory: pd.DataFrame
    replicas: pd.DataFrame
    latency: dict[str, dict[str, float]]
    """Per request type, from the buckets summed over the whole span: p50, p95, p99,
    and the requests behind them."""
    unmapped: dict[str, int]
    """Series left out because none of their labels maps to the scenario, by query."""


def _name(labels: dict[str, str], mapping: dict[str, dict[str, str]]) -> str | None:
    for label, names in mapping.items():
        if label in labels and labels[label] in names:
            return names[labels[label]]
    return None


def _frame(series: list[tuple[str, Series]]) -> pd.DataFrame:
    cols: dict[str, pd.Series] = {}
    for name, s in series:
        part = pd.Series(s.v, index=s.t)
        cols[name] = cols[name].add(part, fill_value=0.0) if name in cols else part
    return pd.DataFrame(cols).sort_index()


def read_folder(folder: Path) -> PrometheusData:
    """The queries in ``folder`` as named by its ``mapping.yaml``."""
    mpath = folder / "mapping.yaml"
    if not mpath.exists():
        raise CalibrationError(f"{folder}: no mapping.yaml naming its queries and labels")
    try:
        mapping = yaml.safe_load(mpath.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise CalibrationError(f"{mpath}: not YAML ({exc})") from None
    queries = mapping.get("queries") if isinstance(mapping, dict) else None
    labels = mapping.get("labels") if isinstance(mapping, dict) else None
    if not isinstance(queries, dict) or not isinstance(labels, dict):
        raise CalibrationError(f"{mpath}: needs 'queries' and 'labels' maps")
    for key in queries:
        if key not in QUERIES:
            raise CalibrationError(
                f"{mpath}: queries.{key}: unknown query (known: {', '.join(QUERIES)})"
            )
    names = {str(k): {str(a): str(b) for a, b in v.items()} for k, v in labels.items()}
    frames: dict[str, pd.DataFrame] = {}
    unmapped: dict[str, int] = {}
    latency: dict[str, dict[str, float]] = {}
    for key, file in queries.items():
        series = read_matrix(folder / str(file))
        mapped = [(n, s) for s in series if (n := _name(s.labels, names)) is not None]
        unmapped[key] = len(series) - len(mapped)
        if key == "latency_buckets":
            latency = _latency(mapped, folder / str(file))
        else:
            frames[key] = _frame(mapped)
    empty = pd.DataFrame()
    return PrometheusData(
        frames.get("request_rate", empty),
        frames.get("cpu", empty),
        frames.get("memory", empty),
        frames.get("replicas", empty),
        latency,
        unmapped,
    )


def _latency(mapped: list[tuple[str, Series]], path: Path) -> dict[str, dict[str, float]]:
    """Quantiles per request type from bucket rates summed over the span (the rates times
    the step are requests per bucket; the step cancels in a quantile)."""
    by_type: dict[str, dict[float, float]] = {}
    for name, s in mapped:
        if "le" not in s.labels:
            raise CalibrationError(f"{path}: a bucket series without an 'le' label: {s.labels}")
        le = math.inf if s.labels["le"] in ("+Inf", "Inf", "inf") else float(s.labels["le"])
        b = by_type.setdefault(name, {})
        b[le] = b.get(le, 0.0) + float(np.nansum(s.v))
    out = {}
    for name, b in by_type.items():
        if math.inf not in b:
            raise CalibrationError(f"{path}: {name}: a latency histogram without its +Inf bucket")
        bounds = np.array(sorted(b))
        cumulative = np.maximum.accumulate(np.array([b[x] for x in bounds]))
        out[name] = {
            "p50": histogram_quantile(0.5, bounds, cumulative),
            "p95": histogram_quantile(0.95, bounds, cumulative),
            "p99": histogram_quantile(0.99, bounds, cumulative),
            "weight": float(cumulative[-1]),
        }
    return out

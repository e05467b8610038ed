"""Measurements as capplan reads them: whatever the source, request records (or, for
sources without them, per request type summaries) and, from Prometheus, series.

Sources, recognised by what they are:
- a ``capplan loadtest --artifacts`` folder (its ``samples.jsonl`` records);
- a ``capplan loadtest --json`` file (its measured statistics, with their intervals);
- Locust's CSV output (``PREFIX_stats.csv``; give the file or the prefix): totals per name,
  which carry no interval;
- an access log: a CSV with ``timestamp, route, status, duration`` columns (seconds; a
  ``duration_ms`` column in milliseconds), or nginx lines ending in ``$request_time``;
- a folder of Prometheus range queries with its ``mapping.yaml`` (see ``prometheus``).
Request types are matched by name, or by HTTP method and path against each type's
``http`` (``{id}`` segments match anything).
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from capplan.calibrate.prometheus import PrometheusData, read_folder
from capplan.errors import CalibrationError
from capplan.loadtest.measure import Record, measure, read_records
from capplan.scenario.model import PATH_PARAMETER, Scenario

NGINX = re.compile(
    r'\[(?P<time>[^\]]+)\] "(?P<method>[A-Z]+) (?P<path>\S+)[^"]*" (?P<status>\d{3}) .* '
    r"(?P<rt>\d+(?:\.\d+)?)\s*$"
)


@dataclass
class Measurements:
    """Everything read from the sources, by request type."""

    measured: dict[str, Any] | None = None
    """Statistics in ``capplan loadtest``'s form (``by_type`` with intervals)."""
    durations: dict[str, list[float]] = field(default_factory=dict)
    """Response times of successful requests, by request type, when records exist."""
    times: list[float] = field(default_factory=list)
    """Arrival times (Unix seconds) of the system's own requests, from logs."""
    prometheus: PrometheusData | None = None
    sources: list[str] = field(default_factory=list)
    """What was read, for the overlay's comments."""
    production: bool = False
    """Whether the data are the system's own traffic (logs, metrics), so that its rate and
    mix describe the workload; a load test's do not."""


def _router(scenario: Scenario) -> list[tuple[str, re.Pattern[str], str]]:
    from capplan.loadtest.locustfile import endpoint

    out = []
    for name, rtype in scenario.requests.items():
        method, path = endpoint(name, rtype)
        pattern = re.escape(path)
        pattern = re.sub(r"\\\{[A-Za-z_][A-Za-z0-9_]*\\\}", "[^/]+", pattern)
        out.append((method.upper(), re.compile(pattern + r"(\?.*)?$"), name))
    _ = PATH_PARAMETER
    return out


def _route(router: list[tuple[str, re.Pattern[str], str]], method: str, path: str) -> str | None:
    for m, pattern, name in router:
        if (not method or m == method.upper()) and pattern.match(path):
            return name
    return None


def _records_measured(
    scenario: Scenario, records: list[Record], source: str, warmup_s: float = 0.0
) -> dict[str, Any]:
    if not records:
        raise CalibrationError(f"{source}: no request maps to a request type of the scenario")
    records.sort(key=lambda r: r.scheduled)
    span = records[-1].scheduled - records[0].scheduled
    if span <= 0:
        raise CalibrationError(f"{source}: every request has the same time; nothing to measure")
    return measure(records, span * (1 + 1e-9), warmup_s, scenario.workload.is_open)


def _access_log(scenario: Scenario, path: Path) -> tuple[list[Record], int]:
    router = _router(scenario)
    records: list[Record] = []
    unmatched = 0
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines()
    if not lines:
        raise CalibrationError(f"{path}: empty")
    if "," in lines[0] and "timestamp" in lines[0].lower():
        reader = csv.DictReader(lines)
        cols = {c.lower().strip(): c for c in (reader.fieldnames or [])}
        scale = 1.0 if "duration" in cols else 1e-3 if "duration_ms" in cols else None
        if scale is None or "route" not in cols or "status" not in cols:
            raise CalibrationError(
                f"{path}: an access-log CSV needs timestamp, route, status and duration "
                "(seconds) or duration_ms columns"
            )
        dur_col = cols["duration"] if scale == 1.0 else cols["duration_ms"]
        last = -math.inf
        for i, row in enumerate(reader, start=2):
            try:
                t = _time(row[cols["timestamp"]])
                d = float(row[dur_col]) * scale
                status = int(row[cols["status"]])
            except (ValueError, TypeError, KeyError):
                raise CalibrationError(f"{path}:{i}: unreadable row {row}") from None
            if t < last - 1.0:
                raise CalibrationError(
                    f"{path}:{i}: timestamps out of order ({row[cols['timestamp']]} after a later one)"
                )
            last = max(last, t)
            route = row[cols["route"]].strip()
            method, _, p = route.partition(" ") if " " in route else ("", "", route)
            name = route if route in scenario.requests else _route(router, method, p)
            if name is None:
                unmatched += 1
                continue
            records.append(_record(t, name, d, status))
        return records, unmatched
    for i, line in enumerate(lines, start=1):
        m = NGINX.search(line)
        if m is None:
            raise CalibrationError(
                f"{path}:{i}: neither an access-log CSV nor an nginx line ending in $request_time"
            )
        name = _route(router, m["method"], m["path"])
        if name is None:
            unmatched += 1
            continue
        t = datetime.strptime(m["time"], "%d/%b/%Y:%H:%M:%S %z").timestamp()
        records.append(_record(t, name, float(m["rt"]), int(m["status"])))
    return records, unmatched


def _record(t: float, name: str, duration: float, status: int) -> Record:
    return Record(t, t, name, duration, status, "ok" if status < 400 else "error")


def _time(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).timestamp()


def _locust_csv(scenario: Scenario, path: Path) -> dict[str, Any]:
    by_type: dict[str, Any] = {}
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            name = row.get("Name") or ""
            if name not in scenario.requests:
                continue

            def num(key: str, row: dict[str, str] = row) -> float | None:
                try:
                    v = float(row.get(key) or "nan")
                except ValueError:
                    return None
                return v if math.isfinite(v) else None

            count = num("Request Count") or 0.0
            failures = num("Failure Count") or 0.0
            ms = {
                k: num(c)
                for k, c in (
                    ("mean", "Average Response Time"),
                    ("p50", "50%"),
                    ("p95", "95%"),
                    ("p99", "99%"),
                )
            }
            by_type[name] = {
                "latency_s": {
                    **{k: (v / 1000 if v is not None else None) for k, v in ms.items()},
                    "ci95": dict.fromkeys(ms),
                },
                "successes": count - failures,
                "requests": count,
                "throughput_rps": num("Requests/s"),
                "error_rate": failures / count if count else None,
            }
    if not by_type:
        raise CalibrationError(f"{path}: no row names a request type of the scenario")
    total = sum(v["throughput_rps"] or 0.0 for v in by_type.values())
    return {
        "by_type": by_type,
        "achieved_rps": total,
        "throughput_rps": total,
        "no_interval": "Locust's CSV holds whole-run totals (warm-up included) and no "
        "interval; the search matched them to 2% (give the load-test records for intervals)",
    }


def read_sources(scenario: Scenario, paths: list[Path]) -> Measurements:
    """Every source, merged (one records source at most: two would mix two tests)."""
    out = Measurements()
    for path in paths:
        if path.is_dir() and (path / "mapping.yaml").exists():
            out.prometheus = read_folder(path)
            out.production = True
            out.sources.append(f"Prometheus queries in {path.name}/")
            continue
        if out.measured is not None and not path.is_dir() and path.suffix != ".json":
            raise CalibrationError(f"{path}: one source of request records at a time")
        if path.is_dir():
            samples = path / "samples.jsonl"
            if not samples.exists():
                raise CalibrationError(
                    f"{path}: neither loadtest artifacts (samples.jsonl) nor Prometheus "
                    "queries (mapping.yaml)"
                )
            records = [r for r in read_records(samples) if r.name in scenario.requests]
            warm = (
                0.1 * (max(r.scheduled for r in records) - min(r.scheduled for r in records))
                if records
                else 0.0
            )
            out.measured = _records_measured(scenario, records, str(samples), warm)
            start = min(r.scheduled for r in records) + warm
            _durations(out, [r for r in records if r.scheduled >= start])
            out.sources.append(f"load-test records in {path.name}/")
        elif not path.exists() and Path(f"{path}_stats.csv").exists():
            out.measured = _locust_csv(scenario, Path(f"{path}_stats.csv"))
            out.sources.append(f"Locust CSV {path.name}_stats.csv")
        elif not path.exists():
            raise CalibrationError(f"{path}: no such file or folder")
        elif path.name.endswith("_stats.csv"):
            out.measured = _locust_csv(scenario, path)
            out.sources.append(f"Locust CSV {path.name}")
        elif path.suffix == ".json":
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise CalibrationError(f"{path}: not JSON") from None
            if not isinstance(doc, dict) or not isinstance(doc.get("measured"), dict):
                raise CalibrationError(f"{path}: not the JSON of capplan loadtest")
            if out.measured is None:
                out.measured = doc["measured"]
                out.sources.append(f"load-test statistics in {path.name}")
        else:
            records, unmatched = _access_log(scenario, path)
            out.measured = _records_measured(scenario, records, str(path))
            _durations(out, records)
            out.times = [r.scheduled for r in records]
            out.production = True
            out.sources.append(
                f"access log {path.name}"
                + (
                    f" ({unmatched:,} line{'s' if unmatched != 1 else ''} of other routes)"
                    if unmatched
                    else ""
                )
            )
    if out.measured is None and out.prometheus is None:
        raise CalibrationError("no measurements given")
    if out.measured is not None and not out.measured.get("by_type"):
        raise CalibrationError("no measured request maps to a request type of the scenario")
    return out


def _durations(out: Measurements, records: list[Record]) -> None:
    for r in records:
        if r.outcome == "ok" and r.response_s is not None:
            out.durations.setdefault(r.name, []).append(r.response_s)

"""What a load test measured: per-request records in, estimates with intervals out.

Every request the generator scheduled is one record: ``[scheduled, sent, type,
response_s, status, outcome]`` (epoch seconds; ``sent`` and ``response_s`` are null for
an arrival the generator dropped; outcome ``ok``, ``timeout``, ``connection``,
``http_<status>``, ``dropped`` or ``unfinished``). Requests *scheduled* in the window
[start + warm-up, start + duration] count, as in the simulation. Latency is that of
successful requests; percentiles are exact over the records (the smallest value with at
least a fraction q at or below it, the simulation's definition).

Intervals come from batch means: the window is cut into 5 to 10 consecutive batches, each
gives an estimate, and the spread of the batch estimates gives a Student-t 95% interval
around the whole-window estimate. Batches of a stable system are nearly independent once
they are much longer than a request; a short test gets wide intervals, or none where
batches hold too few requests to estimate a tail percentile (see ``PER_BATCH``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import stdtrit

from capplan.errors import CapplanError

BATCHES = 10
MIN_BATCHES = 5
PER_BATCH = {"mean": 5, "p50": 10, "p95": 100, "p99": 500}
"""Successes a batch needs for an interval of each latency statistic: for a quantile q,
about five values above it (5 / (1 - q)), else batch quantiles are biased and their spread
says little. With fewer than MIN_BATCHES such batches the statistic has no interval."""
LATE_S = 0.010
"""A request sent this long after its scheduled time was late: the generator lagged."""
LATE_WARN = 0.01
"""Warn when more than this fraction of requests were late."""
QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}


class MeasurementError(CapplanError):
    """Nothing usable was measured."""

    exit_code = 3


@dataclass(frozen=True)
class Record:
    scheduled: float
    sent: float | None
    name: str
    response_s: float | None
    status: int
    outcome: str


def read_records(path: Path) -> list[Record]:
    """The generator's records; a torn last line (an interrupted write) is skipped."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
            out.append(Record(*row))
        except (json.JSONDecodeError, TypeError):
            continue
    return out


def _quantile(x: np.ndarray, q: float) -> float:
    return float(np.quantile(x, q, method="inverted_cdf"))


def _stats(records: list[Record], window_s: float) -> dict[str, float | None]:
    """Point estimates over some records."""
    n = len(records)
    lat = np.array([r.response_s for r in records if r.outcome == "ok"], dtype=float)
    out: dict[str, float | None] = {
        "mean": float(lat.mean()) if lat.size else None,
        **{k: (_quantile(lat, q) if lat.size else None) for k, q in QUANTILES.items()},
        "error_rate": (sum(r.outcome != "ok" for r in records) / n) if n else None,
        "throughput_rps": lat.size / window_s,
    }
    return out


def _interval(
    point: float | None, batch_values: list[float | None], floor: float = 0.0
) -> list[float] | None:
    """Student-t interval of the batch estimates around ``point``, never below ``floor``
    (for a latency: the fastest request seen, since no estimate can be below what no
    request went under)."""
    vals = [v for v in batch_values if v is not None]
    if point is None or len(vals) < 2:
        return None
    sd = float(np.std(vals, ddof=1))
    half = float(stdtrit(len(vals) - 1, 0.975)) * sd / math.sqrt(len(vals))
    return [max(floor, point - half), point + half]


def requests_for_interval(statistic: str) -> int:
    """Successful requests in the window that an interval on ``statistic`` needs."""
    return MIN_BATCHES * PER_BATCH[statistic]


def no_interval_reason(statistic: str, successes: int) -> str:
    """Why a measured latency statistic has no interval, and how long a test would."""
    return (
        f"{successes:,} successful requests; an interval on {statistic} needs about "
        f"{requests_for_interval(statistic):,} ({MIN_BATCHES} batches of "
        f"{PER_BATCH[statistic]}): run the test longer"
    )


def _batches(records: list[Record], start: float, window_s: float, b: int) -> list[list[Record]]:
    width = window_s / b
    out: list[list[Record]] = [[] for _ in range(b)]
    for r in records:
        out[min(b - 1, int((r.scheduled - start) / width))].append(r)
    return out


def _group(records: list[Record], start: float, window_s: float) -> dict[str, Any]:
    whole = _stats(records, window_s)
    successes = sum(r.outcome == "ok" for r in records)
    fastest = min((r.response_s or 0.0 for r in records if r.outcome == "ok"), default=0.0)
    cache: dict[int, list[dict[str, float | None]]] = {}
    ci: dict[str, list[float] | None] = {}
    for key, point in whole.items():
        # counts (throughput, errors) batch at any size; a latency statistic needs
        # PER_BATCH successes per batch, so that each batch estimates it at all
        per = PER_BATCH.get(key)
        b = BATCHES if per is None else min(BATCHES, successes // per)
        if b < MIN_BATCHES:
            ci[key] = None
            continue
        if b not in cache:
            width = window_s / b
            cache[b] = [_stats(g, width) for g in _batches(records, start, window_s, b)]
        floor = fastest if key in PER_BATCH else 0.0
        ci[key] = _interval(point, [est[key] for est in cache[b]], floor)
    errors: dict[str, int] = {}
    for r in records:
        if r.outcome != "ok":
            errors[r.outcome] = errors.get(r.outcome, 0) + 1
    failed, n = sum(errors.values()), len(records)
    if n and failed in (0, n):
        # every batch agrees, so their spread says nothing: the exact binomial
        # (Clopper-Pearson) bound for 0 or n failures in n requests takes over
        edge = 0.025 ** (1 / n)
        ci["error_rate"] = [0.0, 1 - edge] if failed == 0 else [edge, 1.0]
    sent = [r for r in records if r.sent is not None]
    return {
        "latency_s": {
            **{k: whole[k] for k in ("mean", *QUANTILES)},
            "ci95": {k: ci[k] for k in ("mean", *QUANTILES)},
        },
        "successes": successes,
        "offered_rps": len(records) / window_s,
        "achieved_rps": len(sent) / window_s,
        "throughput_rps": whole["throughput_rps"],
        "throughput_rps_ci95": ci["throughput_rps"],
        "requests": len(records),
        "error_rate": whole["error_rate"],
        "error_rate_ci95": ci["error_rate"],
        "errors": dict(sorted(errors.items())),
    }


def measure(
    records: Iterable[Record], duration_s: float, warmup_s: float, open_workload: bool
) -> dict[str, Any]:
    """The measured result (JSON-ready): overall and per request type."""
    records = list(records)
    if not records:
        raise MeasurementError("the load generator recorded no requests: see the Locust log above")
    start = min(r.scheduled for r in records)
    lo, hi = start + warmup_s, start + duration_s
    window_s = hi - lo
    inside = [r for r in records if lo <= r.scheduled < hi]
    if not inside:
        raise MeasurementError(
            f"no request was scheduled after the {warmup_s:g}s warm-up: run longer"
        )
    result = _group(inside, lo, window_s)
    if not open_workload:
        result["offered_rps"] = None  # a closed workload's rate follows from the system
    names = sorted({r.name for r in inside})
    result["by_type"] = {
        name: _group([r for r in inside if r.name == name], lo, window_s) for name in names
    }
    if not open_workload:
        for entry in result["by_type"].values():
            entry["offered_rps"] = None
    sent = [r for r in inside if r.sent is not None]
    late = sum(1 for r in sent if r.sent is not None and r.sent - r.scheduled > LATE_S)
    result.update(
        window_s=window_s,
        warmup_s=warmup_s,
        started_at=start,
        records=len(records),
        late_fraction=late / len(sent) if sent else 0.0,
        dropped=sum(1 for r in inside if r.outcome == "dropped"),
        unfinished=sum(1 for r in inside if r.outcome == "unfinished"),
    )
    return result


GENERATOR_BUSY = 0.8
"""A generator process using this much of a core or more is the limit on sending on time."""


def generator_warnings(
    measured: dict[str, Any], cpu_bound: bool, generator_cpu: float | None, load: str
) -> list[str]:
    """Reasons to distrust the measured latencies: requests left late or were dropped.

    Lateness has two causes with different cures: a generator process that is busy
    (``generator_cpu``, its share of a core, near 1: more ``--workers`` help) or a machine
    busy with other work (the generator idle yet late: more workers would not help)."""
    out = []
    if measured["dropped"]:
        out.append(
            f"the generator dropped {measured['dropped']} arrivals (too many requests in "
            "flight): it did not offer the planned load"
        )
    busy = cpu_bound or (generator_cpu is not None and generator_cpu >= GENERATOR_BUSY)
    share = "" if generator_cpu is None else f" ({generator_cpu:.0%} of a core per process)"
    if measured["late_fraction"] > LATE_WARN:
        late = (
            f"{measured['late_fraction']:.1%} of requests were sent more than "
            f"{LATE_S * 1000:.0f} ms after their scheduled time"
        )
        if busy:
            out.append(
                f"{late}: the load generator is CPU-bound{share}, so the test offered less "
                "than planned and its latencies include the lag; add --workers"
            )
        else:
            out.append(
                f"{late}, while the generator itself was not busy{share}: the machine is "
                f"busy with other work ({load}), so latencies may include that; more "
                "--workers would not help"
            )
    elif busy:
        out.append(f"a generator process was CPU-bound{share}: add --workers")
    return out


def read_locust_csv(prefix: Path) -> dict[str, dict[str, float | None]]:
    """Locust's own per-name statistics (``<prefix>_stats.csv``), for a cross-check.

    Locust rounds response times into buckets (two significant digits) for its
    percentiles, and counts whole-run totals including warm-up, so these are shown beside
    the exact figures, not used for them."""
    import csv

    path = Path(f"{prefix}_stats.csv")
    if not path.exists():
        return {}
    out = {}
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            name = row.get("Name") or "Aggregated"

            def num(key: str, row: dict[str, str] = row) -> float | None:
                # Locust writes "N/A" for a percentile with no requests behind it
                try:
                    value = float(row.get(key) or "nan")
                except ValueError:
                    return None
                return value if math.isfinite(value) else None

            out[name] = {
                "requests": num("Request Count"),
                "failures": num("Failure Count"),
                "rps": num("Requests/s"),
                "mean_ms": num("Average Response Time"),
                "p50_ms": num("50%"),
                "p95_ms": num("95%"),
                "p99_ms": num("99%"),
            }
    return out

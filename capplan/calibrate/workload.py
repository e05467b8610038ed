"""The workload the system's own traffic shows: its mix, and, when the data span a day,
its daily total and profile (``workload.profile`` points, one per clock hour).

Only logs and metrics of the system itself describe its workload; a load test's rate and
mix are the test's choice and are never written here. Hours are UTC clock hours.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from capplan.calibrate import Calibration
    from capplan.calibrate.sources import Measurements
    from capplan.scenario.model import Scenario

DAY_S = 86400.0
MIN_SPAN_S = 23 * 3600.0
"""Data spanning at least this long give a daily profile (an hour short of a day is
allowed for the edges of a day's logs)."""


def hourly(times: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, float, int]:
    """(requests per second in each UTC clock hour, averaged over the days seen, the mean
    rate over the whole span, days covered) from request times (or sample times with
    rates as ``weights``, each sample standing for the interval to the next)."""
    t = np.asarray(times, dtype=float)
    counts: np.ndarray
    covered: np.ndarray
    if weights is None:
        span = float(t.max() - t.min())
        counts = np.bincount(((t % DAY_S) // 3600).astype(int), minlength=24).astype(float)
        # seconds of each clock hour the data cover
        covered = (
            np.bincount(
                ((np.arange(t.min(), t.max(), 60.0) % DAY_S) // 3600).astype(int), minlength=24
            ).astype(float)
            * 60.0
        )
        total_rate = len(t) / span
    else:
        w = np.asarray(weights, dtype=float)
        step = np.diff(t, append=t[-1] + (np.median(np.diff(t)) if len(t) > 1 else 60.0))
        hours = ((t % DAY_S) // 3600).astype(int)
        counts = np.bincount(hours, weights=w * step, minlength=24)
        covered = np.bincount(hours, weights=step, minlength=24)
        span = float(step.sum())
        total_rate = float((w * step).sum() / span)
    rate = np.divide(counts, covered, out=np.zeros(24), where=covered > 0)
    if (covered > 0).all():  # every clock hour seen: each counts once in the day's mean
        total_rate = float(rate.mean())
    return rate, total_rate, round(span / DAY_S)


def apply(scenario: Scenario, meas: Measurements, cal: Calibration) -> None:
    """Mix, and with a day of data the daily total and profile, as changes."""
    from capplan.calibrate import Change

    counts: dict[str, float] = {}
    series: tuple[np.ndarray, np.ndarray | None] | None = None
    if meas.measured is not None and meas.times:
        by_type = meas.measured["by_type"]
        counts = {
            n: float(v.get("requests") or 0) for n, v in by_type.items() if n in scenario.requests
        }
        series = (np.asarray(meas.times), None)
        what = f"request counts of {int(sum(counts.values())):,} requests"
    elif meas.prometheus is not None and not meas.prometheus.rates.empty:
        rates = meas.prometheus.rates
        counts = {n: float(rates[n].mean()) for n in rates.columns if n in scenario.requests}
        total = rates[[n for n in counts]].sum(axis=1)
        series = (total.index.to_numpy(dtype=float), total.to_numpy())
        what = f"mean request rates over {len(rates)} Prometheus samples"
    total = sum(counts.values())
    if not total or series is None:
        return
    cal.workload = {"mix": {n: c / total for n, c in counts.items()}}
    if len(scenario.requests) > 1:
        cal.changes.append(
            Change(
                ("workload", "mix"),
                {n: round(v * 100, 2) for n, v in scenario.mix().items()},
                {n: round(c / total * 100, 2) for n, c in counts.items()},
                None,
                what,
            )
        )
    times, weights = series
    span = float(times.max() - times.min()) if len(times) else 0.0
    if span < MIN_SPAN_S:
        cal.notes.append(
            f"the traffic spans {span / 3600:.1f} h: a day of it would give the daily total "
            "and profile (workload.profile); the rate is left as it was"
        )
        return
    rate, mean_rate, days = hourly(times, weights)
    cal.workload.update(rate_rps=mean_rate, hourly_rps=rate.tolist(), days=days)
    w = scenario.workload
    if not w.is_open:
        cal.notes.append("a closed workload (users): the measured daily profile is not applied")
        return
    points = [[f"{h * 60 + 30}min", round(float(rate[h] / mean_rate), 4)] for h in range(24)]
    profile = {"points": points, "period": "24h"}
    source = (
        f"{days} day{'s' if days != 1 else ''} of {what}: mean rate per UTC clock hour over "
        f"the mean, at each hour's middle"
    )
    if w.daily_requests is not None:
        daily = round(mean_rate * DAY_S)
        cal.changes.append(
            Change(("workload", "daily_requests"), w.daily_requests, daily, None, source)
        )
        if w.peak_factor != 1.0:
            cal.changes.append(
                Change(
                    ("workload", "peak_factor"),
                    w.peak_factor,
                    1,
                    None,
                    "the profile gives the peak",
                )
            )
    else:
        before = f"{w.arrival_rate:.4g}/s" if w.arrival_rate is not None else None
        cal.changes.append(
            Change(("workload", "arrival_rate"), before, f"{mean_rate:.4g}/s", None, source)
        )
    cal.changes.append(Change(("workload", "profile"), None, profile, None, source))

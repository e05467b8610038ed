"""Latency distributions fitted to measured durations.

Lognormal and gamma are fitted by maximum likelihood (location fixed at zero, as a
duration's is) and judged by the Kolmogorov-Smirnov test; the better-fitting one is kept
if its p-value is at least ``MIN_P``, else the measured values themselves are
(``empirical``, resampled). Parameters estimated from the same data make the KS p-value
optimistic, so a fit that passes is a fit that was not rejected, and one that fails is
poor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from capplan.errors import CalibrationError

MIN_P = 0.05
"""Lowest KS p-value at which a parametric fit is used."""
MIN_SAMPLES = 30
"""Fewest durations a fit is made from."""
EMPIRICAL_POINTS = 200
"""Quantiles kept for an empirical distribution."""


@dataclass(frozen=True)
class Fit:
    """The distribution chosen for some measured durations, and how well it fits."""

    family: str
    """``lognormal``, ``gamma`` or ``empirical``."""
    mean_s: float
    cv: float
    ks_p: float
    """KS p-value of the chosen family (of the better parametric one for empirical)."""
    n: int
    samples_s: tuple[float, ...] = ()
    """For ``empirical``: evenly spaced quantiles of the measurements."""
    tried: tuple[tuple[str, float], ...] = ()
    """(family, KS p-value) of each parametric family tried."""

    def distribution(self) -> dict[str, Any]:
        """The scenario-language form (seconds written with a unit)."""
        if self.family == "empirical":
            return {"distribution": "empirical", "samples": [_ms(x) for x in self.samples_s]}
        return {"distribution": self.family, "mean": _ms(self.mean_s), "cv": round(self.cv, 3)}

    def describe(self) -> str:
        how = "MLE" if self.family != "empirical" else "measured quantiles"
        tried = ", ".join(f"{f} p={p:.2g}" for f, p in self.tried)
        return f"{self.family} {how} from {self.n:,} requests, KS {tried}"


def _ms(x: float) -> str:
    return f"{x * 1000:.4g}ms"


def fit_durations(durations: np.ndarray) -> Fit:
    """The distribution of ``durations`` (seconds, all positive)."""
    x = np.asarray(durations, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < MIN_SAMPLES:
        raise CalibrationError(f"{x.size} durations: a distribution needs at least {MIN_SAMPLES}")
    if (x <= 0).any():
        raise CalibrationError("a duration of zero or less cannot be fitted")
    mean = float(x.mean())
    cv = float(x.std(ddof=1) / mean)
    tried = []
    shape, _, scale = stats.lognorm.fit(x, floc=0)
    tried.append(("lognormal", float(stats.kstest(x, "lognorm", args=(shape, 0, scale)).pvalue)))
    a, _, gscale = stats.gamma.fit(x, floc=0)
    tried.append(("gamma", float(stats.kstest(x, "gamma", args=(a, 0, gscale)).pvalue)))
    family, p = max(tried, key=lambda t: t[1])
    if p >= MIN_P:
        if family == "lognormal":
            mean_f = float(scale * math.exp(shape**2 / 2))
            cv_f = float(math.sqrt(math.expm1(shape**2)))
        else:
            mean_f, cv_f = float(a * gscale), float(1 / math.sqrt(a))
        return Fit(family, mean_f, cv_f, p, int(x.size), (), tuple(tried))
    q = np.quantile(x, (np.arange(EMPIRICAL_POINTS) + 0.5) / EMPIRICAL_POINTS)
    return Fit("empirical", mean, cv, p, int(x.size), tuple(map(float, q)), tuple(tried))

"""Service demands from utilization and throughput over time: the Utilization Law
regression of resource-demand estimation.

Over windows w, the CPU a component used is the sum over request types of each type's
demand there times its throughput:

    U_k(w) = sum_r D_kr X_r(w) + e(w)

solved for D_k >= 0 by non-negative least squares over the windows. Standard errors come
from the least-squares covariance s^2 (A'A)^-1 restricted to the demands the constraint
leaves free (a demand pinned at 0 is reported with none); with fewer windows than free
demands plus two, or throughputs that move together, the estimate is refused rather than
guessed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from capplan.errors import CalibrationError


@dataclass(frozen=True)
class Demands:
    """One component's demands per request type."""

    names: tuple[str, ...]
    """Request types, in the order of the estimates."""
    estimate: np.ndarray
    """Seconds of the resource (CPU-seconds) one request of each type uses."""
    std_error: np.ndarray
    """Standard error of each estimate (nan where the constraint holds it at zero)."""
    r_squared: float
    """Share of the utilization's variance over the windows that the fit explains."""
    windows: int

    def as_dict(self) -> dict[str, object]:
        return {
            "demand_s": dict(zip(self.names, map(float, self.estimate), strict=True)),
            "std_error_s": {
                n: (None if math.isnan(se) else float(se))
                for n, se in zip(self.names, self.std_error, strict=True)
            },
            "r_squared": self.r_squared,
            "windows": self.windows,
        }


def utilization_law(
    throughput: np.ndarray, utilization: np.ndarray, names: tuple[str, ...]
) -> Demands:
    """Demands from ``throughput`` (windows × request types, per second) and
    ``utilization`` (per window: resource-seconds used per second, e.g. CPU cores)."""
    x = np.asarray(throughput, dtype=float)
    u = np.asarray(utilization, dtype=float)
    if x.ndim != 2 or x.shape[0] != u.shape[0] or x.shape[1] != len(names):
        raise CalibrationError("throughput and utilization cover different windows")
    n, p = x.shape
    if n < p + 2:
        raise CalibrationError(
            f"{n} windows for {p} demands: the regression needs at least {p + 2} "
            "(a longer measurement, or shorter windows)"
        )
    if not np.isfinite(x).all() or not np.isfinite(u).all():
        raise CalibrationError("missing values in the windows")
    scaled = x / np.maximum(np.abs(x).max(axis=0), 1e-300)
    if np.linalg.matrix_rank(scaled, tol=1e-6 * math.sqrt(n)) < p:
        raise CalibrationError(
            "the request types' throughputs move together over the windows, so their "
            "demands cannot be told apart: measure at several mixes or loads"
        )
    d, _ = nnls(x, u)
    resid = u - x @ d
    free = d > 0
    k = int(free.sum())
    s2 = float(resid @ resid) / max(n - k, 1)
    se = np.full(p, np.nan)
    if k:
        a = x[:, free]
        gram = a.T @ a
        if np.linalg.cond(gram) > 1e12:
            raise CalibrationError(
                "the request types' throughputs move together over the windows, so their "
                "demands cannot be told apart: measure at several mixes or loads"
            )
        se[free] = np.sqrt(np.diag(np.linalg.inv(gram)) * s2)
    total = float(((u - u.mean()) ** 2).sum())
    r2 = 1.0 - float(resid @ resid) / total if total > 0 else 1.0
    return Demands(names, d, se, r2, n)

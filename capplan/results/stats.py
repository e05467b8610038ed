"""Confidence intervals across independent replications."""

from __future__ import annotations

import math
from collections.abc import Sequence

from scipy.special import stdtrit


def mean_ci(
    values: Sequence[float], level: float = 0.95
) -> tuple[float, tuple[float, float] | None]:
    """Mean of per-replication estimates and its Student-t confidence interval.

    Replications are independent and identically distributed by construction (own seeds,
    own warm-up), which is what the t interval assumes. With one value there is no interval.
    """
    n = len(values)
    if n == 0:
        raise ValueError("no values")
    m = math.fsum(values) / n
    if n < 2:
        return m, None
    var = math.fsum((v - m) ** 2 for v in values) / (n - 1)
    half = float(stdtrit(n - 1, 0.5 + level / 2)) * math.sqrt(var / n)
    return m, (m - half, m + half)


def half_width(ci: Sequence[float] | None, value: float | None) -> float | None:
    """The larger distance from ``value`` to an end of its interval; None without both."""
    if ci is None or value is None:
        return None
    return max(ci[1] - value, value - ci[0])

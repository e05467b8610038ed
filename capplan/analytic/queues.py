"""Closed-form results for single stations and open tandems: the oracle the simulator is
tested against, and a quick approximation of its own.

Times in seconds, rates per second. ``lam`` is the arrival rate, ``mu`` one server's
service rate, ``c`` the number of servers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class StationPrediction:
    """Steady-state prediction for one station."""

    utilization: float
    """Busy servers / servers."""
    mean_wait_s: float
    """Mean time in queue, before service."""
    mean_response_s: float
    """Mean time in the station: wait plus service."""
    mean_queue_length: float
    """Mean number waiting (Little: lam × mean_wait_s)."""
    p95_response_s: float | None = None
    """95th percentile of the time in the station, where the model gives it."""


def _check_stable(rho: float) -> None:
    if not 0 <= rho < 1:
        raise ValueError(f"unstable: utilization {rho:.3f} >= 1")


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in M/M/c with offered load ``a`` = lam/mu (Erlang)."""
    rho = a / c
    _check_stable(rho)
    # Erlang B by the stable recursion, then C from B
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b / (1 - rho * (1 - b))


def _quantile(survival: Callable[[float], float], q: float, scale: float) -> float:
    # imported here: scipy.optimize takes half a second to import, and a simulation's
    # cross-check never needs it (only the closed-form p95s of the oracles do)
    from scipy.optimize import brentq

    hi = scale
    while survival(hi) > 1 - q:
        hi *= 2
    return float(brentq(lambda t: survival(t) - (1 - q), 0.0, hi, xtol=1e-12 * scale))


def mmc(lam: float, mu: float, c: int) -> StationPrediction:
    """M/M/c (Erlang C), with the exact response-time distribution for p95.

    Response = wait + service, where the wait is 0 with probability 1 - C and otherwise
    exponential with rate c·mu - lam, independent of the exponential service.
    """
    a = lam / mu
    pw = erlang_c(c, a)
    alpha = c * mu - lam
    wq = pw / alpha

    def survival(t: float) -> float:
        service_only = math.exp(-mu * t)
        if abs(alpha - mu) < 1e-12 * mu:
            both = (1 + mu * t) * math.exp(-mu * t)
        else:
            both = (mu * math.exp(-alpha * t) - alpha * math.exp(-mu * t)) / (mu - alpha)
        return (1 - pw) * service_only + pw * both

    return StationPrediction(
        utilization=a / c,
        mean_wait_s=wq,
        mean_response_s=wq + 1 / mu,
        mean_queue_length=lam * wq,
        p95_response_s=_quantile(survival, 0.95, 1 / mu),
    )


def mm1(lam: float, mu: float) -> StationPrediction:
    """M/M/1: response time is exponential with rate mu - lam."""
    return mmc(lam, mu, 1)


def mmck_blocking(lam: float, mu: float, c: int, k: int) -> float:
    """Probability an arrival is refused in M/M/c/K (K = c servers + waiting room)."""
    if k < c:
        raise ValueError("K counts servers and waiting places, so K >= c")
    a = lam / mu
    terms = []
    for n in range(k + 1):
        if n <= c:
            terms.append(a**n / math.factorial(n))
        else:
            terms.append(a**c / math.factorial(c) * (a / c) ** (n - c))
    return terms[-1] / sum(terms)


def mg1(lam: float, mean_s: float, scv: float) -> StationPrediction:
    """M/G/1 by Pollaczek-Khinchine: Wq = rho (1 + scv) / 2 × S / (1 - rho)."""
    rho = lam * mean_s
    _check_stable(rho)
    wq = rho * (1 + scv) / 2 * mean_s / (1 - rho)
    return StationPrediction(rho, wq, wq + mean_s, lam * wq)


def tandem_mm1(lam: float, mus: Sequence[float]) -> StationPrediction:
    """Open tandem of M/M/1 stations (Jackson network).

    Sojourn times at the stations are independent exponentials with rates mu_i - lam
    (Burke, Reich), so the end-to-end time is hypoexponential and its p95 is exact.
    """
    rates = [mu - lam for mu in mus]
    for mu in mus:
        _check_stable(lam / mu)
    if len(set(rates)) != len(rates):
        raise ValueError("the closed form needs distinct station rates")

    def survival(t: float) -> float:
        total = 0.0
        for i, ri in enumerate(rates):
            coef = 1.0
            for j, rj in enumerate(rates):
                if j != i:
                    coef *= rj / (rj - ri)
            total += coef * math.exp(-ri * t)
        return total

    wait = sum(lam / (mu * (mu - lam)) for mu in mus)
    mean = sum(1 / r for r in rates)
    return StationPrediction(
        utilization=max(lam / mu for mu in mus),
        mean_wait_s=wait,
        mean_response_s=mean,
        mean_queue_length=lam * wait,
        p95_response_s=_quantile(survival, 0.95, mean),
    )

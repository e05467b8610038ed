"""Exact Mean Value Analysis for closed product-form networks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class MvaResult:
    """Closed network at population ``users``."""

    users: int
    throughput_rps: float
    """System throughput (requests completed per second)."""
    response_s: float
    """Mean response time, think time excluded."""
    queue_lengths: tuple[float, ...]
    """Mean number at each queueing station (waiting and in service)."""


def mva(demands_s: Sequence[float], think_s: float, users: int) -> MvaResult:
    """Exact MVA: single-server FCFS stations with exponential service of mean demand D_k,
    plus a delay (think time) Z. R_k(n) = D_k (1 + Q_k(n-1)); X(n) = n / (Z + sum R_k)."""
    q = [0.0] * len(demands_s)
    x = r = 0.0
    for n in range(1, users + 1):
        resp = [d * (1 + qk) for d, qk in zip(demands_s, q, strict=True)]
        r = sum(resp)
        x = n / (think_s + r)
        q = [x * rk for rk in resp]
    return MvaResult(users, x, r, tuple(q))

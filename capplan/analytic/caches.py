"""Hit ratios of a cache's key space from its request rate, TTL and size.

Each key ``i`` is requested as a Poisson stream of rate ``λ_i`` (the key space's lookup
rate split by popularity). A miss stores the value; the entry then lives ``L`` (its
lifetime): until its TTL runs out (Redis's ``SET ... EX``: a hit does not extend it), or
until the cache, full, evicts it as least recently used. Between lifetimes the key is
absent until its next request (mean ``1/λ_i``), which misses. By the renewal reward
theorem a key's hit ratio and the share of time it is stored are both

    h_i = λ_i E[L] / (1 + λ_i E[L]).

- TTL only: ``L = TTL``, so ``h_i = λ_i TTL / (1 + λ_i TTL)``: exact for Poisson requests.
- LRU only, Che's approximation: a key leaves once ``T_C`` (the characteristic time) passes
  without a request to it, ``T_C`` being such that the expected number of stored keys is
  the cache's capacity. Then ``E[L] = (e^{λT_C} - 1)/λ`` and ``h_i = 1 - e^{-λ_i T_C}``,
  the classical result, accurate to about a percentage point for Zipf popularity and
  10^4 keys or more.
- Both: ``L = min(TTL, τ)`` with ``τ`` the LRU lifetime above; past ``T_C`` the rest of
  ``τ`` is taken as exponential with its exact mean, so ``E[L]`` has a closed form. The
  per-key simulation in the tests measures this approximation.

Key spaces of one cache share its memory (:func:`shared_figures`): Redis bounds the node
(``maxmemory``) and evicts the least recently used key of any key space past it, so one
characteristic time holds for every key, such that the bytes stored (keys times their
value size, summed over the key spaces) fill the memory.

Keys beyond the first thousand ranks are grouped in ranks of nearly equal popularity
(within 0.1%), so a key space of 10^8 keys costs about 10^4 terms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

EXACT_RANKS = 1000
"""Ranks kept one by one; beyond, keys are grouped."""
GROUP_RATIO = 1.001
"""Ranks in one group span at most this ratio (popularity within 0.1% for zipf <= 1)."""


@dataclass(frozen=True)
class Popularity:
    """Keys by rank: the share of lookups each key of a group gets, and the group sizes."""

    share: np.ndarray
    """Share of all lookups that one key of the group gets."""
    count: np.ndarray
    """Keys in the group."""

    @property
    def keys(self) -> float:
        return float(self.count.sum())


def popularity(keys: int, zipf: float | None) -> Popularity:
    """``keys`` keys with Zipf popularity (share of rank r proportional to r^-zipf) or,
    with ``zipf`` None, all equally popular."""
    if zipf is None or keys == 1:
        return Popularity(np.array([1.0 / keys]), np.array([float(keys)]))
    head = min(keys, EXACT_RANKS)
    lo = np.arange(1, head + 1, dtype=float)
    hi = lo + 1
    if keys > head:
        edges = np.unique(
            np.round(
                np.geomspace(
                    head + 1, keys + 1, 2 + int(math.log(keys / head) / math.log(GROUP_RATIO))
                )
            )
        )
        lo = np.concatenate([lo, edges[:-1]])
        hi = np.concatenate([hi, edges[1:]])
    count = hi - lo
    # the mass of ranks [lo, hi) from the integral of r^-s, exact enough past rank 1000;
    # one by one below
    s = zipf
    if abs(s - 1) < 1e-12:
        mass = np.log((hi - 0.5) / (lo - 0.5))
    else:
        mass = ((hi - 0.5) ** (1 - s) - (lo - 0.5) ** (1 - s)) / (1 - s)
    mass[:head] = lo[:head] ** -s
    share = mass / count
    share /= float((share * count).sum())
    return Popularity(share, count)


@dataclass(frozen=True)
class CacheFigures:
    """A key space in steady state at one lookup rate."""

    hit_ratio: float
    stored_keys: float
    """Expected keys held (for memory: times the value size)."""
    evictions_per_s: float
    """Entries removed to make room (LRU), per second."""
    expirations_per_s: float
    """Entries removed by their TTL, per second."""
    characteristic_time_s: float | None
    """Che's T_C when the size limit binds, else None."""
    method: str
    """``ttl`` (exact for Poisson requests), ``che`` (LRU), ``ttl+lru``, or ``unbounded``."""


def _lifetime(lam: np.ndarray, ttl: float | None, tc: float) -> tuple[np.ndarray, np.ndarray]:
    """(E[L], probability an entry is evicted rather than expired) per group."""
    if math.isinf(tc):
        life = np.full_like(lam, ttl if ttl is not None else math.inf)
        return life, np.zeros_like(lam)
    x = np.minimum(lam * tc, 700.0)
    lru = np.where(x > 1e-9, np.expm1(x) / np.maximum(lam, 1e-300), tc)  # E[tau]
    if ttl is None:
        return lru, np.ones_like(lam)
    if ttl <= tc:
        return np.full_like(lam, ttl), np.zeros_like(lam)
    m = np.maximum(lru - tc, 0.0)  # mean of the LRU lifetime past T_C
    span = ttl - tc
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = np.where(m > 0, np.exp(-span / np.where(m > 0, m, 1.0)), 0.0)
    return tc + m * (1 - tail), 1 - tail


def _stored(lam: np.ndarray, count: np.ndarray, ttl: float | None, tc: float) -> float:
    life, _ = _lifetime(lam, ttl, tc)
    if np.isinf(life).any():
        return float(count[np.isinf(life)].sum() + _stored_finite(lam, count, life))
    return _stored_finite(lam, count, life)


def _stored_finite(lam: np.ndarray, count: np.ndarray, life: np.ndarray) -> float:
    fin = ~np.isinf(life)
    a = lam[fin] * life[fin]
    return float((count[fin] * a / (1 + a)).sum())


@dataclass(frozen=True)
class Space:
    """One key space of a cache: its lookups per second, keys, TTL and value size."""

    rate: float
    pop: Popularity
    ttl: float | None
    value_size: float = 1.0


def figures(
    rate: float, pop: Popularity, ttl: float | None, capacity_keys: float | None
) -> CacheFigures:
    """The key space's steady state at ``rate`` lookups per second, alone in a cache of
    ``capacity_keys`` keys (None: no limit)."""
    (f,) = shared_figures([Space(rate, pop, ttl)], capacity_keys)
    return f


def shared_figures(spaces: list[Space], capacity: float | None) -> list[CacheFigures]:
    """The steady state of each key space of one cache whose memory, ``capacity`` (in
    the units of ``value_size``; None: no limit), bounds them together."""
    lams = [s.rate * s.pop.share for s in spaces]

    def stored(tc: float) -> float:
        return sum(
            s.value_size * _stored(lam, s.pop.count, s.ttl, tc)
            for s, lam in zip(spaces, lams, strict=True)
        )

    tc = math.inf
    if capacity is not None and stored(math.inf) > capacity:
        if capacity <= 0:
            tc = 0.0
        else:
            # what is stored grows with T_C; bracket and bisect on its logarithm
            lo, hi = 1e-9, 1.0
            while stored(hi) < capacity:
                hi *= 4
            lo = hi / 4 if hi > 1.0 else lo
            for _ in range(200):
                mid = math.sqrt(lo * hi)
                if stored(mid) < capacity:
                    lo = mid
                else:
                    hi = mid
                if hi / lo < 1 + 1e-10:
                    break
            tc = math.sqrt(lo * hi)
    return [_at(s.rate, lam, s.pop, s.ttl, tc) for s, lam in zip(spaces, lams, strict=True)]


def _at(
    rate: float, lam: np.ndarray, pop: Popularity, ttl: float | None, tc: float
) -> CacheFigures:
    """A key space's figures at characteristic time ``tc`` (inf: nothing evicted)."""
    life, evicted = _lifetime(lam, ttl, tc)
    if math.isinf(tc) and ttl is None:  # nothing ever leaves: every lookup hits in time
        return CacheFigures(1.0 if rate > 0 else 0.0, pop.keys, 0.0, 0.0, None, "unbounded")
    a = lam * life
    hit = a / (1 + a)
    lookups = float((pop.count * lam).sum())
    hit_ratio = float((pop.count * lam * hit).sum() / lookups) if lookups else 0.0
    removals = pop.count * lam * (1 - hit)  # in steady state every stored entry leaves
    method = "ttl" if math.isinf(tc) else ("che" if ttl is None else "ttl+lru")
    return CacheFigures(
        hit_ratio=hit_ratio,
        stored_keys=float((pop.count * hit).sum()),
        evictions_per_s=float((removals * evicted).sum()),
        expirations_per_s=float((removals * (1 - evicted)).sum()),
        characteristic_time_s=None if math.isinf(tc) else tc,
        method=method,
    )

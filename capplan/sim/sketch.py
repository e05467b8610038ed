"""Latency quantiles in constant memory: a relative-error histogram (as DDSketch).

Latencies fall into logarithmically spaced buckets, each (1 + α)/(1 - α) wider than the
one before, so every quantile read from the histogram is within α (0.5%) of the sample
quantile, relative, whatever the load. Means are kept exactly. Beside the counts, each
bucket sums the time its requests spent at each station, which is what the share of the
slowest 5% of requests' time needs. Samples are buffered in a compact array and folded
in with numpy, so the simulation loop only appends floats.
"""

from __future__ import annotations

import math
from array import array

import numpy as np

ALPHA = 0.005
"""Relative accuracy of every quantile."""
GAMMA = (1 + ALPHA) / (1 - ALPHA)
LOG_GAMMA = math.log(GAMMA)
LOWEST_S = 1e-7
"""Latencies at or below this (100 ns) share the first bucket."""
BUCKETS = math.ceil(math.log(1e7 / LOWEST_S) / LOG_GAMMA) + 1  # up to 10^7 s
FLUSH = 1 << 15


class LatencySketch:
    """Successful requests' latencies by request type, and their time per station."""

    __slots__ = (
        "bucket_latency",
        "bucket_spent",
        "buffer_kind",
        "buffer_latency",
        "buffer_spent",
        "counts",
        "spent_by_kind",
        "stations",
        "sums",
        "types",
    )

    def __init__(self, types: int, stations: int):
        self.types, self.stations = types, stations
        self.counts = np.zeros((types, BUCKETS), dtype=np.int64)
        self.sums = np.zeros(types)
        self.bucket_latency = np.zeros(BUCKETS)
        self.bucket_spent = np.zeros((BUCKETS, stations))
        self.spent_by_kind = np.zeros((types, stations))
        self.buffer_latency = array("d")
        self.buffer_kind = array("H")
        self.buffer_spent = array("d")

    def add(self, latency: float, kind: int, spent: list[float]) -> None:
        self.buffer_latency.append(latency)
        self.buffer_kind.append(kind)
        self.buffer_spent.extend(spent)
        if len(self.buffer_latency) >= FLUSH:
            self.flush()

    def add_many(self, latency: np.ndarray, kind: np.ndarray, spent: np.ndarray) -> None:
        """:meth:`add` for many samples at once (rows of ``spent`` per sample), folded in at
        the same points as one by one, so that the sums come out the same."""
        i, n = 0, len(latency)
        while i < n:
            j = min(n, i + FLUSH - len(self.buffer_latency))
            self.buffer_latency.frombytes(latency[i:j].tobytes())
            self.buffer_kind.frombytes(kind[i:j].astype(np.uint16).tobytes())
            self.buffer_spent.frombytes(spent[i:j].tobytes())
            i = j
            if len(self.buffer_latency) >= FLUSH:
                self.flush()

    def flush(self) -> None:
        if not self.buffer_latency:
            return
        lat = np.frombuffer(self.buffer_latency, dtype=np.float64)
        kind = np.frombuffer(self.buffer_kind, dtype=np.uint16).astype(np.intp)
        spent = np.frombuffer(self.buffer_spent, dtype=np.float64).reshape(-1, self.stations)
        with np.errstate(divide="ignore"):
            raw = np.ceil(np.log(np.maximum(lat, LOWEST_S) / LOWEST_S) / LOG_GAMMA)
        idx = np.clip(raw, 0, BUCKETS - 1).astype(np.intp)
        # bincount sums into bins in one pass (np.add.at is an order slower)
        flat = kind * BUCKETS + idx
        self.counts += np.bincount(flat, minlength=self.types * BUCKETS).reshape(
            self.types, BUCKETS
        )
        self.sums += np.bincount(kind, weights=lat, minlength=self.types)
        self.bucket_latency += np.bincount(idx, weights=lat, minlength=BUCKETS)
        for j in range(self.stations):
            self.bucket_spent[:, j] += np.bincount(idx, weights=spent[:, j], minlength=BUCKETS)
            self.spent_by_kind[:, j] += np.bincount(kind, weights=spent[:, j], minlength=self.types)
        self.buffer_latency, self.buffer_kind, self.buffer_spent = (
            array("d"),
            array("H"),
            array("d"),
        )

    def count(self, kind: int | None = None) -> int:
        self.flush()
        counts = self.counts.sum(axis=0) if kind is None else self.counts[kind]
        return int(counts.sum())

    def mean(self, kind: int | None = None) -> float:
        n = self.count(kind)
        total = self.sums.sum() if kind is None else self.sums[kind]
        return float(total / n)

    def quantiles(self, qs: tuple[float, ...], kind: int | None = None) -> list[float]:
        """Quantiles within ALPHA of the sample's (the smallest value with at least a
        fraction q at or below it), relative."""
        self.flush()
        counts = self.counts.sum(axis=0) if kind is None else self.counts[kind]
        cumulative = np.cumsum(counts)
        n = cumulative[-1]
        out = []
        for q in qs:
            bucket = int(np.searchsorted(cumulative, max(1, math.ceil(q * n))))
            # the bucket's midpoint in relative terms: within ALPHA of anything in it
            out.append(0.0 if bucket == 0 else LOWEST_S * GAMMA**bucket * 2 / (1 + GAMMA))
        return out

    def mean_spent(self, kind: int) -> np.ndarray:
        """Mean seconds a successful request of ``kind`` spent at each station."""
        n = self.count(kind)
        return self.spent_by_kind[kind] / n if n else np.zeros(self.stations)

    def tail_share(self, q: float = 0.95) -> np.ndarray:
        """For requests at or above the ``q`` quantile: fraction of their time per station."""
        self.flush()
        cumulative = np.cumsum(self.counts.sum(axis=0))
        start = int(np.searchsorted(cumulative, max(1, math.ceil(q * cumulative[-1]))))
        total = self.bucket_latency[start:].sum()
        return self.bucket_spent[start:].sum(axis=0) / total if total else np.zeros(self.stations)

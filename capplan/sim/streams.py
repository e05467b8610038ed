"""Named, independent random streams.

Every random quantity is drawn from a stream named after what it is for
("requests.chat.steps[0].service", "workload.arrivals"). A stream's state depends only on
the root seed, the replication and its name, so adding a component or a step never
changes the numbers another one draws.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable

import numpy as np

from capplan.scenario.distributions import Constant

BATCH = 2048


class Streams:
    """Factory of generators for one replication of one scenario."""

    def __init__(self, seed: int, replication: int):
        self.seed = seed
        self.replication = replication

    def generator(self, name: str) -> np.random.Generator:
        key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")
        seq = np.random.SeedSequence(self.seed, spawn_key=(self.replication, key))
        return np.random.Generator(np.random.PCG64(seq))

    def sampler(self, dist: object, name: str) -> Callable[[], float]:
        """A zero-argument function returning the next draw of ``dist`` (seconds).

        Draws come from numpy in batches; the simulation loop only pops floats.
        """
        if isinstance(dist, Constant):
            return itertools.repeat(float(dist.value)).__next__
        rng = self.generator(name)
        draw = dist.draw  # type: ignore[attr-defined]

        def batches() -> itertools.chain[float]:
            return itertools.chain.from_iterable(
                draw(rng, BATCH).tolist() for _ in itertools.count()
            )

        return batches().__next__

    def uniform(self, name: str) -> Callable[[], float]:
        """Uniform [0, 1) draws, for probabilities and hit ratios."""
        rng = self.generator(name)
        return itertools.chain.from_iterable(
            rng.random(BATCH).tolist() for _ in itertools.count()
        ).__next__

    def choice(self, name: str, weights: list[float]) -> Callable[[], int]:
        """Indices drawn with the given (normalized) weights."""
        n = len(weights)
        if n == 1:
            return itertools.repeat(0).__next__
        rng = self.generator(name)
        p = np.asarray(weights, dtype=float)
        p = p / p.sum()
        return itertools.chain.from_iterable(
            rng.choice(n, size=BATCH, p=p).tolist() for _ in itertools.count()
        ).__next__

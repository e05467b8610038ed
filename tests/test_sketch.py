"""The latency sketch: quantiles within 0.5% of the sample's, in constant memory."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.sim.sketch import ALPHA, FLUSH, LatencySketch


@settings(max_examples=25, deadline=None)
@given(
    sigma=st.floats(0.1, 2.5),
    median=st.floats(1e-4, 100),
    n=st.integers(50, 20000),
    seed=st.integers(0, 2**31),
)
def test_quantiles_are_within_alpha_of_the_sample(sigma, median, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.lognormal(np.log(median), sigma, n)
    sketch = LatencySketch(types=1, stations=1)
    for v in x:
        sketch.add(float(v), 0, [float(v)])
    for q, got in zip((0.5, 0.95, 0.99), sketch.quantiles((0.5, 0.95, 0.99)), strict=True):
        exact = np.quantile(x, q, method="inverted_cdf")
        assert got == pytest.approx(exact, rel=ALPHA * 1.01)
    assert sketch.mean() == pytest.approx(x.mean())
    assert sketch.tail_share()[0] == pytest.approx(1.0)


def test_memory_does_not_grow_with_the_number_of_requests():
    sketch = LatencySketch(types=2, stations=3)
    sizes = []
    for _ in range(4):
        for i in range(FLUSH * 2):
            latency = 0.001 * (1 + i % 97)
            sketch.add(latency, i % 2, [0.0, latency / 4, latency * 3 / 4])
        sizes.append(
            sketch.counts.nbytes + sketch.bucket_spent.nbytes + len(sketch.buffer_latency) * 8
        )
        assert len(sketch.buffer_latency) < FLUSH
    assert len(set(sizes)) == 1
    assert sketch.count() == 4 * FLUSH * 2
    assert sketch.tail_share() == pytest.approx([0.0, 0.25, 0.75])

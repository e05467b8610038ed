"""The statistics every verdict rests on: interval coverage and warm-up removal, each
checked so that a wrong implementation fails."""

from __future__ import annotations

import math

from capplan.results import summarize
from capplan.sim import run_replications
from capplan_helpers import exp, single_station


def test_95_percent_intervals_cover_the_true_mean_95_percent_of_the_time():
    """M/M/1 at rho 0.5 (exact mean response 2 s): 600 replications of 2,000 s after a
    200 s warm-up, grouped in threes, each group summarized as `simulate` would summarize
    three replications. A correct Student-t interval (t = 4.30 with 2 degrees of freedom)
    covers 2 s in 95% of the 200 groups, within binomial error (standard error 1.5
    points); the normal 1.96 would cover about 81%, and is 2.2 times too narrow. The
    accepted band, 90% to 99%, is over three standard errors from each."""
    s = single_station("0.5/s", exp("1s"), duration="2000s", warmup="200s", replications=600)
    records = run_replications(s, jobs=2)
    three = s.model_copy(update={"simulation": s.simulation.model_copy(update={"replications": 3})})
    covered = 0
    groups = len(records) // 3
    for g in range(groups):
        result = summarize(three, records[3 * g : 3 * g + 3])
        lo, hi = result["latency_s"]["ci95"]["mean"]
        covered += lo <= 2.0 <= hi
    coverage = covered / groups
    assert 0.90 <= coverage <= 0.99, coverage


def mm1_transient_response(lam: float, mu: float, start: float, end: float) -> float:
    """Mean response of the requests arriving in [start, end] at an M/M/1 queue that was
    empty at time 0: an arrival at t finds E[L(t)] requests (PASTA) and waits for them and
    itself, (E[L(t)] + 1) / mu, and arrivals are uniform over the window. E[L(t)] comes
    from the birth-death chain's forward equations (truncated far above any likely state)."""
    import numpy as np
    from scipy.linalg import expm
    from scipy.sparse import diags

    states = 400
    up = np.full(states - 1, lam)
    down = np.full(states - 1, mu)
    q = diags([up, down], [1, -1]).toarray()
    q -= np.diag(q.sum(axis=1))
    grid = np.linspace(start, end, 201)
    step = expm(q * (grid[1] - grid[0]))
    p = np.zeros(states)
    p[0] = 1.0
    p = p @ expm(q * start)
    level = []
    for _ in grid:
        level.append(p @ np.arange(states))
        p = p @ step
    mean_l = float(np.trapezoid(level, grid) / (end - start))
    return (mean_l + 1) / mu


def test_warm_up_is_left_out_of_the_measurement():
    """M/M/1 at rho 0.9 started empty, warm-up 100 s, window 200 s: still far from steady
    state (steady mean 10 s), so the requests arriving in the window have a mean response
    that the forward equations give exactly (8.55 s), while one that also counted the
    warm-up would be 7.61 s, 11% lower. 4,000 replications (four seeds) of 180 arrivals
    give a standard error near 1.1%; 4% separates the two by over six standard errors."""
    theory = mm1_transient_response(0.9, 1.0, 100.0, 300.0)
    included = mm1_transient_response(0.9, 1.0, 0.0, 300.0)
    assert included < 0.9 * theory  # the bias a wrong engine would show is large
    records = []
    for seed in range(1, 5):
        s = single_station(
            "0.9/s", exp("1s"), warmup="100s", duration="200s", replications=1000, seed=seed
        )
        records += run_replications(s, jobs=2)
    mean = summarize(s, records)["latency_s"]["mean"]
    assert math.isclose(mean, theory, rel_tol=0.04), (mean, theory, included)

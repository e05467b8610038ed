"""How much more workers speed up a headroom search, a sizing and a sweep.

    python benchmarks/scaleout.py [SCENARIO] [--rounds 2]

Runs ``headroom``, ``size`` (at 10 times the scenario's load) and a 40-point sweep
(load_scale 0.2..2.0) of the scenario (default: scenarios/current.yaml) on 1 and on 2
local worker processes, interleaved (1, 2, 1, 2, ...), and prints each one's wall time
and the ratio 1-worker / 2-workers (the median over the rounds). Wall time, not CPU time, because the question is how much sooner the answer
comes with more workers, which CPU time cannot show; interleaving puts both contenders
under the same load, and a busy machine lowers the ratio, never raises it. The aim for
headroom is at least 1.7x on 2 workers; it runs with ``batch=3`` (three load scales per
narrowing step, submitted together), as ``capplan headroom --batch 3`` does; sizing with
``batch=3`` as ``capplan size --batch 3`` does (its answer does not depend on it). A sweep
submits every point at once.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from capplan import load_scenario
from capplan.api import simulate_all
from capplan.headroom import headroom
from capplan.sim.runner import Runner
from capplan.sizing import size
from capplan.sweep import parse_vary, points, scenarios

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default=str(ROOT / "scenarios" / "current.yaml"))
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    path = Path(args.scenario)
    s = load_scenario(path)
    varies = [parse_vary("load_scale=0.2..2.0:40")]
    sweep_scenarios = scenarios(path, varies, points(varies))

    def run_headroom(jobs: int) -> float:
        t0 = time.perf_counter()
        with Runner(jobs) as runner:
            headroom(s, tolerance=0.05, runner=runner, batch=3)
        return time.perf_counter() - t0

    def run_size(jobs: int) -> float:
        t0 = time.perf_counter()
        with Runner(jobs) as runner:
            size(s, s.load_scale * 10, runner=runner, batch=3)
        return time.perf_counter() - t0

    def run_sweep(jobs: int) -> float:
        t0 = time.perf_counter()
        with Runner(jobs) as runner:
            simulate_all(sweep_scenarios, runner=runner)
        return time.perf_counter() - t0

    for name, run in (
        ("headroom", run_headroom),
        ("size at 10x", run_size),
        ("40-point sweep", run_sweep),
    ):
        one, two = [], []
        for _ in range(args.rounds):
            one.append(run(1))
            two.append(run(2))
        ratio = statistics.median(a / b for a, b in zip(one, two, strict=True))
        print(
            f"{name}: 1 worker {statistics.median(one):.1f} s, 2 workers "
            f"{statistics.median(two):.1f} s wall; ratio {ratio:.2f}x"
        )


if __name__ == "__main__":
    main()

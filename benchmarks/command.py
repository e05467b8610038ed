"""The commands a user meets first: ``capplan --help`` and the README's first command.

    python benchmarks/command.py [--rounds 3]

Prints, measured in this run with the contenders interleaved round by round:

- the CPU time of ``capplan --help`` (target: under 0.3 s), beside a bare
  ``python -c pass`` as the baseline, and their ratio;
- the wall and CPU time of the README's first command, ``capplan simulate`` of the three
  bundled scenarios (target: at most 5 s wall on a quiet 2-core machine), beside the CPU
  time of the same replications run one after another in this process (the simulation
  itself, without imports, processes or output). The ratio of the command's wall time to
  that CPU time over the cores is how close the command comes to its simulations spread
  perfectly over the machine: 1.0 would be no overhead at all.

Each command runs in a fresh process, as a user runs it; its CPU time is read from the
child's resource usage (its worker processes included).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from capplan import load_scenario
from capplan.sim import compiled, run_replication
from capplan.sim.runner import default_jobs

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = [ROOT / "scenarios" / f"{n}.yaml" for n in ("current", "10x", "10x-planned")]
HELP_TARGET_S = 0.3
FIRST_TARGET_S = 5.0


def child(args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, its children included) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def in_process() -> float:
    """CPU seconds of the first command's replications, one after another, here."""
    scenarios = [load_scenario(f) for f in SCENARIOS]
    t0 = time.process_time()
    for s in scenarios:
        for rep in range(s.simulation.replications):
            run_replication(s, rep)
    return time.process_time() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    args = parser.parse_args()
    print(f"capplan engine: {'compiled (mypyc)' if compiled() else 'pure Python'}")
    capplan = [sys.executable, "-m", "capplan"]
    first = [*capplan, "simulate", *map(str, SCENARIOS), "--no-progress"]
    helps, bare, walls, cpus, sims = [], [], [], [], []
    for r in range(args.rounds):
        order = ["help", "bare", "first", "sim"]
        for label in order if r % 2 == 0 else reversed(order):
            if label == "help":
                helps.append(child([*capplan, "--help"])[1])
            elif label == "bare":
                bare.append(child([sys.executable, "-c", "pass"])[1])
            elif label == "first":
                wall, cpu = child(first)
                walls.append(wall)
                cpus.append(cpu)
            else:
                sims.append(in_process())
    cores = default_jobs()
    help_s, bare_s = statistics.median(helps), statistics.median(bare)
    print(
        f"capplan --help: {help_s:.3f} s CPU (target < {HELP_TARGET_S}); "
        f"python -c pass: {bare_s:.3f} s; ratio {help_s / bare_s:.1f}"
    )
    wall, cpu, sim = statistics.median(walls), statistics.median(cpus), statistics.median(sims)
    ratio = statistics.median(w / (s / cores) for w, s in zip(walls, sims, strict=True))
    print(
        f"first command: {wall:.2f} s wall (target <= {FIRST_TARGET_S:g} on a quiet 2-core "
        f"machine; this one has {cores} cores, load {os.getloadavg()[0]:.1f}), {cpu:.2f} s CPU"
    )
    print(
        f"its replications in one process: {sim:.2f} s CPU; wall / (that / {cores} cores) = "
        f"{ratio:.2f} (1.0: no overhead beyond the simulations)"
    )


if __name__ == "__main__":
    main()

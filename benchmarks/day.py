"""The day-long case: how fast a day of the planned 10x system simulates, and in how much
memory.

    python benchmarks/day.py [--quick]

Prints, measured in this run:

- simulated requests per CPU second for one replication of scenarios/10x-day.yaml over
  its busiest hour, beside the engine benchmark's M/M/4 requests per CPU second, so that
  the cost of a layered system with links and a profile shows as a ratio;
- peak resident memory of one replication over 1 hour and over 24 hours, each in a fresh
  process (memory must stay flat in run length: the target is a ratio under 1.5);
- the CPU cost of the autoscalers: one replication of scenarios/10x-spike.yaml (the HPAs
  acting through a 3x spike, the cluster autoscaler scanning) against the same replication
  with ``simulation.autoscale: false``, interleaved, as a ratio (target at most 1.3);
- the wall time of ``capplan simulate scenarios/10x-day.yaml`` with its replications, on
  this machine's cores, against the 120-second target (aim 60). ``--quick`` skips it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from capplan.sim import compiled

ROOT = Path(__file__).resolve().parent.parent
DAY = ROOT / "scenarios" / "10x-day.yaml"
TARGET_WALL_S = 120.0

CHILD = """
import json, resource, sys, time
from capplan import load_scenario
from capplan.sim import run_replication
s = load_scenario(sys.argv[1])
sim = s.simulation.model_copy(update={"duration": float(sys.argv[2]), "start": float(sys.argv[3]),
                                      "window": 300.0, "warmup": 600.0})
s = s.model_copy(update={"simulation": sim})
t = time.process_time()
r = run_replication(s, 0)
cpu = time.process_time() - t
n = sum(x.arrivals for x in r.types.values())
print(json.dumps({"cpu_s": cpu, "requests": n,
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def child(duration_s: float, start_s: float) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(DAY), str(duration_s), str(start_s)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def mm4_rate() -> float:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import engine

    spec = engine.STATIONS["mm4"]
    t = time.process_time()
    visits = engine.capplan_engine(spec["rate"], spec["stations"], 50_000 / spec["rate"], 7)
    return visits / (time.process_time() - t)


SPIKE = ROOT / "scenarios" / "10x-spike.yaml"
TARGET_CONTROL_RATIO = 1.3


def controllers_ratio(pairs: int = 3) -> tuple[float, float, float]:
    """CPU seconds of one autoscaled replication and one held one, each the median of
    ``pairs`` runs taken in turn; and their ratio."""
    from capplan import load_scenario
    from capplan.sim import run_replication

    live = load_scenario(SPIKE)
    held = live.model_copy(
        update={"simulation": live.simulation.model_copy(update={"autoscale": False})}
    )
    times: dict[str, list[float]] = {"live": [], "held": []}
    for i in range(pairs):
        order = (("live", live), ("held", held)) if i % 2 == 0 else (("held", held), ("live", live))
        for name, s in order:
            t = time.process_time()
            run_replication(s, 0)
            times[name].append(time.process_time() - t)
    a, b = (sorted(times[k])[pairs // 2] for k in ("live", "held"))
    return a, b, a / b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the full simulate run")
    args = parser.parse_args()
    print(f"capplan engine: {'compiled (mypyc)' if compiled() else 'pure Python'}")
    peak = child(3600.0, 12 * 3600.0)
    mm4 = mm4_rate()
    day_rate = peak["requests"] / peak["cpu_s"]
    print(
        f"10x-day, busiest hour: {peak['requests']:,.0f} requests in {peak['cpu_s']:.1f} CPU s: "
        f"{day_rate:,.0f} requests/CPU s; M/M/4: {mm4:,.0f}/CPU s; ratio {mm4 / day_rate:.1f} "
        "(a request of the planned system makes about 4 station visits and 2.5 link crossings)"
    )
    hour = child(3600.0, 0.0)
    day = child(86400.0, 0.0)
    print(
        f"memory: one replication peaks at {hour['maxrss_mb']:.0f} MB over 1 h and "
        f"{day['maxrss_mb']:.0f} MB over 24 h: ratio {day['maxrss_mb'] / hour['maxrss_mb']:.2f} "
        "(target under 1.5)"
    )
    live, held, ratio = controllers_ratio()
    print(
        f"autoscalers: 10x-spike replication {live:.1f} CPU s with HPAs and the cluster "
        f"autoscaler, {held:.1f} CPU s held: ratio {ratio:.2f} (target at most "
        f"{TARGET_CONTROL_RATIO}): {'met' if ratio <= TARGET_CONTROL_RATIO else 'NOT met'}"
    )
    if args.quick:
        return
    t = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "capplan", "simulate", str(DAY), "--no-progress"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.monotonic() - t
    print(
        f"capplan simulate scenarios/10x-day.yaml: {wall:.0f} s wall on {os.cpu_count()} cores "
        f"(target {TARGET_WALL_S:.0f} s, aim 60 s): {'met' if wall <= TARGET_WALL_S else 'NOT met'}"
    )


if __name__ == "__main__":
    main()

"""Engine speed against an idiomatic plain-SimPy model of the same queues, in one run.

    python benchmarks/engine.py [--requests 200000]

For an M/M/4 station (rho 0.8) and a 3-station M/M/1 tandem, it runs capplan's engine
(one replication through the public scenario language) and a plain SimPy model (one
``simpy.Resource`` per station, one process per customer), and prints station visits per
second for both and their ratio. Both see the same arrival rate and horizon, so both serve
the same number of visits up to random variation. The ratio is the figure to watch: the
absolute rates depend on the machine.

It then measures capplan's peak traced memory (tracemalloc) for the M/M/4 run at one
tenth of the requests and at the full count, and prints their ratio: results are kept
in a fixed-size sketch, so ten times the requests should need about the same memory.
"""

from __future__ import annotations

import argparse
import random
import time
import tracemalloc

import simpy

from capplan.scenario import validate_data
from capplan.sim import run_replication

STATIONS = {
    "mm4": {"rate": 3.2, "stations": [(4, 1.0)]},
    "tandem3": {"rate": 1.0, "stations": [(1, 0.5), (1, 0.4), (1, 0.3)]},
}


def plain_simpy(rate: float, stations: list[tuple[int, float]], horizon: float, seed: int) -> int:
    """The textbook SimPy model: Resource per station, process per customer."""
    env = simpy.Environment()
    rng = random.Random(seed)  # the idiomatic choice; numpy scalar draws would be slower
    resources = [(simpy.Resource(env, capacity=c), mean) for c, mean in stations]
    visits = 0

    def customer():
        nonlocal visits
        for res, mean in resources:
            with res.request() as req:
                yield req
                yield env.timeout(rng.expovariate(1 / mean))
            visits += 1

    def source():
        while True:
            yield env.timeout(rng.expovariate(rate))
            env.process(customer())

    env.process(source())
    env.run(until=horizon)
    return visits


def capplan_engine(
    rate: float, stations: list[tuple[int, float]], horizon: float, seed: int
) -> int:
    names = [f"s{i}" for i in range(len(stations))]
    scenario = validate_data(
        {
            "capplan": 1,
            "name": "bench",
            "simulation": {
                "duration": f"{horizon}s",
                "warmup": "0s",
                "replications": 1,
                "seed": seed,
            },
            "workload": {"arrival_rate": f"{rate}/s"},
            "requests": {"r": {"steps": [{"call": n} for n in names]}},
            "components": {
                n: {
                    "type": "service",
                    "workers": c,
                    "service_time": {"distribution": "exponential", "mean": f"{mean}s"},
                }
                for n, (c, mean) in zip(names, stations, strict=True)
            },
        },
        {},
        "<benchmark>",
    )
    record = run_replication(scenario, 0)
    return sum(m.throughput_rps for m in record.components.values()) * horizon


def measure(fn, *args) -> tuple[float, float]:
    t0 = time.perf_counter()
    visits = fn(*args)
    return visits, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000, help="customers per model")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    print(f"{'model':10} {'engine':8} {'visits':>9} {'seconds':>8} {'visits/s':>10}")
    for name, spec in STATIONS.items():
        horizon = args.requests / spec["rate"]
        best: dict[str, float] = {}
        for label, fn in (("simpy", plain_simpy), ("capplan", capplan_engine)):
            runs = [
                measure(fn, spec["rate"], spec["stations"], horizon, 7) for _ in range(args.repeat)
            ]
            visits, seconds = min(runs, key=lambda r: r[1])
            best[label] = visits / seconds
            print(f"{name:10} {label:8} {visits:9.0f} {seconds:8.2f} {visits / seconds:10.0f}")
        print(
            f"{name:10} ratio capplan/simpy = {best['capplan'] / best['simpy']:.2f} (target >= 1.0, aim 2.0)"
        )
    small, large = peak_memory(args.requests // 10), peak_memory(args.requests)
    print(
        f"memory     capplan peak {small / 1e6:.1f} MB at {args.requests // 10} requests, "
        f"{large / 1e6:.1f} MB at {args.requests}: ratio {large / small:.2f} (near 1, not 10)"
    )


def peak_memory(requests: int) -> int:
    spec = STATIONS["mm4"]
    tracemalloc.start()
    capplan_engine(spec["rate"], spec["stations"], requests / spec["rate"], 7)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


if __name__ == "__main__":
    main()

"""Engine speed against plain SimPy and a lean heap loop, measured in one run.

    python benchmarks/engine.py [--requests 100000] [--rounds 5]

For an M/M/4 station (rho 0.8) and a 3-station M/M/1 tandem it runs three contenders on
the same queues, interleaved round by round, timing each by the CPU time of this process
(wall time on a shared machine swings several-fold between rounds; CPU time far less, and
interleaving exposes the contenders to the same conditions):

- ``simpy``: the textbook SimPy model, one ``simpy.Resource`` per station and one process
  per customer;
- ``lean``: a bare heap-based event loop in plain Python, no measurement at all: the
  floor a Python discrete-event engine can reach;
- ``capplan``: one replication through the public scenario language, with everything it
  measures (latency sketch, timeline windows, per-component meters).

It prints station visits per CPU second and, per model, the median over rounds of
capplan's speed over SimPy's (the target: at least 3) and over the lean loop's. Then
capplan's peak traced memory at one tenth of the requests and at the full count: results
are kept in fixed-size sketches and per-window summaries, so ten times the requests
should need about the same memory.
"""

from __future__ import annotations

import argparse
import heapq
import random
import statistics
import time
import tracemalloc
from collections import deque

import simpy

from capplan.scenario import validate_data
from capplan.sim import compiled, run_replication

STATIONS = {
    "mm4": {"rate": 3.2, "stations": [(4, 1.0)]},
    "tandem3": {"rate": 1.0, "stations": [(1, 0.5), (1, 0.4), (1, 0.3)]},
}
TARGET = 3.0


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


def lean(rate: float, stations: list[tuple[int, float]], horizon: float, seed: int) -> int:
    """A bare event loop: a heap of (time, seq, customer, station), FIFO queues, counts."""
    rng = random.Random(seed)
    busy = [0] * len(stations)
    queues: list[deque[int]] = [deque() for _ in stations]
    heap: list[tuple[float, int, int, int]] = []
    seq = 0
    visits = 0
    heapq.heappush(heap, (rng.expovariate(rate), 0, -1, -1))  # the next arrival
    while heap:
        t, _, who, k = heapq.heappop(heap)
        if t > horizon:
            break
        if who < 0:  # an arrival: schedule the next, the customer joins station 0
            seq += 1
            heapq.heappush(heap, (t + rng.expovariate(rate), seq, -1, -1))
            who, k = seq, -1
        else:  # service at k ends: the next in line starts, the customer moves on
            visits += 1
            if queues[k]:
                seq += 1
                nxt = queues[k].popleft()
                heapq.heappush(heap, (t + rng.expovariate(1 / stations[k][1]), seq, nxt, k))
            else:
                busy[k] -= 1
        k += 1
        if k < len(stations):
            if busy[k] < stations[k][0]:
                busy[k] += 1
                seq += 1
                heapq.heappush(heap, (t + rng.expovariate(1 / stations[k][1]), seq, who, k))
            else:
                queues[k].append(who)
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
    return round(sum(m.throughput_rps for m in record.components.values()) * horizon)


CONTENDERS = {"simpy": plain_simpy, "lean": lean, "capplan": capplan_engine}


def cpu(fn, *args) -> tuple[int, float]:
    t0 = time.process_time()
    visits = fn(*args)
    return visits, time.process_time() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000, help="customers per run")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    args = parser.parse_args()
    print(f"capplan engine: {'compiled (mypyc)' if compiled() else 'pure Python'}")
    print(f"{'model':8} {'engine':8} {'visits':>8} {'cpu s':>7} {'visits/cpu s':>12}")
    for name, spec in STATIONS.items():
        horizon = args.requests / spec["rate"]
        speed: dict[str, list[float]] = {k: [] for k in CONTENDERS}
        for r in range(args.rounds):
            order = list(CONTENDERS) if r % 2 == 0 else list(reversed(CONTENDERS))
            for label in order:
                visits, seconds = cpu(
                    CONTENDERS[label], spec["rate"], spec["stations"], horizon, 7 + r
                )
                speed[label].append(visits / seconds)
        for label, values in speed.items():
            med = statistics.median(values)
            print(f"{name:8} {label:8} {'':>8} {'':>7} {med:12,.0f}")
        vs_simpy = statistics.median(
            c / s for c, s in zip(speed["capplan"], speed["simpy"], strict=True)
        )
        vs_lean = statistics.median(
            c / s for c, s in zip(speed["capplan"], speed["lean"], strict=True)
        )
        print(
            f"{name:8} capplan/simpy = {vs_simpy:.2f} (target >= {TARGET:g}); "
            f"capplan/lean = {vs_lean:.2f}"
        )
    small, large = peak_memory(args.requests // 10), peak_memory(args.requests)
    print(
        f"memory   capplan peak {small / 1e6:.1f} MB at {args.requests // 10} requests, "
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

"""Independent replications, in parallel processes where cores allow.

Each replication's numbers depend only on (scenario, seed, replication index), so running
them in other processes, in any order, gives the same records in the same order.

An interrupt (Ctrl-C) ends the command at once: the worker processes ignore SIGINT (the
terminal sends it to the whole process group) and are terminated by the parent, and
replications not yet started are cancelled, rather than waited for.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed

from capplan.scenario.model import Scenario
from capplan.sim.engine import run_replication
from capplan.sim.records import ReplicationRecord

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each replication finishes."""


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def stop_now(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and terminate the workers running the rest."""
    running = list((getattr(pool, "_processes", None) or {}).values())
    for proc in running:
        proc.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


def run_replications(
    scenario: Scenario, *, jobs: int | None = None, progress: Progress | None = None
) -> list[ReplicationRecord]:
    """Run ``scenario.simulation.replications`` replications; records in replication order."""
    total = scenario.simulation.replications
    jobs = min(total, jobs if jobs is not None else default_jobs())
    records: dict[int, ReplicationRecord] = {}
    if jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for rep in range(total):
            records[rep] = run_replication(scenario, rep)
            if progress:
                progress(rep + 1, total)
    else:
        ctx = multiprocessing.get_context("fork")
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_ignore_interrupts)
        try:
            futures = {pool.submit(run_replication, scenario, rep): rep for rep in range(total)}
            for n, future in enumerate(as_completed(futures), start=1):
                records[futures[future]] = future.result()
                if progress:
                    progress(n, total)
        except BaseException:
            stop_now(pool)
            raise
        pool.shutdown()
    return [records[rep] for rep in range(total)]

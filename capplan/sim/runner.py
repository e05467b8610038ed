"""Running replications: every one a task (scenario, replication index) on one executor.

Each replication's numbers depend only on (scenario, seed, replication index), so running
them in other processes, in any order, gives the same records in the same order. A
:class:`Runner` lives as long as a command: all replications of all its scenarios (and of
every candidate a search evaluates) go through the same pool of processes, so that the
cores stay busy across scenarios instead of idling at the end of each one's batch; the
longest expected replications go first (:func:`longest_first`).

On all of the machine's cores (the default), a batch of a few replications whose number
is not a multiple of the cores runs all at once, one process each, with the cores shared
among them: three replications on two cores then end together after one and a half
replications' time, not two (one core idle while the last runs alone). An explicit
``jobs`` is a limit on processes and is kept.

An interrupt (Ctrl-C) ends the command at once: the worker processes ignore SIGINT (the
terminal sends it to the whole process group) and are terminated by the parent, and
replications not yet started are cancelled, rather than waited for.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from itertools import islice
from types import TracebackType

from capplan.scenario.model import Scenario
from capplan.sim.budget import estimate
from capplan.sim.engine import run_replication
from capplan.sim.records import ReplicationRecord

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each replication finishes."""

SHARE_CORES_UP_TO = 3
"""A batch of at most this many replications per core runs all at once when the cores
do not divide it (with more, the last round's idle cores cost little in proportion, and
each process held at once holds a replication's memory)."""


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def stop_now(pool: Executor) -> None:
    """Cancel what has not started and terminate the worker processes running the rest."""
    running = list((getattr(pool, "_processes", None) or {}).values())
    for proc in running:
        proc.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


class Runner:
    """Runs replications on ``jobs`` processes (in this process with 1), or on a given
    executor; use as a context manager so that its processes end with it."""

    def __init__(self, jobs: int | None = None, executor: Executor | None = None):
        self.jobs = jobs if jobs is not None else default_jobs()
        self._share = jobs is None
        """Whether a batch may run more processes than ``jobs`` (the machine's cores)."""
        self._executor = executor
        self._own = False
        self._size = 0
        """Processes of the pool this runner made."""

    def __enter__(self) -> Runner:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(interrupted=exc is not None)

    def close(self, interrupted: bool = False) -> None:
        if self._executor is not None and self._own:
            if interrupted:
                stop_now(self._executor)
            else:
                self._executor.shutdown()
            self._executor = None

    def at_once(self, tasks: int) -> int:
        """How many of a batch of ``tasks`` replications to run at the same time."""
        cores = self.jobs
        if self._share and cores < tasks <= SHARE_CORES_UP_TO * cores and tasks % cores:
            return tasks
        return min(cores, tasks)

    def _pool(self, tasks: int) -> Executor | None:
        if self._executor is not None:
            return self._executor
        if self.jobs <= 1 or tasks <= 1 or "fork" not in multiprocessing.get_all_start_methods():
            return None
        ctx = multiprocessing.get_context("fork")
        self._size = self.at_once(tasks)
        self._executor = ProcessPoolExecutor(
            max_workers=self._size, mp_context=ctx, initializer=_ignore_interrupts
        )
        self._own = True
        return self._executor

    def run(
        self, scenarios: Sequence[Scenario], progress: Progress | None = None
    ) -> list[list[ReplicationRecord]]:
        """Every replication of every scenario; per scenario, records in replication order."""
        tasks = longest_first(scenarios)
        records: dict[tuple[int, int], ReplicationRecord] = {}
        total = len(tasks)
        pool = self._pool(total)
        if pool is None:
            for n, (i, rep) in enumerate(tasks, start=1):
                records[(i, rep)] = run_replication(scenarios[i], rep)
                if progress:
                    progress(n, total)
        else:
            # a pool this runner made runs at most at_once(total) at a time (its own size
            # may be smaller: it was made for the command's first batch); a given executor
            # schedules them itself
            limit = min(self.at_once(total), self._size) if self._own else total
            waiting = iter(tasks)
            futures: dict[Future[ReplicationRecord], tuple[int, int]] = {}
            try:
                for i, rep in islice(waiting, limit):
                    futures[pool.submit(run_replication, scenarios[i], rep)] = (i, rep)
                running = set(futures)
                n = 0
                while running:
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        records[futures[future]] = future.result()
                        n += 1
                        if progress:
                            progress(n, total)
                        more = next(waiting, None)
                        if more is not None:
                            i, rep = more
                            nxt = pool.submit(run_replication, scenarios[i], rep)
                            futures[nxt] = more
                            running.add(nxt)
            except BaseException:
                if self._own:
                    stop_now(pool)
                    self._executor = None
                else:
                    for f in futures:
                        f.cancel()
                raise
        return [
            [records[(i, rep)] for rep in range(s.simulation.replications)]
            for i, s in enumerate(scenarios)
        ]


def longest_first(scenarios: Sequence[Scenario]) -> list[tuple[int, int]]:
    """Every (scenario index, replication) of a batch, the longest expected first.

    A pool that takes the next task as a process frees up finishes a batch soonest when the
    long tasks go first (the short ones then fill in beside the last long ones); in the
    scenarios' order, three bundled scenarios on two cores left one core idle while the
    last long replication ran alone. Expected length: a replication's station visits
    (:func:`capplan.sim.budget.estimate`); ties keep the scenarios' order."""
    cost = [estimate(s).visits / s.simulation.replications for s in scenarios]
    order = sorted(range(len(scenarios)), key=lambda i: -cost[i])
    return [(i, rep) for i in order for rep in range(scenarios[i].simulation.replications)]


def run_replications(
    scenario: Scenario, *, jobs: int | None = None, progress: Progress | None = None
) -> list[ReplicationRecord]:
    """Run ``scenario.simulation.replications`` replications; records in replication order."""
    with Runner(jobs) as runner:
        (records,) = runner.run([scenario], progress)
    return records

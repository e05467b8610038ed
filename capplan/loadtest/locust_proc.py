"""Locust as subprocesses: one master (or one local runner) and its workers.

Locust monkey-patches the standard library's sockets through gevent when imported, so it
never runs inside capplan's process: it runs as ``python -m locust`` from the same
environment, each process in a session of its own (a Ctrl-C in the terminal reaches
capplan only, which then stops Locust in order) and, on Linux, set to receive SIGTERM if
capplan itself dies, so no generator outlives the command.
"""

from __future__ import annotations

import math
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO

from capplan.errors import CapplanError
from capplan.loadtest.locustfile import LoadPlan

STARTUP_S = 60.0
"""Longest wait for Locust to start and its workers to connect."""
STOP_GRACE_S = 15.0
"""After SIGTERM, how long Locust may take to write its statistics before it is killed."""
LOCUST_MASTER_PORT = 5557
"""Locust's default master port: what a worker started elsewhere connects to by default."""
CPU_WARNING = "CPU usage above"
"""What Locust logs when a generator process is CPU-bound (its timings then lag)."""


class LoadTestError(CapplanError):
    """The load generator could not run (Locust missing or failing, target unreachable)."""

    exit_code = 3


@dataclass(frozen=True)
class Files:
    """Where one load test keeps its files."""

    folder: Path

    @property
    def locustfile(self) -> Path:
        return self.folder / "locustfile.py"

    @property
    def samples(self) -> Path:
        return self.folder / "samples.jsonl"

    @property
    def csv_prefix(self) -> Path:
        return self.folder / "locust"

    @property
    def log(self) -> Path:
        return self.folder / "locust.log"


@dataclass(frozen=True)
class Outcome:
    """How the Locust run ended."""

    interrupted: bool
    """Stopped by Ctrl-C or SIGTERM before the end."""
    returncode: int | None
    generator_cpu_bound: bool
    """Locust warned that a generator process used more than 90% of a CPU."""
    log_tail: str
    generator_cpu: float | None = None
    """CPU the generating processes used, as a share of one core each, over the run."""


Progress = Callable[[float, int, int], None]
"""Called as ``progress(elapsed_s, records, failed)`` about twice a second."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class _Flag:
    """Set from a signal handler: a plain attribute, no lock that the interrupted code
    might be holding."""

    def __init__(self) -> None:
        self.raised = False

    def set(self, _sig: int = 0, _frame: FrameType | None = None) -> None:
        self.raised = True


@contextmanager
def _stop_requests() -> Iterator[_Flag]:
    """Ctrl-C (SIGINT) and SIGTERM raise a flag instead of an exception: an exception
    thrown into arbitrary code can leave a subprocess's wait lock held (Popen.poll), after
    which waiting for Locust to exit would hang."""
    stop = _Flag()
    try:
        previous = {sig: signal.signal(sig, stop.set) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: leave signals alone
        yield stop
        return
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class _Counter:
    """Counts the records Locust has written so far, reading only what is new."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.records = 0
        self.failed = 0
        self.partial = b""

    def update(self) -> None:
        try:
            with self.path.open("rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return
        self.offset += len(data)
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        self.records += len(lines)
        self.failed += sum(1 for line in lines if b'"ok"]' not in line)


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM the master first (it writes its statistics and tells workers to quit), then
    the rest; kill whatever is still there after the grace period."""
    for proc in procs:
        if proc.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        if proc is procs[0]:
            _wait(proc, STOP_GRACE_S)
    for proc in procs:
        _wait(proc, STOP_GRACE_S)
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the group: anything the process started
        proc.wait()


def _wait(proc: subprocess.Popen[bytes], timeout: float) -> None:
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout)


def run_locust(
    plan: LoadPlan,
    host: str,
    files: Files,
    *,
    workers: int = 0,
    remote_workers: int = 0,
    master_bind: str = "127.0.0.1",
    master_port: int | None = None,
    progress: Progress | None = None,
) -> Outcome:
    """Run the plan's locustfile against ``host``; returns when Locust has ended.

    ``workers`` local worker processes (and ``remote_workers`` more that connect from
    elsewhere) make it Locust's distributed mode; 0 and 0 run a single local process.
    The master listens on ``master_bind``:``master_port`` (default: Locust's 5557 when
    remote workers are expected, else any free port)."""
    python = [sys.executable, "-m", "locust", "-f", str(files.locustfile)]
    run_time = math.ceil(plan.duration_s + plan.drain_s + 30)  # a safety net: the test
    # normally ends as soon as every generator has drained
    common = ["--loglevel", "WARNING"]
    master = [
        *python,
        "--headless",
        "--host",
        host,
        "--users",
        str(plan.users),
        "--spawn-rate",
        str(plan.users),
        "--run-time",
        f"{run_time}s",
        "--csv",
        str(files.csv_prefix),
        "--exit-code-on-error",
        "0",
        "--only-summary",
        *common,
    ]
    distributed = workers + remote_workers > 0
    port = 0
    if distributed:
        # remote workers find the master at Locust's default port unless told otherwise
        port = master_port or (LOCUST_MASTER_PORT if remote_workers else _free_port())
        master += [
            "--master",
            "--master-bind-host",
            master_bind,
            "--master-bind-port",
            str(port),
            "--expect-workers",
            str(workers + remote_workers),
            "--expect-workers-max-wait",
            str(int(STARTUP_S)),
        ]
    env = {**os.environ, "CAPPLAN_SAMPLES": str(files.samples), "PYTHONUNBUFFERED": "1"}
    procs: list[subprocess.Popen[bytes]] = []
    log = files.log.open("ab")
    interrupted = False
    counter = _Counter(files.samples)
    cpu_before = _children_cpu()
    wall_before = time.monotonic()
    try:
        with _stop_requests() as stop:
            try:
                spawn = _spawner(env, log)
                procs.append(spawn(master))
                worker_cmd = [
                    *python,
                    "--worker",
                    "--master-host",
                    "127.0.0.1",
                    "--master-port",
                    str(port),
                    *common,
                ]
                procs += [spawn(worker_cmd) for _ in range(workers)]
                started = time.monotonic()
                limit = STARTUP_S + run_time
                while not stop.raised and procs[0].poll() is None:
                    elapsed = time.monotonic() - started
                    if elapsed > limit:
                        break
                    counter.update()
                    if progress is not None:
                        progress(elapsed, counter.records, counter.failed)
                    time.sleep(0.5)
            finally:
                interrupted = stop.raised
                _stop(procs)
    finally:
        log.close()
    tail = _tail(files.log)
    wall = time.monotonic() - wall_before
    # the workers generate in distributed mode, the single process otherwise
    generating = max(1, workers)
    return Outcome(
        interrupted=interrupted,
        returncode=procs[0].returncode if procs else None,
        generator_cpu_bound=CPU_WARNING in files.log.read_text(errors="replace"),
        log_tail=tail,
        generator_cpu=(_children_cpu() - cpu_before) / (wall * generating) if wall > 0 else None,
    )


def _children_cpu() -> float:
    """CPU seconds used by this process's waited-for children (the Locust processes)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _spawner(env: dict[str, str], log: IO[bytes]) -> Callable[[list[str]], subprocess.Popen[bytes]]:
    linux = sys.platform.startswith("linux")

    def spawn(cmd: list[str]) -> subprocess.Popen[bytes]:
        try:
            return subprocess.Popen(
                cmd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if linux else None,
            )
        except OSError as exc:
            raise LoadTestError(f"cannot start Locust ({' '.join(cmd[:3])}): {exc}") from exc

    return spawn


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""

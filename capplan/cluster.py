"""Where simulations run: local processes (the default) or a Dask distributed cluster.

Every simulation task capplan runs (a replication of a scenario, a search's candidate, a
sweep's point) goes through one :class:`~capplan.sim.runner.Runner`, which takes any
``concurrent.futures.Executor``. With ``--dask ADDRESS`` (or ``CAPPLAN_DASK``) that
executor is a Dask client's: tasks are (scenario, replication) as they are locally and
results are gathered in order, so the output is the same as a local run's, byte for byte.
Dask is an optional extra (``pip install 'capplan[dask]'``) and is imported only here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from capplan.errors import CapplanError
from capplan.sim.runner import Runner

CONNECT_TIMEOUT_S = 5.0
"""How long to wait for a Dask scheduler to answer before saying it is unreachable."""


class ClusterError(CapplanError):
    """The Dask scheduler named cannot be used."""


@contextlib.contextmanager
def runner_for(jobs: int | None = None, dask: str | None = None) -> Iterator[Runner]:
    """A runner on ``jobs`` local processes, or on the Dask scheduler at ``dask``; its
    processes or its client end with the block."""
    if not dask:
        with Runner(jobs) as runner:
            yield runner
        return
    try:
        from distributed import Client
    except ImportError:
        raise ClusterError(
            "--dask needs Dask's distributed scheduler: pip install 'capplan[dask]'"
        ) from None
    try:
        client = Client(dask, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ClusterError(
            f"--dask {dask}: no Dask scheduler answered within {CONNECT_TIMEOUT_S:g} s ({reason})"
        ) from None
    try:
        with Runner(executor=client.get_executor(pure=False)) as runner:
            yield runner
    finally:
        client.close()

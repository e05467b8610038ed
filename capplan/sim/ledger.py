"""What became of the requests of one replication, accounted for in batches.

A request's end is the engine's hot path, so a successful one only appends four things
to lists (at most ``SETTLE`` long): when it arrived, when it ended, its type and where its
time went. At each window boundary :meth:`Ledger.tally` counts the new ones into the
window (its completions and their latencies: requests that *end* in it) and into the time
requests have spent in the system, whose integral over a window is its mean number in
system.
Once many have gathered, and before anything reads the totals, :meth:`Ledger.settle`
accounts for the rest with numpy: the latency sketch, per-type counts and sojourn sums of
*measured* requests (those that arrived within the measured interval, wherever they end),
and each arrival window's sojourns, for Little's law per window.

A failed request (an error cause, or past its timeout) is rarer and accounted for at once
by :meth:`Ledger.failed`. Nothing per request outlives the settlement but the requests
still in flight (``live``), which the run's end needs: each one's age says whether it
timed out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from capplan.sim.sketch import LatencySketch
from capplan.sim.timeline import WindowBook

SETTLE = 1 << 14
"""Successes gathered before they are settled (numpy's per-call cost spread over many)."""

if TYPE_CHECKING:
    from capplan.sim.engine import RequestState


class Ledger:
    """The requests of one replication: started, ended, and still in flight."""

    __slots__ = (
        "book",
        "done_sum",
        "end",
        "ended",
        "ended_t0",
        "errors",
        "kind",
        "live",
        "live_kept",
        "mark",
        "measured_ended",
        "n_stations",
        "sketch",
        "sojourn_sum",
        "spent",
        "start",
        "started",
        "started_t0",
        "succeeded",
        "t0",
        "t1",
    )

    def __init__(self, types: int, stations: int, start: float, end: float, book: WindowBook):
        self.start = start
        """The measured interval is [start, end): requests that arrive in it are measured."""
        self.end = end
        self.book = book
        self.n_stations = stations
        self.sketch = LatencySketch(types, stations)
        # successes since the last settlement (see the module docstring)
        # lists, not arrays: an array's append parses its argument, a list's does not, and
        # numpy converts a batch of either at about the same cost
        self.t0: list[float] = []
        self.t1: list[float] = []
        self.kind: list[int] = []
        self.spent: list[float] = []
        self.mark = 0
        """How many of those are tallied."""
        self.started = 0
        """Requests started so far (arrivals at every time, warm-up and drain included)."""
        self.started_t0 = 0.0
        """The sum of their arrival times."""
        self.ended = 0
        self.ended_t0 = 0.0
        self.done_sum = 0.0
        """Seconds in the system of every request ended so far."""
        self.live: list[RequestState] = []
        """Requests started, of which those not ``done`` are in flight (each knows its
        ``t0`` and type ``index``); the ended ones are dropped now and then."""
        self.live_kept = 1024
        self.measured_ended = 0
        self.succeeded = np.zeros(types, dtype=np.int64)
        """Measured requests answered within their timeout, by type."""
        self.errors: list[dict[str, int]] = [{} for _ in range(types)]
        """Measured requests failed, by type and cause."""
        self.sojourn_sum = np.zeros(types)
        """Seconds in the system of measured requests that ended, by type."""

    def tally(self) -> None:
        """Count the successes appended since the last tally into the current window and
        the time in system (cheap: a window boundary calls it); the rest of their
        accounting waits for :meth:`settle`, which runs once enough have gathered."""
        live = self.live
        if len(live) > 2 * self.live_kept:  # amortized: each request checked about twice
            live[:] = [r for r in live if not r.done]
            self.live_kept = max(1024, len(live))
        n, mark = len(self.t0), self.mark
        if n == mark:
            return
        t0 = np.array(self.t0[mark:n])
        end = np.array(self.t1[mark:n])
        lat = end - t0
        self.mark = n
        self.ended += n - mark
        self.ended_t0 += float(t0.sum())
        self.done_sum += float(lat.sum())
        book = self.book
        # ends are appended in time order: the first and last say where they all are
        first, last = float(end[0]), float(end[-1])
        if book.start <= first and last < book.end:
            book.completed += n - mark
            book.latencies.frombytes(lat.tobytes())
        elif first < book.end and last >= book.start:
            in_window = (end >= book.start) & (end < book.end)
            book.completed += int(in_window.sum())
            book.latencies.frombytes(lat[in_window].tobytes())
        if n >= SETTLE:
            self.settle()

    def settle(self) -> None:
        """Account for every success appended so far: the measured ones' latencies, types
        and arrival windows (a tally first)."""
        self.tally()
        n = len(self.t0)
        if not n:
            return
        t0 = np.array(self.t0)
        lat = np.array(self.t1) - t0
        kind = np.array(self.kind, dtype=np.intp)
        spent = np.array(self.spent).reshape(n, self.n_stations)
        del self.t0[:], self.t1[:], self.kind[:], self.spent[:]
        self.mark = 0
        measured = (t0 >= self.start) & (t0 < self.end)
        if not measured.all():
            t0, lat, kind, spent = t0[measured], lat[measured], kind[measured], spent[measured]
        if not len(t0):
            return
        types = len(self.succeeded)
        book = self.book
        self.measured_ended += len(t0)
        self.succeeded += np.bincount(kind, minlength=types)
        self.sojourn_sum += np.bincount(kind, weights=lat, minlength=types)
        self.sketch.add_many(lat, kind, spent)
        k = np.floor_divide(t0 - self.start, book.window_s).astype(np.intp)
        inside = k < book.count
        book.sojourn += np.bincount(k[inside], weights=lat[inside], minlength=book.count)
        book.finished += np.bincount(k[inside], minlength=book.count)

    def failed(self, t0: float, now: float, index: int, cause: str) -> None:
        """A request of type ``index`` that arrived at ``t0`` ended now with ``cause``."""
        elapsed = now - t0
        self.ended += 1
        self.ended_t0 += t0
        self.done_sum += elapsed
        book = self.book
        if book.start <= now < book.end:
            book.errors[cause] = book.errors.get(cause, 0) + 1
        if not self.start <= t0 < self.end:
            return
        self.measured_ended += 1
        k = int((t0 - self.start) // book.window_s)
        if k < book.count:
            book.sojourn[k] += elapsed
            book.finished[k] += 1
        self.sojourn_sum[index] += elapsed
        errs = self.errors[index]
        errs[cause] = errs.get(cause, 0) + 1

    def area(self, now: float) -> float:
        """Request-seconds spent in the system up to ``now``."""
        self.tally()
        in_flight = self.started - self.ended
        return self.done_sum + in_flight * now - (self.started_t0 - self.ended_t0)

    def unfinished(self, now: float, timeouts: list[float | None]) -> int:
        """End the run: every measured request still in flight is an error, ``timeout``
        when it is past its type's timeout and ``unfinished`` otherwise; returns how many
        were ``unfinished``."""
        self.settle()
        count = 0
        for req in self.live:
            t0 = req.t0
            if req.done or not self.start <= t0 < self.end:
                continue
            index = req.index
            age = now - t0
            self.sojourn_sum[index] += age
            timeout = timeouts[index]
            cause = "timeout" if timeout is not None and age > timeout else "unfinished"
            count += cause == "unfinished"
            errs = self.errors[index]
            errs[cause] = errs.get(cause, 0) + 1
        return count

    def arrivals(self, index: int) -> int:
        """Measured arrivals of type ``index`` (after :meth:`unfinished`: every one of them
        has ended, one way or another)."""
        return int(self.succeeded[index]) + sum(self.errors[index].values())

    def measured_live(self, started: int) -> int:
        """Measured requests in flight, given how many started in the measured interval."""
        self.settle()
        return started - self.measured_ended

"""The step runner: sibling steps one after another, and what a client does about a call
that fails (retry, timeout per call, circuit breaker, fallback) for every component type.

A step without client behaviour calls its station directly (the hot path). A guarded
step goes through :meth:`Guard.call`: each attempt first asks the step's breaker, then
calls the station (under a timeout: as a child task the caller waits for, with a timer;
the call goes on at the server when the caller gives up, as it does without deadline
propagation), records the outcome in the breaker, and on a cause in the retry's causes
waits out the backoff (or the Retry-After the attempt was given, whichever is later) and
tries again. When the last attempt fails, the ``fallback`` steps run and decide the
outcome.

A component may bring its own client policy for its callers (the LLM API client's 429
retries): that is a Guard too, nested inside the step's, as a client library's retries
sit inside the application's.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterable
from typing import TYPE_CHECKING, Any, Final

from capplan.sim.capacity import GONE, QUEUED, REJECTED, Lost, Replica, abandon, release
from capplan.sim.kernel import Kernel, Task
from capplan.sim.stations.base import Request

if TYPE_CHECKING:
    from capplan.scenario.resilience import Backoff, CircuitBreaker
    from capplan.sim.plan import CompiledStep
    from capplan.sim.stations.pooled import PooledStation

Steps = Generator[float | None, Any, str | None]

Settle = Callable[[Request, "str | None", float], None]
"""What a station is told after a guarded call's last attempt: the request, how the call
ended (None: it succeeded) and when it started (the request's own time)."""

CLOSED: Final = 0
OPEN: Final = 1
HALF_OPEN: Final = 2


def run_steps(req: Request, steps: tuple[CompiledStep, ...]) -> Steps:
    """Run sibling steps one after another; stop at the first error cause.

    A step with ``via`` sends its request payload across the link before the call and its
    response payload after it. A payload joins the link's FIFO queue at the request's own
    time, so the request waits out its lag first; the crossing itself only adds to the
    lag (see :class:`~capplan.sim.stations.base.Request`)."""
    for step in steps:
        coin = step.coin
        if coin is not None and coin() >= step.probability:
            continue
        if step.direct:  # a worker held for a service time: PooledStation.visit, inline
            station: PooledStation = step.station  # type: ignore[assignment]
            kernel = station.kernel
            if req.lag:
                lag = req.lag
                req.lag = 0.0
                yield lag
            group = step.group or step.route()  # at arrival: a route may read the state
            arrived = kernel.now
            got = station.take(group, req)
            if not isinstance(got, Replica):
                if got != QUEUED:
                    return "rejected" if got == REJECTED else "unavailable"
                try:
                    got = yield None  # a releasing request hands its worker over
                except Lost:
                    abandon(req, station.meter, kernel)
                    raise
                if not isinstance(got, Replica):
                    return "rejected" if got == REJECTED else "unavailable"
            start = kernel.now
            hold = step.service()
            req.spent[station.index] += start - arrived + hold
            if hold:
                try:
                    yield hold
                except Lost:  # a worker it holds elsewhere died: the work here is abandoned
                    if got.state != GONE:
                        release(got, station.meter, kernel, start, hold)
                    raise
            station.give_back(got, start, hold)
            continue
        if step.simple:
            cause = yield from step.station.visit(step, req)
            if cause is not None:
                return cause
            continue
        if step.branches:  # a choice: one branch per run of the step
            for _ in range(step.repeat):
                cause = yield from run_steps(req, step.branches[step.pick()])
                if cause is not None:
                    return cause
            continue
        via = step.via
        guard = step.guard
        for _ in range(step.repeat):
            if via is not None:
                if step.request_bytes and req.lag:
                    lag = req.lag
                    req.lag = 0.0
                    yield lag
                via.transfer(step.request_bytes, 0, req)
            if guard is None:
                cause = yield from step.station.visit(step, req)
            else:
                cause = yield from guard.call(step, req)
            if cause is not None:
                return cause
            if via is not None:
                if step.response_bytes and req.lag:
                    lag = req.lag
                    req.lag = 0.0
                    yield lag
                via.transfer(step.response_bytes, 1, req)
    return None


class Breaker:
    """A circuit breaker's state (see :class:`~capplan.scenario.resilience.CircuitBreaker`)."""

    def __init__(self, spec: CircuitBreaker):
        self.spec = spec
        self.state = CLOSED
        self.until = 0.0
        self.outcomes: deque[tuple[float, bool]] = deque()
        self.failed = 0
        self.streak = 0
        self.probes_left = 0
        self.probes_ok = 0
        self.opened = 0
        """Times it opened."""

    def allow(self, now: float) -> bool:
        if self.state == OPEN:
            if now < self.until:
                return False
            self.state = HALF_OPEN
            self.probes_left = self.spec.probes
            self.probes_ok = 0
        if self.state == HALF_OPEN:
            if self.probes_left == 0:
                return False  # the probes are out; their outcomes decide
            self.probes_left -= 1
        return True

    def record(self, now: float, ok: bool) -> None:
        spec = self.spec
        if self.state == HALF_OPEN:
            if not ok:
                self._open(now)
                return
            self.probes_ok += 1
            if self.probes_ok >= spec.probes:
                self.state = CLOSED
                self.outcomes.clear()
                self.failed = self.streak = 0
            return
        if self.state == OPEN:
            return  # a call let through before it opened
        out = self.outcomes
        out.append((now, ok))
        self.failed += not ok
        self.streak = 0 if ok else self.streak + 1
        horizon = now - spec.window
        while out and out[0][0] < horizon:
            self.failed -= not out.popleft()[1]
        if (spec.consecutive_failures is not None and self.streak >= spec.consecutive_failures) or (
            spec.failure_ratio is not None
            and len(out) >= spec.min_calls
            and self.failed >= spec.failure_ratio * len(out)
        ):
            self._open(now)

    def _open(self, now: float) -> None:
        self.state = OPEN
        self.until = now + self.spec.open_for
        self.opened += 1
        self.outcomes.clear()
        self.failed = self.streak = 0


class Call(Request):
    """A call made under a timeout: its own task, which the caller waits for."""

    __slots__ = ("cause", "finished", "parent", "timer", "waiting")

    def __init__(self, parent: Request):
        self.seq = 0
        self.lag = 0.0
        self.spent = parent.spent
        self.memo = None
        self.retry_after = 0.0
        self.parent = parent
        self.cause: str | None = None
        self.finished = False
        self.waiting = False
        self.timer: Task | None = None


TIMED_OUT = object()
"""What a caller is woken with when its call's timeout runs out first."""


class Guard:
    """The client behaviour around one compiled step's call."""

    def __init__(
        self,
        kernel: Kernel,
        retry: Backoff | None,
        causes: Iterable[str],
        timeout: float | None,
        breaker: Breaker | None,
        jitter: Callable[[], float] | None,
        inner: Guard | None = None,
        settle: Settle | None = None,
    ):
        self.kernel = kernel
        self.retry = retry
        self.attempts = retry.attempts if retry is not None else 1
        self.on = frozenset(causes) if retry is not None else frozenset()
        self.timeout = timeout
        self.breaker = breaker
        self.jitter = jitter
        self.inner = inner
        """The called component's own client policy, run as each attempt."""
        self.settle = settle
        """Told how the call ended, after its last attempt (the station's accounting)."""

    def call(self, step: CompiledStep, req: Request) -> Steps:
        kernel, breaker, retry, inner = self.kernel, self.breaker, self.retry, self.inner
        started = kernel.now + req.lag
        cause: str | None = None
        for attempt in range(self.attempts):
            if breaker is not None:
                if req.lag:  # the breaker is shared: ask it at the request's own time
                    lag = req.lag
                    req.lag = 0.0
                    yield lag
                if not breaker.allow(kernel.now):
                    cause = "circuit_open"
                    break  # failing fast is the point: no retry into an open breaker
            if self.timeout is not None:
                cause = yield from self._timed(step, req)
            elif inner is not None:
                cause = yield from inner.call(step, req)
            else:
                cause = yield from step.station.visit(step, req)
            if breaker is not None:
                breaker.record(kernel.now + req.lag, cause is None)
            told = req.retry_after
            req.retry_after = 0.0
            if cause is None or cause not in self.on or attempt == self.attempts - 1:
                break
            assert retry is not None
            delay = retry.delay(attempt)
            if self.jitter is not None:
                delay *= 1 + retry.jitter * (2 * self.jitter() - 1)
            req.lag += delay if delay >= told else told
        if self.settle is not None:
            self.settle(req, cause, started)
        if cause is not None and step.fallback:
            cause = yield from run_steps(req, step.fallback)
        return cause

    def _timed(self, step: CompiledStep, req: Request) -> Steps:
        kernel = self.kernel
        if req.lag:  # the call and its timer start at the request's own time
            lag = req.lag
            req.lag = 0.0
            yield lag
        call = Call(req)
        call.gen = _call(kernel, call, step, self.inner)
        kernel.start(call)
        if call.finished:
            req.retry_after = call.retry_after
            return call.cause
        call.waiting = True
        call.timer = kernel.spawn_at(kernel.now + self.timeout, _timer(kernel, call))  # type: ignore[operator]
        try:
            got = yield None
        except BaseException:
            call.waiting = False  # the caller itself is gone (its pod died)
            kernel.cancel(call.timer)
            raise
        if got is TIMED_OUT:
            return "timeout"
        req.retry_after = call.retry_after
        return call.cause


def _call(kernel: Kernel, call: Call, step: CompiledStep, inner: Guard | None) -> Steps:
    if inner is not None:
        cause = yield from inner.call(step, call)
    else:
        cause = yield from step.station.visit(step, call)
    if call.lag:  # it ends at its own time
        lag = call.lag
        call.lag = 0.0
        yield lag
    call.cause = cause
    call.finished = True
    if call.waiting:
        call.waiting = False
        if call.timer is not None:
            kernel.cancel(call.timer)
        kernel.wake(call.parent, call)
    return None


def _timer(kernel: Kernel, call: Call) -> Generator[float, Any, None]:
    if call.waiting:
        call.waiting = False
        kernel.wake(call.parent, TIMED_OUT)
    return
    yield  # a generator: it runs when the timeout is due

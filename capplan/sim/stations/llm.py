"""``type: llm_api``: an external LLM API behind request and token quotas.

A call draws its input and output tokens, may be answered by the cache, else asks the
limiter for admission: two token buckets (requests and tokens per minute) refilled
continuously. Over either quota the attempt gets a 429 at once, cause ``rate_limited``,
with the limiter's retry-after. The client's retries are the step runner's
(:class:`~capplan.sim.steps.Guard`) with the component's ``retry`` policy on
``rate_limited``: it waits the backoff or the retry-after, whichever is later, while the
calling worker stays busy, and resends the same prompt (the tokens are drawn once per
call). After the last attempt the request fails with cause ``rate_limited``, unless the
step's own retry or fallback says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from capplan.scenario.units import SECONDS_PER_MONTH
from capplan.sim.capacity import (
    QUEUED,
    Group,
    Lost,
    Replica,
    ReplicaSet,
    release,
)
from capplan.sim.kernel import Kernel
from capplan.sim.meter import Meter, MeterSnapshot
from capplan.sim.stations.base import BuildContext, Request, StationMeasure
from capplan.sim.steps import Guard
from capplan.sim.streams import Streams

if TYPE_CHECKING:
    from capplan.scenario.external import LlmApiComponent
    from capplan.scenario.model import Step
    from capplan.sim.plan import CompiledStep


class TokenBucket:
    """A bucket of ``capacity`` refilled at ``rate`` per second, starting full."""

    __slots__ = ("capacity", "last", "level", "rate")

    def __init__(self, rate: float, capacity: float):
        self.rate = rate
        self.capacity = capacity
        self.level = capacity
        self.last = 0.0

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.last) * self.rate)
        self.last = now

    def shortfall_s(self, amount: float) -> float:
        """Seconds until ``amount`` is available (after ``refill``); inf if it never fits."""
        if self.level >= amount:
            return 0.0
        if amount > self.capacity:
            return math.inf
        return (amount - self.level) / self.rate


class Limiter:
    """Requests-per-minute and tokens-per-minute buckets, both charged on admission."""

    def __init__(
        self, rpm: float, tpm: float, burst_requests: float | None, burst_tokens: float | None
    ):
        self.requests = TokenBucket(rpm / 60, burst_requests or rpm)
        self.tokens = TokenBucket(tpm / 60, burst_tokens or tpm)

    def admit(self, now: float, tokens: float) -> float:
        """Charge one request and ``tokens`` and return 0, or return the retry-after in
        seconds (inf if the call can never fit) and charge nothing."""
        self.requests.refill(now)
        self.tokens.refill(now)
        wait = max(self.requests.shortfall_s(1.0), self.tokens.shortfall_s(tokens))
        if wait == 0.0:
            self.requests.level -= 1.0
            self.tokens.level -= tokens
        return wait


@dataclass(frozen=True)
class LlmCounters:
    """Cumulative counts of one LLM station (floats: token counts are large)."""

    time: float
    calls: float = 0
    cache_hits: float = 0
    admitted: float = 0
    http_429: float = 0
    retries: float = 0
    rate_limited: float = 0
    completed: float = 0
    input_tokens: float = 0.0
    output_tokens: float = 0.0
    offered_tokens: float = 0.0
    residence_s: float = 0.0
    retry_wait_s: float = 0.0


RETRIED_BY_CLIENT = ("rate_limited",)
"""What the LLM client's own policy retries: 429s."""


class StepDraws:
    """What a step's calls draw: tokens, latency parts, cache hits."""

    __slots__ = ("base", "hit", "input", "output", "per_token")

    def __init__(self, component: LlmApiComponent, step: Step, path: str, streams: Streams):
        assert step.tokens is not None  # required at validation
        self.input = streams.sampler(step.tokens.input, f"{path}.tokens.input")
        self.output = streams.sampler(step.tokens.output, f"{path}.tokens.output")
        self.base = streams.sampler(component.latency.base, f"{path}.latency.base")
        self.per_token = streams.sampler(
            component.latency.per_output_token, f"{path}.latency.token"
        )
        self.hit: Callable[[], float] | None = (
            streams.uniform(f"{path}.cache") if component.cache_hit_ratio > 0 else None
        )


class LlmStation:
    def __init__(self, name: str, component: LlmApiComponent, kernel: Kernel, streams: Streams):
        self.name = name
        self.index = -1  # set by compile_scenario
        self.c = component
        self.kernel = kernel
        rl = component.rate_limit
        self.limiter = Limiter(
            rl.requests_per_minute, rl.tokens_per_minute, rl.burst.requests, rl.burst.tokens
        )
        # the client-side concurrency limit: one pool of slots with one FIFO queue
        self.meter = Meter()
        self.slots: Group | None = None
        if component.max_concurrency:
            self.slots = Group(kernel, self.meter, "shared_queue", None)
            ReplicaSet(kernel, self.meter, component.max_concurrency, (self.slots,), False).add()
        self.cache_latency = streams.sampler(component.cache_latency, f"components.{name}.cache")
        self.n: dict[str, float] = {f.name: 0 for f in fields(LlmCounters) if f.name != "time"}

    def prepare(self, compiled: CompiledStep, step: Step, key: str, streams: Streams) -> None:
        compiled.extra = StepDraws(self.c, step, key, streams)
        retry = self.c.retry
        compiled.guard = Guard(
            self.kernel,
            retry,
            RETRIED_BY_CLIENT,
            None,
            None,
            streams.uniform(f"{key}.jitter") if retry.jitter > 0 else None,
            settle=self.settle,
        )

    def visit(self, step: CompiledStep, req: Request) -> Generator[float | None, Any, str | None]:
        """One attempt of a call (the step runner retries it)."""
        env, n, draws = self.kernel, self.n, step.extra
        yield from req.sync()  # quotas and slots are shared: act at the request's time
        memo = req.memo
        if memo is not None and memo[0] is step:  # a retry: the same prompt again
            _, tin, tout, failed_at = memo
            n["retries"] += 1
            n["retry_wait_s"] += env.now - failed_at
        else:
            n["calls"] += 1
            if draws.hit is not None and draws.hit() < self.c.cache_hit_ratio:
                n["cache_hits"] += 1
                yield self.cache_latency()
                n["completed"] += 1
                return None
            tin, tout = draws.input(), draws.output()
            n["offered_tokens"] += tin + tout
        slots = self.slots
        slot: Any = None
        if slots is not None:
            slot = slots.acquire(req)
            if slot == QUEUED:
                try:
                    slot = yield None
                except Lost:  # the caller's replica failed while it waited
                    slots.abandon(req)
                    raise
        start = env.now
        wait = self.limiter.admit(start, tin + tout)
        if wait == 0.0:
            n["admitted"] += 1
            n["input_tokens"] += tin
            n["output_tokens"] += tout
            duration = draws.base() + draws.per_token() * tout
            try:
                yield duration
            except Lost:  # the caller is gone; its slot is free again
                if isinstance(slot, Replica):
                    release(slot, self.meter, env, start, env.now - start)
                raise
            if isinstance(slot, Replica):
                release(slot, self.meter, env, start, duration)
            n["completed"] += 1
            return None
        n["http_429"] += 1
        if isinstance(slot, Replica):
            release(slot, self.meter, env, start, 0.0)
        req.memo = (step, tin, tout, start)
        req.retry_after = 0.0 if math.isinf(wait) else wait  # inf: it never fits
        return "rate_limited"

    def settle(self, req: Request, cause: str | None, started: float) -> None:
        """After a call's last attempt: its time here, retry waits included."""
        req.memo = None
        if cause == "rate_limited":
            self.n["rate_limited"] += 1
        spent = self.kernel.now + req.lag - started
        self.n["residence_s"] += spent
        req.spent[self.index] += spent

    def snapshot(self) -> tuple[LlmCounters, MeterSnapshot]:
        now = self.kernel.now
        return LlmCounters(now, **self.n), self.meter.snapshot(now)

    def measure(
        self,
        start: tuple[LlmCounters, MeterSnapshot],
        end: tuple[LlmCounters, MeterSnapshot],
    ) -> StationMeasure:
        a, b = start[0], end[0]
        d = {f.name: getattr(b, f.name) - getattr(a, f.name) for f in fields(LlmCounters)}
        span = d["time"]
        per_min = 60 / span
        rl = self.c.rate_limit
        rpm_used = d["admitted"] * per_min
        tpm_used = (d["input_tokens"] + d["output_tokens"]) * per_min
        calls_to_api = d["calls"] - d["cache_hits"]
        constraints = {
            "requests_per_minute": rpm_used / rl.requests_per_minute,
            "tokens_per_minute": tpm_used / rl.tokens_per_minute,
        }
        extra = {
            "calls_per_min": d["calls"] * per_min,
            "cache_hits_per_min": d["cache_hits"] * per_min,
            "http_429_per_min": d["http_429"] * per_min,
            "retries_per_min": d["retries"] * per_min,
            "rate_limited_per_min": d["rate_limited"] * per_min,
            "requests_per_min": rpm_used,
            "tokens_per_min": tpm_used,
            "requests_per_min_limit": rl.requests_per_minute,
            "tokens_per_min_limit": rl.tokens_per_minute,
            # what first attempts ask of each quota: above 1, 429s cannot be avoided
            "quota_demand": max(
                calls_to_api * per_min / rl.requests_per_minute,
                d["offered_tokens"] * per_min / rl.tokens_per_minute,
            ),
            "input_tokens_per_min": d["input_tokens"] * per_min,
            "output_tokens_per_min": d["output_tokens"] * per_min,
        }
        if self.c.pricing is not None:
            p = self.c.pricing
            dollars = (
                d["input_tokens"] * p.input_per_1k + d["output_tokens"] * p.output_per_1k
            ) / 1000
            extra["cost_per_month_usd"] = dollars / span * SECONDS_PER_MONTH
        slot_wait = queue_area = offered = 0.0
        growth = 0
        capacity = 0
        if self.slots is not None:
            w = end[1].minus(start[1])
            constraints["concurrency"] = w.busy_area / (w.workers * span)
            slot_wait, queue_area, growth, capacity = (
                w.wait_sum,
                w.queue_area,
                end[1].queue_length - start[1].queue_length,
                w.workers,
            )
            offered = w.arrivals / span * (w.hold_sum / w.served if w.served else 0.0) / w.workers
        return StationMeasure(
            capacity=capacity,
            utilization=max(constraints.values()),
            mean_queue_length=queue_area / span,
            mean_wait_s=(slot_wait + d["retry_wait_s"]) / d["calls"] if d["calls"] else 0.0,
            throughput_rps=d["completed"] / span,
            arrival_rps=d["calls"] / span,
            # a quota refuses what it cannot take (429s), so only the concurrency queue can
            # grow without bound; quota pressure is in the constraints and quota_demand
            offered_load=offered,
            backlog_growth=int(growth),
            arrivals=int(d["calls"]),
            rejected=0,
            residence_s=d["residence_s"],
            constraints=constraints,
            extra=extra,
        )


def build(name: str, component: Any, ctx: BuildContext) -> LlmStation:
    return LlmStation(name, component, ctx.kernel, ctx.streams)

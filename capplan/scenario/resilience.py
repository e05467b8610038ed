"""What a client does about a failed call, on any step: retries with backoff, a timeout
per call, a circuit breaker, and fallback steps.

The error causes a request can end with, and that ``retry.causes`` may name, are
:data:`CAUSES`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from capplan.scenario.types import Fraction, Model, NonNegativeDuration, PositiveDuration

Cause = Literal[
    "rejected", "unavailable", "lost", "error", "timeout", "rate_limited", "circuit_open"
]
"""Why a call failed: refused by a full queue; no ready replica; its pod died under it; a
5xx; no answer within its timeout; a 429 after the LLM client's own retries; a circuit
breaker open."""

CAUSES: tuple[str, ...] = Cause.__args__  # type: ignore[attr-defined]

RETRIED: tuple[Cause, ...] = ("unavailable", "lost", "error", "timeout")
"""What a step retries by default: failures another attempt may not meet."""


class Backoff(Model):
    """Attempts and the waits between them: exponential backoff with jitter."""

    attempts: Annotated[int, Field(gt=0, le=1000, strict=True)] = 3
    """Attempts in all, the first included."""
    backoff_factor: Annotated[float, Field(ge=1, le=100)] = 2.0
    """Each retry waits this many times longer than the one before."""
    initial_delay: NonNegativeDuration = 1.0
    """Wait before the first retry. Default 1s."""
    jitter: Fraction = 0.0
    """Each wait is scaled by a uniform factor in [1 - jitter, 1 + jitter]."""

    def delay(self, retry: int) -> float:
        """Wait before retry number ``retry`` (0-based), without jitter."""
        return self.initial_delay * self.backoff_factor**retry


class StepRetry(Backoff):
    """How the caller retries a failed call. Every attempt is a new call: retries are load
    on the component called, so a retry storm appears in the model."""

    initial_delay: NonNegativeDuration = 0.1
    """Wait before the first retry. Default 100ms."""
    causes: list[Cause] = Field(default_factory=lambda: list(RETRIED))
    """Causes worth another attempt. Default: unavailable, lost, error, timeout. (Not
    ``on``: YAML 1.1 reads a bare ``on`` as true.)"""


class CircuitBreaker(Model):
    """A breaker on a call: it opens when the calls over the last ``window`` fail too
    often, fails calls at once (cause ``circuit_open``) for ``open_for``, then lets
    ``probes`` calls through (half-open): all succeed and it closes, one fails and it opens
    again. One breaker per calling step, shared by all requests (as a client library's
    breaker per downstream service)."""

    failure_ratio: Annotated[Fraction, Field(gt=0)] | None = 0.5
    """Open when at least this share of the window's calls failed (with ``min_calls``)."""
    consecutive_failures: Annotated[int, Field(gt=0, le=100_000, strict=True)] | None = None
    """Open after this many failures in a row (either condition opens it)."""
    window: PositiveDuration = 10.0
    """The sliding window the failure ratio is computed over. Default 10s."""
    min_calls: Annotated[int, Field(gt=0, le=100_000, strict=True)] = 20
    """No ratio is judged on fewer calls than this in the window."""
    open_for: PositiveDuration = 30.0
    """How long it stays open. Default 30s."""
    probes: Annotated[int, Field(gt=0, le=1000, strict=True)] = 5
    """Calls let through half-open."""

    @model_validator(mode="after")
    def _some_condition(self) -> CircuitBreaker:
        if self.failure_ratio is None and self.consecutive_failures is None:
            raise ValueError("give failure_ratio or consecutive_failures (or both)")
        return self

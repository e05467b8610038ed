"""``workload.profile``: how the load changes over simulated time.

A profile is a multiplier of the workload's rate (open arrivals) or user count (closed),
as a function of clock time: one base shape (``points``, ``diurnal``, ``ramp`` or
``step``; constant 1 without one) times any ``spikes``. The shapes are exact functions,
evaluated by the simulation when it samples arrivals (a non-homogeneous Poisson process),
so a profile is not stepped per window.
"""

from __future__ import annotations

import itertools
import math
from typing import Annotated

from pydantic import Field, model_validator

from capplan.scenario.types import Model, NonNegativeDuration, PositiveDuration

Multiplier = Annotated[float, Field(ge=0, le=1e6)]
"""A load multiplier: 0 or more (1 = the workload's rate)."""


class Diurnal(Model):
    """A smooth daily curve: a raised cosine with its peak at ``peak`` and its trough half a
    period later, at ``trough_to_peak`` of the peak."""

    peak: NonNegativeDuration
    """Clock time of the peak (since midnight): '14h', '13h30m'."""
    trough_to_peak: Annotated[float, Field(gt=0, le=1)]
    """The trough's multiplier over the peak's: 0.25 means the quietest hour carries a
    quarter of the busiest hour's load."""
    period: PositiveDuration = 86400.0
    """Length of the cycle. Default 24h."""

    def at(self, t: float) -> float:
        """Multiplier at clock time ``t``, 1 at the peak."""
        low = self.trough_to_peak
        return low + (1 - low) * (1 + math.cos(2 * math.pi * (t - self.peak) / self.period)) / 2

    @property
    def mean(self) -> float:
        """Mean over a period."""
        return (1 + self.trough_to_peak) / 2


class Ramp(Model):
    """A linear change from ``start_multiplier`` to ``end_multiplier`` over
    [``at``, ``at`` + ``duration``], constant before and after."""

    at: NonNegativeDuration
    """Clock time the ramp starts."""
    duration: PositiveDuration
    """How long it takes."""
    start_multiplier: Multiplier = 1.0
    """Multiplier before it."""
    end_multiplier: Multiplier
    """Multiplier after it."""

    def at_time(self, t: float) -> float:
        if t <= self.at:
            return self.start_multiplier
        if t >= self.at + self.duration:
            return self.end_multiplier
        f = (t - self.at) / self.duration
        return self.start_multiplier + f * (self.end_multiplier - self.start_multiplier)


class Step(Model):
    """A jump from ``before`` to ``after`` at clock time ``at``."""

    at: NonNegativeDuration
    """Clock time of the jump."""
    before: Multiplier = 1.0
    """Multiplier before it."""
    after: Multiplier
    """Multiplier from then on."""


class Spike(Model):
    """A burst that multiplies whatever the base shape gives, for a while (a campaign
    launch, a retry storm from a client): ``multiplier`` from ``at`` for ``duration``."""

    at: NonNegativeDuration
    """Clock time it starts."""
    multiplier: Annotated[float, Field(gt=0, le=1e6)]
    """Factor on the base shape while it lasts (3 = three times the load)."""
    duration: PositiveDuration
    """How long it lasts."""


class Profile(Model):
    """The workload's multiplier over clock time: one base shape (or none: 1), times spikes.

    With ``daily_requests`` the base shape is scaled so that its mean over its period is
    1, so the day's total is ``daily_requests`` and the peak follows from the shape (the
    shape needs a period then: ``points`` with ``period``, or ``diurnal``); spikes add to
    that total. With ``arrival_rate`` or ``users``, the multiplier applies as written."""

    points: list[tuple[NonNegativeDuration, Multiplier]] | None = Field(None, min_length=1)
    """Piecewise linear: [[time, multiplier], ...] with increasing times; before the first
    point its multiplier, after the last the last's (or, with ``period``, back to the
    first, linearly, at ``period`` after it)."""
    period: PositiveDuration | None = None
    """With ``points``: the cycle they repeat with ('24h')."""
    diurnal: Diurnal | None = None
    """A smooth daily curve."""
    ramp: Ramp | None = None
    """A linear change over a while."""
    step: Step | None = None
    """A jump at one time."""
    spikes: list[Spike] = Field(default_factory=list)
    """Bursts on top of the base shape."""

    @model_validator(mode="after")
    def _one_shape(self) -> Profile:
        given = [k for k in ("points", "diurnal", "ramp", "step") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give one base shape, not {' and '.join(given)}")
        if self.period is not None and self.points is None:
            raise ValueError("'period' goes with 'points' (diurnal has its own)")
        if self.points is not None:
            times = [t for t, _ in self.points]
            if any(b <= a for a, b in itertools.pairwise(times)):
                raise ValueError("points: times must increase")
            if self.period is not None and times[-1] >= self.period + times[0]:
                raise ValueError("points: all times must lie within one period of the first")
        return self

    @property
    def periodic(self) -> bool:
        return self.diurnal is not None or (self.points is not None and self.period is not None)

    @property
    def cycle(self) -> float | None:
        """The base shape's period, if it has one."""
        if self.diurnal is not None:
            return self.diurnal.period
        return self.period if self.points is not None else None

"""The load over simulated time: a profile as an exact function, and arrivals from it.

Open arrivals under a profile are a non-homogeneous Poisson process of rate
``base × m(τ)`` at clock time τ, sampled exactly by thinning piece by piece: on each piece
[a, b) where the multiplier is monotone, candidates come at the piece's highest rate and
each is kept with probability m(τ) / max; a candidate past b is dropped and sampling
restarts at b (the process is memoryless), so no rate is ever stepped per window. Where the
multiplier is constant on a piece, every candidate is kept without a draw, so a constant
profile draws exactly what no profile draws.
"""

from __future__ import annotations

import bisect
import math

from capplan.scenario.profile import Profile

EPS = 1e-9


class Curve:
    """The multiplier m(τ) of a profile (1 everywhere without one), τ in clock seconds."""

    def __init__(self, profile: Profile | None, normalize: bool):
        self.p = profile
        self.scale = 1.0
        if profile is None:
            return
        if profile.points is not None:
            pts = list(profile.points)
            if profile.period is not None:
                pts.append((pts[0][0] + profile.period, pts[0][1]))
            self.knots = [t for t, _ in pts]
            self.values = [m for _, m in pts]
        if normalize and profile.periodic:
            mean = self._base_mean()
            self.scale = 1.0 / mean if mean > 0 else 1.0

    @property
    def constant(self) -> bool:
        return self.p is None

    def _base_mean(self) -> float:
        p = self.p
        assert p is not None
        if p.diurnal is not None:
            return p.diurnal.mean
        assert p.points is not None and p.period is not None
        area = sum(
            (t1 - t0) * (m0 + m1) / 2
            for t0, t1, m0, m1 in zip(
                self.knots, self.knots[1:], self.values, self.values[1:], strict=False
            )
        )
        return area / p.period

    def _base(self, tau: float) -> float:
        p = self.p
        if p is None:
            return 1.0
        if p.points is not None:
            knots, values = self.knots, self.values
            if p.period is not None:
                tau = knots[0] + (tau - knots[0]) % p.period
            if tau <= knots[0]:
                return values[0]
            if tau >= knots[-1]:
                return values[-1]
            i = bisect.bisect_right(knots, tau) - 1
            f = (tau - knots[i]) / (knots[i + 1] - knots[i])
            return values[i] + f * (values[i + 1] - values[i])
        if p.diurnal is not None:
            return p.diurnal.at(tau)
        if p.ramp is not None:
            return p.ramp.at_time(tau)
        if p.step is not None:
            return p.step.before if tau < p.step.at else p.step.after
        return 1.0

    def spike(self, tau: float) -> float:
        factor = 1.0
        if self.p is not None:
            for s in self.p.spikes:
                if s.at <= tau < s.at + s.duration:
                    factor *= s.multiplier
        return factor

    def __call__(self, tau: float) -> float:
        """The multiplier at clock time ``tau``."""
        return self._base(tau) * self.scale * self.spike(tau)

    def next_break(self, tau: float) -> float:
        """The first clock time after ``tau`` where a piece ends: the multiplier is
        monotone (and its spikes constant) in between."""
        p = self.p
        if p is None:
            return math.inf
        cands = [s.at for s in p.spikes] + [s.at + s.duration for s in p.spikes]
        if p.points is not None:
            knots = self.knots
            if p.period is None:
                cands += knots
            else:
                base = knots[0] + math.floor((tau - knots[0]) / p.period) * p.period
                offset = base - knots[0]
                cands += [k + offset for k in knots] + [k + offset + p.period for k in knots]
        elif p.diurnal is not None:
            # monotone between peak and trough; half-hour pieces keep the bound tight
            step = p.diurnal.period / 48
            k = math.floor((tau - p.diurnal.peak) / step) + 1
            cands.append(p.diurnal.peak + k * step)
        elif p.ramp is not None:
            cands += [p.ramp.at, p.ramp.at + p.ramp.duration]
        elif p.step is not None:
            cands.append(p.step.at)
        after = [c for c in cands if c > tau + EPS]
        return min(after) if after else math.inf

    def line(self, a: float, b: float) -> tuple[float, float] | None:
        """(m(a), slope) when the multiplier is linear on [a, b) (points, ramps, steps and
        spikes are), so that sampling can test a candidate without evaluating the curve;
        None for the diurnal cosine."""
        p = self.p
        if p is not None and p.diurnal is not None:
            return None
        lo = self(a)
        if math.isinf(b) or self._flat_between(a, b):
            return lo, 0.0
        end = b - EPS * max(1.0, abs(b))
        return lo, (self(end) - lo) / (end - a)

    def bound(self, a: float, b: float) -> tuple[float, bool]:
        """(the multiplier's largest value on [a, b), whether it is that constant)."""
        lo = self(a)
        if math.isinf(b):
            hi = lo if self._flat_after(a) else max(lo, self(a + 1e6))
        else:
            hi = self(max(a, b - EPS * max(1.0, abs(b))))
        return max(lo, hi), lo == hi and self._flat_between(a, b)

    def _flat_after(self, a: float) -> bool:
        return self.next_break(a) == math.inf

    def _flat_between(self, a: float, b: float) -> bool:
        p = self.p
        if p is None:
            return True
        if p.diurnal is not None or p.ramp is not None:
            return False
        if p.points is not None:
            mid = (a + b) / 2 if not math.isinf(b) else a + 1.0
            return self(mid) == self(a)
        return True

    def mean_over(self, a: float, b: float, steps: int = 64) -> float:
        """The multiplier's mean over [a, b] (Simpson's rule on each piece)."""
        total, t = 0.0, a
        while t < b:
            end = min(self.next_break(t), b)
            h = (end - t) / steps
            s = self(t) + self(max(t, end - EPS))
            for i in range(1, steps):
                s += (4 if i % 2 else 2) * self(t + i * h)
            total += s * h / 3
            t = end
        return total / (b - a) if b > a else self(a)

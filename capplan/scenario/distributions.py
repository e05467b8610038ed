"""Service-time distributions.

Every distribution exposes its mean and squared coefficient of variation (for the analytic
cross-check) and ``draw(rng, n)``, which returns ``n`` samples in seconds from an explicit
numpy Generator (never global random state). A bare duration such as ``15ms`` means a
constant.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BeforeValidator, Field, model_validator

from capplan.scenario.types import Cv, Model, NonNegativeDuration, PositiveDuration

_Z95 = 1.6448536269514722  # standard normal 95th percentile


class Constant(Model):
    """Always the same duration (e.g. a fixed-size transfer or a deterministic computation)."""

    distribution: Literal["constant"] = "constant"
    value: NonNegativeDuration
    """The duration."""

    @property
    def mean(self) -> float:
        return self.value

    @property
    def scv(self) -> float:
        return 0.0

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value)


class Exponential(Model):
    """Memoryless service time: the M in M/M/c."""

    distribution: Literal["exponential"]
    mean: PositiveDuration
    """Mean duration."""

    @property
    def scv(self) -> float:
        return 1.0

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.exponential(self.mean, n)


class LogNormal(Model):
    """Right-skewed latency, the usual shape of real service times.

    Give either ``mean`` and ``cv`` (coefficient of variation), or ``p50`` and ``p95``.
    """

    distribution: Literal["lognormal"]
    mean_: PositiveDuration | None = Field(None, alias="mean")
    """Mean duration (with ``cv``)."""
    cv: Cv | None = None
    """Coefficient of variation, standard deviation / mean (with ``mean``)."""
    p50: PositiveDuration | None = None
    """Median (with ``p95``)."""
    p95: PositiveDuration | None = None
    """95th percentile (with ``p50``); must exceed ``p50``."""

    @model_validator(mode="after")
    def _one_parametrisation(self) -> LogNormal:
        by_moments = self.mean_ is not None and self.cv is not None
        by_quantiles = self.p50 is not None and self.p95 is not None
        if by_moments == by_quantiles or (
            by_moments and (self.p50 is not None or self.p95 is not None)
        ):
            raise ValueError("give either 'mean' and 'cv', or 'p50' and 'p95'")
        if by_quantiles and self.p95 <= self.p50:  # type: ignore[operator]
            raise ValueError("p95 must be greater than p50")
        if by_quantiles and self.scv > 100**2:
            raise ValueError(
                "p95 is so far above p50 that the coefficient of variation exceeds 100"
            )
        if self.mean > 366 * 86400:
            raise ValueError("the mean duration exceeds a year")
        return self

    @property
    def _mu_sigma(self) -> tuple[float, float]:
        if self.mean_ is not None and self.cv is not None:
            s2 = math.log1p(self.cv**2)
            return math.log(self.mean_) - s2 / 2, math.sqrt(s2)
        assert self.p50 is not None and self.p95 is not None
        return math.log(self.p50), (math.log(self.p95) - math.log(self.p50)) / _Z95

    @property
    def mean(self) -> float:
        mu, sigma = self._mu_sigma
        return math.exp(mu + sigma**2 / 2)

    @property
    def scv(self) -> float:
        return math.expm1(self._mu_sigma[1] ** 2)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        mu, sigma = self._mu_sigma
        return rng.lognormal(mu, sigma, n)


class Gamma(Model):
    """Gamma service time by mean and coefficient of variation (cv < 1: more regular than exponential)."""

    distribution: Literal["gamma"]
    mean: PositiveDuration
    """Mean duration."""
    cv: Cv
    """Coefficient of variation."""

    @property
    def scv(self) -> float:
        return self.cv**2

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        shape = 1 / self.cv**2
        return rng.gamma(shape, self.mean / shape, n)


class Uniform(Model):
    """Uniform between ``low`` and ``high``."""

    distribution: Literal["uniform"]
    low: NonNegativeDuration
    """Smallest duration."""
    high: NonNegativeDuration
    """Largest duration; at least ``low``."""

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError("high must be at least low")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    @property
    def scv(self) -> float:
        m = self.mean
        return 0.0 if m == 0 else ((self.high - self.low) ** 2 / 12) / m**2

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)


class Empirical(Model):
    """Resample measured durations (e.g. exported from tracing), each equally likely."""

    distribution: Literal["empirical"]
    samples: list[NonNegativeDuration] = Field(min_length=1, max_length=1_000_000)
    """Observed durations."""

    @property
    def mean(self) -> float:
        return float(np.mean(self.samples))

    @property
    def scv(self) -> float:
        m = self.mean
        return 0.0 if m == 0 else float(np.var(self.samples)) / m**2

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.choice(np.asarray(self.samples, dtype=float), n)


def _bare_duration_is_constant(value: Any) -> Any:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return {"distribution": "constant", "value": value}
    return value


_Distributions = Annotated[
    Constant | Exponential | LogNormal | Gamma | Uniform | Empirical,
    Field(discriminator="distribution"),
]
Distribution = Annotated[
    _Distributions,
    BeforeValidator(
        _bare_duration_is_constant, json_schema_input_type=NonNegativeDuration | _Distributions
    ),
]
"""A duration distribution; a bare duration ('15ms') is a constant."""


class CountDistribution(Model):
    """A distribution of a whole count (tokens per call): a plain number is a constant.

    ``constant`` takes ``value``; ``exponential`` takes ``mean``; ``lognormal`` and
    ``gamma`` take ``mean`` and ``cv``; ``uniform`` takes ``low`` and ``high``. Draws are
    rounded to whole numbers, never below zero.
    """

    distribution: Literal["constant", "exponential", "lognormal", "gamma", "uniform"] = "constant"
    value: Annotated[float, Field(ge=0, le=1e7)] | None = None
    """The count (constant)."""
    mean_: Annotated[float, Field(gt=0, le=1e7)] | None = Field(None, alias="mean")
    """Mean count."""
    cv: Cv | None = None
    """Coefficient of variation (lognormal, gamma)."""
    low: Annotated[float, Field(ge=0, le=1e7)] | None = None
    """Smallest count (uniform)."""
    high: Annotated[float, Field(ge=0, le=1e7)] | None = None
    """Largest count (uniform)."""

    @model_validator(mode="after")
    def _complete(self) -> CountDistribution:
        needs = {
            "constant": ("value",),
            "exponential": ("mean_",),
            "lognormal": ("mean_", "cv"),
            "gamma": ("mean_", "cv"),
            "uniform": ("low", "high"),
        }[self.distribution]
        missing = [n.rstrip("_") for n in needs if getattr(self, n) is None]
        if missing:
            raise ValueError(f"{self.distribution} needs {' and '.join(missing)}")
        if self.distribution == "uniform" and self.high < self.low:  # type: ignore[operator]
            raise ValueError("high must be at least low")
        return self

    @property
    def mean(self) -> float:
        if self.distribution == "constant":
            return float(self.value)  # type: ignore[arg-type]
        if self.distribution == "uniform":
            return (self.low + self.high) / 2  # type: ignore[operator]
        return float(self.mean_)  # type: ignore[arg-type]

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        kind, m, cv = self.distribution, self.mean, self.cv or 0.0
        if kind == "constant":
            raw = np.full(n, m)
        elif kind == "exponential":
            raw = rng.exponential(m, n)
        elif kind == "lognormal":
            s2 = math.log1p(cv**2)
            raw = rng.lognormal(math.log(m) - s2 / 2, math.sqrt(s2), n)
        elif kind == "gamma":
            raw = rng.gamma(1 / cv**2, m * cv**2, n)
        else:
            raw = rng.uniform(self.low, self.high, n)  # type: ignore[arg-type]
        return np.maximum(np.rint(raw), 0.0)


def _bare_number_is_constant(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"value": value}
    return value


Count = Annotated[
    CountDistribution,
    BeforeValidator(_bare_number_is_constant, json_schema_input_type=float | CountDistribution),
]
"""A count or a distribution of counts: ``800`` or ``{distribution: lognormal, mean: 300, cv: 0.5}``."""

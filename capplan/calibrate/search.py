"""Service times inside the model, searched so that the simulated latency matches the
measured one at the measured load.

Each round simulates the scenario at the load the measurement saw, with common random
numbers (the scenario's seed every round, so that a change in the prediction is the
change in the inputs and not noise), reads where each request type's time goes
(``time_by_component_s``), and solves for one scale per component by weighted
non-negative least squares: measured mean = sum over components of (time there × scale)
+ the time at what is not scaled (LLM APIs, links). Waiting grows faster than service, so
the next round corrects what the linear step missed. Components that every request type
visits in the same proportions cannot be told apart by end-to-end latencies: they share
one scale, and the result says so. The search stops when every request type's mean is
within its measured interval (or within 2% where there is none), or after
``MAX_ROUNDS``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import TypeAdapter
from scipy.optimize import nnls

from capplan.kinds import kind_of
from capplan.results.model import Latency, Result
from capplan.scenario.distributions import (
    Constant,
    Distribution,
    Empirical,
    Exponential,
    Gamma,
    LogNormal,
    Uniform,
)
from capplan.scenario.model import Scenario

MAX_ROUNDS = 8
STEP_LIMIT = 4.0
"""Largest factor one round may change a scale by (a first guess far off converges in a
few rounds instead of overshooting)."""
TOLERANCE = 0.02
"""Relative agreement accepted where the measurement has no interval."""

_DIST: TypeAdapter[Any] = TypeAdapter(Distribution)


def as_yaml(dist: Any, digits: int = 4) -> Any:
    """A distribution in the scenario language (durations written in ms, to ``digits``
    significant digits)."""

    def ms(x: float) -> str:
        return f"{x * 1000:.{digits}g}ms"

    if isinstance(dist, Constant):
        return ms(dist.value)
    kind = dist.kind if isinstance(dist, _Scaled) else type(dist)
    if kind is Exponential:
        return {"distribution": "exponential", "mean": ms(dist.mean)}
    if kind in (LogNormal, Gamma):
        name = "lognormal" if kind is LogNormal else "gamma"
        return {
            "distribution": name,
            "mean": ms(dist.mean),
            "cv": round(math.sqrt(dist.scv), 3 if digits <= 4 else 8),
        }
    if isinstance(dist, Uniform):
        return {"distribution": "uniform", "low": ms(dist.low), "high": ms(dist.high)}
    if isinstance(dist, Empirical):
        return {"distribution": "empirical", "samples": [ms(x) for x in dist.samples]}
    raise TypeError(f"no YAML form for {dist!r}")  # pragma: no cover


def scaled(dist: Any, factor: float) -> Any:
    """The distribution with every duration times ``factor`` (same shape)."""
    return _DIST.validate_python(as_yaml(_times(dist, factor), digits=10))


def _times(dist: Any, f: float) -> Any:
    if isinstance(dist, Constant):
        return dist.model_copy(update={"value": dist.value * f})
    if isinstance(dist, Uniform):
        return dist.model_copy(update={"low": dist.low * f, "high": dist.high * f})
    if isinstance(dist, Empirical):
        return dist.model_copy(update={"samples": [x * f for x in dist.samples]})
    return _Scaled(dist, f)


class _Scaled:
    """A parametric distribution seen with its mean times a factor (same cv)."""

    def __init__(self, dist: Any, f: float):
        self.mean, self.scv, self.kind = dist.mean * f, dist.scv, type(dist)


def with_service_times(scenario: Scenario, times: dict[str, Any]) -> Scenario:
    comps = dict(scenario.components)
    for name, dist in times.items():
        comps[name] = comps[name].model_copy(update={"service_time": dist})
    return scenario.model_copy(update={"components": comps})


def tunable(scenario: Scenario) -> list[str]:
    """Components whose service time the search may scale: pooled ones and delays with a
    service time above zero."""
    out = []
    for name, c in scenario.components.items():
        st = getattr(c, "service_time", None)
        if st is not None and st.mean > 0 and (kind_of(c).pooled or c.type == "delay"):
            out.append(name)
    return out


@dataclass
class Round:
    scales: dict[str, float]
    predicted: dict[str, Latency]
    """Per request type: the predicted latency statistics with intervals."""


@dataclass
class SearchResult:
    scales: dict[str, float]
    """Factor applied to each component's mean service time."""
    std_error: dict[str, float | None]
    """Standard error of each scale from the last round's regression."""
    groups: list[list[str]]
    """Components that share one scale (not separable by the measurements)."""
    rounds: list[Round] = field(default_factory=list)
    converged: bool = False
    unconstrained: list[str] = field(default_factory=list)
    """Tunable components no measured request type visits."""
    shares: dict[str, tuple[str, float, float]] = field(default_factory=dict)
    """Per request type, in the last round: the tunable component with most of its time,
    that share, and the mean time spent elsewhere."""


def _target(measured: dict[str, Any], name: str) -> tuple[float, float]:
    """(measured mean, its standard error: from the interval, else TOLERANCE of it)."""
    lat = measured["by_type"][name]["latency_s"]
    mean = float(lat["mean"])
    ci = (lat.get("ci95") or {}).get("mean")
    se = (ci[1] - ci[0]) / (2 * 1.96) if ci else TOLERANCE * mean
    return mean, max(se, 1e-6 * mean)


def _within(measured: dict[str, Any], name: str, predicted: float | None) -> bool:
    if predicted is None:
        return False
    lat = measured["by_type"][name]["latency_s"]
    ci = (lat.get("ci95") or {}).get("mean")
    if ci:
        return bool(ci[0] <= predicted <= ci[1])
    return abs(predicted - lat["mean"]) <= TOLERANCE * lat["mean"]


def _groups(columns: np.ndarray, names: list[str]) -> list[list[int]]:
    """Columns that are multiples of each other (the same share of every type's time)."""
    groups: list[list[int]] = []
    unit = [c / (np.linalg.norm(c) or 1.0) for c in columns.T]
    for j in range(len(names)):
        for g in groups:
            if float(unit[g[0]] @ unit[j]) > 0.9999:
                g.append(j)
                break
        else:
            groups.append([j])
    return groups


def search(
    scenario: Scenario,
    measured: dict[str, Any],
    simulate: Callable[[Scenario], Result],
    *,
    max_rounds: int = MAX_ROUNDS,
) -> SearchResult:
    """Scales of the tunable components' service times that make ``simulate`` (the
    scenario at the measured load) match ``measured``'s per-type mean latencies."""
    names = [n for n in measured["by_type"] if n in scenario.requests]
    names = [n for n in names if measured["by_type"][n]["latency_s"]["mean"] is not None]
    comps = tunable(scenario)
    base = {c: scenario.components[c].service_time for c in comps}  # type: ignore[union-attr]
    scales = dict.fromkeys(comps, 1.0)
    result = SearchResult(scales, dict.fromkeys(comps), [])
    for _ in range(max_rounds):
        current = with_service_times(scenario, {c: scaled(base[c], scales[c]) for c in comps})
        res = simulate(current)
        predicted = {n: res.requests[n].latency for n in names}
        result.rounds.append(Round(dict(scales), predicted))
        t = np.zeros((len(names), len(comps)))
        other = np.zeros(len(names))
        m = np.zeros(len(names))
        w = np.zeros(len(names))
        for i, n in enumerate(names):
            spent = res.requests[n].time_by_component
            for j, c in enumerate(comps):
                t[i, j] = spent.get(c, 0.0)
            mean = predicted[n].mean
            if mean is None:  # saturated: the scales are far too large
                mean = 10 * max(_target(measured, n)[0], t[i].sum())
            other[i] = max(0.0, mean - t[i].sum())
            m[i], se_i = _target(measured, n)
            w[i] = 1.0 / se_i
            if comps and mean > 0:
                j = int(np.argmax(t[i]))
                result.shares[n] = (comps[j], float(t[i, j] / mean), float(mean - t[i, j]))
        if all(_within(measured, n, predicted[n].mean) for n in names):
            result.converged = True
            break
        visited = [j for j in range(len(comps)) if t[:, j].any()]
        result.unconstrained = [comps[j] for j in range(len(comps)) if j not in visited]
        groups = [[visited[k] for k in g] for g in _groups(t[:, visited], comps)]
        result.groups = [[comps[j] for j in g] for g in groups]
        a = np.stack([t[:, g].sum(axis=1) for g in groups], axis=1) * w[:, None]
        b = (m - other) * w
        s, _ = nnls(a, b)
        resid = b - a @ s
        dof = max(1, len(names) - len(groups))
        s2 = float(resid @ resid) / dof
        try:
            cov = np.linalg.inv(a.T @ a) * max(s2, 1.0)
            se = np.sqrt(np.clip(np.diag(cov), 0, None))
        except np.linalg.LinAlgError:
            se = np.full(len(groups), np.nan)
        for k, g in enumerate(groups):
            step = float(np.clip(s[k], 1 / STEP_LIMIT, STEP_LIMIT))
            for j in g:
                c = comps[j]
                scales[c] *= step
                result.std_error[c] = (
                    None if math.isnan(se[k]) else float(se[k]) * scales[c] / max(step, 1e-9)
                )
    result.scales = scales
    return result

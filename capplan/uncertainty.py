"""Uncertain inputs: any number in a scenario given as a range, ``{between: [low, high]}``,
with what is believed inside it (``distribution``: uniform, triangular with a ``mode``,
normal or lognormal with the range as their central ``confidence`` interval).

The scenario itself is read at the beliefs' medians (the central inputs), so everything
that reads a scenario works as before. ``simulate_uncertain`` then draws ``samples``
points over the ranges by Latin hypercube (scipy.stats.qmc), simulates each with its
replications (all at once, on the runner), and reports every output twice: the
simulation's interval at the central inputs, and its spread across the inputs (p5, p50,
p95 over the samples), with the share of samples in which each SLO held and the inputs
each output follows most (Spearman rank correlation across the samples).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from capplan.results.model import interval
from capplan.sweep import NUMBER

if TYPE_CHECKING:
    from capplan.results.model import Result
    from capplan.scenario.model import Scenario
    from capplan.sim.runner import Runner

DEFAULT_SAMPLES = 32
HEADLINE = ("latency_mean", "latency_p95", "latency_p99", "error_rate", "throughput_rps")
"""The whole system's outputs, listed first; then every request type's p95, every
component's utilization and the monthly cost (:func:`figures`)."""


def figures(r: Result) -> dict[str, tuple[float | None, tuple[float, float] | None]]:
    """Every output a result's spread is reported for, by name: (value, its 95% interval
    over the replications)."""
    lat = r.latency
    out: dict[str, tuple[float | None, tuple[float, float] | None]] = {
        f"latency_{s}": (lat.get(s), lat.ci95.get(s)) for s in ("mean", "p95", "p99")
    }
    out["error_rate"] = (r.error_rate, interval(r.data.get("error_rate_ci95")))
    out["throughput_rps"] = (r.throughput_rps, interval(r.data.get("throughput_rps_ci95")))
    for name, q in r.requests.items():
        out[f"requests.{name}.latency_p95"] = (q.latency.p95, q.latency.ci95.get("p95"))
    for name, c in r.components.items():
        out[f"components.{name}.utilization"] = (c.utilization, c.ci95.get("utilization"))
    cost = r.section("cost") or {}
    if cost.get("monthly_usd") is not None:
        out["cost.monthly_usd"] = (cost["monthly_usd"], interval(cost.get("monthly_usd_ci95")))
    return out


SHAPES = ("uniform", "triangular", "normal", "lognormal")
KEYS = {"between", "distribution", "mode", "confidence"}
TAIL = 0.001
"""Normal and lognormal draws are cut at these quantiles (0.1% and 99.9%): a sample never
lands in a tail the estimate does not speak for."""


@dataclass(frozen=True)
class Uncertain:
    """One input given as a range, with the shape of what is believed within it.

    ``uniform`` (the default): every value in [low, high] alike. ``triangular``: most
    likely at ``mode``, falling to nothing at both ends. ``normal`` and ``lognormal``:
    [low, high] is the central ``confidence`` interval (default 90%), symmetric in the
    value or in its logarithm."""

    path: tuple[str | int, ...]
    low: float
    high: float
    unit: str
    integer: bool
    shape: str = "uniform"
    mode: float | None = None
    confidence: float | None = None

    @property
    def name(self) -> str:
        return ".".join(str(p) for p in self.path)

    def quantile(self, u: float) -> float:
        """The value at quantile ``u`` of the belief."""
        from scipy import stats

        lo, hi = self.low, self.high
        if hi == lo:
            return lo
        if self.shape == "uniform":
            return lo + u * (hi - lo)
        if self.shape == "triangular":
            assert self.mode is not None
            return float(stats.triang((self.mode - lo) / (hi - lo), loc=lo, scale=hi - lo).ppf(u))
        u = min(max(u, TAIL), 1 - TAIL)
        z = float(stats.norm.ppf(0.5 + (self.confidence or 0.9) / 2))
        if self.shape == "normal":
            return (lo + hi) / 2 + (hi - lo) / (2 * z) * float(stats.norm.ppf(u))
        mid, half = (math.log(lo) + math.log(hi)) / 2, (math.log(hi) - math.log(lo)) / 2
        return math.exp(mid + half / z * float(stats.norm.ppf(u)))

    def value(self, u: float) -> Any:
        """The value at quantile ``u``, as YAML would write it."""
        x = self.quantile(u)
        if self.integer:
            return round(x)
        return f"{x:.9g}{self.unit}" if self.unit else x

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.name,
            "low": self.low,
            "high": self.high,
            "unit": self.unit,
            "distribution": self.shape,
        }
        if self.mode is not None:
            out["mode"] = self.mode
        if self.confidence is not None:
            out["confidence"] = self.confidence
        return out


def _parse(value: Any) -> tuple[float, str] | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value), ""
    m = NUMBER.match(str(value))
    return (float(m.group(1)), m.group(2)) if m else None


def find(
    data: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every ``{between: ...}`` node, with its path."""
    if isinstance(data, dict):
        if "between" in data:
            yield path, data
            return
        for k, v in data.items():
            yield from find(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from find(v, (*path, i))


def parse(data: Any) -> tuple[list[Uncertain], list[tuple[tuple[str | int, ...], str, Any]]]:
    """The uncertain inputs of scenario data, and the problems of malformed ranges."""
    found: list[Uncertain] = []
    problems: list[tuple[tuple[str | int, ...], str, Any]] = []
    for path, node in find(data):
        found_one, problem = _one(path, node)
        if problem is not None:
            problems.append(problem)
        elif found_one is not None:
            found.append(found_one)
    return found, problems


def _one(
    path: tuple[str | int, ...], node: dict[str, Any]
) -> tuple[Uncertain | None, tuple[tuple[str | int, ...], str, Any] | None]:
    """One range node read, or the problem with it."""
    from capplan.scenario.units import parse_fraction

    extra = sorted(set(node) - KEYS)
    if extra:
        return None, ((*path, extra[0]), f"a range takes {', '.join(sorted(KEYS))}", None)
    spec = node["between"]
    where = (*path, "between")
    if not isinstance(spec, list) or len(spec) != 2:
        return None, (where, "a range is [low, high]", None)
    lo, hi = _parse(spec[0]), _parse(spec[1])
    if lo is None or hi is None:
        return None, (where, "a range is two numbers, with a unit where the value has one", None)
    if lo[1] != hi[1]:
        return None, (where, "both ends need the same unit", f"{spec[0]}, {spec[1]}")
    if lo[0] > hi[0]:
        return None, (where, "low is above high", f"{spec[0]}, {spec[1]}")
    shape = node.get("distribution", "uniform")
    if shape not in SHAPES:
        return None, ((*path, "distribution"), f"one of {', '.join(SHAPES)}", shape)
    mode = None
    if "mode" in node:
        m = _parse(node["mode"])
        if shape != "triangular":
            return None, ((*path, "mode"), "only a triangular range has a mode", node["mode"])
        if m is None or m[1] != lo[1] or not lo[0] <= m[0] <= hi[0]:
            return None, (
                (*path, "mode"),
                f"a value inside the range, in its unit ({spec[0]} to {spec[1]})",
                node["mode"],
            )
        mode = m[0]
    elif shape == "triangular":
        return None, ((*path, "mode"), "a triangular range needs its most likely value", None)
    confidence = None
    if "confidence" in node:
        if shape not in ("normal", "lognormal"):
            return None, (
                (*path, "confidence"),
                "only a normal or lognormal range has a confidence: the others hold every value",
                node["confidence"],
            )
        try:
            confidence = parse_fraction(node["confidence"])
        except ValueError as exc:
            return None, ((*path, "confidence"), str(exc), node["confidence"])
        if not 0 < confidence < 1:
            return None, (
                (*path, "confidence"),
                "between 0% and 100%, both excluded",
                node["confidence"],
            )
    if shape == "lognormal" and lo[0] <= 0:
        return None, (
            where,
            "a lognormal range is above zero at both ends",
            f"{spec[0]}, {spec[1]}",
        )
    integer = not lo[1] and all(isinstance(v, int) and not isinstance(v, bool) for v in spec)
    found = Uncertain(path, lo[0], hi[0], lo[1], integer, shape, mode, confidence)
    if shape == "normal" and lo[0] >= 0 and found.quantile(TAIL) < 0:
        return None, (
            where,
            "a normal range this wide reaches below zero (its 0.1% point is "
            f"{found.quantile(TAIL):.3g}): give a lognormal one for a positive quantity",
            f"{spec[0]}, {spec[1]}",
        )
    return found, None


def with_values(data: dict[str, Any], inputs: list[Uncertain], us: list[float]) -> dict[str, Any]:
    """The data with each range replaced by its value at quantile ``u``."""
    out = copy.deepcopy(data)
    for spec, u in zip(inputs, us, strict=True):
        node: Any = out
        for part in spec.path[:-1]:
            node = node[part]
        node[spec.path[-1]] = spec.value(u)
    return out


def _quantiles(values: list[float | None]) -> dict[str, float | None]:
    xs = np.array([v for v in values if v is not None], dtype=float)
    if xs.size == 0:
        return {"p5": None, "p50": None, "p95": None, "saturated_samples": len(values)}
    q = np.quantile(xs, [0.05, 0.5, 0.95])
    return {
        "p5": float(q[0]),
        "p50": float(q[1]),
        "p95": float(q[2]),
        "saturated_samples": len(values) - int(xs.size),
    }


def sample_scenarios(
    scenario: Scenario, samples: int, seed: int
) -> tuple[list[list[float]], list[Scenario]]:
    """Latin hypercube quantiles and the scenario at each."""
    from scipy.stats import qmc

    from capplan.scenario.loader import validate_data

    inputs: list[Uncertain] = scenario._uncertain
    raw: dict[str, Any] = scenario._raw
    unit = qmc.LatinHypercube(d=len(inputs), seed=seed).random(samples)
    scns = []
    varied = {str(s.path[0]) for s in inputs}
    keep: dict[str, Any] = {}  # what the command line set on the scenario (--seed, --scale)
    if "simulation" not in varied:
        keep["simulation"] = scenario.simulation
    if "load_scale" not in varied:
        keep["load_scale"] = scenario.load_scale
    for u in unit:
        data = with_values(raw, inputs, list(map(float, u)))
        s = validate_data(data, scenario._origins, scenario._file)
        scns.append(s.model_copy(update=keep))
    return [list(map(float, u)) for u in unit], scns


def simulate_uncertain(
    scenario: Scenario,
    *,
    samples: int = DEFAULT_SAMPLES,
    runner: Runner | None = None,
    progress: Callable[[int, int], None] | None = None,
    max_visits: float | None = None,
) -> dict[str, Any]:
    """The result at the central inputs, with an ``uncertainty`` section (docs/json.md)."""
    from scipy.stats import spearmanr

    from capplan.api import run_all

    inputs: list[Uncertain] = scenario._uncertain
    us, scns = sample_scenarios(scenario, samples, scenario.simulation.seed)
    results = run_all([scenario, *scns], runner=runner, progress=progress, max_visits=max_visits)
    typed_central, spread = results[0], results[1:]
    drawn = [figures(r) for r in spread]
    values = {o: [d.get(o, (None, None))[0] for d in drawn] for o in figures(typed_central)}
    outputs = {o: _quantiles(v) for o, v in values.items()}
    held: dict[str, list[bool]] = {}
    for r in spread:
        for objective in r.objectives:
            held.setdefault(f"{objective.name} [{objective.scope}]", []).append(objective.passed)
    sensitivity: dict[str, list[dict[str, Any]]] = {}
    for o, vals in values.items():
        ranked = []
        for j, spec in enumerate(inputs):
            pairs = [(u[j], v) for u, v in zip(us, vals, strict=True) if v is not None]
            if len(pairs) < 3 or len({v for _, v in pairs}) < 2:
                continue
            rho = spearmanr([p[0] for p in pairs], [p[1] for p in pairs]).statistic
            if not math.isnan(rho):
                ranked.append({"input": spec.name, "rank_correlation": float(rho)})
        sensitivity[o] = sorted(ranked, key=lambda x: -abs(x["rank_correlation"]))
    central = typed_central.to_dict()
    central["uncertainty"] = {
        "samples": samples,
        "method": "Latin hypercube over the ranges' quantiles (scipy.stats.qmc), each "
        "sample simulated with the scenario's replications",
        "inputs": [s.describe() for s in inputs],
        "outputs": outputs,
        "slo_probability": {k: sum(v) / len(v) for k, v in held.items()},
        "sensitivity": sensitivity,
    }
    return central

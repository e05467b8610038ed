"""Uncertain inputs: any number in a scenario given as a range, ``{between: [low, high]}``.

The scenario itself is read at the ranges' middles (the central inputs), so everything
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

from capplan.sweep import NUMBER

if TYPE_CHECKING:
    from capplan.scenario.model import Scenario
    from capplan.sim.runner import Runner

DEFAULT_SAMPLES = 32
OUTPUTS = (
    ("latency_mean", lambda r: r["latency_s"]["mean"]),
    ("latency_p95", lambda r: r["latency_s"]["p95"]),
    ("latency_p99", lambda r: r["latency_s"]["p99"]),
    ("error_rate", lambda r: r["error_rate"]),
    ("throughput_rps", lambda r: r["throughput_rps"]),
)


@dataclass(frozen=True)
class Uncertain:
    """One input given as a range."""

    path: tuple[str | int, ...]
    low: float
    high: float
    unit: str
    integer: bool

    @property
    def name(self) -> str:
        return ".".join(str(p) for p in self.path)

    def value(self, u: float) -> Any:
        """The value at quantile ``u`` of the range, as YAML would write it."""
        x = self.low + u * (self.high - self.low)
        if self.integer:
            return round(x)
        return f"{x:.9g}{self.unit}" if self.unit else x


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
        if set(data) == {"between"}:
            yield path, data["between"]
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
    for path, spec in find(data):
        if not isinstance(spec, list) or len(spec) != 2:
            problems.append(((*path, "between"), "a range is [low, high]", None))
            continue
        lo, hi = _parse(spec[0]), _parse(spec[1])
        if lo is None or hi is None:
            problems.append(
                (
                    (*path, "between"),
                    "a range is two numbers, with a unit where the value has one",
                    None,
                )
            )
            continue
        if lo[1] != hi[1]:
            problems.append(
                ((*path, "between"), "both ends need the same unit", f"{spec[0]}, {spec[1]}")
            )
            continue
        if lo[0] > hi[0]:
            problems.append(((*path, "between"), "low is above high", f"{spec[0]}, {spec[1]}"))
            continue
        integer = not lo[1] and all(isinstance(v, int) and not isinstance(v, bool) for v in spec)
        found.append(Uncertain(path, lo[0], hi[0], lo[1], integer))
    return found, problems


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

    from capplan.api import simulate_all

    inputs: list[Uncertain] = scenario._uncertain
    us, scns = sample_scenarios(scenario, samples, scenario.simulation.seed)
    results = simulate_all(
        [scenario, *scns], runner=runner, progress=progress, max_visits=max_visits
    )
    central, spread = results[0], results[1:]
    values = {o: [get(r) for r in spread] for o, get in OUTPUTS}
    outputs = {o: _quantiles(v) for o, v in values.items()}
    held: dict[str, list[bool]] = {}
    for r in spread:
        for slo in r["slos"]:
            held.setdefault(f"{slo['name']} [{slo['scope']}]", []).append(bool(slo["passed"]))
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
    central["uncertainty"] = {
        "samples": samples,
        "method": "Latin hypercube over the ranges (scipy.stats.qmc), each sample simulated "
        "with the scenario's replications",
        "inputs": [{"path": s.name, "low": s.low, "high": s.high, "unit": s.unit} for s in inputs],
        "outputs": outputs,
        "slo_probability": {k: sum(v) / len(v) for k, v in held.items()},
        "sensitivity": sensitivity,
    }
    return central

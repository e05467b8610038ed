"""Sweeps: one scenario at many values of its inputs, every point simulated with its
replications, as one tidy table.

A ``--vary`` names a value by its YAML path and gives the values: ``path=1..20:20`` (20
evenly spaced from 1 to 20; integers when both ends are), ``path=3,5,10`` (a list), with
units where the value has them (``service_time=40ms..80ms:5``). The points are the grid
of every combination, or, with ``samples``, a Latin hypercube over the ranges
(scipy.stats.qmc; lists are sampled by index). Each point is the scenario file with
those values set and validated again, so a bad value is reported like one in the file.
All points' replications go to one runner at once (local processes or a Dask cluster),
so more workers mean less wall time.
"""

from __future__ import annotations

import copy
import difflib
import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capplan.errors import CapplanError, ScenarioError
from capplan.results.model import Result, typed

if TYPE_CHECKING:
    import pandas as pd

    from capplan.scenario.model import Scenario
    from capplan.sim.runner import Runner

SWEEP_KIND = "capplan-sweep"
"""The ``kind`` of ``capplan sweep --json`` output, which ``capplan report --from`` reads."""

MAX_POINTS = 1000
"""Most points a sweep runs without being told to (``--yes``)."""

# a number with its unit as written ("40ms", "2.5", "3/s"); also read by capplan.uncertainty
NUMBER = re.compile(r"^\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*([A-Za-z%/]*[A-Za-z%]?)\s*$")


class SweepError(CapplanError):
    """A sweep that cannot be run as asked."""


@dataclass(frozen=True)
class Vary:
    """One input varied: its YAML path and its values (or range)."""

    path: tuple[str, ...]
    values: tuple[Any, ...]
    """The grid's values, as they would be written in YAML."""
    low: float | None = None
    high: float | None = None
    unit: str = ""
    integer: bool = False

    @property
    def name(self) -> str:
        return ".".join(self.path)

    def at(self, u: float) -> Any:
        """The value at quantile ``u`` in [0, 1) (a range: linear; a list: by index)."""
        if self.low is None or self.high is None:
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        x = self.low + u * (self.high - self.low)
        return _written(round(x) if self.integer else x, self.unit)


def _written(x: float, unit: str) -> Any:
    if unit:
        return f"{x:.6g}{unit}"
    return int(x) if isinstance(x, int) or (float(x).is_integer() and abs(x) < 1e15) else x


def _scalar(text: str) -> Any:
    """A list value: a number if it reads as one, else the text (for YAML to parse)."""
    try:
        number = float(text)
    except ValueError:
        return text.strip()
    return int(number) if number.is_integer() and "." not in text else number


def parse_vary(spec: str) -> Vary:
    """``path=lo..hi:n`` or ``path=a,b,c``."""
    path_text, sep, values = spec.partition("=")
    path = tuple(p for p in path_text.strip().split(".") if p)
    if not sep or not path or not values.strip():
        raise SweepError(f"--vary {spec!r}: write path=low..high:points or path=a,b,c")
    if ".." in values:
        span, _, count = values.partition(":")
        lo_text, _, hi_text = span.partition("..")
        lo, hi = NUMBER.match(lo_text), NUMBER.match(hi_text)
        if lo is None or hi is None:
            raise SweepError(f"--vary {spec!r}: a range is two numbers, low..high")
        if lo.group(2) != hi.group(2):
            raise SweepError(f"--vary {spec!r}: both ends need the same unit")
        low, high = float(lo.group(1)), float(hi.group(1))
        if low > high:
            raise SweepError(f"--vary {spec!r}: low ({lo_text.strip()}) is above high")
        integer = not lo.group(2) and "." not in lo_text + hi_text and "e" not in span.lower()
        n: int | None = None
        if count.strip():
            try:
                n = int(count)
            except ValueError:
                raise SweepError(
                    f"--vary {spec!r}: the point count must be a whole number"
                ) from None
            if not 1 <= n <= 100_000:
                raise SweepError(f"--vary {spec!r}: between 1 and 100,000 points")
        grid: tuple[Any, ...] = ()
        if n is not None:
            step = (high - low) / (n - 1) if n > 1 else 0.0
            xs = [low + i * step for i in range(n)]
            if integer:
                if any(abs(x - round(x)) > 1e-9 for x in xs):
                    integer = False
                xs = [round(x) if integer else x for x in xs]
            grid = tuple(_written(x, lo.group(2)) for x in xs)
        return Vary(path, grid, low, high, lo.group(2), integer)
    items = tuple(_scalar(v) for v in values.split(",") if v.strip())
    if not items:
        raise SweepError(f"--vary {spec!r}: no values")
    return Vary(path, items)


def points(varies: list[Vary], samples: int | None = None, seed: int = 0) -> list[dict[str, Any]]:
    """The points to simulate, each a {YAML path: value} map, in a stable order."""
    if samples is None:
        for v in varies:
            if not v.values:
                raise SweepError(
                    f"--vary {v.name}: a range needs its number of points (low..high:n) "
                    "unless --samples draws from it"
                )
        return [
            dict(zip((v.name for v in varies), combo, strict=True))
            for combo in itertools.product(*(v.values for v in varies))
        ]
    from scipy.stats import qmc

    unit = qmc.LatinHypercube(d=len(varies), seed=seed).random(samples)
    return [{v.name: v.at(float(u[j])) for j, v in enumerate(varies)} for u in unit]


def _check_path(data: dict[str, Any], vary: Vary) -> None:
    """Every part of the path but the last exists in the file (a mapping, or a list by
    index); the last may be absent (a default), and validation judges its name."""
    node: Any = data
    for i, part in enumerate(vary.path[:-1]):
        where = ".".join(vary.path[:i]) or "the top level"
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise SweepError(f"--vary {vary.name}: {where} is a list of {len(node)}")
            node = node[int(part)]
            continue
        if not isinstance(node, dict) or part not in node:
            keys = list(node) if isinstance(node, dict) else []
            near = difflib.get_close_matches(part, keys, n=1)
            hint = f"; did you mean '{near[0]}'?" if near else ""
            raise SweepError(f"--vary {vary.name}: no '{part}' under {where}{hint}")
        node = node[part]


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node: Any = data
    for part in path[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(path[-1])] = value
    else:
        node[path[-1]] = value


def scenarios(file: Path, varies: list[Vary], pts: list[dict[str, Any]]) -> list[Scenario]:
    """The scenario at each point, validated; every point's problems at once."""
    from capplan.scenario.loader import load_data, validate_data

    data, origins, shown = load_data(file)
    for v in varies:
        _check_path(data, v)
    out: list[Scenario] = []
    problems: list[str] = []
    by_name = {v.name: v for v in varies}
    for i, point in enumerate(pts):
        d = copy.deepcopy(data)
        for name, value in point.items():
            _set(d, by_name[name].path, value)
        try:
            out.append(validate_data(d, origins, shown))
        except ScenarioError as exc:
            values = ", ".join(f"{k}={v}" for k, v in point.items())
            problems += [f"point {i + 1} ({values}): {p}" for p in exc.problems]
    if problems:
        shown_problems = problems[:20] + (
            [f"... and {len(problems) - 20} more"] if len(problems) > 20 else []
        )
        raise SweepError("\n".join(shown_problems))
    return out


def sweep(
    file: Path,
    varies: list[Vary],
    *,
    samples: int | None = None,
    runner: Runner | None = None,
    max_points: int = MAX_POINTS,
    progress: Callable[[int, int], None] | None = None,
    max_visits: float | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(points, results): each point's values and its simulation result."""
    from capplan.api import simulate_all

    if not varies:
        raise SweepError("give at least one --vary")
    names = [v.name for v in varies]
    if len(set(names)) != len(names):
        raise SweepError("each --vary names a different value")
    count = samples if samples is not None else 1
    if samples is None:
        for v in varies:
            count *= max(1, len(v.values))
    if count > max_points:
        raise SweepError(
            f"{count:,} points is more than --max-points {max_points:,}: narrow the sweep, "
            "or raise --max-points, or say --yes"
        )
    pts = points(varies, samples)
    scns = scenarios(file, varies, pts)
    results = simulate_all(scns, progress=progress, max_visits=max_visits, runner=runner)
    return pts, results


def frame(pts: list[dict[str, Any]], results: list[dict[str, Any]]) -> pd.DataFrame:
    """The tidy table: one row per point, metric and scope (as ``result_frame``), with a
    ``point`` number and one column per varied value."""
    import pandas as pd

    from capplan.results.frame import result_frame

    parts = []
    for i, (point, result) in enumerate(zip(pts, results, strict=True), start=1):
        f = result_frame(result)
        f.insert(0, "point", i)
        at = 1
        for name, value in point.items():
            if name in f.columns:  # load_scale: the table has it already
                continue
            f.insert(at, name, value)
            at += 1
        parts.append(f)
    return pd.concat(parts, ignore_index=True)


def summary(
    pts: list[dict[str, Any]], results: Sequence[Mapping[str, Any] | Result]
) -> list[dict[str, Any]]:
    """Per SLO (objective and scope): at how many points it holds and the first point, in
    sweep order, where it stops holding."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for i, (point, result) in enumerate(zip(pts, typed(results), strict=True), start=1):
        for slo in result.objectives:
            key = (slo.name, slo.scope)
            row = rows.setdefault(
                key, {"objective": key[0], "scope": key[1], "held": 0, "first_miss": None}
            )
            if slo.passed:
                row["held"] += 1
            elif row["first_miss"] is None:
                row["first_miss"] = {"point": i, **point}
    return list(rows.values())

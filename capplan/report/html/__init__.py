"""The HTML report: one self-contained page of the charts a capacity review needs.

:func:`compute` runs what the page shows (the simulations, and for each scenario whose load
holds still, the latency-against-load curve) and returns it as a JSON-ready payload;
:func:`render` turns a payload into the page; :func:`read_inputs` takes saved payloads
back (a report's, simulate's, a sweep's or a load test's JSON).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capplan.errors import CapplanError
from capplan.report.html.page import render
from capplan.report.html.spread import compact_sweep, is_sweep

if TYPE_CHECKING:
    from capplan.sim import Progress
    from capplan.sim.runner import Runner

__all__ = ["HTML_SUFFIXES", "check_html_path", "compute", "payload", "read_inputs", "render"]

HTML_SUFFIXES = (".html", ".htm")
KIND = "capplan-report"


def check_html_path(path: Path, option: str) -> None:
    """Refuse, before anything runs, an output the page cannot be written to."""
    if str(path) == "-":
        return
    if path.suffix.lower() not in HTML_SUFFIXES:
        raise CapplanError(f"{option} {path}: an HTML report's name ends in .html")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise CapplanError(f"{option} {path}: folder {parent} does not exist")
    if path.is_dir():
        raise CapplanError(f"{option} {path}: is a folder")


def payload(
    results: list[dict[str, Any]],
    curves: list[dict[str, Any]] | None = None,
    loadtests: list[dict[str, Any]] | None = None,
    sources: dict[str, str] | None = None,
    sweeps: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "kind": KIND,
        "results": results,
        "curves": curves or [],
        "loadtests": loadtests or [],
        "sweeps": sweeps or [],
        "sources": sources or {},
    }


PARTS = ("results", "curves", "loadtests", "sweeps")
"""The lists a payload holds, merged in order when payloads are combined."""


def compute(
    scenarios: list[Any],
    sources: dict[str, str],
    *,
    curve: bool = True,
    jobs: int | None = None,
    progress: Progress | None = None,
    on_point: Callable[[str, float, bool], None] | None = None,
    samples: int = 32,
    runner: Runner | None = None,
) -> dict[str, Any]:
    """Simulate ``scenarios`` and, with ``curve``, sweep the load of each whose run is
    stationary (a time-varying run's own timeline is its picture). A scenario with
    uncertain inputs is also simulated at ``samples`` points over them
    (:mod:`capplan.uncertainty`). ``progress`` counts the first simulations'
    replications; ``on_point(scenario, load scale, SLOs hold)`` follows the sweep.
    ``runner``: where the simulations run (default: ``jobs`` local processes)."""
    from capplan.api import simulate_all
    from capplan.headroom import load_curve
    from capplan.sim.runner import Runner
    from capplan.uncertainty import simulate_uncertain

    if runner is None:
        with Runner(jobs) as own:
            return compute(
                scenarios,
                sources,
                curve=curve,
                progress=progress,
                on_point=on_point,
                samples=samples,
                runner=own,
            )
    results = simulate_all(scenarios, progress=progress, runner=runner)
    for i, s in enumerate(scenarios):
        if s._uncertain:
            results[i] = simulate_uncertain(s, samples=samples, runner=runner)
    curves = []
    if curve:
        for s, r in zip(scenarios, results, strict=True):
            if r["timeline"]["stationary"] and r["slos"]:
                follow = None
                if on_point is not None:
                    follow = functools.partial(on_point, s.name)
                curves.append(load_curve(s, runner=runner, progress=follow, known=r))
    return payload(results, curves, None, sources)


def _kind(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    if data.get("kind") == KIND and isinstance(data.get("results"), list):
        return "report"
    if "measured" in data and "comparison" in data:
        return "loadtest"
    if is_sweep(data):
        return "sweep"
    if isinstance(data.get("scenarios"), list) and all(
        isinstance(r, dict) and "slos" in r for r in data["scenarios"]
    ):
        return "results"
    if "slos" in data and "latency_s" in data and "components" in data:
        return "result"
    return None


def read_inputs(paths: list[Path]) -> dict[str, Any]:
    """Payloads saved before, merged: a report's JSON, simulate's ``--json`` or loadtest's
    ``--json``. Anything else is refused, naming the file."""
    merged = payload([])
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CapplanError(f"--from {path}: cannot read: {exc.strerror or exc}") from exc
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CapplanError(f"--from {path}: not JSON ({exc})") from exc
        kind = _kind(data)
        if kind is None:
            raise CapplanError(
                f"--from {path}: not capplan JSON (expected the --json output of report, "
                "simulate, sweep or loadtest)"
            )
        if kind == "report":
            for key in PARTS:
                merged[key] += data.get(key) or []
            merged["sources"].update(data.get("sources") or {})
        elif kind == "loadtest":
            merged["loadtests"].append(data)
        elif kind == "sweep":
            try:
                merged["sweeps"].append(compact_sweep(data))
            except (KeyError, TypeError, ValueError) as exc:
                raise CapplanError(
                    f"--from {path}: a sweep's JSON without its points and results ({exc})"
                ) from exc
        elif kind == "results":
            merged["results"] += data["scenarios"]
        else:
            merged["results"].append(data)
    return merged

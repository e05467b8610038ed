"""Calibration: measurements in, a scenario you can trust out, with the fit's quality.

``calibrate(scenario, sources)`` reads the measurements (:mod:`.sources`), estimates what
they support and returns a :class:`Calibration`: the changed values (each with its
source, sample size and fit), the predicted latency before and after against the
measured one, and the overlay that holds only the changes (``extends:`` the scenario).

- Service times inside the model (:mod:`.search`), from request records or statistics.
- Their shape (lognormal or gamma by maximum likelihood, judged by a KS test,
  :mod:`.fits`) for a component that takes most of some request type's time, from
  records; a poor fit is reported and not applied.
- CPU per request (:mod:`.demands`, the Utilization Law regression) from Prometheus CPU
  and request rates.
- The workload's rate and mix, from the system's own traffic (logs, metrics), never from a
  load test, whose rate is the test's choice.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from capplan.calibrate import workload
from capplan.calibrate.demands import utilization_law
from capplan.calibrate.fits import MIN_P, MIN_SAMPLES, fit_durations
from capplan.calibrate.search import (
    SearchResult,
    as_yaml,
    scaled,
    search,
    tunable,
    with_service_times,
)
from capplan.calibrate.sources import Measurements, read_sources
from capplan.errors import CalibrationError
from capplan.results.model import Latency, Result
from capplan.scenario.model import Scenario

DOMINANT = 0.7
"""Share of a request type's time one component must take for the type's latencies to
give that component's service-time shape."""


@dataclass
class Change:
    """One calibrated value."""

    path: tuple[str, ...]
    before: Any
    after: Any
    std_error: str | None
    source: str
    """The comment the overlay writes above it."""


@dataclass
class Calibration:
    scenario: str
    sources: list[str]
    changes: list[Change] = field(default_factory=list)
    latency: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per request type: measured, predicted before and after (mean, p95 with intervals)
    and whether the calibrated prediction is within the measurement's interval."""
    notes: list[str] = field(default_factory=list)
    """What could not be estimated, and why (more data needed, a poor fit)."""
    search: SearchResult | None = None
    demands: dict[str, Any] = field(default_factory=dict)
    workload: dict[str, Any] = field(default_factory=dict)
    distributions: dict[str, Any] = field(default_factory=dict)
    """Per request type with records: the fitted latency distribution and its test."""

    def to_dict(self) -> dict[str, Any]:
        s = self.search
        return {
            "scenario": self.scenario,
            "sources": self.sources,
            "changes": [
                {
                    "path": ".".join(c.path),
                    "before": c.before,
                    "after": c.after,
                    "std_error": c.std_error,
                    "source": c.source,
                }
                for c in self.changes
            ],
            "latency": self.latency,
            "search": None
            if s is None
            else {
                "scales": s.scales,
                "std_error": s.std_error,
                "groups": s.groups,
                "rounds": len(s.rounds),
                "converged": s.converged,
                "unconstrained": s.unconstrained,
            },
            "demands": self.demands,
            "workload": self.workload,
            "distributions": self.distributions,
            "notes": self.notes,
        }


def _stat(lat: dict[str, Any], key: str) -> dict[str, Any]:
    ci = (lat.get("ci95") or {}).get(key)
    return {"value": lat.get(key), "ci95": list(ci) if ci else None}


def _predicted(lat: Latency, key: str) -> dict[str, Any]:
    ci = lat.ci95.get(key)
    return {"value": lat.get(key), "ci95": list(ci) if ci else None}


def _latency_rows(
    measured: dict[str, Any], before: Result, after: Result
) -> dict[str, dict[str, Any]]:
    from capplan.loadtest.measure import no_interval_reason

    rows = {}
    for name, m in measured["by_type"].items():
        if name not in after.requests:
            continue
        row: dict[str, Any] = {}
        for key in ("mean", "p95"):
            meas = _stat(m["latency_s"], key)
            pred = after.requests[name].latency
            value = pred.get(key)
            ci = meas["ci95"]
            row[key] = {
                "measured": meas,
                "before": _predicted(before.requests[name].latency, key),
                "after": _predicted(pred, key),
                "within": None if ci is None or value is None else bool(ci[0] <= value <= ci[1]),
                "why_no_interval": (
                    (
                        measured.get("no_interval")
                        or no_interval_reason(key, int(m.get("successes") or 0))
                    )
                    if ci is None
                    else None
                ),
            }
        rows[name] = row
    return rows


def calibrate(
    scenario: Scenario,
    paths: list[Path],
    simulate: Callable[[Scenario], dict[str, Any]] | None = None,
    *,
    search_replications: int = 3,
) -> Calibration:
    """Calibrate ``scenario`` from the measurements at ``paths``. ``simulate`` runs one
    scenario and returns its result in the JSON form (default: :func:`capplan.simulate`
    on a pool of processes kept for the whole calibration)."""
    if simulate is None:
        from capplan.api import simulate as run
        from capplan.sim.runner import Runner

        with Runner(None) as runner:
            return calibrate(
                scenario,
                paths,
                lambda s: run(s, runner=runner),
                search_replications=search_replications,
            )
    given = simulate
    return _calibrate(scenario, paths, lambda s: Result.of(given(s)), search_replications)


def _calibrate(
    scenario: Scenario,
    paths: list[Path],
    simulate: Callable[[Scenario], Result],
    search_replications: int,
) -> Calibration:
    meas = read_sources(scenario, paths)
    cal = Calibration(scenario.name, meas.sources)
    if meas.prometheus is not None:
        _demands(scenario, meas, cal)
    if meas.measured is None:
        if meas.production:
            workload.apply(scenario, meas, cal)
        return cal
    for name, durations in meas.durations.items():
        if len(durations) >= MIN_SAMPLES:
            fit = fit_durations(np.asarray(durations))
            cal.distributions[name] = {
                "family": fit.family,
                "mean_s": fit.mean_s,
                "cv": fit.cv,
                "ks_p": fit.ks_p,
                "requests": fit.n,
                "tried": dict(fit.tried),
                "fits": fit.family != "empirical",
            }
    from capplan.loadtest import predict_at

    at_load = predict_at(scenario, meas.measured)
    quick = at_load.model_copy(
        update={
            "simulation": at_load.simulation.model_copy(
                update={"replications": min(search_replications, at_load.simulation.replications)}
            )
        }
    )
    before = simulate(at_load)
    comps = tunable(scenario)
    base = {c: scenario.components[c].service_time for c in comps}  # type: ignore[union-attr]
    found = search(quick, meas.measured, simulate)
    shaped, fits = _fit_shapes(quick, meas, found, base, simulate)
    if shaped:
        # the shape changes the waits: search the means again from where they are
        start = {c: scaled(shaped.get(c, base[c]), found.scales[c]) for c in comps}
        again = search(with_service_times(quick, start), meas.measured, simulate)
        for c in comps:
            again.scales[c] *= found.scales[c]
            if again.std_error[c] is None:
                again.std_error[c] = found.std_error[c]
        again.rounds = found.rounds + again.rounds
        found = again
    cal.search = found
    final = {c: scaled(shaped.get(c, base[c]), found.scales[c]) for c in comps}
    after = simulate(with_service_times(at_load, final))
    cal.latency = _latency_rows(meas.measured, before, after)
    n = sum(int(v.get("successes") or 0) for v in meas.measured["by_type"].values())
    for c in comps:
        if c in found.unconstrained:
            cal.notes.append(f"{c}: no measured request type visits it, so its service time stays")
            continue
        if abs(found.scales[c] - 1) < 0.01 and c not in shaped:
            continue
        group = next((g for g in found.groups if c in g and len(g) > 1), None)
        se = found.std_error[c]
        how = f"mean x{found.scales[c]:.3g} by simulation search from {n:,} requests"
        if group:
            how += (
                f"; shares one scale with {', '.join(x for x in group if x != c)} (not separable)"
            )
        if c in fits:
            how += f"; shape: {fits[c]}"
        cal.changes.append(
            Change(
                ("components", c, "service_time"),
                as_yaml(base[c]),
                as_yaml(final[c]),
                None if se is None else f"{se * base[c].mean * 1000:.2g}ms",
                how,
            )
        )
    for name, row in cal.latency.items():
        for key in ("mean", "p95"):
            r = row[key]
            if r["why_no_interval"] is None:
                pass
            elif r["why_no_interval"] == meas.measured.get("no_interval"):
                if r["why_no_interval"] not in cal.notes:
                    cal.notes.append(r["why_no_interval"])
            elif r["why_no_interval"]:
                cal.notes.append(f"{name} {key}: no measured interval: {r['why_no_interval']}")
            elif r["within"] is False:
                cal.notes.append(
                    f"{name} {key}: predicted {r['after']['value'] * 1000:.4g}ms is outside the "
                    f"measured interval {r['measured']['ci95'][0] * 1000:.4g}-"
                    f"{r['measured']['ci95'][1] * 1000:.4g}ms: the model's structure or the "
                    "shape of a service time differs from the system's; more data will not fix it"
                )
    if not found.converged:
        cal.notes.append(
            f"the search stopped after {len(found.rounds)} rounds without every mean inside "
            "its interval"
        )
    if meas.production:
        workload.apply(scenario, meas, cal)
    return cal


def _fit_shapes(
    scenario: Scenario,
    meas: Measurements,
    found: SearchResult,
    base: dict[str, Any],
    simulate: Callable[[Scenario], Result],
) -> tuple[dict[str, Any], dict[str, str]]:
    """Shapes for components that take most (DOMINANT) of some request type's time,
    where that type's p95 is measured: the family from a fit of its latencies less the
    mean time elsewhere (when records exist and a family fits; else lognormal), the cv
    searched by simulation until the predicted p95 is within the measured interval."""
    from pydantic import TypeAdapter

    from capplan.scenario.distributions import Distribution

    adapter: TypeAdapter[Any] = TypeAdapter(Distribution)
    shapes: dict[str, Any] = {}
    fits: dict[str, str] = {}
    ranked = sorted(found.shares.items(), key=lambda kv: -kv[1][1])
    for name, (comp, frac, elsewhere) in ranked:
        lat = meas.measured["by_type"][name]["latency_s"] if meas.measured else {}
        if frac < DOMINANT or comp in shapes or lat.get("p95") is None:
            continue
        family, why = _family(base[comp], meas.durations.get(name), elsewhere)
        mean = base[comp].mean  # the mean search scales it

        def shaped(cv: float, family: str = family, mean: float = mean) -> Any:
            return adapter.validate_python(
                {"distribution": family, "mean": f"{mean * 1000:.6g}ms", "cv": round(cv, 4)}
            )

        def p95_at(cv: float, comp: str = comp, shaped: Any = shaped, name: str = name) -> float:
            times = {c: scaled(base[c], found.scales[c]) for c in base}
            times[comp] = scaled(shaped(cv), found.scales[comp])
            return float(
                simulate(with_service_times(scenario, times)).requests[name].latency.p95 or math.inf
            )

        cv, p95, ok = match_p95(p95_at, lat, math.sqrt(base[comp].scv) or 0.5)
        shapes[comp] = shaped(cv)
        verdict = "within" if ok else "closest to"
        fits[comp] = (
            f"{family} ({why}), cv {cv:.3g}: predicted {name} p95 {p95 * 1000:.4g}ms "
            f"{verdict} the measured {lat['p95'] * 1000:.4g}ms"
        )
    return shapes, fits


def _family(dist: Any, durations: list[float] | None, elsewhere: float) -> tuple[str, str]:
    """The family for a component's service time, and why."""
    current = type(dist).__name__.lower()
    default = current if current in ("lognormal", "gamma") else "lognormal"
    if not durations or len(durations) < MIN_SAMPLES:
        return default, "no records to choose a family by"
    own = np.asarray(durations) - max(elsewhere, 0.0)
    own = own[own > 0]
    if own.size < MIN_SAMPLES:
        return default, "too few records"
    fit = fit_durations(own)
    if fit.family == "empirical" or fit.ks_p < MIN_P:
        return default, f"{fit.describe()}: no family fits, so {default}"
    return fit.family, fit.describe()


def match_p95(
    p95_at: Callable[[float], float], lat: dict[str, Any], cv0: float, rounds: int = 8
) -> tuple[float, float, bool]:
    """The cv whose predicted p95 comes closest to the measured one, by geometric
    bisection (a lognormal's or gamma's p95 at a fixed mean grows with its cv over
    0.05-3), and whether it is within the measured interval (3% without one)."""
    target = float(lat["p95"])
    ci = (lat.get("ci95") or {}).get("p95")
    lo_ok, hi_ok = (ci[0], ci[1]) if ci else (target * 0.97, target * 1.03)
    lo, hi = 0.05, 3.0
    cv = min(max(cv0, lo), hi)
    best = (math.inf, cv, math.nan)
    close = (hi_ok - lo_ok) / 8  # inside the interval, near enough its middle to stop
    for _ in range(rounds):
        p95 = p95_at(cv)
        if abs(p95 - target) < best[0]:
            best = (abs(p95 - target), cv, p95)
        if abs(p95 - target) <= close:
            break
        if p95 < target:
            lo = cv
        else:
            hi = cv
        cv = math.sqrt(lo * hi)
    return best[1], best[2], bool(lo_ok <= best[2] <= hi_ok)


def _demands(scenario: Scenario, meas: Measurements, cal: Calibration) -> None:
    """CPU per visit for each component with a CPU series, by the Utilization Law."""
    from capplan.calibrate.visits import visits_per_request

    prom = meas.prometheus
    assert prom is not None
    if prom.rates.empty or prom.cpu.empty:
        return
    index = prom.rates.dropna().index.intersection(prom.cpu.dropna().index)
    types = tuple(t for t in prom.rates.columns if t in scenario.requests)
    if not types:
        raise CalibrationError("no request-rate series maps to a request type of the scenario")
    x = prom.rates.loc[index, list(types)].to_numpy()
    mix = x.sum(axis=0)
    for comp in prom.cpu.columns:
        if comp not in scenario.components:
            continue
        u = prom.cpu.loc[index, comp].to_numpy()
        d = utilization_law(x, u, types)
        cal.demands[comp] = d.as_dict()
        visits = visits_per_request(scenario, comp)
        per_visit_den = sum(mix[i] * visits.get(t, 0.0) for i, t in enumerate(types))
        if per_visit_den <= 0:
            cal.notes.append(f"{comp}: CPU measured, but no request type visits it in the scenario")
            continue
        cpu = float(sum(mix[i] * d.estimate[i] for i in range(len(types))) / per_visit_den)
        var = sum(
            (mix[i] * d.std_error[i]) ** 2
            for i in range(len(types))
            if not math.isnan(d.std_error[i])
        )
        se = math.sqrt(var) / per_visit_den
        c = scenario.components[comp]
        before = getattr(c, "cpu_per_request", None)
        cal.changes.append(
            Change(
                ("components", comp, "cpu_per_request"),
                None if before is None else f"{before * 1000:.4g}ms",
                f"{cpu * 1000:.4g}ms",
                f"{se * 1000:.2g}ms",
                f"utilization law, non-negative least squares over {d.windows} windows, "
                f"R²={d.r_squared:.2f}",
            )
        )

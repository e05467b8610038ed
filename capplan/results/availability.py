"""Availability of a run, by the SLO's own definitions: the share of requests that
succeeded (against ``slos.availability`` and its error budget), the share of windows in
which the latency and error objectives held, and, for each injected failure event, how
long until the windows were back within them.

Typed inside (:class:`RunAvailability`), a dict at the edge (``to_dict``, docs/json.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from capplan.results.timeline import Estimate, Timeline, objective_held
from capplan.results.timeline import build as build_timeline
from capplan.scenario.model import Scenario
from capplan.scenario.units import SECONDS_PER_MONTH, format_clock
from capplan.sim.records import ReplicationRecord


@dataclass(frozen=True)
class Recovery:
    """One injected event and how long the windows took to be within the SLOs again."""

    index: int
    kind: str
    what: str
    """Its target component or zone."""
    at_clock_s: float
    end_clock_s: float
    recovery_s: Estimate
    """From the event to the start of the first window back within the SLOs, after the
    first that missed them (0 when no window missed); over the replications that
    recovered within the run."""
    not_recovered: int
    """Replications still outside the SLOs when the run ended."""
    missed_windows: Estimate
    """Windows outside the SLOs from the event until recovery."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "kind": self.kind,
            "target": self.what,
            "at": format_clock(self.at_clock_s),
            "end": format_clock(self.end_clock_s),
            "recovery_s": self.recovery_s.value,
            "recovery_s_ci95": self.recovery_s.ci_list(),
            "not_recovered": self.not_recovered,
            "missed_windows": self.missed_windows.value,
        }


@dataclass(frozen=True)
class RunAvailability:
    requests: Estimate
    """Share of measured requests that succeeded."""
    target: float | None
    """``slos.availability``."""
    burn_rate: Estimate | None
    """Failed share over the error budget (1 - target): 1 spends exactly the budget."""
    windows: Estimate | None
    """Share of windows in which every latency and error objective held."""
    objectives: tuple[str, ...]
    """The objectives a window is judged on."""
    recoveries: tuple[Recovery, ...]

    def to_dict(self) -> dict[str, Any]:
        budget = None if self.target is None else 1 - self.target
        return {
            "requests": self.requests.value,
            "requests_ci95": self.requests.ci_list(),
            "target": self.target,
            "error_budget": budget,
            "error_budget_minutes_per_month": None
            if budget is None
            else budget * SECONDS_PER_MONTH / 60,
            "burn_rate": None if self.burn_rate is None else self.burn_rate.value,
            "burn_rate_ci95": None if self.burn_rate is None else self.burn_rate.ci_list(),
            "windows_within_slo": None if self.windows is None else self.windows.value,
            "windows_within_slo_ci95": None if self.windows is None else self.windows.ci_list(),
            "window_objectives": list(self.objectives),
            "events": [r.to_dict() for r in self.recoveries],
        }


def window_objectives(scenario: Scenario) -> dict[str, float]:
    """What a window must meet to count as within the SLOs: the latency and error
    objectives, and without an ``error_rate`` the availability target's error share."""
    targets = dict(scenario.slos.targets())
    targets.pop("availability", None)
    if "error_rate" not in targets and scenario.slos.availability is not None:
        targets["error_rate"] = 1 - scenario.slos.availability
    return targets


def _held(
    scenario: Scenario, records: list[ReplicationRecord], timeline: Timeline
) -> list[list[bool]] | None:
    targets = window_objectives(scenario)
    if not targets:
        return None
    count = len(timeline.windows)
    return [
        [
            all(
                objective_held(r.windows[k], name, target, timeline.windows[k].saturated)
                for name, target in targets.items()
            )
            for k in range(count)
        ]
        for r in records
    ]


def _recovery(
    held: list[bool], first: int, stop: int, window_s: float, at: float, start: float
) -> tuple[float | None, int]:
    """(seconds from ``at`` to the first window back within the SLOs after a miss, or 0
    without a miss; None if none came before the run's end) and the windows missed."""
    missed = 0
    for k in range(first, len(held)):
        if not held[k]:
            missed += 1
        elif missed:
            return max(0.0, start + k * window_s - at), missed
        elif k >= stop:
            return 0.0, 0
    return (None, missed) if missed else (0.0, 0)


def _span(scenario: Scenario, window_s: float, at: float, end: float) -> tuple[int, int]:
    """The windows in which an event from clock time ``at`` to ``end`` starts and ends."""
    start = scenario.simulation.start
    first = max(0, int((at - start) // window_s))
    return first, max(first, int((end - start) // window_s))


def windows_caused(
    scenario: Scenario,
    undisturbed: list[ReplicationRecord],
    disturbed: list[ReplicationRecord],
) -> Estimate | None:
    """Windows outside the SLOs that ``scenario``'s first failure event caused: of those
    :class:`Recovery` counts as missed (from the event until the windows are back within
    the SLOs), the ones in which the same run without the event (``undisturbed``, the
    same seeds: the same requests) was within them, replication by replication. A window
    the system misses anyway is not the event's. None without window objectives."""
    failures = scenario.failures
    assert failures is not None and failures.events
    timeline = build_timeline(scenario, disturbed)
    hit = _held(scenario, disturbed, timeline)
    base = _held(scenario, undisturbed, build_timeline(scenario, undisturbed))
    if hit is None or base is None or not timeline.windows:
        return None
    event = failures.events[0]
    first, stop = _span(scenario, timeline.window_s, event.at, failures.end(event))
    caused = []
    for h, b in zip(hit, base, strict=True):
        count, missed = 0, False
        for k in range(first, len(h)):
            if not h[k]:
                missed = True
                count += k < len(b) and b[k]  # a run ended as saturated held none after
            elif missed or k >= stop:
                break
        caused.append(float(count))
    return Estimate.of(caused)


def run_availability(
    scenario: Scenario, records: list[ReplicationRecord], timeline: Timeline
) -> RunAvailability | None:
    """Availability of a run with ``slos.availability`` or ``failures`` (else None)."""
    target = scenario.slos.availability
    failures = scenario.failures
    if target is None and not scenario.fails:
        return None
    shares = []
    for r in records:
        arrivals = sum(t.arrivals for t in r.types.values())
        failed = sum(sum(t.errors.values()) for t in r.types.values())
        shares.append(1 - failed / arrivals if arrivals else None)
    requests = Estimate.of(shares, 0.0, 1.0)
    burn = None
    if target is not None:
        burn = Estimate.of([None if s is None else (1 - s) / (1 - target) for s in shares])
    held = _held(scenario, records, timeline)
    windows = None
    if held is not None and timeline.windows:
        windows = Estimate.of([sum(h) / len(h) for h in held], 0.0, 1.0)
    recoveries = []
    if failures is not None and held is not None and timeline.windows:
        sim = scenario.simulation
        w = timeline.window_s
        n = len(timeline.windows)
        for i, event in enumerate(failures.events):
            end = failures.end(event)
            first, stop = _span(scenario, w, event.at, end)
            if first >= n:
                continue
            found = [_recovery(h, first, stop, w, event.at, sim.start) for h in held]
            recoveries.append(
                Recovery(
                    i,
                    event.kind,
                    getattr(event, "target", None) or f"zone {getattr(event, 'zone', '')}",
                    event.at,
                    end,
                    Estimate.of([s for s, _ in found if s is not None]),
                    sum(1 for s, _ in found if s is None),
                    Estimate.of([float(m) for _, m in found]),
                )
            )
    return RunAvailability(
        requests,
        target,
        burn,
        windows,
        tuple(window_objectives(scenario)) if held is not None else (),
        tuple(recoveries),
    )


def availability_row(a: RunAvailability) -> dict[str, Any] | None:
    """``slos.availability`` as an objective that must be reached (at least its target)."""
    if a.target is None:
        return None
    value, ci = a.requests.value, a.requests.ci_list()
    passed = value is not None and value >= a.target
    return {
        "name": "availability",
        "scope": "all",
        "target": a.target,
        "at_least": True,
        "value": value,
        "ci95": ci,
        "passed": passed,
        "reason": None if value is not None else "no requests",
        "confident": ci is not None and (ci[0] >= a.target if passed else ci[1] < a.target),
    }

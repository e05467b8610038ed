"""Checks across fields of a valid scenario, each located at the key it concerns: what no
single field's type can say (a window that does not divide the run, a spike outside it)."""

from __future__ import annotations

from capplan.errors import Problem
from capplan.scenario.model import Scenario
from capplan.scenario.units import format_clock, format_duration


def _check_window(s: Scenario) -> list[Problem]:
    sim = s.simulation
    if sim.window is None:
        return []
    if sim.window > sim.duration:
        return [
            s.problem(
                ("simulation", "window"),
                f"longer than the run ({format_duration(sim.duration)})",
                format_duration(sim.window),
            )
        ]
    n = sim.duration / sim.window
    if abs(n - round(n)) > 1e-9 * n:
        return [
            s.problem(
                ("simulation", "window"),
                f"must divide the run ({format_duration(sim.duration)}) into whole windows",
                format_duration(sim.window),
            )
        ]
    return []


def _check_profile(s: Scenario) -> list[Problem]:
    w = s.workload
    p = w.profile
    if p is None:
        return []
    found = []
    if w.daily_requests is not None and not p.periodic and (p.points or p.ramp or p.step):
        found.append(
            s.problem(
                ("workload", "profile"),
                "with daily_requests the profile's mean over its period sets the rate: give "
                "'points' with a 'period', or 'diurnal'",
            )
        )
    if w.peak_factor != 1.0:
        found.append(
            s.problem(
                ("workload", "peak_factor"),
                "a profile gives the peak; leave peak_factor out",
                w.peak_factor,
            )
        )
    sim = s.simulation
    first, last = sim.start - sim.warmup, sim.start + sim.duration
    for i, spike in enumerate(p.spikes):
        if spike.at >= last or spike.at + spike.duration <= first:
            found.append(
                s.problem(
                    ("workload", "profile", "spikes", i, "at"),
                    f"the spike lies outside the run ({format_clock(first)} to "
                    f"{format_clock(last)})",
                    format_clock(spike.at),
                )
            )
    return found


def _check_autoscaling(s: Scenario) -> list[Problem]:
    found = []
    for name, c in s.components.items():
        hpa = getattr(c, "autoscaling", None)
        if hpa is None:
            continue
        at = ("components", name, "autoscaling")
        if c.type != "service":
            found.append(
                s.problem(
                    at,
                    f"an HPA scales a Deployment; a {c.type} does not autoscale here (give "
                    "it the replicas it needs)",
                )
            )
            continue
        res = c.resources
        if hpa.cpu_target is not None and (
            c.cpu_per_request is None or res is None or res.requests is None or not res.requests.cpu
        ):
            found.append(
                s.problem(
                    (*at, "cpu_target"),
                    "the HPA measures CPU used against CPU requested: give the component "
                    "cpu_per_request and resources.requests.cpu",
                    f"{hpa.cpu_target:.0%}",
                )
            )
        if hpa.memory_target is not None and (
            c.memory is None or res is None or res.requests is None or not res.requests.memory
        ):
            found.append(
                s.problem(
                    (*at, "memory_target"),
                    "the HPA measures memory used against memory requested: give the "
                    "component memory (base, per_request) and resources.requests.memory",
                    f"{hpa.memory_target:.0%}",
                )
            )
    return found


def check(s: Scenario) -> list[Problem]:
    """Every cross-field problem of ``s``."""
    return _check_window(s) + _check_profile(s) + _check_autoscaling(s)

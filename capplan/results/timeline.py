"""The run window by window: replication records aggregated into per-window estimates.

Every replication has the same windows (``simulation.window`` each, from the start of the
measured interval), so each window's figures are estimated like every other figure: the
mean over replications with a Student-t 95% interval. A window is *saturated* when, in at
least half the replications, a component received more than it could serve and its queue
grew: its latency is then null, since it measures how long the overload lasted, not a
steady value.

Under a changing load each window also carries the analytic model's mean latency at the
window's own arrival rate (the pointwise stationary approximation) and whether it applies
there, as a cross-check of the simulation where the load changes slowly.

SLO *attainment* is the share of windows in which an objective held, computed per
replication (a saturated window or one without successful requests does not hold a
latency objective) and estimated across replications.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from capplan.errors import SimulationError
from capplan.results.stats import mean_ci
from capplan.scenario.units import format_clock
from capplan.sim.records import ReplicationRecord, WindowRecord

if TYPE_CHECKING:
    import pandas as pd

    from capplan.scenario.model import Scenario

LATENCY_KEYS = ("mean", "p50", "p95", "p99")
COMPONENT_KEYS = ("utilization", "cpu_utilization", "queue_length", "replicas_ready")
OPTIONAL_COMPONENT_KEYS = ("memory_utilization", "replicas_desired", "replicas_pending")
"""Present where they apply: a memory model; an HPA."""
CLUSTER_KEYS = ("nodes", "pods_pending", "at_max_nodes")
"""Present when nodes are live (``costs`` and autoscalers on)."""


@dataclass(frozen=True)
class Estimate:
    """A mean over replications and its 95% interval (None with one replication)."""

    value: float | None
    ci95: tuple[float, float] | None

    @staticmethod
    def of(
        values: Sequence[float | None], floor: float | None = 0.0, ceiling: float | None = None
    ) -> Estimate:
        present = [v for v in values if v is not None]
        if not present:
            return Estimate(None, None)
        m, ci = mean_ci(present)
        if ci is not None and floor is not None:
            ci = (max(floor, ci[0]), ci[1])
        if ci is not None and ceiling is not None:
            ci = (ci[0], min(ceiling, ci[1]))
        return Estimate(m, ci)

    def ci_list(self) -> list[float] | None:
        return list(self.ci95) if self.ci95 is not None else None


@dataclass(frozen=True)
class ComponentWindow:
    utilization: Estimate
    cpu_utilization: Estimate
    queue_length: Estimate
    replicas_ready: Estimate
    saturated: bool
    optional: dict[str, Estimate] = field(default_factory=dict)
    """Of OPTIONAL_COMPONENT_KEYS, those that apply."""
    hpa_metrics: dict[str, Estimate] = field(default_factory=dict)
    """What the HPA read, per metric."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: getattr(self, k).value for k in COMPONENT_KEYS}
        out.update({k: e.value for k, e in self.optional.items()})
        if self.hpa_metrics:
            out["hpa_metrics"] = {k: e.value for k, e in self.hpa_metrics.items()}
        out["saturated"] = self.saturated
        out["ci95"] = {
            **{k: getattr(self, k).ci_list() for k in COMPONENT_KEYS},
            **{k: e.ci_list() for k, e in self.optional.items()},
            **(
                {"hpa_metrics": {k: e.ci_list() for k, e in self.hpa_metrics.items()}}
                if self.hpa_metrics
                else {}
            ),
        }
        return out


@dataclass(frozen=True)
class Window:
    """One window, across replications."""

    start_s: float
    clock: str
    """Clock time of the window's start (``simulation.start`` places the run)."""
    offered_rps: Estimate
    completed_rps: Estimate
    error_rate: Estimate
    errors: dict[str, int]
    """Failed requests by cause, all replications together."""
    latency: dict[str, Estimate]
    saturated: bool
    saturated_components: tuple[str, ...]
    components: dict[str, ComponentWindow]
    mean_in_system: Estimate
    """Time-average requests in the system (L of Little's law)."""
    mean_sojourn_s: Estimate
    """Mean time in the system of the requests that arrived in the window (W)."""
    analytic_latency_mean_s: float | None = None
    """The analytic model's mean latency at the window's arrival rate (pointwise
    stationary approximation), where it applies."""
    analytic_applies: bool = False
    """Whether the window's load is steady enough, and unsaturated, for that to hold."""
    cluster: dict[str, Estimate] = field(default_factory=dict)
    """Of CLUSTER_KEYS, when nodes are live."""

    def to_dict(self) -> dict[str, Any]:
        out = self._base()
        for k, e in self.cluster.items():
            out[k] = e.value
            out[f"{k}_ci95"] = e.ci_list()
        return out

    def _base(self) -> dict[str, Any]:
        return {
            "start_s": self.start_s,
            "clock": self.clock,
            "offered_rps": self.offered_rps.value,
            "offered_rps_ci95": self.offered_rps.ci_list(),
            "completed_rps": self.completed_rps.value,
            "completed_rps_ci95": self.completed_rps.ci_list(),
            "error_rate": self.error_rate.value,
            "error_rate_ci95": self.error_rate.ci_list(),
            "errors": self.errors,
            "latency_s": {
                **{k: self.latency[k].value for k in LATENCY_KEYS},
                "ci95": {k: self.latency[k].ci_list() for k in LATENCY_KEYS},
            },
            "saturated": self.saturated,
            "saturated_components": list(self.saturated_components),
            "components": {n: c.to_dict() for n, c in self.components.items()},
            "little": {
                "mean_in_system": self.mean_in_system.value,
                "mean_sojourn_s": self.mean_sojourn_s.value,
            },
            "analytic": {
                "latency_mean_s": self.analytic_latency_mean_s,
                "applies": self.analytic_applies,
            },
        }


@dataclass(frozen=True)
class Attainment:
    """The share of windows in which one objective held."""

    name: str
    target: float
    """The objective's own target (e.g. 0.5 s for latency_p95)."""
    share: Estimate
    required: float | None
    """``slos.attainment``: the share it must reach, if set."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "target": self.target,
            "share": self.share.value,
            "share_ci95": self.share.ci_list(),
            "required": self.required,
        }


@dataclass(frozen=True)
class Timeline:
    window_s: float
    windows: list[Window]
    attainment: list[Attainment] = field(default_factory=list)
    stationary: bool = True
    """The load is the same at every instant (no profile, no capacity changing)."""
    start_clock_s: float = 0.0
    """Clock time the first window starts at (``simulation.start``), seconds since midnight."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "window_s": self.window_s,
            "start_clock_s": self.start_clock_s,
            "stationary": self.stationary,
            "attainment": [a.to_dict() for a in self.attainment],
            "windows": [w.to_dict() for w in self.windows],
        }

    def worst(self, objective: str = "latency_p95") -> Window | None:
        """The window that did worst on a latency objective (saturated ones first)."""
        key = objective.removeprefix("latency_")
        if not self.windows:
            return None
        return max(
            self.windows,
            key=lambda w: (w.saturated, w.latency[key].value or 0.0),
        )


def _window(
    k: int,
    wins: list[WindowRecord],
    in_system: list[float],
    window_s: float,
    clock0: float,
) -> Window:
    n = len(wins)
    offered = [w.offered / window_s for w in wins]
    completed = [w.completed / window_s for w in wins]
    rates = []
    errors: dict[str, int] = {}
    for w in wins:
        failed = sum(w.errors.values())
        done = w.completed + failed
        rates.append(failed / done if done else None)
        for cause, c in w.errors.items():
            errors[cause] = errors.get(cause, 0) + c
    names = list(wins[0].components)
    flags = {name: sum(w.components[name].saturated for w in wins) for name in names}
    hot = tuple(name for name in names if flags[name] * 2 >= n and flags[name])
    saturated = bool(hot)
    latency = {
        key: Estimate(None, None)
        if saturated
        else Estimate.of([getattr(w.latency, key) if w.latency else None for w in wins])
        for key in LATENCY_KEYS
    }
    components = {}
    for name in names:
        comps = [w.components[name] for w in wins]
        optional = {
            key: Estimate.of([getattr(c, key) for c in comps])
            for key in OPTIONAL_COMPONENT_KEYS
            if getattr(comps[0], key) is not None
        }
        hpa = comps[0].hpa_metrics
        components[name] = ComponentWindow(
            **{key: Estimate.of([getattr(c, key) for c in comps]) for key in COMPONENT_KEYS},
            saturated=name in hot,
            optional=optional,
            hpa_metrics={
                m: Estimate.of([(c.hpa_metrics or {}).get(m) for c in comps]) for m in (hpa or {})
            },
        )
    cluster = {
        key: Estimate.of([getattr(w, key) for w in wins])
        for key in CLUSTER_KEYS
        if getattr(wins[0], key) is not None
    }
    start_s = wins[0].start_s
    return Window(
        start_s=start_s,
        clock=format_clock(clock0 + start_s),
        offered_rps=Estimate.of(offered),
        completed_rps=Estimate.of(completed),
        error_rate=Estimate.of(rates),
        errors=dict(sorted(errors.items())),
        latency=latency,
        saturated=saturated,
        saturated_components=hot,
        components=components,
        mean_in_system=Estimate.of(in_system),
        mean_sojourn_s=Estimate.of(
            [w.sojourn_s / w.finished if w.finished else None for w in wins]
        ),
        cluster=cluster,
    )


def objective_held(w: WindowRecord, objective: str, target: float, saturated: bool) -> bool:
    if objective == "error_rate":
        failed = sum(w.errors.values())
        done = w.completed + failed
        return (failed / done if done else 0.0) <= target
    if saturated or w.latency is None:
        return False
    value: float = getattr(w.latency, objective.removeprefix("latency_"))
    return value <= target


def build(scenario: Scenario, records: list[ReplicationRecord]) -> Timeline:
    """The timeline of a run from its replications' records."""
    window_s = scenario.simulation.window_s
    count = min(len(r.windows) for r in records)
    windows = [
        _window(
            k,
            [r.windows[k] for r in records],
            [r.mean_in_system_by_window[k] for r in records],
            window_s,
            scenario.simulation.start,
        )
        for k in range(count)
    ]
    attainment = []
    required = scenario.slos.attainment
    for objective, target in scenario.slos.targets().items():
        if objective == "attainment":
            continue
        shares = []
        for r in records:
            held = [
                objective_held(r.windows[k], objective, target, windows[k].saturated)
                for k in range(count)
            ]
            shares.append(sum(held) / count if count else 0.0)
        attainment.append(Attainment(objective, target, Estimate.of(shares, 0.0, 1.0), required))
    stationary = scenario.workload.stationary and not scenario.fails
    if not stationary:
        windows = pointwise(scenario, windows)
    return Timeline(window_s, windows, attainment, stationary, scenario.simulation.start)


PSA_CHANGE = 0.2
"""The pointwise stationary approximation (each window a steady system at its own rate)
is taken to apply where the arrival rate differs from both neighbours' by less than this
share: the load then changes slowly beside the system's relaxation time."""


def pointwise(scenario: Scenario, windows: list[Window]) -> list[Window]:
    """The analytic mean latency of each window at its own arrival rate, and whether that
    approximation applies there (an open workload, an unsaturated window, a rate that
    changes slowly between windows)."""
    from capplan.analytic.layered import analyze

    if not scenario.workload.is_open or scenario.arrival_rate <= 0:
        return windows
    out = []
    rates = [w.offered_rps.value or 0.0 for w in windows]
    for k, w in enumerate(windows):
        rate = rates[k]
        if rate <= 0:
            out.append(w)
            continue
        # the window's rate as the workload's own, load_scale unchanged: what load_scale
        # also scales (a link's background traffic) does not follow the profile in a run
        workload = scenario.workload.model_copy(
            update={
                "arrival_rate": rate / scenario.load_scale,
                "daily_requests": None,
                "peak_factor": 1.0,
                "profile": None,
            }
        )
        scaled = scenario.model_copy(update={"workload": workload})
        try:
            mean = analyze(scaled)["latency_mean_s"]
        except SimulationError:
            mean = None
        near = [rates[j] for j in (k - 1, k + 1) if 0 <= j < len(rates)]
        steady = all(abs(r - rate) <= PSA_CHANGE * rate for r in near)
        out.append(
            replace(
                w,
                analytic_latency_mean_s=mean,
                analytic_applies=steady and not w.saturated and mean is not None,
            )
        )
    return out


def frame(result: dict[str, Any]) -> pd.DataFrame:
    """The timeline of a result (as ``simulate`` returns it, or its JSON) as a pandas
    DataFrame: one row per window; each estimate with ``_lo`` and ``_hi`` columns for its
    95% interval; components' figures as ``<component>.<figure>`` columns."""
    import pandas as pd

    timeline = result.get("timeline")
    if not timeline:
        return pd.DataFrame()
    rows = []
    for w in timeline["windows"]:
        row: dict[str, Any] = {"start_s": w["start_s"], "clock": w["clock"]}
        for key in ("offered_rps", "completed_rps", "error_rate"):
            row[key] = w[key]
            ci = w[f"{key}_ci95"]
            row[f"{key}_lo"], row[f"{key}_hi"] = ci if ci else (None, None)
        for key in LATENCY_KEYS:
            row[f"latency_{key}_s"] = w["latency_s"][key]
            ci = w["latency_s"]["ci95"][key]
            row[f"latency_{key}_s_lo"], row[f"latency_{key}_s_hi"] = ci if ci else (None, None)
        row["saturated"] = w["saturated"]
        for key in CLUSTER_KEYS:
            if key in w:
                row[key] = w[key]
        for name, c in w["components"].items():
            for key in (*COMPONENT_KEYS, *OPTIONAL_COMPONENT_KEYS):
                if key in c:
                    row[f"{name}.{key}"] = c[key]
            for metric, value in c.get("hpa_metrics", {}).items():
                row[f"{name}.hpa_{metric}"] = value
        rows.append(row)
    return pd.DataFrame(rows)

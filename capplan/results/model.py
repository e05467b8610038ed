"""A simulation's result, typed, as the program passes it between layers.

:func:`~capplan.results.summary.summarize` turns replication records into the JSON form
documented in docs/json.md; :meth:`Result.of` reads that form into these frozen
dataclasses, checking it as it goes, and :meth:`Result.to_dict` gives it back unchanged
for the edges (``--json``, the Python API's documented output, a saved report). The
searches and judges that read results (the gate, headroom, sizing, the uncertainty
summary) read these fields, so that a misspelt figure is a type error rather than a
``KeyError`` in the middle of a search, and the JSON form stays the one contract.

Sections that have their own typed builders (the timeline, availability, autoscaling,
cost) are carried in their JSON form under :attr:`Result.data`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Interval = tuple[float, float]


def interval(x: Any) -> Interval | None:
    """An interval as the JSON form writes it ([low, high] or null), as a tuple."""
    return None if x is None else (float(x[0]), float(x[1]))


def _number(x: Any) -> float | None:
    return None if x is None else float(x)


@dataclass(frozen=True, slots=True)
class Latency:
    """Latency of successful requests, in seconds (None where a saturated component makes
    the value meaningless), each with its 95% interval over the replications."""

    mean: float | None
    p50: float | None
    p95: float | None
    p99: float | None
    ci95: Mapping[str, Interval | None]

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> Latency:
        ci = d.get("ci95") or {}
        return cls(
            _number(d["mean"]),
            _number(d["p50"]),
            _number(d["p95"]),
            _number(d["p99"]),
            {k: interval(ci.get(k)) for k in ("mean", "p50", "p95", "p99")},
        )

    def get(self, stat: str) -> float | None:
        """``mean``, ``p50``, ``p95`` or ``p99``."""
        value: float | None = getattr(self, stat)
        return value


@dataclass(frozen=True, slots=True)
class Objective:
    """One SLO row: its estimate, interval and point verdict (the gate judges the
    interval). ``at_least``: the value must reach the target (attainment), not stay under."""

    name: str
    scope: str
    target: float
    value: float | None
    ci95: Interval | None
    passed: bool
    reason: str | None
    confident: bool
    at_least: bool = False
    no_interval: str | None = None

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> Objective:
        return cls(
            name=str(d["name"]),
            scope=str(d["scope"]),
            target=float(d["target"]),
            value=_number(d["value"]),
            ci95=interval(d["ci95"]),
            passed=bool(d["passed"]),
            reason=d.get("reason"),
            confident=bool(d.get("confident", False)),
            at_least=bool(d.get("at_least", False)),
            no_interval=d.get("no_interval"),
        )

    @property
    def label(self) -> str:
        """``latency_p95`` or ``latency_p95 [checkout]``."""
        return self.name if self.scope == "all" else f"{self.name} [{self.scope}]"


@dataclass(frozen=True, slots=True)
class Constraint:
    """One limited resource of a component and how much of it is used."""

    component: str
    resource: str
    utilization: float


@dataclass(frozen=True, slots=True)
class Component:
    """What a component did over the measured run (means over the replications)."""

    utilization: float
    """Busy share of its capacity (workers, bandwidth, quota)."""
    offered_load: float
    saturated: bool
    throughput_rps: float
    latency_share_p95: float
    """Share of the slowest 5% of requests' time spent here."""
    constraints: Mapping[str, float]
    """Each limited resource's use (``workers``, ``cpu``, ``quota``...)."""
    cpu_utilization: float | None
    """CPU used over CPU requested, where the component gives both."""
    quota_demand: float | None
    """An LLM API's first attempts against its quota."""
    ci95: Mapping[str, Interval | None]
    work_utilization: float | None = None
    """The share of its workers' time spent on its own work (the rest waits on nested
    calls), where it has workers."""
    capacity: float | None = None
    """Workers (or other servers) available, on average over the run."""

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> Component:
        return cls(
            utilization=float(d["utilization"]),
            offered_load=float(d["offered_load"]),
            saturated=bool(d["saturated"]),
            throughput_rps=float(d["throughput_rps"]),
            latency_share_p95=float(d.get("latency_share_p95", 0.0)),
            constraints={k: float(v) for k, v in d["constraints"].items()},
            cpu_utilization=_number(d.get("cpu_utilization")),
            quota_demand=_number(d.get("quota_demand")),
            ci95={k: interval(v) for k, v in (d.get("ci95") or {}).items()},
            work_utilization=_number(d.get("work_utilization")),
            capacity=_number(d.get("capacity")),
        )

    @property
    def load(self) -> float:
        """What sizing holds under a target: the busy share (the offered load when
        saturated, since a saturated station is busy all the time however far over it
        is), or the CPU share when higher."""
        busy = self.offered_load if self.saturated else self.utilization
        return max(busy, self.cpu_utilization or 0.0)


@dataclass(frozen=True, slots=True)
class RequestType:
    """One request type's latency and traffic over the measured run."""

    latency: Latency
    throughput_rps: float
    error_rate: float
    saturated_by: tuple[str, ...]
    """Saturated components it passes through (its latency is then None)."""
    time_by_component: Mapping[str, float]
    """Mean seconds a successful request spends at each component it visits, waiting and
    served, nested calls excluded (they add up to the mean latency)."""

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> RequestType:
        return cls(
            latency=Latency.of(d["latency_s"]),
            throughput_rps=float(d["throughput_rps"]),
            error_rate=float(d["error_rate"]),
            saturated_by=tuple(d.get("saturated_by") or ()),
            time_by_component={
                c: float(t["value"]) for c, t in (d.get("time_by_component_s") or {}).items()
            },
        )


@dataclass(frozen=True, slots=True)
class Result:
    """One scenario's simulated result; :attr:`data` is its JSON form (docs/json.md)."""

    scenario: str
    load_scale: float
    latency: Latency
    throughput_rps: float
    error_rate: float
    saturated: bool
    saturated_components: tuple[str, ...]
    constraints: tuple[Constraint, ...]
    """Every limited resource, the binding one first."""
    components: Mapping[str, Component]
    requests: Mapping[str, RequestType]
    objectives: tuple[Objective, ...]
    data: Mapping[str, Any]
    error_rate_ci95: Interval | None = None
    arrival_rate_rps: float | None = None
    """The open workload's arrival rate (None for a closed one)."""
    arrivals: int = 0
    """Requests that arrived in the measured runs, every replication together."""

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> Result:
        """The typed result of a JSON-form one (as :func:`summarize` makes it, or as a
        ``--json`` file holds it)."""
        return cls(
            scenario=str(d["scenario"]),
            load_scale=float(d["load_scale"]),
            latency=Latency.of(d["latency_s"]),
            throughput_rps=float(d["throughput_rps"]),
            error_rate=float(d["error_rate"]),
            saturated=bool(d["saturated"]),
            saturated_components=tuple(d["saturated_components"]),
            constraints=tuple(
                Constraint(str(c["component"]), str(c["resource"]), float(c["utilization"]))
                for c in d["constraints"]
            ),
            components={n: Component.of(c) for n, c in d["components"].items()},
            requests={n: RequestType.of(q) for n, q in d["requests"].items()},
            objectives=tuple(Objective.of(row) for row in d["slos"]),
            data=d,
            error_rate_ci95=interval(d.get("error_rate_ci95")),
            arrival_rate_rps=_number((d.get("workload") or {}).get("arrival_rate_rps")),
            arrivals=int(d.get("arrivals") or 0),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (the same object :meth:`of` was given)."""
        return dict(self.data)

    @property
    def slos_hold(self) -> bool:
        """Every objective's point estimate within its target."""
        return all(o.passed for o in self.objectives)

    @property
    def missed(self) -> list[Objective]:
        return [o for o in self.objectives if not o.passed]

    @property
    def uncertainty(self) -> Mapping[str, Any] | None:
        """The spread over uncertain inputs (capplan.uncertainty), if any."""
        u: Mapping[str, Any] | None = self.data.get("uncertainty")
        return u

    def section(self, name: str) -> Any:
        """A section kept in its JSON form (``timeline``, ``autoscaling``, ``cost``...)."""
        return self.data.get(name)


def typed(results: Sequence[Mapping[str, Any] | Result]) -> list[Result]:
    """Results as :class:`Result`, whether given typed or in their JSON form."""
    return [r if isinstance(r, Result) else Result.of(r) for r in results]

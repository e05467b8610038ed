"""The frozen scenario model: what a scenario YAML file means once validated."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, PrivateAttr, model_validator

from capplan.errors import Problem
from capplan.scenario.components import Component
from capplan.scenario.costs import Costs
from capplan.scenario.distributions import Constant, Distribution
from capplan.scenario.external import Tokens
from capplan.scenario.failures import Failures
from capplan.scenario.kubernetes import Kubernetes
from capplan.scenario.profile import Profile
from capplan.scenario.resilience import CircuitBreaker, StepRetry
from capplan.scenario.types import (
    Bytes,
    ClockTime,
    Dollars,
    Fraction,
    Model,
    Multiplier,
    NonNegativeDuration,
    Objective,
    PositiveDuration,
    PositiveInt,
    Rate,
    SmallCount,
)


class Simulation(Model):
    """How long and how often to run the model."""

    duration: PositiveDuration = 600.0
    """Measured simulated time per replication (after warm-up). Default 10min."""
    warmup: NonNegativeDuration = 60.0
    """Simulated time discarded at the start of each replication. Default 1min."""
    replications: SmallCount = 5
    """Independent replications; confidence intervals need at least 2. Default 5."""
    seed: Annotated[int, Field(ge=0, lt=2**63, strict=True)] = 1
    """Root seed; every random stream derives from it and a stream name."""
    start: ClockTime = 0.0
    """Clock time the measured window starts at, which places the run within the load
    profile ('09:00'); the warm-up runs before it. Default 00:00."""
    window: PositiveDuration | None = None
    """Length of the timeline's windows, dividing ``duration`` ('1m'). Default: one
    minute, or the duration divided into windows of about a minute when a minute does not
    divide it."""
    autoscale: bool = True
    """Run the autoscalers the scenario declares (each component's ``autoscaling`` HPA, the
    cluster autoscaler of ``costs.cluster``). ``false`` holds every component at its
    ``replicas``: the steady-state question of whether a given size is enough."""

    @property
    def window_s(self) -> float:
        """The timeline's window length."""
        if self.window is not None:
            return self.window
        if self.duration <= 60:
            return self.duration
        n = max(1, round(self.duration / 60))
        return self.duration / n


class Workload(Model):
    """Where requests come from: an open Poisson stream or a closed population of users."""

    arrival_rate: Rate | None = None
    """Open arrivals (Poisson): '3.2/s', '300/min'."""
    daily_requests: Annotated[float, Field(gt=0, le=8.64e11)] | None = None
    """Open arrivals given per day; simulated rate = daily_requests / 86400 × peak_factor."""
    peak_factor: Annotated[float, Field(ge=1, le=1000)] = 1.0
    """Peak-hour rate over the daily average (with ``daily_requests``)."""
    users: PositiveInt | None = None
    """Closed population: each user sends a request, waits for it, thinks, repeats."""
    think_time: Distribution = Field(default_factory=lambda: Constant(value=0.0))
    """A user's pause between a response and the next request (with ``users``)."""
    mix: dict[str, Annotated[float, Field(gt=0, le=1e9)]] | None = None
    """Relative weight of each request type; required when there are several types."""
    profile: Profile | None = None
    """How the rate (or the user count) changes over clock time; see docs/scenario.md."""

    @model_validator(mode="after")
    def _one_source(self) -> Workload:
        given = [
            k for k in ("arrival_rate", "daily_requests", "users") if getattr(self, k) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of 'arrival_rate', 'daily_requests' or 'users'"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self

    @property
    def is_open(self) -> bool:
        return self.users is None

    @property
    def base_rate(self) -> float:
        """Open arrival rate per second before ``load_scale`` (with a profile: the rate a
        multiplier of 1 stands for)."""
        if self.arrival_rate is not None:
            return self.arrival_rate
        if self.daily_requests is not None:
            return self.daily_requests / 86400 * self.peak_factor
        raise ValueError("a closed workload has no arrival rate")

    @property
    def stationary(self) -> bool:
        """Whether the load is the same at every instant (no profile)."""
        return self.profile is None


class Http(Model):
    """How a request type looks on the wire (used by load testing)."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    """HTTP method."""
    path: str
    """URL path, e.g. /api/v1/campaigns."""


class Slos(Model):
    """Service-level objectives: objective name to target."""

    latency_mean: PositiveDuration | None = None
    """Mean end-to-end latency of successful requests."""
    latency_p50: PositiveDuration | None = None
    """Median end-to-end latency."""
    latency_p95: PositiveDuration | None = None
    """95th-percentile end-to-end latency."""
    latency_p99: PositiveDuration | None = None
    """99th-percentile end-to-end latency."""
    error_rate: Objective | None = None
    """Largest fraction of requests that may fail, any cause: '1%'."""
    max_utilization: Fraction | dict[str, Fraction] | None = None
    """Top level only. Highest utilization of any component ('80%'), or per component
    (``{mongodb: 70%}``): busy workers for services, databases and caches, the busier
    direction of a link, the more used quota of an LLM API."""
    monthly_cost_max: Annotated[Dollars, Field(gt=0)] | None = None
    """Top level only. Most the whole system may cost per month, in dollars (needs ``costs``)."""
    availability: Fraction | None = None
    """Top level only. The share of requests that must succeed ('99.9%'); its complement
    is the error budget, reported as the rate the run burns it at."""
    attainment: Fraction | None = None
    """Top level only. The share of timeline windows in which each latency and error
    objective must hold ('99%'): with it, an objective is judged window by window, as
    over a day with a ramp a single percentile hides the ramp."""

    def targets(self) -> dict[str, float]:
        """The request-level objectives that are set (latency and error rate), in order."""
        skip = {"max_utilization", "monthly_cost_max", "attainment", "availability"}
        return {k: v for k, v in self.model_dump().items() if v is not None and k not in skip}


class Thresholds(Model):
    """A warning and a critical level."""

    warning: float
    critical: float

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.critical < self.warning:
            raise ValueError("critical must be at least warning")
        return self


class FractionThresholds(Thresholds):
    """Levels as fractions: '70%'."""

    warning: Fraction
    critical: Fraction


class DurationThresholds(Thresholds):
    """Levels as durations: '500ms'."""

    warning: PositiveDuration
    critical: PositiveDuration


class Alerts(Model):
    """Alert thresholds, rendered as a PrometheusRule."""

    cpu_utilization: FractionThresholds | None = None
    """CPU used over CPU requested, per workload."""
    memory_utilization: FractionThresholds | None = None
    """Working-set memory over the memory limit (or request), per workload."""
    response_time_p95: DurationThresholds | None = None
    """95th-percentile request duration over five minutes."""


class Step(Model):
    """One call to a component: take a worker, hold it for a service time, run nested steps.
    Or, with ``choice`` instead of ``call``, exactly one of several branches of steps."""

    call: str | None = None
    """Name of the component called (or ``choice``)."""
    choice: list[Branch] | None = Field(default=None, min_length=2)
    """Branches, exactly one of which runs, drawn by their weights from the step's own
    stream; the choice holds nothing itself (its branches' steps belong to whoever holds
    the step)."""
    probability: Fraction = 1.0
    """Run this step with this probability, else skip it."""
    repeat: SmallCount = 1
    """Run it this many times in a row."""
    service_time: Distribution | None = None
    """Overrides the component's service time for this step."""
    op: Literal["read", "write"] | None = None
    """Database operation kind; ``read`` may be served by read replicas."""
    tokens: Tokens | None = None
    """Input and output tokens of a call to an ``llm_api`` component (required there)."""
    via: str | None = None
    """A ``link`` component the payloads of this call cross."""
    request_bytes: Bytes = 0.0
    """Payload sent to the called component (crosses ``via`` before the call)."""
    response_bytes: Bytes = 0.0
    """Payload returned (crosses ``via`` after the call, nested steps included)."""
    steps: list[Step] = Field(default_factory=list)
    """Steps run while this step still holds its worker (one after another)."""
    on_miss: list[Step] = Field(default_factory=list)
    """Steps run when a cache lookup misses (cache components only)."""
    keyspace: str | None = None
    """The key space a cache lookup reads (caches with ``keyspaces``: required there)."""
    retry: StepRetry | None = None
    """Retry a failed call: attempts, backoff with jitter, on which causes."""
    timeout: PositiveDuration | None = None
    """Give up on the call after this long (cause ``timeout``); the server goes on."""
    circuit_breaker: CircuitBreaker | None = None
    """Fail calls at once (cause ``circuit_open``) while the call fails too often."""
    fallback: list[Step] = Field(default_factory=list)
    """Steps run instead when the call finally fails (a cached answer, a degraded one);
    their outcome is the step's."""

    @model_validator(mode="after")
    def _call_or_choice(self) -> Step:
        if (self.call is None) == (self.choice is None):
            raise ValueError("a step has either 'call' or 'choice'")
        if self.choice is not None:
            extra = sorted(
                k
                for k in self.model_fields_set
                if k not in CHOICE_KEYS and getattr(self, k) not in (None, [], 0.0)
            )
            if extra:
                raise ValueError(f"a choice step takes no {', '.join(extra)}: put it in a branch")
        return self

    def branches(self) -> list[tuple[float, list[Step]]]:
        """A choice's branches as (share of requests, steps)."""
        assert self.choice is not None
        total = sum(b.weight for b in self.choice)
        return [(b.weight / total, b.steps) for b in self.choice]


CHOICE_KEYS = frozenset({"choice", "probability", "repeat"})
"""What a choice step may set beside its branches."""


class Branch(Model):
    """One branch of a ``choice`` step."""

    weight: Annotated[float, Field(gt=0, le=1e9)]
    """Relative weight: the branch runs for weight / (sum of weights) of the requests."""
    steps: list[Step] = Field(min_length=1)
    """Steps run one after another when this branch is drawn."""


Step.model_rebuild()


class RequestType(Model):
    """A kind of request and the path it takes through the components."""

    timeout: PositiveDuration | None = None
    """End-to-end client timeout; a request still unanswered then fails with cause ``timeout``."""
    http: Http | None = None
    """Method and path, for load testing."""
    steps: list[Step] = Field(min_length=1)
    """Top-level steps, run one after another."""
    slos: Slos | None = None
    """Objectives for this request type alone."""


PATH_PARAMETER = re.compile(r"\{[^}/]*\}")
"""A ``{name}`` in an ``http.path``: stands for any one path segment."""


def endpoint(name: str, rtype: RequestType) -> tuple[str, str]:
    """HTTP method and path of a request type: its ``http``, else ``GET /<name>``."""
    if rtype.http is None:
        return "GET", f"/{name}"
    return rtype.http.method, rtype.http.path


def _not_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("must be the number 1 (the language version)")
    return value


class Scenario(Model):
    """A whole scenario: system, load and objectives."""

    capplan: Annotated[Literal[1], BeforeValidator(_not_bool)]
    """Scenario language version; always 1."""
    name: str = Field(min_length=1)
    """Short name, used in reports and manifest folders."""
    description: str = ""
    """Free text."""
    extends: str | None = None
    """Path of a base scenario (relative to this file) that this file deep-merges over."""
    load_scale: Multiplier = 1.0
    """Multiplies every open arrival rate and closed user count (10 = ten times today's load)."""
    simulation: Simulation = Field(default_factory=Simulation)
    """Run length, warm-up, replications and seed."""
    workload: Workload
    """Arrivals and request mix."""
    requests: dict[str, RequestType] = Field(min_length=1)
    """Request types by name."""
    components: dict[str, Component] = Field(min_length=1)
    """Components by name."""
    slos: Slos = Field(default_factory=Slos)
    """Objectives for all requests together."""
    costs: Costs | None = None
    """Prices, for the monthly cost."""
    alerts: Alerts | None = None
    """Alert thresholds, for rendered monitoring rules."""
    kubernetes: Kubernetes = Field(default_factory=Kubernetes)
    """How the services are deployed, for rendered manifests."""
    failures: Failures | None = None
    """Failures injected into the run: pod crashes over time, scheduled outages."""

    _origins: dict[tuple[str | int, ...], tuple[str, int]] = PrivateAttr(default_factory=dict)
    _file: str = PrivateAttr(default="<scenario>")
    _uncertain: list[Any] = PrivateAttr(default_factory=list)
    """Inputs given as ranges (``{between: [low, high]}``; see :mod:`capplan.uncertainty`);
    the scenario holds their middles."""
    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)
    """The data with its ranges, for drawing samples from them."""

    @model_validator(mode="before")
    @classmethod
    def _guaranteed_memory(cls, data: Any) -> Any:
        """With ``kubernetes.guaranteed_memory`` (the default), a component's memory
        request is its memory limit: in the manifests, in node placement and in memory
        utilization alike, so that what is simulated is what is deployed."""
        if not isinstance(data, dict) or not isinstance(data.get("components"), dict):
            return data
        settings = data.get("kubernetes")
        if isinstance(settings, dict) and settings.get("guaranteed_memory", True) is not True:
            return data
        components = {}
        for name, c in data["components"].items():
            res = c.get("resources") if isinstance(c, dict) else None
            limits = res.get("limits") if isinstance(res, dict) else None
            if isinstance(res, dict) and isinstance(limits, dict) and limits.get("memory"):
                requests = res.get("requests")
                requests = dict(requests) if isinstance(requests, dict) else {}
                requests["memory"] = limits["memory"]
                c = {**c, "resources": {**res, "requests": requests}}
            components[name] = c
        return {**data, "components": components}

    def __eq__(self, other: object) -> bool:
        # the same scenario whichever files and lines it was read from
        return isinstance(other, Scenario) and self.__dict__ == other.__dict__

    __hash__ = Model.__hash__

    def where(self, *path: str | int) -> tuple[str, int | None]:
        """The file and line that gave the value at ``path`` (or its nearest parent), for
        messages about a valid scenario that a later stage cannot use."""
        for cut in range(len(path), -1, -1):
            if path[:cut] in self._origins:
                return self._origins[path[:cut]]
        return self._file, None

    def problem(self, path: tuple[str | int, ...], message: str, value: object = None) -> Problem:
        """A located :class:`~capplan.errors.Problem` about the value at ``path``."""
        from capplan.scenario.yamlfile import format_path

        file, line = self.where(*path)
        return Problem(file, format_path(path), message, line, value, value is not None)

    @property
    def fails(self) -> bool:
        """Whether anything fails during a run: ``failures``, or nodes with an ``mtbf``."""
        return self.failures is not None or (
            self.costs is not None and self.costs.node.mtbf is not None
        )

    @property
    def arrival_rate(self) -> float:
        """Open arrival rate per second after ``load_scale``."""
        return self.workload.base_rate * self.load_scale

    @property
    def users(self) -> int:
        """Closed population after ``load_scale`` (at least one user)."""
        assert self.workload.users is not None
        return max(1, round(self.workload.users * self.load_scale))

    def mix(self) -> dict[str, float]:
        """Request-type probabilities, normalized, in the order of ``requests``."""
        weights = self.workload.mix or {name: 1.0 for name in self.requests}
        total = sum(weights.values())
        return {name: weights.get(name, 0.0) / total for name in self.requests}


def scenario_hash(scenario: Scenario) -> str:
    """Content hash of the validated scenario (after extends and load scale), for provenance.
    Values left at their defaults are left out, so that a key capplan adds later (with a
    default) does not change the hash of a file that does not use it; the capplan version
    is recorded beside the hash for what the defaults were."""
    canonical = json.dumps(scenario.model_dump(mode="json", exclude_defaults=True), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]

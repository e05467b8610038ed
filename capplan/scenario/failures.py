"""``failures``: what goes wrong during a run, as a process over time and as scheduled
events.

Times of events are clock times, like a profile's spikes: with ``simulation.start: 8h``
an event ``at: 9h`` comes an hour into the measured run.

- ``random``: per component, pod crashes at exponential times (``pod_mtbf`` per pod, every
  pod independently), each followed by a restart in place (the kubelet restarts the
  container; the pod is ready again after ``restart``).
- ``events``: ``pod_kill`` (pods deleted; the Deployment replaces them after the
  component's ``startup``), ``zone_outage`` (every pod in the zone is lost; replacements
  are created in the other zones once the pods' toleration of an unreachable node runs
  out, Kubernetes' default 300 s, and are ready after ``startup``; a database shard with
  read replicas elects a new primary among the members left, ``ELECTION_S``), ``brownout`` (a
  component's service times multiplied and a share of its calls failing at once with
  cause ``error``) and ``llm_api`` (a provider's quotas cut, latency multiplied and a
  share of 5xx), ``failover`` (a database primary lost until a new one is elected),
  ``link`` (bandwidth cut, latency added) and ``node_loss`` (nodes and their pods lost).
- ``costs.node.mtbf``: node failures as a process over time, with live nodes.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from capplan.scenario.distributions import Constant, Distribution
from capplan.scenario.types import (
    ClockTime,
    Fraction,
    Model,
    NonNegativeDuration,
    PositiveDuration,
    SmallCount,
)

Factor = Annotated[float, Field(ge=1, le=1000)]
"""A slow-down: 1 (as usual) or more."""

UNREACHABLE_TOLERATION = 300.0
"""Kubernetes' default ``tolerationSeconds`` for ``node.kubernetes.io/unreachable``: how
long pods on an unreachable node stay bound to it before they are evicted and replaced."""

ZONE_NAMES = "abcdefghij"

ELECTION_S = 12.0
"""From a database primary's loss to a new primary taking writes: MongoDB's election
timeout of 10 s plus the vote."""


class RandomFailures(Model):
    """Pod crashes of one component as a process over time."""

    pod_mtbf: PositiveDuration
    """Mean time between failures of one pod ('7d'); every pod fails independently, at
    exponential times."""
    restart: Distribution = Field(default_factory=lambda: Constant.model_validate({"value": "20s"}))
    """From the crash until the restarted container is ready again. Default 20s."""


class _Event(Model):
    at: ClockTime
    """Clock time it happens ('14:10', or a duration since midnight: '14h10min', '26h')."""


class PodKill(_Event):
    """Pods of a component deleted at once (``kubectl delete pod``, an OOM kill)."""

    kind: Literal["pod_kill"]
    target: str
    """The component."""
    count: SmallCount = 1
    """Pods killed (the oldest first, as they are the ones most likely still running)."""


class ZoneOutage(_Event):
    """A zone unreachable for a while: every pod in it lost."""

    kind: Literal["zone_outage"]
    zone: str
    """Zone name: 'a', 'b', ... up to ``kubernetes.zones``."""
    duration: PositiveDuration
    """How long the zone is out."""
    replace_after: NonNegativeDuration = UNREACHABLE_TOLERATION
    """From the outage until the lost pods are replaced in the other zones (the
    unreachable-node toleration). Default 300s."""


class Brownout(_Event):
    """A component degraded for a while: slower, and failing a share of its calls."""

    kind: Literal["brownout"]
    target: str
    """The component."""
    duration: PositiveDuration
    latency_factor: Factor = 1.0
    """Service times multiplied by this (3: three times slower)."""
    error_share: Fraction = 0.0
    """Share of calls that fail at once with cause ``error`` (a 5xx)."""


class LlmDegradation(_Event):
    """An LLM provider degraded for a while."""

    kind: Literal["llm_api"]
    target: str
    """The ``llm_api`` component."""
    duration: PositiveDuration
    quota_factor: Annotated[float, Field(gt=0, le=1)] = 1.0
    """Request and token quotas multiplied by this (0.5: half the quota)."""
    latency_factor: Factor = 1.0
    """Call durations multiplied by this."""
    error_share: Fraction = 0.0
    """Share of calls answered with a 5xx at once (cause ``error``)."""


class NodeLoss(_Event):
    """Nodes lost at once (a kernel panic, a hardware fault): every pod on them is lost
    and recreated where room allows, pending otherwise; the node group replaces each node
    after ``costs.node.replacement``, and the cluster autoscaler adds nodes for what
    stays pending. Needs live nodes (``costs`` and ``simulation.autoscale``)."""

    kind: Literal["node_loss"]
    count: Annotated[int, Field(ge=1, le=1000, strict=True)] = 1
    """Nodes lost (the fullest first)."""


class Failover(_Event):
    """A database primary lost: reads go on at the read replicas; writes to its shard find
    no primary until a new one is elected, and fail (cause ``unavailable``, which a step's
    ``retry`` may wait out) or wait for it, as ``on_failover`` says. Writes in service on
    the old primary are lost."""

    kind: Literal["failover"]
    target: str
    """The ``database`` component."""
    shard: Annotated[int, Field(ge=1, le=1000, strict=True)] = 1
    """Which shard's primary (1 = the first)."""
    election: NonNegativeDuration = ELECTION_S
    on_failover: Literal["fail", "wait"] = "fail"
    """What a write does meanwhile: ``fail`` at once (cause ``unavailable``), or ``wait``
    for the new primary (queued, as a driver's server selection waits)."""
    """From the loss to a new primary taking writes. Default 12s (MongoDB's election
    timeout of 10 s plus the vote)."""


class LinkDegradation(_Event):
    """A network link degraded for a while."""

    kind: Literal["link"]
    target: str
    """The ``link`` component."""
    duration: PositiveDuration
    bandwidth_factor: Annotated[float, Field(gt=0, le=1)] = 1.0
    """Bandwidth multiplied by this (0.5: half; background traffic takes longer too)."""
    added_latency: NonNegativeDuration = 0.0
    """Added to the one-way propagation delay."""


Event = Annotated[
    PodKill | ZoneOutage | Brownout | LlmDegradation | Failover | LinkDegradation | NodeLoss,
    Field(discriminator="kind"),
]


class Failures(Model):
    """Failures injected into the run (see the module docstring)."""

    random: dict[str, RandomFailures] = Field(default_factory=dict)
    """Per component: pod crashes over time."""
    events: list[Event] = Field(default_factory=list)
    """Failures at a clock time."""

    def end(self, event: Event) -> float:
        """Clock time the event's effect ends (its start for a pod kill)."""
        return event.at + getattr(event, "duration", 0.0)

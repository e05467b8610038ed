"""A component's HorizontalPodAutoscaler and memory model, in the scenario language.

``autoscaling`` is the HPA (autoscaling/v2) that runs in the simulation and that
``render-manifests`` writes, one source for both: its bounds, its targets (one or more;
the largest proposal wins, as in Kubernetes), its tolerance and sync period, and
``behavior`` in the manifest's own shape and camelCase names.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from capplan.scenario.types import Bytes, Fraction, Model, PositiveDuration, Rate, Replicas


def _target(value: float) -> float:
    if value <= 0:
        raise ValueError("a utilization target must be above 0% (at most 100%)")
    return value


Target = Annotated[Fraction, AfterValidator(_target)]
"""A utilization target in (0, 100%]: '70%' or 0.7."""


class ScalingPolicy(Model):
    """One rate limit: at most ``value`` pods (``Pods``) or percent of the replicas at the
    period's start (``Percent``) per ``periodSeconds``."""

    type: Literal["Pods", "Percent"]
    value: Annotated[int, Field(gt=0, le=100_000, strict=True)]
    periodSeconds: Annotated[int, Field(ge=1, le=1800, strict=True)]  # the API's limits


class ScalingRules(Model):
    """One direction of ``behavior`` (``scaleUp`` or ``scaleDown``); fields left out take
    Kubernetes' defaults."""

    stabilizationWindowSeconds: Annotated[int, Field(ge=0, le=3600, strict=True)] | None = None
    """Proposals remembered: scale up to the lowest of this window's, down to the highest."""
    selectPolicy: Literal["Max", "Min", "Disabled"] | None = None
    """Which policy's limit applies: the largest change (Max), the smallest (Min), none."""
    policies: Annotated[list[ScalingPolicy], Field(min_length=1, max_length=10)] | None = None
    """The rate limits."""
    tolerance: Fraction | None = None
    """This direction's tolerance (Kubernetes 1.33+), instead of ``autoscaling.tolerance``."""


class Behavior(Model):
    """``spec.behavior`` of an autoscaling/v2 HPA."""

    scaleUp: ScalingRules | None = None
    """Default: no stabilization; the larger of 4 pods and 100% per 15 s."""
    scaleDown: ScalingRules | None = None
    """Default: 300 s stabilization; up to 100% per 15 s."""


class Autoscaling(Model):
    """A HorizontalPodAutoscaler: it runs in the simulation (every ``sync_period``, on the
    metrics as a metrics pipeline reports them, with Kubernetes' algorithm) and is what
    ``render-manifests`` writes. Give at least one target."""

    min: Replicas
    """Fewest replicas."""
    max: Replicas
    """Most replicas; at least ``min``."""
    cpu_target: Target | None = None
    """CPU used over CPU requested, averaged over ready pods: '70%'. Needs
    ``cpu_per_request`` and ``resources.requests.cpu``."""
    memory_target: Target | None = None
    """Memory used over memory requested: '80%'. Needs ``memory`` and
    ``resources.requests.memory``."""
    rps_target: Rate | None = None
    """Requests per second per pod (a Pods metric, served by a metrics adapter): '20/s'."""
    inflight_target: Annotated[float, Field(gt=0, le=1e6)] | None = None
    """Requests in flight per pod, in service or waiting in its queue (a Pods metric, the
    signal for queue-bound workers)."""
    tolerance: Annotated[Fraction, Field(lt=1)] = 0.1
    """No change while the usage ratio is within this of 1 (Kubernetes' default 0.1)."""
    sync_period: PositiveDuration = 15.0
    """How often the HPA decides (kube-controller-manager's default 15 s)."""
    metrics_window: PositiveDuration = 15.0
    """The metrics pipeline's resolution: CPU and request rates are averages over the last
    window, refreshed once a window (metrics-server's default 15 s)."""
    behavior: Behavior | None = None
    """Scale-up and scale-down rules, as in the manifest."""

    @model_validator(mode="after")
    def _consistent(self) -> Autoscaling:
        if self.max < self.min:
            raise ValueError("max must be at least min")
        if not self.targets:
            raise ValueError(
                "needs at least one target: cpu_target, memory_target, rps_target or "
                "inflight_target"
            )
        return self

    @property
    def targets(self) -> dict[str, float]:
        """The metrics the HPA scales on and their targets, in a fixed order."""
        pairs = (
            ("cpu", self.cpu_target),
            ("memory", self.memory_target),
            ("rps", self.rps_target),
            ("inflight", self.inflight_target),
        )
        return {name: value for name, value in pairs if value is not None}

    def behavior_dict(self) -> dict[str, Any]:
        """``behavior`` as the plain camelCase dict :func:`capplan.autoscaling.hpa_replicas`
        takes (parts left out are absent, so the defaults apply)."""
        if self.behavior is None:
            return {}
        return self.behavior.model_dump(exclude_none=True)

    def written(self) -> dict[str, Any]:
        """This HPA as a scenario file writes it ('70%', '60/s', '15s'), defaults left out."""
        out: dict[str, Any] = {"min": self.min, "max": self.max}
        for key in ("cpu_target", "memory_target"):
            value = getattr(self, key)
            if value is not None:
                out[key] = f"{round(value * 100, 4):g}%"
        if self.rps_target is not None:
            out["rps_target"] = f"{self.rps_target:g}/s"
        if self.inflight_target is not None:
            out["inflight_target"] = self.inflight_target
        if self.tolerance != 0.1:
            out["tolerance"] = self.tolerance
        for key in ("sync_period", "metrics_window"):
            if getattr(self, key) != 15.0:
                out[key] = f"{getattr(self, key):g}s"
        if self.behavior is not None:
            out["behavior"] = self.behavior_dict()
        return out


class Memory(Model):
    """Memory one replica uses: ``base`` plus ``per_request`` for each request in flight
    (in service or waiting in its own queue)."""

    base: Bytes
    """Memory of an idle replica: '600Mi'."""
    per_request: Bytes = 0.0
    """Memory each request in flight adds: '8Mi'."""

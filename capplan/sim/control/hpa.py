"""The HorizontalPodAutoscaler in the run: a metrics pipeline and the controller's sync.

Every ``metrics_window`` the pipeline samples each pod, as metrics-server and a Prometheus
adapter report them: CPU used over the last window against the pod's CPU request (visits
completed x ``cpu_per_request``), requests per second over the window (completions, as an
``http_requests_total`` counter counts them), and at the instant of the sample memory
(``base`` + in flight x ``per_request``, against the memory request) and requests in
flight. Every ``sync_period`` the controller turns the latest samples into one proposal
per metric (:func:`capplan.autoscaling.calculator.proposal`), takes the largest, and sets
the deployment's size with :func:`capplan.autoscaling.hpa_replicas`, remembering its
proposals and scale events as kube-controller-manager does.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from capplan.autoscaling import hpa_replicas
from capplan.autoscaling.calculator import (
    CPU_INITIALIZATION_PERIOD_S,
    PodSample,
    Tolerance,
    proposal,
)
from capplan.autoscaling.hpa import longest_memory
from capplan.sim.capacity import GONE
from capplan.sim.control.level import Level
from capplan.sim.control.pods import PENDING, Deployment

if TYPE_CHECKING:
    from capplan.scenario.autoscaling import Autoscaling
    from capplan.scenario.components import ServiceComponent
    from capplan.sim.kernel import Kernel

UTILIZATION = ("cpu", "memory")
"""Metrics with a utilization target (Resource metrics); the others are Pods metrics."""


class ScaleEvent:
    """One change of a deployment's size, and when the pods it added were all ready."""

    __slots__ = ("after", "at", "before", "ready_at")

    def __init__(self, at: float, before: int, after: int):
        self.at = at
        self.before = before
        self.after = after
        self.ready_at: float | None = None if after > before else at


class Hpa:
    """One component's HPA: its metrics pipeline, its sync, and what it saw."""

    def __init__(
        self,
        name: str,
        spec: Autoscaling,
        component: ServiceComponent,
        deployment: Deployment,
        kernel: Kernel,
    ):
        self.name = name
        self.spec = spec
        self.deployment = deployment
        self.kernel = kernel
        self.behavior = spec.behavior_dict()
        b = spec.behavior
        up = b.scaleUp.tolerance if b is not None and b.scaleUp is not None else None
        down = b.scaleDown.tolerance if b is not None and b.scaleDown is not None else None
        self.tolerance = Tolerance(
            up=spec.tolerance if up is None else up, down=spec.tolerance if down is None else down
        )
        self.memory_s = longest_memory(self.behavior)
        res = component.resources
        requests = res.requests if res is not None else None
        self.cpu_request = (requests.cpu if requests else None) or 0.0
        self.memory_request = (requests.memory if requests else None) or 0.0
        self.cpu_per_request = component.cpu_per_request or 0.0
        self.memory = component.memory
        self.recommendations: list[tuple[float, int]] = []
        self.scale_events: list[tuple[float, int]] = []
        self.events: list[ScaleEvent] = []
        self.desired = Level(kernel, deployment.spec_replicas)
        self.samples: dict[Any, dict[str, float]] = {}
        self.sample_time = -float("inf")
        self.last_served: dict[Any, int] = {}
        self.seen: dict[str, list[float]] = {m: [0.0, 0.0] for m in spec.targets}
        """Per metric, the sum and count of the average values read at syncs since the
        last window closed."""
        self.last_proposal = deployment.spec_replicas
        deployment.on_ready = self._pod_ready

    # the metrics pipeline -----------------------------------------------------------

    def scraper(self) -> Generator[float, Any, None]:
        window = self.spec.metrics_window
        while True:
            yield window
            self.sample()

    def sample(self) -> None:
        window = self.spec.metrics_window
        samples: dict[Any, dict[str, float]] = {}
        last: dict[Any, int] = {}
        memory = self.memory
        for pod in self.deployment.pods:
            replica = pod.replica
            if replica is None or replica.state == GONE:
                continue
            served = replica.served
            rate = (served - self.last_served.get(replica, 0)) / window
            last[replica] = served
            in_flight = replica.in_flight
            values = {"rps": rate, "inflight": float(in_flight)}
            if self.cpu_request:
                values["cpu"] = rate * self.cpu_per_request / self.cpu_request
            if memory is not None and self.memory_request:
                used = memory.base + in_flight * memory.per_request
                values["memory"] = used / self.memory_request
            samples[replica] = values
        self.samples = samples
        self.last_served = last
        self.sample_time = self.kernel.now

    # the controller -----------------------------------------------------------------

    def sync(self) -> Generator[float, Any, None]:
        while True:
            yield self.spec.sync_period
            self.decide()

    def _samples(self, metric: str) -> list[PodSample]:
        now, window = self.kernel.now, self.spec.metrics_window
        out = []
        for pod in self.deployment.live:
            if pod.state == PENDING:
                out.append(PodSample(None, unready=True))
                continue
            replica = pod.replica
            got = self.samples.get(replica)
            value = got.get(metric) if got is not None else None
            if metric == "cpu":
                # groupPods: within the CPU initialization period a pod counts only once
                # ready for a whole metric window; after it, once ready
                young = now - pod.placed < CPU_INITIALIZATION_PERIOD_S
                unready = not pod.ready or (young and self.sample_time < replica.ready_at + window)
                out.append(PodSample(value, unready=unready))
            else:
                out.append(PodSample(value))
        return out

    def decide(self) -> None:
        spec, dep = self.spec, self.deployment
        now, current = self.kernel.now, dep.spec_replicas
        proposals = []
        for metric, target in spec.targets.items():
            samples = self._samples(metric)
            read = [s.value for s in samples if not s.unready and s.value is not None]
            if read:
                seen = self.seen[metric]
                seen[0] += sum(read) / len(read)
                seen[1] += 1
            p = proposal(current, samples, target, self.tolerance, metric in UTILIZATION)
            if p is not None:
                proposals.append(p)
        if not proposals:
            return  # no metric could be computed: the HPA does not act this round
        raw = max(proposals)
        self.last_proposal = raw
        new = hpa_replicas(
            now,
            current,
            raw,
            spec.min,
            spec.max,
            self.behavior,
            self.recommendations,
            self.scale_events,
        )
        normalized = spec.min <= current <= spec.max and not (current == 0 and spec.min)
        if normalized:  # the guards return before a recommendation is kept
            cutoff = now - self.memory_s
            self.recommendations = [r for r in self.recommendations if r[0] > cutoff]
            self.recommendations.append((now, raw))
        if new != current:
            cutoff = now - self.memory_s
            self.scale_events = [e for e in self.scale_events if e[0] > cutoff]
            self.scale_events.append((now, new - current))
            self.events.append(ScaleEvent(now, current, new))
            dep.scale_to(new)
            self.desired.set(new)
            self._pod_ready()

    def _pod_ready(self) -> None:
        """Close the scale-ups whose pods are now all ready."""
        ready = None
        for event in reversed(self.events):
            if event.ready_at is not None:
                break
            if ready is None:
                ready = self.deployment.counts()[0]
            if ready >= min(event.after, self.deployment.spec_replicas):
                event.ready_at = self.kernel.now

    @property
    def quiet(self) -> bool:
        """Holding still: its last proposal is the current size (or beyond its bounds)."""
        current = self.deployment.spec_replicas
        p = self.last_proposal
        return p == current or (p > current == self.spec.max) or (p < current == self.spec.min)

    def window_seen(self) -> dict[str, float | None]:
        """The average metric values read at the syncs since the last call."""
        out: dict[str, float | None] = {}
        for metric, (total, count) in self.seen.items():
            out[metric] = total / count if count else None
            self.seen[metric] = [0.0, 0.0]
        return out

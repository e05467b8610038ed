"""From metrics to a replica proposal, as the HPA's replica calculator makes it.

A transcription of pkg/controller/podautoscaler/replica_calculator.go: ``GetResourceReplicas``
(a Resource metric with a Utilization target: CPU, memory) and ``calcPlainMetricReplicas``
(a Pods metric with an AverageValue target: requests per second, requests in flight).

Pods are grouped as upstream's ``groupPods`` does: pods being deleted are ignored; pending
pods (no node yet) are *unready*; for CPU, so is a pod not ready, or one that became ready
within the CPU initialization period less than one metric window before the sample (its
sample would mix start-up with service). The others are *ready* with their sample, or
*missing* without one. Within tolerance of the target the count stays; otherwise the
proposal is ceil(usage ratio x ready pods), re-checked with unready pods counted at 0 on a
scale-up and missing ones at 0 (up) or at the target (down), which never reverses the
direction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

CPU_INITIALIZATION_PERIOD_S = 300.0
"""--horizontal-pod-autoscaler-cpu-initialization-period."""


@dataclass(frozen=True)
class PodSample:
    """One pod as the HPA sees it for one metric."""

    value: float | None
    """The pod's metric (a utilization as a fraction of its request, or a Pods metric's
    value per pod); None when no sample exists for it."""
    unready: bool = False
    """Pending, or (for CPU) not ready or ready too recently for a clean sample."""
    deleting: bool = False
    """Terminating: ignored."""


@dataclass(frozen=True)
class Tolerance:
    """The band around the target within which nothing changes: a usage ratio in
    [1 - down, 1 + up]."""

    up: float = 0.1
    down: float = 0.1

    def within(self, ratio: float) -> bool:
        return 1.0 - self.down <= ratio <= 1.0 + self.up


def _utilization_ratio(values: Sequence[float], target: float) -> float:
    """``GetResourceUtilizationRatio``: the utilization as an integer percentage (the sum
    of usage over the sum of requests, truncated), over the target percentage."""
    percent = int(sum(values) * 100 / len(values) + 1e-9)
    return percent / round(target * 100)


def _usage_ratio(values: Sequence[float], target: float) -> float:
    """``GetMetricUsageRatio``: the mean value per pod (in milli-units, truncated) over
    the target."""
    milli = [round(v * 1000) for v in values]
    return (sum(milli) // len(milli)) / round(target * 1000)


def proposal(
    current_replicas: int,
    samples: Sequence[PodSample],
    target: float,
    tolerance: Tolerance,
    utilization: bool,
) -> int | None:
    """The replica count one metric asks for, or None when no ready pod has a sample
    (upstream: "did not receive metrics for targeted pods"; the HPA then does not act on
    this metric).

    ``utilization``: the target is a utilization of requests (a Resource metric, compared
    as integer percentages); else an average value per pod (a Pods metric)."""
    ratio_of = _utilization_ratio if utilization else _usage_ratio
    live = [s for s in samples if not s.deleting]
    ready = [s.value for s in live if not s.unready and s.value is not None]
    unready = sum(1 for s in live if s.unready)
    missing = sum(1 for s in live if not s.unready and s.value is None)
    if not ready:
        return None
    ratio = ratio_of(ready, target)
    scale_up_with_unready = unready > 0 and ratio > 1.0
    if not scale_up_with_unready and missing == 0:
        if tolerance.within(ratio):
            return current_replicas
        return math.ceil(ratio * len(ready))
    values = list(ready)
    if missing:
        if ratio < 1.0:
            # on a scale-down a missing pod counts as using its whole request (resource;
            # the larger of 100% and the target) or exactly the target (Pods metric)
            fallback = max(1.0, target) if utilization else target
            values += [fallback] * missing
        elif ratio > 1.0:
            values += [0.0] * missing
    if scale_up_with_unready:
        values += [0.0] * unready
    new_ratio = ratio_of(values, target)
    if tolerance.within(new_ratio) or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return current_replicas
    new = math.ceil(new_ratio * len(values))
    if (new_ratio < 1.0 and new > current_replicas) or (new_ratio > 1.0 and new < current_replicas):
        return current_replicas
    return new

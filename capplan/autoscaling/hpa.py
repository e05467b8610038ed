"""The HorizontalPodAutoscaler's decision (autoscaling/v2), as kube-controller-manager
makes it.

A transcription of pkg/controller/podautoscaler/horizontal.go: the guards of
``reconcileAutoscaler``, then ``normalizeDesiredReplicasWithBehaviors``:
``stabilizeRecommendationWithBehaviors`` (the current count clamped between the lowest
proposal within the scale-up window and the highest within the scale-down window, the new
proposal included) and ``convertDesiredReplicasWithBehaviorRate`` (each policy's limit
from the replicas at the start of its period, reconstructed from the scale events within
it; ``selectPolicy`` picks the largest or smallest change, or none), then min/max.

Times are seconds; an entry counts within a window or period when it is strictly later
than ``now`` less the window, as upstream's ``timestamp.After(cutoff)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

SCALE_UP_DEFAULT: dict[str, Any] = {
    "stabilizationWindowSeconds": 0,
    "selectPolicy": "Max",
    "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15},
    ],
}
"""pkg/apis/autoscaling/v2 GenerateHPAScaleUpRules: no stabilization, the larger of 4 pods
and 100% per 15 s."""

SCALE_DOWN_DEFAULT: dict[str, Any] = {
    "stabilizationWindowSeconds": 300,
    "selectPolicy": "Max",
    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
}
"""GenerateHPAScaleDownRules: the highest proposal of the last 5 minutes, then up to 100%
per 15 s."""

INT32_MAX = 2**31 - 1
INT32_MIN = -(2**31)


def rules(behavior: Mapping[str, Any] | None, direction: str) -> dict[str, Any]:
    """The effective rules of one direction (``scaleUp`` or ``scaleDown``): the given
    fields, and the defaults for those missing (as ``copyHPAScalingRules`` fills them)."""
    default = SCALE_UP_DEFAULT if direction == "scaleUp" else SCALE_DOWN_DEFAULT
    given = (behavior or {}).get(direction) or {}
    out = dict(default)
    for key in ("stabilizationWindowSeconds", "selectPolicy", "policies", "tolerance"):
        if given.get(key) is not None:
            out[key] = given[key]
    return out


def _changed(now: float, period: float, events: Sequence[tuple[float, int]]) -> tuple[int, int]:
    """Replicas added and removed by the events within the last ``period`` seconds
    (``getReplicasChangePerPeriod`` over the scale-up and the scale-down events)."""
    cutoff = now - period
    added = removed = 0
    for t, change in events:
        if t > cutoff:
            if change > 0:
                added += change
            else:
                removed -= change
    return added, removed


def scale_up_limit(
    now: float, current: int, up: Mapping[str, Any], events: Sequence[tuple[float, int]]
) -> int:
    """``calculateScaleUpLimitWithScalingRules``: the most replicas the policies allow."""
    select = up.get("selectPolicy", "Max")
    if select == "Disabled":
        return current
    result = INT32_MAX if select == "Min" else INT32_MIN
    pick = min if select == "Min" else max
    for policy in up["policies"]:
        added, removed = _changed(now, policy["periodSeconds"], events)
        start = current - added + removed
        if policy["type"] == "Pods":
            proposed = start + policy["value"]
        else:
            # rounded up, or a small percentage of a few pods would never add one
            proposed = math.ceil(start * (1 + policy["value"] / 100))
        result = pick(result, proposed)
    return result


def scale_down_limit(
    now: float, current: int, down: Mapping[str, Any], events: Sequence[tuple[float, int]]
) -> int:
    """``calculateScaleDownLimitWithBehaviors``: the fewest replicas the policies allow."""
    select = down.get("selectPolicy", "Max")
    if select == "Disabled":
        return current
    result = INT32_MIN if select == "Min" else INT32_MAX
    pick = max if select == "Min" else min
    for policy in down["policies"]:
        added, removed = _changed(now, policy["periodSeconds"], events)
        start = current - added + removed
        if policy["type"] == "Pods":
            proposed = start - policy["value"]
        else:
            proposed = int(start * (1 - policy["value"] / 100))  # truncated, as int32()
        result = pick(result, proposed)
    return result


def stabilize(
    now: float,
    current: int,
    desired: int,
    up: Mapping[str, Any],
    down: Mapping[str, Any],
    recommendations: Sequence[tuple[float, int]],
) -> int:
    """``stabilizeRecommendationWithBehaviors``: the current count brought within the
    lowest proposal of the scale-up window and the highest of the scale-down window."""
    up_cutoff = now - up["stabilizationWindowSeconds"]
    down_cutoff = now - down["stabilizationWindowSeconds"]
    low = high = desired
    for t, proposal in recommendations:
        if t > up_cutoff:
            low = min(low, proposal)
        if t > down_cutoff:
            high = max(high, proposal)
    return min(max(current, low), high)


def hpa_replicas(
    now: float,
    current_replicas: int,
    desired_replicas: int,
    min_replicas: int,
    max_replicas: int,
    behavior: Mapping[str, Any] | None,
    recommendations: Sequence[tuple[float, int]],
    scale_events: Sequence[tuple[float, int]],
) -> int:
    """The replica count the HPA sets at ``now``.

    ``desired_replicas`` is the metric-based proposal before behavior; ``behavior`` is the
    HPA's ``spec.behavior`` with the manifest's camelCase keys (missing parts take the
    defaults); ``recommendations`` are earlier proposals ``(time, replicas)`` and
    ``scale_events`` earlier changes ``(time, +n)`` up or ``(time, -n)`` down."""
    if current_replicas == 0 and min_replicas != 0:
        return 0  # scaled to zero by hand: autoscaling is off
    if current_replicas > max_replicas:
        return max_replicas
    if current_replicas < min_replicas:
        return min_replicas
    up, down = rules(behavior, "scaleUp"), rules(behavior, "scaleDown")
    desired = stabilize(now, current_replicas, desired_replicas, up, down, recommendations)
    if desired > current_replicas:
        limit = max(scale_up_limit(now, current_replicas, up, scale_events), current_replicas)
        return min(desired, max_replicas, limit)
    if desired < current_replicas:
        limit = min(scale_down_limit(now, current_replicas, down, scale_events), current_replicas)
        return max(desired, min_replicas, limit)
    return desired


def longest_memory(behavior: Mapping[str, Any] | None) -> float:
    """How far back recommendations and scale events can still matter: the longest
    stabilization window or policy period of either direction."""
    longest = 0.0
    for direction in ("scaleUp", "scaleDown"):
        r = rules(behavior, direction)
        longest = max(longest, r["stabilizationWindowSeconds"])
        longest = max([longest, *(p["periodSeconds"] for p in r["policies"])])
    return longest

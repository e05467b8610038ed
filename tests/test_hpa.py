"""The HPA's decision against upstream's own test cases.

Transcribed from kubernetes/kubernetes pkg/controller/podautoscaler/horizontal_test.go
(TestScalingWithRules: the rate limits; TestNormalizeDesiredReplicasWithBehavior: the
stabilization windows) and replica_calculator_test.go (proposals from metrics), with
their names. Upstream's helpers are rewritten here: ``generateScalingRules(pods,
podsPeriod, percent, percentPeriod, stabilization)`` gives a Max-select rule with the
non-zero policies, and ``generateEventsUniformDistribution(changes, period)`` places
change i at ``now - (period - seg*(i+1) + seg/2)`` with ``seg = period / len(changes)``.
"""

from __future__ import annotations

from typing import Any

import pytest

from capplan.autoscaling import hpa_replicas
from capplan.autoscaling.calculator import PodSample, Tolerance, proposal

NOW = 10_000.0


def rules(pods: int, pods_period: int, percent: int, percent_period: int, window: int):
    policies = []
    if pods:
        policies.append({"type": "Pods", "value": pods, "periodSeconds": pods_period})
    if percent:
        policies.append({"type": "Percent", "value": percent, "periodSeconds": percent_period})
    return {"stabilizationWindowSeconds": window, "selectPolicy": "Max", "policies": policies}


def events(changes: list[int], period: int, sign: int) -> list[tuple[float, int]]:
    seg = period / len(changes)
    return [(NOW - (period - seg * (i + 1) + seg / 2), sign * c) for i, c in enumerate(changes)]


def up(changes: list[int], period: int = 120) -> list[tuple[float, int]]:
    return events(changes, period, +1)


def down(changes: list[int], period: int = 120) -> list[tuple[float, int]]:
    return events(changes, period, -1)


# name: (current, desired, min, max, scaleUp rules, scaleDown rules, events, expected)
SCALING_WITH_RULES: dict[str, tuple[Any, ...]] = {
    "prenormalized desired replicas within range": (5, 7, 3, 8, None, None, [], 7),
    "prenormalized desired replicas < minReplicas": (3, 1, 2, 8, None, None, [], 2),
    "prenormalized desired replicas within range when minReplicas is 0": (
        1, 0, 0, 10, None, None, [], 0,
    ),
    "maxReplicas is the limit because maxReplicas < scaleUpLimit": (
        20, 1000, 1, 10, None, None, [], 10,
    ),
    "desired replica count is more than the maximum replica count": (
        100, 1000, 100, 150, None, None, [], 150,
    ),
    "scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies": (
        3, 1000, 1, 2000, rules(0, 0, 1, 60, 0), None, [], 4,
    ),
    "scaleDownLimit is the limit because scaleDownLimit > minReplicas with user defined policies": (
        1000, 3, 3, 2000, None, rules(20, 60, 0, 0, 0), [], 980,
    ),
    "scaleUp with default behavior": (10, 50, 1, 1000, None, None, [], 20),
    "scaleUp with pods policy larger than percent policy": (
        10, 500, 1, 1000, rules(100, 60, 100, 60, 0), None, [], 110,
    ),
    "scaleUp with percent policy larger than pods policy": (
        10, 500, 1, 1000, rules(2, 60, 100, 60, 0), None, [], 20,
    ),
    "scaleUp with spec MaxReplicas limitation with large pod policy": (
        10, 50, 1, 1000, rules(100, 60, 0, 0, 0), None, [], 50,
    ),
    "scaleUp with spec MaxReplicas limitation with large percent policy": (
        10, 50, 1, 1000, rules(10000, 60, 0, 0, 0), None, [], 50,
    ),
    "scaleUp with pod policy limitation": (10, 50, 1, 1000, rules(30, 60, 0, 0, 0), None, [], 40),
    "scaleUp with percent policy limitation": (
        10, 50, 1, 1000, rules(0, 0, 200, 60, 0), None, [], 30,
    ),
    "scaleDown with percent policy larger than pod policy": (
        100, 2, 1, 1000, None, rules(20, 60, 1, 60, 300), [], 80,
    ),
    "scaleDown with pod policy larger than percent policy": (
        100, 2, 1, 1000, None, rules(2, 60, 1, 60, 300), [], 98,
    ),
    "scaleDown with spec MinReplicas=nil limitation with large pod policy": (
        10, 0, 1, 1000, None, rules(100, 60, 0, 0, 300), [], 1,
    ),
    "scaleDown with spec MinReplicas limitation with large percent policy": (
        10, 2, 5, 1000, None, rules(0, 0, 100, 60, 300), [], 5,
    ),
    "scaleDown with pod policy limitation": (10, 2, 1, 1000, None, rules(5, 60, 0, 0, 300), [], 5),
    "scaleDown with percent policy limitation": (
        10, 5, 1, 1000, None, rules(0, 0, 50, 60, 300), [], 5,
    ),
    "scaleUp with spec MaxReplicas limitation with large pod policy and events": (
        100, 500, 1, 200, rules(300, 60, 0, 0, 0), None, up([1, 5, 9]), 200,
    ),
    "scaleUp with spec MaxReplicas limitation with large percent policy and events": (
        100, 500, 1, 200, rules(0, 0, 10000, 60, 0), None, up([1, 5, 9]), 200,
    ),
    "scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent scale up events": (
        100, 500, 1, 1000, rules(5, 120, 0, 0, 0), None, up([1, 5, 9]), 100,
    ),
    "scaleUp with pod policy and previous scale up events": (
        100, 500, 1, 1000, rules(150, 120, 0, 0, 0), None, up([1, 5, 9]), 235,
    ),
    "scaleUp with percent policy and previous scale up events": (
        100, 500, 1, 1000, rules(0, 0, 200, 120, 0), None, up([1, 5, 9]), 255,
    ),
    "scaleUp with percent policy and previous scale up and down events": (
        6, 24, 1, 1000, rules(0, 0, 300, 300, 0), None, up([4]) + down([2]), 16,
    ),
    "scaleDown with default policy and previous events": (
        10, 5, 1, 1000, None, None, down([1, 5, 9]), 5,
    ),
    "scaleDown with spec MinReplicas=nil limitation with large pod policy and previous events": (
        100, 0, 1, 1000, None, rules(115, 120, 0, 0, 300), down([1, 5, 9]), 1,
    ),
    "scaleDown with spec MinReplicas limitation with large pod policy and previous events": (
        100, 0, 5, 1000, None, rules(130, 120, 0, 0, 300), down([1, 5, 9]), 5,
    ),
    "scaleDown with spec MinReplicas limitation with large percent policy and previous events": (
        100, 2, 5, 1000, None, rules(0, 0, 100, 120, 300), down([1, 5, 9]), 5,
    ),
    "scaleDown with pod policy limitation and previous events": (
        100, 2, 1, 1000, None, rules(5, 120, 0, 0, 300), down([1, 5, 9]), 100,
    ),
    "scaleDown with percent policy limitation and previous events": (
        100, 0, 1, 1000, None, rules(0, 0, 50, 120, 300), down([2, 4, 6]), 56,
    ),
    "scaleDown with percent policy and previous scale up and down events": (
        10, 1, 1, 1000, None, rules(0, 0, 50, 180, 0), up([2]) + down([4]), 6,
    ),
    "scaleDown with previous events preventing further scale down": (
        100, 0, 1, 1000, None, rules(0, 0, 10, 120, 300), down([10, 10, 10]), 100,
    ),
    "scaleDown with with previous events still allowing more scale down": (
        10, 5, 1, 1000, None, rules(0, 0, 1000, 120, 300), down([10, 10, 10]), 5,
    ),
    "check 'outdated' flag for events for one behavior for up": (
        100, 200, 1, 1000, rules(1000, 60, 0, 0, 0), None, up([8, 12, 9, 11]), 200,
    ),
    "check that events were not marked 'outdated' for two different policies in the behavior for up": (
        100, 200, 1, 1000, rules(1000, 120, 100, 60, 0), None, up([8, 12, 9, 11]), 200,
    ),
    "check that events were marked 'outdated' for two different policies in the behavior for up": (
        100, 200, 1, 1000, rules(1000, 30, 100, 60, 0), None, up([8, 12, 9, 11]), 200,
    ),
    "check 'outdated' flag for events for one behavior for down": (
        100, 5, 1, 1000, None, rules(1000, 60, 0, 0, 300), down([8, 12, 9, 11]), 5,
    ),
    "check that events were not marked 'outdated' for two different policies in the behavior for down": (
        100, 5, 1, 1000, None, rules(1000, 120, 100, 60, 300), down([8, 12, 9, 11]), 5,
    ),
    "check that events were marked 'outdated' for two different policies in the behavior for down": (
        100, 5, 1, 1000, None, rules(1000, 30, 100, 60, 300), down([8, 12, 9, 11]), 5,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", SCALING_WITH_RULES)
def test_scaling_with_rules(name):
    current, desired, lo, hi, scale_up, scale_down, evs, expected = SCALING_WITH_RULES[name]
    behavior = {}
    if scale_up is not None:
        behavior["scaleUp"] = scale_up
    if scale_down is not None:
        behavior["scaleDown"] = scale_down
    # upstream runs only the rate step here; with no recommendations, stabilization keeps
    # the proposal, so the whole decision must give the same
    assert hpa_replicas(NOW, current, desired, lo, hi, behavior, [], evs) == expected


def minutes_ago(*pairs: tuple[int, float]) -> list[tuple[float, int]]:
    return [(NOW - 60 * m, r) for r, m in pairs]


# name: (recommendations, current, desired, up window, down window, expected)
STABILIZATION: dict[str, tuple[Any, ...]] = {
    "empty recommendations for scaling down": ([], 100, 5, 0, 0, 5),
    "simple scale down stabilization": (minutes_ago((4, 2), (5, 1)), 100, 3, 0, 180, 5),
    "simple scale up stabilization": (minutes_ago((4, 2), (5, 1)), 1, 7, 300, 0, 4),
    "no scale down stabilization": (minutes_ago((1, 2), (2, 1)), 100, 3, 300, 0, 3),
    "no scale up stabilization": (minutes_ago((4, 2), (5, 1)), 1, 3, 0, 300, 3),
    "no scale down stabilization, reuse recommendation element": (
        minutes_ago((10, 10), (9, 9)), 100, 3, 0, 0, 3,
    ),
    "no scale up stabilization, reuse recommendation element": (
        minutes_ago((10, 10), (9, 9)), 1, 100, 0, 0, 100,
    ),
    "scale down stabilization, reuse one of obsolete recommendation element": (
        minutes_ago((10, 10), (4, 1), (5, 2), (9, 9)), 100, 3, 0, 180, 5,
    ),
    "scale up stabilization, reuse one of obsolete recommendation element": (
        minutes_ago((10, 100), (6, 1), (5, 2), (9, 3)), 1, 100, 300, 0, 5,
    ),
    "scale up and down stabilization, do not scale up when prenormalized rec goes down": (
        minutes_ago((2, 100), (3, 3)), 2, 1, 300, 300, 2,
    ),
    "scale up and down stabilization, do not scale down when prenormalized rec goes up": (
        minutes_ago((2, 100), (1, 3)), 2, 3, 300, 300, 2,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", STABILIZATION)
def test_normalize_desired_replicas_with_behavior(name):
    recs, current, desired, up_window, down_window, expected = STABILIZATION[name]
    # upstream checks the stabilization step alone; rate policies wide enough never to bind
    # make the whole decision equal to it
    wide = [{"type": "Pods", "value": 10_000, "periodSeconds": 15}]
    behavior = {
        "scaleUp": {"stabilizationWindowSeconds": up_window, "policies": wide},
        "scaleDown": {"stabilizationWindowSeconds": down_window, "policies": wide},
    }
    assert hpa_replicas(NOW, current, desired, 1, 100_000, behavior, recs, []) == expected


def test_the_controller_guards_come_first():
    # reconcileAutoscaler: a target scaled to zero by hand switches autoscaling off; a
    # count outside min/max is brought inside before any metric counts
    assert hpa_replicas(NOW, 0, 5, 1, 10, {}, [], []) == 0
    assert hpa_replicas(NOW, 12, 3, 1, 10, {}, [], []) == 10
    assert hpa_replicas(NOW, 1, 20, 3, 10, {}, [], []) == 3
    # and with min 0 a count of zero is an ordinary one
    assert hpa_replicas(NOW, 0, 2, 0, 10, {}, [], []) == 2


def test_disabled_and_min_select_policies():
    behavior = {"scaleUp": {"selectPolicy": "Disabled"}}
    assert hpa_replicas(NOW, 4, 9, 1, 10, behavior, [], []) == 4
    two = [
        {"type": "Pods", "value": 1, "periodSeconds": 60},
        {"type": "Percent", "value": 100, "periodSeconds": 60},
    ]
    assert (
        hpa_replicas(
            NOW, 4, 9, 1, 10, {"scaleUp": {"selectPolicy": "Min", "policies": two}}, [], []
        )
        == 5
    )
    assert (
        hpa_replicas(
            NOW, 4, 9, 1, 10, {"scaleUp": {"selectPolicy": "Max", "policies": two}}, [], []
        )
        == 8
    )
    # scale-down stabilization defaults to 5 minutes: a proposal of 8 four minutes ago holds
    assert hpa_replicas(NOW, 8, 2, 1, 10, {}, minutes_ago((8, 4)), []) == 8
    assert hpa_replicas(NOW, 8, 2, 1, 10, {}, minutes_ago((8, 6)), []) == 2


def ready(*values: float) -> list[PodSample]:
    return [PodSample(v) for v in values]


# replica_calculator_test.go, by test name; CPU levels are millicores of 1-core requests
# (utilization = level / 1000), Pods metric levels are milli-units
# name: (current, samples, target, utilization, expected)
U, M = PodSample(None, unready=True), PodSample(None)  # an unready pod; one with no sample
CALCULATOR: dict[str, tuple[Any, ...]] = {
    "TestReplicaCalcScaleUp": (3, ready(0.3, 0.5, 0.7), 0.3, True, 5),
    "TestReplicaCalcScaleUpUnreadyLessScale": (3, [U, *ready(0.5, 0.7)], 0.3, True, 4),
    "TestReplicaCalcScaleUpUnreadyNoScale": (3, [*ready(0.4), U, U], 0.3, True, 3),
    "TestReplicaCalcScaleUpIgnoresDeletionPods": (
        2, [*ready(0.5, 0.7), PodSample(None, deleting=True), PodSample(None, deleting=True)],
        0.3, True, 4,
    ),
    "TestReplicaCalcScaleUpCM": (3, ready(20.0, 10.0, 30.0), 15.0, False, 4),
    # a Pods metric counts pods that are not ready (only CPU holds them back)
    "TestReplicaCalcScaleUpCMUnreadyHotCpuNoLessScale": (3, ready(50.0, 10.0, 30.0), 15.0, False, 6),
    "TestReplicaCalcScaleDown": (5, ready(0.1, 0.3, 0.5, 0.25, 0.25), 0.5, True, 3),
    "TestReplicaCalcScaleDownCM": (5, ready(12.0, 12.0, 12.0, 12.0, 12.0), 20.0, False, 3),
    "TestReplicaCalcScaleDownIncludeUnreadyPods": (5, [*ready(0.1, 0.3, 0.5), U, U], 0.5, True, 2),
    "TestReplicaCalcScaleDownExcludeUnscheduledPods": (5, [*ready(0.1), U, U, U, U], 0.5, True, 1),
    "TestReplicaCalcToleranceCM": (3, ready(20.0, 21.0, 21.0), 20.0, False, 3),
    "TestReplicaCalcMissingMetrics": (4, [*ready(0.4, 0.095), M, M], 1.0, True, 3),
    "TestReplicaCalcMissingMetricsNoChangeEq": (2, [*ready(1.0), M], 1.0, True, 2),
    "TestReplicaCalcMissingMetricsNoChangeGt": (2, [*ready(1.9), M], 1.0, True, 2),
    "TestReplicaCalcMissingMetricsNoChangeLt": (2, [*ready(0.6), M], 1.0, True, 2),
    "TestReplicaCalcMissingMetricsUnreadyChange": (3, [U, *ready(0.45), M], 0.5, True, 3),
    "TestReplicaCalcMissingMetricsUnreadyScaleUp": (3, [U, *ready(2.0), M], 0.5, True, 4),
    "TestReplicaCalcMissingMetricsUnreadyScaleDown": (4, [U, *ready(0.1, 0.1), M], 0.5, True, 3),
    "TestReplicaCalcDuringRollingUpdateWithMaxSurge": (2, [*ready(0.1, 0.1), M], 0.5, True, 2),
}  # fmt: skip


@pytest.mark.parametrize("name", CALCULATOR)
def test_replica_calculator(name):
    current, samples, target, utilization, expected = CALCULATOR[name]
    assert proposal(current, samples, target, Tolerance(), utilization) == expected


def test_no_ready_sample_gives_no_proposal():
    assert proposal(2, [PodSample(0.5, unready=True)], 0.5, Tolerance(), True) is None


def test_the_utilization_is_an_integer_percentage():
    # 77.9% against 70%: the ratio is 77/70 = 1.1, on the edge of the band, so no change;
    # computed in floats it would be 1.113 and scale
    assert proposal(10, ready(*[0.779] * 10), 0.7, Tolerance(), True) == 10
    assert proposal(10, ready(*[0.78] * 10), 0.7, Tolerance(), True) == 12


def test_edges_upstream_cases_leave_open():
    """Cases the upstream tables do not pin down, each from the source's own arithmetic."""
    pods = {"scaleDown": {"policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}]}}
    # scale-down percentages are truncated (int32 of a float64): 5 x 50% leaves 2, not 3
    assert hpa_replicas(NOW, 5, 1, 1, 10, pods, [], []) == 2
    # an event exactly one period old is outside it (timestamp.After(cutoff))
    one = {"scaleUp": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}}
    assert hpa_replicas(NOW, 5, 9, 1, 10, one, [], [(NOW - 60, 1)]) == 6
    assert hpa_replicas(NOW, 5, 9, 1, 10, one, [], [(NOW - 59.9, 1)]) == 5
    # unready pods count at zero on a scale-up: 80% on two ready pods against 50% would
    # ask for 4, but with the third (unready) at 0 the usage is 53%, within tolerance
    assert proposal(3, [*ready(0.8, 0.8), U], 0.5, Tolerance(), True) == 3
    assert proposal(2, ready(0.8, 0.8), 0.5, Tolerance(), True) == 4

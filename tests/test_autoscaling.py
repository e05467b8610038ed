"""The HPA and the cluster autoscaler inside a run: convergence after a step in load, no
flapping inside the tolerance band, nodes added and removed with the autoscaler's delays,
max_nodes binding, and the memory model against Little's law.

Expected figures are computed from the scenario (sync period, metrics window, startup,
scale-up policy, upstream's replica formula), not written in as constants."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from capplan.sim import run_replication
from capplan_helpers import cli, scenario


def _service(**extra: Any) -> dict[str, Any]:
    return {
        "type": "service",
        "replicas": 2,
        "workers": 8,
        "load_balancing": "round_robin",
        "service_time": {"distribution": "exponential", "mean": "100ms"},
        "cpu_per_request": "40ms",
        "resources": {"requests": {"cpu": 1, "memory": "1Gi"}},
        "startup": {"distribution": "constant", "value": "30s"},
        **extra,
    }


def _step(after: float, autoscaling: dict[str, Any], duration: str = "40m", **extra: Any):
    return scenario(
        {
            "simulation": {
                "duration": duration,
                "warmup": "10m",
                "replications": 1,
                "seed": 3,
                "window": "1m",
            },
            "workload": {
                "arrival_rate": "20/s",
                "profile": {"step": {"at": "20m", "before": 1, "after": after}},
            },
            "requests": {"r": {"steps": [{"call": "api"}]}},
            "components": {"api": _service(autoscaling=autoscaling, **extra)},
        }
    )


STEP_AT = 20 * 60.0
RATE = 20.0
CPU_S = 0.040  # per request, on a 1-CPU request


def _replicas_after(events: list[Any], t: float, start: int) -> int:
    n = start
    for e in events:
        if e.at <= t:
            n = e.after
    return n


@pytest.mark.parametrize(
    ("policy", "period"),
    [(None, 15.0), ({"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}, 60.0)],
    ids=["default-scale-up", "one-pod-a-minute"],
)
def test_replicas_settle_at_upstream_formula_within_the_allowed_time(policy, period):
    """2 replicas at 40% CPU; the load triples. The HPA settles at ceil(2 x 120% / 50%)
    within: one metrics window and one sync period to see the change, then as many
    periods as the scale-up policy needs to add the pods, then the startup time."""
    behavior = {"scaleUp": policy} if policy else None
    hpa: dict[str, Any] = {"min": 2, "max": 20, "cpu_target": "50%"}
    if behavior:
        hpa["behavior"] = behavior
    s = _step(3.0, hpa)
    record = run_replication(s, 0)
    events = list(record.control.events)
    utilization = 3 * RATE * CPU_S / 2  # per pod after the step, before scaling
    expected = math.ceil(2 * utilization / 0.5)
    assert expected == 5
    assert events and events[-1].after == expected
    # how many policy periods adding the pods takes: default max(4 pods, 100%) per 15s
    r, periods = 2, 0
    while r < expected:
        r = min(expected, r + 1) if policy else min(expected, max(r + 4, 2 * r))
        periods += 1
    sync, metrics, startup = 15.0, 15.0, 30.0
    ready_by = STEP_AT + metrics + sync + (periods - 1) * period + startup
    assert events[-1].ready_at is not None
    assert events[-1].ready_at <= ready_by + 1e-6
    # the rate limit binds: the last pod could not have been ready sooner
    assert events[-1].ready_at >= STEP_AT + (periods - 1) * period + startup - 1e-6
    assert all(e.at >= STEP_AT for e in events), "nothing scales before the load changes"
    # the lag reported runs from the load change (the step's window) to the last pod ready
    from capplan import simulate

    reported = simulate(s, jobs=1)["autoscaling"]["events"][-1]
    assert reported["lag_s"] == pytest.approx(events[-1].ready_at - STEP_AT)
    # and it stays there: 5 pods at 48% is inside the tolerance band of a 50% target
    last = [w for w in record.windows if w.start_s >= ready_by + 60]
    assert last and all(w.components["api"].replicas_ready == expected for w in last)
    cpu = sum(w.components["api"].cpu_utilization for w in last) / len(last)
    assert cpu == pytest.approx(3 * RATE * CPU_S / expected, rel=0.05)


def test_no_flapping_under_stationary_load_inside_the_tolerance_band():
    """4 pods at 50% CPU with a 50% target, the metric averaged over a minute (Poisson
    noise of about 2%, well inside the 10% band): over two hours of sampling the HPA never
    changes the count, though the metric it reads moves every sync (a controller
    without the tolerance would flap)."""
    s = scenario(
        {
            "simulation": {
                "duration": "2h",
                "warmup": "5m",
                "replications": 1,
                "seed": 5,
                "window": "5m",
            },
            "workload": {"arrival_rate": "50/s"},
            "requests": {"r": {"steps": [{"call": "api"}]}},
            "components": {
                "api": _service(
                    replicas=4,
                    autoscaling={
                        "min": 1,
                        "max": 20,
                        "cpu_target": "50%",
                        "metrics_window": "60s",
                    },
                )
            },
        }
    )
    record = run_replication(s, 0)
    assert record.control.events == ()
    assert all(w.components["api"].replicas_ready == 4 for w in record.windows)
    # the sampled metric did move: the band, not a constant input, kept it still
    seen = [w.components["api"].hpa_metrics["cpu"] for w in record.windows]
    assert sum(seen) / len(seen) == pytest.approx(0.5, rel=0.02)
    assert max(seen) - min(seen) > 0.005


def _cluster(
    max_nodes: int, after: float, duration: str = "40m", **cluster: Any
) -> Any:  # a 4-CPU node holds 4 pods of 1 CPU
    s = _step(after, {"min": 2, "max": 12, "cpu_target": "50%"}, duration)
    data = s.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["costs"] = {
        "node": {"cpu": 4, "memory": "16Gi", "price_per_hour": 0.2},
        "cluster": {"min_nodes": 1, "max_nodes": max_nodes, **cluster},
    }
    data.pop("capplan", None)
    data.pop("name", None)
    return scenario(data)


def test_with_room_nodes_are_added_after_the_delay_and_removed_after_the_unneeded_time():
    """A 3x step for 10 minutes: 2 pods become 5, which needs a second node; it is asked
    for at the scale-up and takes pods node_startup later. When the load drops back, the
    HPA scales down after its 300 s window, and the emptied node goes after
    scale_down_unneeded_time (and not before scale_down_delay_after_add)."""
    s = _cluster(5, 3.0, "60m", node_startup="90s", scale_down_unneeded_time="5m")
    data = s.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["workload"]["profile"] = {
        "spikes": [{"at": "20m", "multiplier": 3, "duration": "10m"}],
    }
    data.pop("capplan", None)
    data.pop("name", None)
    s = scenario(data)
    record = run_replication(s, 0)
    control = record.control
    assert control.nodes_added == 1 and control.nodes_removed == 1
    up = next(e for e in control.events if e.after > e.before)
    nodes = {w.start_s: w.nodes for w in record.windows}
    # the new pods wait for the node: ready no sooner than node_startup after the decision
    assert up.ready_at >= up.at + 90 - 1e-6
    assert up.ready_at <= up.at + 10 + 90 + 30 + 1e-6  # one scan, the node, the startup
    assert nodes[STEP_AT - 60] == 1 and max(nodes.values()) >= 2
    down = next(e for e in control.events if e.after < e.before)
    assert down.at >= STEP_AT + 600 + 300 - 60  # load drops at +10 min; 300 s window
    # the node goes at least unneeded_time after it emptied, and after delay_after_add
    gone = min(t for t, n in nodes.items() if t > down.at and n == 1)
    assert gone + 60 >= down.at + 300
    assert gone + 60 >= up.at + 600
    assert nodes[max(nodes)] == 1


def test_reaching_max_nodes_with_the_last_node_on_its_way_is_not_binding():
    """5 pods need 2 nodes and max_nodes is 2: the cluster is at its bound as soon as the
    second node is asked for, but the pending pods land on it once it is up."""
    record = run_replication(_cluster(2, 3.0), 0)
    assert record.control.nodes_added == 1
    assert record.control.max_nodes_binding_since is None
    late = [w for w in record.windows if w.start_s >= STEP_AT + 300]
    assert all(w.components["api"].replicas_ready == 5 and not w.pods_pending for w in late)


def test_max_nodes_too_small_leaves_pods_pending_and_is_reported():
    s = _cluster(1, 3.0)  # one 4-CPU node: 4 pods at most, the HPA wants 5
    record = run_replication(s, 0)
    control = record.control
    assert control.nodes_added == 0 and control.nodes_peak == 1
    assert control.max_nodes_binding_since is not None
    assert STEP_AT <= control.max_nodes_binding_since <= STEP_AT + 15 + 15 + 10
    late = [w for w in record.windows if w.start_s >= STEP_AT + 120]
    assert all(w.pods_pending == 1 and w.at_max_nodes for w in late)
    assert all(w.components["api"].replicas_ready == 4 for w in late)
    # and the user is told, in the terminal and the JSON
    from capplan import simulate

    result = simulate(s, jobs=1)
    cluster = result["autoscaling"]["cluster"]
    assert cluster["max_nodes_binding"]["replications"] == 1
    from rich.console import Console

    from capplan.report.autoscaling import notes

    console = Console(width=200, record=True)
    for line in notes(result):
        console.print(line)
    assert "binding constraint: max_nodes 1 reached with pods pending" in console.export_text()


def _memory_scenario(balancing: str) -> Any:
    return scenario(
        {
            "simulation": {"duration": "2000s", "warmup": "200s", "replications": 4, "seed": 2},
            # the request as written, below the limit (not raised to it)
            "kubernetes": {"guaranteed_memory": False},
            "workload": {"arrival_rate": "30/s"},
            "requests": {"r": {"steps": [{"call": "api"}]}},
            "components": {
                "api": {
                    "type": "service",
                    "replicas": 3,
                    "workers": 3,
                    "load_balancing": balancing,
                    "service_time": {"distribution": "exponential", "mean": "200ms"},
                    "resources": {"requests": {"memory": "1Gi"}, "limits": {"memory": "2Gi"}},
                    "memory": {"base": "256Mi", "per_request": "64Mi"},
                }
            },
        }
    )


BASE, PER_REQUEST, REQUEST = 256 * 2**20, 64 * 2**20, 2**30


def test_memory_utilization_with_a_shared_queue_is_base_plus_busy_workers():
    """With a shared queue a replica holds only the requests in service: by Little's law
    their mean is the arrival rate x the service time, exactly, so memory per replica is
    base + (rate / replicas) x S x per_request, over the request. (At 67% busy there is a
    queue: counting it would miss.)"""
    from capplan import simulate

    c = simulate(_memory_scenario("shared_queue"), jobs=1)["components"]["api"]
    expected = (BASE + 30 / 3 * 0.2 * PER_REQUEST) / REQUEST
    lo, hi = c["ci95"]["memory_utilization"]
    assert lo - 1e-9 <= expected <= hi + 1e-9
    assert c["memory_vs_limit"] == pytest.approx(c["memory_utilization"] / 2)


def test_memory_utilization_with_own_queues_follows_littles_law():
    """Round robin: a replica holds what it serves and what waits in its own queue, so its
    mean in flight is throughput x time in the component (wait + hold), per replica."""
    from capplan import simulate

    c = simulate(_memory_scenario("round_robin"), jobs=1)["components"]["api"]
    in_flight = c["throughput_rps"] * (c["mean_wait_s"] + c["mean_hold_s"]) / 3
    assert c["mean_wait_s"] > 0.01  # the queue is there to count
    expected = (BASE + in_flight * PER_REQUEST) / REQUEST
    assert c["memory_utilization"] == pytest.approx(expected, rel=0.01)


BAD = [
    ({"min": 5, "max": 2, "cpu_target": "50%"}, "max"),
    ({"min": 1, "max": 4, "cpu_target": "0%"}, "cpu_target"),
    ({"min": 1, "max": 4, "cpu_target": "120%"}, "cpu_target"),
    (
        {
            "min": 1,
            "max": 4,
            "cpu_target": "50%",
            "behavior": {
                "scaleUp": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 0}]}
            },
        },
        "periodSeconds",
    ),
    (
        {
            "min": 1,
            "max": 4,
            "cpu_target": "50%",
            "behavior": {
                "scaleUp": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 1801}]}
            },
        },
        "periodSeconds",
    ),
    (
        {
            "min": 1,
            "max": 4,
            "cpu_target": "50%",
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 3601}},
        },
        "stabilizationWindowSeconds",
    ),
    (
        {
            "min": 1,
            "max": 4,
            "cpu_target": "50%",
            "behavior": {
                "scaleDown": {"policies": [{"type": "Replicas", "value": 1, "periodSeconds": 60}]}
            },
        },
        "type",
    ),
    ({"min": 1, "max": 4}, "autoscaling"),
    ({"min": 1, "max": 4, "memory_target": "80%"}, "memory_target"),
]


def _validate(tmp_path, component: dict[str, Any], **top: Any) -> tuple[int, str, Any]:
    """``capplan validate`` on a one-service scenario written to bad.yaml."""
    import yaml

    doc = {
        "capplan": 1,
        "name": "bad",
        "workload": {"arrival_rate": "20/s"},
        "requests": {"r": {"steps": [{"call": "api"}]}},
        "components": {"api": component},
        **top,
    }
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    code, _, err = cli("validate", str(path))
    return code, err, path


@pytest.mark.parametrize(("hpa", "key"), BAD, ids=[f"{k}-{i}" for i, (_, k) in enumerate(BAD)])
def test_bad_autoscaling_exits_2_naming_file_line_and_key(tmp_path, hpa, key):
    component = _service(autoscaling=hpa)
    del component["startup"]
    code, err, path = _validate(tmp_path, component)
    assert code == 2, err
    assert "Traceback" not in err
    assert str(path) in err or "bad.yaml" in err
    assert key in err
    assert "line" in err or ":" in err.split("bad.yaml", 1)[1][:8]


def test_cpu_target_without_cpu_figures_is_refused(tmp_path):
    component = _service(autoscaling={"min": 1, "max": 4, "cpu_target": "50%"})
    del component["cpu_per_request"]
    code, err, _ = _validate(tmp_path, component)
    assert code == 2 and "cpu_per_request" in err and "Traceback" not in err


NODE = {"cpu": 4, "memory": "16Gi", "price_per_hour": 0.2}
BAD_KEYS = [
    ({"startup": {"distribution": "lognormal", "p50": "-5s", "p95": "60s"}}, {}, "startup"),
    ({"memory": {"base": "lots", "per_request": "8Mi"}}, {}, "memory.base"),
    ({"health": {"path": "healthz"}}, {}, "health.path"),
    ({"health": {"port": 70000}}, {}, "health.port"),
    (
        {},
        {"costs": {"node": NODE, "cluster": {"min_nodes": 1, "node_startup": "-1s"}}},
        "node_startup",
    ),
    (
        {},
        {"costs": {"node": NODE, "cluster": {"scale_down_utilization_threshold": "150%"}}},
        "scale_down_utilization_threshold",
    ),
    ({}, {"simulation": {"autoscale": "sometimes"}}, "simulation.autoscale"),
    ({}, {"kubernetes": {"security": {"run_as_user": 0}}}, "run_as_user"),
    ({}, {"kubernetes": {"autoscaler": "vpa"}}, "kubernetes.autoscaler"),
    ({}, {"kubernetes": {"guaranteed_memory": "yes please"}}, "guaranteed_memory"),
]


@pytest.mark.parametrize(("extra", "top", "key"), BAD_KEYS, ids=[k for _, _, k in BAD_KEYS])
def test_bad_values_of_the_new_keys_exit_2_with_file_line_and_key(tmp_path, extra, top, key):
    component = {**_service(), **extra}
    code, err, path = _validate(tmp_path, component, **top)
    assert code == 2, err
    assert "Traceback" not in err and key in err
    assert re.search(r"bad\.yaml:\d+ ", err), err
    assert path.exists()  # the user's file is left as it was

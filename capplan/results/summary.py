"""Turning replication records into the result every output shares (terminal, JSON, gate).

The result is a plain, JSON-ready dict whose keys are documented in docs/json.md. Every
estimate carries its 95% confidence interval across replications; a latency whose
request type passes through a saturated component is reported as ``None`` with the
reason, because its value would only measure how long the run lasted.
"""

from __future__ import annotations

from typing import Any

from capplan._version import __version__
from capplan.analytic.crosscheck import crosscheck
from capplan.kinds import kind_of
from capplan.results.availability import availability_row, run_availability
from capplan.results.bottlenecks import bottlenecks
from capplan.results.control import summarize_control
from capplan.results.cost import monthly_cost, run_cost
from capplan.results.stats import mean_ci
from capplan.results.timeline import Timeline
from capplan.results.timeline import build as build_timeline
from capplan.scenario.graph import waits_on
from capplan.scenario.model import Scenario, Slos, scenario_hash
from capplan.sim.records import LatencySummary, ReplicationRecord, TypeRecord
from capplan.sim.sketch import ALPHA as SKETCH_ACCURACY

LATENCY_KEYS = ("mean", "p50", "p95", "p99")
SATURATION_OFFERED_LOAD = 0.995
"""A station whose offered load (arrivals × mean hold / capacity) reaches this cannot keep up."""


def _ci(values: list[float]) -> dict[str, Any]:
    """Mean and 95% interval of per-replication values; every quantity reported is
    non-negative, so the interval is cut at zero."""
    m, ci = mean_ci(values)
    return {"value": m, "ci95": [max(0.0, ci[0]), ci[1]] if ci else None}


def _latency(summaries: list[LatencySummary | None], valid: bool) -> dict[str, Any]:
    present = [s for s in summaries if s is not None]
    if not valid or not present:
        out: dict[str, Any] = {k: None for k in LATENCY_KEYS}
        out["ci95"] = {k: None for k in LATENCY_KEYS}
        return out
    out, ci = {}, {}
    for key in LATENCY_KEYS:
        est = _ci([getattr(s, key) for s in present])
        out[key], ci[key] = est["value"], est["ci95"]
        if key != "mean" and ci[key] is not None:
            # a percentile is read from the sketch to within its relative accuracy: when
            # the replications agree (constant service times) the interval is that wide,
            # never narrower
            res = SKETCH_ACCURACY * out[key]
            ci[key] = [min(ci[key][0], out[key] - res), max(ci[key][1], out[key] + res)]
    out["ci95"] = ci
    return out


def _saturated(ms: list[Any], closed: bool) -> bool:
    """Whether a station cannot keep up, judged on all replications together.

    Saturation (no steady state: queues that grow as long as the run lasts) is a property
    of open arrivals beyond capacity. A closed population cannot overrun a station: its
    queues are bounded by the number of users and latency has a steady value however busy
    the bottleneck is, which the binding constraint then names. Only CPU demand beyond the
    limits counts there.

    Offered load (arrivals × mean holding time / capacity) at or above 1 is the
    definition; its estimate is averaged over replications so that one short, busy window
    of a stable station does not count. A queue that grows through the window by more than
    5% of the arrivals (and by more than 50) while the station is over 90% busy catches
    overload that holding times alone understate. CPU demand beyond the limits means the
    given service times could not hold.
    """
    n = len(ms)
    offered = sum(m.offered_load for m in ms) / n
    growth = sum(m.backlog_growth for m in ms) / n
    arrivals = sum(m.arrivals for m in ms) / n
    busy = sum(m.utilization for m in ms) / n
    cpu = sum(m.extra.get("cpu_demand_vs_limit", 0.0) for m in ms) / n
    growing = growth > max(50.0, 0.05 * arrivals) and busy > 0.9
    if closed:
        return cpu >= 1.0
    return offered >= SATURATION_OFFERED_LOAD or growing or cpu >= 1.0


COMPONENT_ESTIMATES = ("utilization", "mean_queue_length", "mean_wait_s", "throughput_rps")


def _components(records: list[ReplicationRecord], closed: bool) -> dict[str, dict[str, Any]]:
    out = {}
    for name in records[0].components:
        ms = [r.components[name] for r in records]
        entry: dict[str, Any] = {"capacity": ms[0].capacity}
        intervals = {}
        for key in COMPONENT_ESTIMATES:
            est = _ci([getattr(m, key) for m in ms])
            entry[key], intervals[key] = est["value"], est["ci95"]
        sojourn = [sum(t.sojourn_sum_s for t in r.types.values()) for r in records]
        entry.update(
            offered_load=_ci([m.offered_load for m in ms])["value"],
            rejected=sum(m.rejected for m in ms),
            saturated=_saturated(ms, closed),
            # time requests spend here (nested calls excluded) over their time in the system
            latency_share=_ci(
                [m.residence_s / s if s else 0.0 for m, s in zip(ms, sojourn, strict=True)]
            )["value"],
            latency_share_p95=_ci([r.tail_share.get(name, 0.0) for r in records])["value"],
            constraints={
                k: _ci([m.constraints[k] for m in ms])["value"] for k in ms[0].constraints
            },
        )
        for key in sorted(ms[0].extra):
            est = _ci([m.extra[key] for m in ms])
            entry[key], intervals[key] = est["value"], est["ci95"]
        entry["ci95"] = intervals
        out[name] = entry
    return out


def _constraints(
    components: dict[str, dict[str, Any]], waits_on: dict[str, frozenset[str]]
) -> list[dict[str, Any]]:
    """Every limited resource, the binding constraint first.

    A saturated component whose workers wait on another saturated component is a symptom,
    not the cause: the binding constraint is the most utilized resource of a saturated
    component that waits on no saturated component (or, with nothing saturated, the most
    utilized resource).
    """
    saturated = {n for n, c in components.items() if c["saturated"]}
    root = {n for n in saturated if not waits_on.get(n, frozenset()) & saturated}
    rows = [
        {"component": name, "resource": resource, "utilization": value}
        for name, c in components.items()
        for resource, value in c["constraints"].items()
    ]
    return sorted(
        rows,
        key=lambda r: (
            r["component"] not in root,
            -r["utilization"],
            r["component"],
            r["resource"],
        ),
    )


def _traffic(reps: list[list[TypeRecord]], windows: list[float]) -> dict[str, Any]:
    """Throughput, error rate and errors by cause of some request types, per replication
    first (for the interval), then together."""
    arrivals = [sum(t.arrivals for t in rep) for rep in reps]
    failed = [sum(sum(t.errors.values()) for t in rep) for rep in reps]
    errors: dict[str, int] = {}
    for rep in reps:
        for t in rep:
            for cause, n in t.errors.items():
                errors[cause] = errors.get(cause, 0) + n
    rate = _ci([f / a if a else 0.0 for f, a in zip(failed, arrivals, strict=True)])
    total, bad = sum(arrivals), sum(failed)
    if total and bad in (0, total):
        # every replication agrees, so their spread says nothing: the exact binomial
        # (Clopper-Pearson) bound for 0 or n events in n requests takes over
        edge = 0.025 ** (1 / total)
        rate["ci95"] = [0.0, 1 - edge] if bad == 0 else [edge, 1.0]
    throughput = _ci(
        [sum(t.completed for t in rep) / w for rep, w in zip(reps, windows, strict=True)]
    )
    return {
        "throughput_rps": throughput["value"],
        "throughput_rps_ci95": throughput["ci95"],
        "arrivals": sum(arrivals),
        "error_rate": rate["value"],
        "error_rate_ci95": rate["ci95"],
        "errors": dict(sorted(errors.items())),
    }


def _confident(row: dict[str, Any], target: float) -> bool:
    """Whether the whole confidence interval lies on the side of the target the verdict says."""
    ci = row["ci95"]
    if row["value"] is None or ci is None:
        return False
    return bool(ci[1] <= target) if row["passed"] else bool(ci[0] > target)


def _row(
    name: str,
    scope: str,
    target: float,
    value: float | None,
    ci: list[float] | None,
    missing: str | None = None,
) -> dict[str, Any]:
    """One objective: its estimate, interval and point verdict (see gate for the strict one)."""
    row: dict[str, Any] = {"name": name, "scope": scope, "target": target}
    if value is None:
        row.update(value=None, ci95=None, passed=False, reason=missing)
    else:
        row.update(value=value, ci95=ci, passed=value <= target, reason=None)
    row["confident"] = _confident(row, target)
    return row


def slo_rows(
    slos: Slos, scope: str, latency: dict[str, Any], traffic: dict[str, Any], saturated: bool
) -> list[dict[str, Any]]:
    rows = []
    missing = "saturated" if saturated else "no successful requests"
    for objective, target in slos.targets().items():
        if objective == "error_rate":
            value, ci = traffic["error_rate"], traffic["error_rate_ci95"]
        else:
            key = objective.removeprefix("latency_")
            value, ci = latency[key], latency["ci95"][key]
        rows.append(_row(objective, scope, target, value, ci, missing))
    return rows


def _system_slo_rows(slos: Slos, result: dict[str, Any]) -> list[dict[str, Any]]:
    """Objectives on the whole system: component utilization and monthly cost."""
    rows = []
    limits = slos.max_utilization
    if limits is not None:
        targets = (
            limits if isinstance(limits, dict) else dict.fromkeys(result["components"], limits)
        )
        for name, target in targets.items():
            c = result["components"][name]
            rows.append(
                _row("max_utilization", name, target, c["utilization"], c["ci95"]["utilization"])
            )
    if slos.monthly_cost_max is not None and result["cost"] is not None:
        cost = result["cost"]
        rows.append(
            _row(
                "monthly_cost_max",
                "all",
                slos.monthly_cost_max,
                cost["monthly_usd"],
                cost["monthly_usd_ci95"],
            )
        )
    return rows


def attainment_rows(timeline: Timeline) -> list[dict[str, Any]]:
    """With ``slos.attainment``: each objective's share of windows in which it held, as an
    objective of its own that must be *at least* its target."""
    rows = []
    for a in timeline.attainment:
        if a.required is None:
            continue
        value, ci = a.share.value, a.share.ci_list()
        row: dict[str, Any] = {
            "name": f"attainment {a.name}",
            "scope": "all",
            "target": a.required,
            "at_least": True,
            "value": value,
            "ci95": ci,
            "passed": value is not None and value >= a.required,
            "reason": None if value is not None else "no windows",
        }
        row["confident"] = ci is not None and (
            ci[0] >= a.required if row["passed"] else ci[1] < a.required
        )
        rows.append(row)
    return rows


def _time_by_component(trs: list[TypeRecord]) -> dict[str, Any]:
    """Where a successful request's time goes: mean seconds at each component visited,
    with its interval over the replications."""
    spent = [t.spent_s for t in trs if t.spent_s is not None]
    if not spent:
        return {}
    return {name: _ci([s.get(name, 0.0) for s in spent]) for name in spent[0]}


def summarize(scenario: Scenario, records: list[ReplicationRecord]) -> dict[str, Any]:
    """The result of a simulation as the JSON-ready dict documented in docs/json.md."""
    sim = scenario.simulation
    window = [r.window_s for r in records]
    components = _components(records, not scenario.workload.is_open)
    for name, c in scenario.components.items():
        more = kind_of(c).figures
        if more is not None:
            components[name].update(more(scenario, name))
    saturated = {n for n, c in components.items() if c["saturated"]}
    unfinished = sum(r.unfinished for r in records)
    requests: dict[str, Any] = {}
    slos: list[dict[str, Any]] = []
    for name, rtype in scenario.requests.items():
        trs = [r.types[name] for r in records]
        traffic = _traffic([[t] for t in trs], window)
        through = sorted(records[0].visits[name] & saturated)
        latency = _latency(
            [t.latency for t in trs], not through and "unfinished" not in traffic["errors"]
        )
        requests[name] = {
            "latency_s": latency,
            **traffic,
            "saturated_by": through,
            "time_by_component_s": _time_by_component(trs),
        }
        if rtype.slos:
            slos += slo_rows(rtype.slos, name, latency, traffic, bool(through))
    all_valid = all(not r["saturated_by"] for r in requests.values()) and not unfinished
    latency = _latency([r.latency for r in records], all_valid)
    traffic = _traffic([list(r.types.values()) for r in records], window)
    slos = slo_rows(scenario.slos, "all", latency, traffic, not all_valid) + slos
    sojourn = sum(t.sojourn_sum_s for r in records for t in r.types.values())
    result = {
        "scenario": scenario.name,
        "scenario_hash": scenario_hash(scenario),
        "capplan_version": __version__,
        "load_scale": scenario.load_scale,
        "seed": sim.seed,
        "replications": sim.replications,
        "warmup_s": sim.warmup,
        "duration_s": sim.duration,
        "measured_s": sum(window) / len(window),
        "stopped_early": any(r.stopped_early for r in records),
        "workload": (
            {"arrival_rate_rps": scenario.arrival_rate}
            if scenario.workload.is_open
            else {"users": scenario.users}
        ),
        "latency_s": latency,
        **traffic,
        "saturated": bool(saturated) or unfinished > 0,
        "constraints": _constraints(components, waits_on(scenario)),
        "saturated_components": sorted(saturated),
        "requests": requests,
        "components": components,
        "little": {
            "mean_in_system": _ci([r.mean_in_system for r in records])["value"],
            "arrival_rps": traffic["arrivals"] / sum(window),
            "mean_sojourn_s": sojourn / traffic["arrivals"] if traffic["arrivals"] else 0.0,
        },
        "slos": slos,
    }
    timeline = build_timeline(scenario, records)
    result["cost"] = monthly_cost(scenario, result)
    result["slos"] += _system_slo_rows(scenario.slos, result)
    result["slos"] += attainment_rows(timeline)
    available = run_availability(scenario, records, timeline)
    result["availability"] = available.to_dict() if available is not None else None
    row = availability_row(available) if available is not None else None
    if row is not None:
        result["slos"].append(row)
    result["timeline"] = timeline.to_dict()
    result["autoscaling"] = control = summarize_control(scenario, records)
    if result["cost"] is not None:
        cluster = (control or {}).get("cluster") or {}
        result["cost"]["run"] = run_cost(scenario, result["timeline"], cluster.get("nodes_peak"))
    result["bottlenecks"] = bottlenecks(scenario, result)
    result["analytic"] = crosscheck(scenario, result)
    return result

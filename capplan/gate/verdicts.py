"""Gate verdicts: each SLO of each scenario as pass, fail or inconclusive, decided on the
95% confidence interval, never on the point estimate alone.

- pass: the whole interval is within the target;
- fail: the whole interval is beyond the target;
- inconclusive: the interval straddles the target, there is no interval (a single
  replication), or there is no value at all (a saturated component).

The exit code is 1 if anything failed, else 3 if anything is inconclusive, else 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from capplan.results.model import Objective, Result

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
EXIT_CODES = {PASS: 0, FAIL: 1, INCONCLUSIVE: 3}


@dataclass(frozen=True)
class Verdict:
    """One SLO of one scenario, judged."""

    scenario: str
    slo: str
    """Objective name, e.g. ``latency_p95``."""
    scope: str
    """``all``, a request type, or (for ``max_utilization``) a component."""
    target: float
    value: float | None
    ci95: list[float] | None
    status: str
    """``pass``, ``fail`` or ``inconclusive``."""
    reason: str
    """One line naming the SLO, the value and the target."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def format_value(name: str, x: float) -> str:
    """An objective's value as its verdict shows it (ms or s, percent, dollars)."""
    if name.startswith("latency"):
        return f"{x * 1000:.1f}ms" if x < 1 else f"{x:.3f}s"
    if name == "availability":
        return f"{x * 100:.3f}%"
    if name in ("error_rate", "max_utilization") or name.startswith("attainment"):
        return f"{x * 100:.2f}%"
    if name == "monthly_cost_max":
        return f"${x:,.0f}"
    return f"{x:g}"


def judge(scenario: str, o: Objective, saturated: Sequence[str]) -> Verdict:
    name, target, value, ci = o.name, o.target, o.value, o.ci95
    label = o.label
    limit = format_value(name, target)
    if value is None:
        why = f"{', '.join(saturated)} saturated" if saturated else (o.reason or "no value")
        return Verdict(
            scenario,
            name,
            o.scope,
            target,
            None,
            None,
            INCONCLUSIVE,
            f"{label}: no estimate ({why}); target {limit}",
        )
    shown = format_value(name, value)
    if ci is None:
        return Verdict(
            scenario,
            name,
            o.scope,
            target,
            value,
            None,
            INCONCLUSIVE,
            f"{label} = {shown} with no confidence interval "
            f"({o.no_interval or 'one replication'}); target {limit}",
        )
    interval = f"{shown} (95% CI {format_value(name, ci[0])} to {format_value(name, ci[1])})"
    if o.at_least:  # attainment: higher is better
        if ci[0] >= target:
            status, reason = PASS, f"{label} = {interval} reaches target {limit}"
        elif ci[1] < target:
            status, reason = FAIL, f"{label} = {interval} falls short of target {limit}"
        else:
            status, reason = INCONCLUSIVE, f"{label} = {interval} straddles target {limit}"
    elif ci[1] <= target:
        status, reason = PASS, f"{label} = {interval} within target {limit}"
    elif ci[0] > target:
        status, reason = FAIL, f"{label} = {interval} exceeds target {limit}"
    else:
        status, reason = INCONCLUSIVE, f"{label} = {interval} straddles target {limit}"
    return Verdict(scenario, name, o.scope, target, value, [ci[0], ci[1]], status, reason)


def evaluate(
    results: Sequence[Mapping[str, Any] | Result], confidence: float | None = None
) -> list[Verdict]:
    """Every SLO of every scenario, judged on its confidence interval; with
    ``confidence``, a scenario with uncertain inputs passes an SLO only when it held in at
    least that share of the samples over them. A result is typed, or in its JSON form (a
    simulation's, or a load test's measurement: what is judged is its scenario, its
    ``slos`` rows, its saturated components and its uncertainty)."""
    out = []
    for r in results:
        if isinstance(r, Result):
            name, rows, saturated, u = (
                r.scenario,
                r.objectives,
                r.saturated_components,
                r.uncertainty,
            )
        else:
            name, saturated, u = r["scenario"], r["saturated_components"], r.get("uncertainty")
            rows = tuple(Objective.of(row) for row in r["slos"])
        for o in rows:
            v = judge(name, o, saturated)
            if confidence is not None and u:
                v = _by_probability(v, u, confidence)
            out.append(v)
    return out


def _by_probability(v: Verdict, u: Mapping[str, Any], confidence: float) -> Verdict:
    p = u["slo_probability"].get(f"{v.slo} [{v.scope}]")
    if p is None:
        return v
    holds = p >= confidence
    reason = (
        f"{v.slo} [{v.scope}] holds in {p:.0%} of {u['samples']} samples over the uncertain "
        f"inputs; {confidence:.0%} asked"
    )
    return replace(v, status=PASS if holds else FAIL, reason=reason)


def exit_code(verdicts: list[Verdict]) -> int:
    statuses = {v.status for v in verdicts}
    for status in (FAIL, INCONCLUSIVE):
        if status in statuses:
            return EXIT_CODES[status]
    return 0

"""The report's views of many simulations of one scenario: a sweep (``capplan sweep
--json``) as latency against the varied values, and uncertain inputs (a result with an
``uncertainty`` section) as the spread of each output and the inputs it follows.

A sweep's JSON holds every point's full result; the report keeps a compact row per point
(:func:`compact_sweep`), so that a saved report stays small.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from capplan.report.html.charts import WIDTH, _spec
from capplan.sweep import SWEEP_KIND

OUTPUT_TITLES = {
    "latency_mean": "mean latency",
    "latency_p95": "p95 latency",
    "latency_p99": "p99 latency",
    "error_rate": "error rate",
    "throughput_rps": "throughput",
}


def is_sweep(data: Any) -> bool:
    """Whether ``data`` is ``capplan sweep --json`` output."""
    return isinstance(data, dict) and (
        data.get("kind") == SWEEP_KIND
        or (
            isinstance(data.get("points"), list)
            and isinstance(data.get("results"), list)
            and isinstance(data.get("summary"), list)
        )
    )


def compact_sweep(data: dict[str, Any]) -> dict[str, Any]:
    """One row per point: the varied values, latency percentiles with the p95's interval,
    error rate, throughput, whether every SLO held; the SLO summary and the p95 target."""
    points, results = data["points"], data["results"]
    varied = list(points[0]) if points else []
    rows = []
    for i, (point, r) in enumerate(zip(points, results, strict=True), start=1):
        lat = r["latency_s"]
        ci = (lat.get("ci95") or {}).get("p95")
        rows.append(
            {
                "point": i,
                **point,
                "latency_p50": lat.get("p50"),
                "latency_p95": lat.get("p95"),
                "p95_low": ci[0] if ci else None,
                "p95_high": ci[1] if ci else None,
                "error_rate": r.get("error_rate"),
                "throughput_rps": r.get("throughput_rps"),
                "slos_hold": all(s["passed"] for s in r["slos"]),
                "saturated": bool(r.get("saturated")),
            }
        )
    target = None
    if results:
        target = next(
            (
                s["target"]
                for s in results[0]["slos"]
                if s["name"] == "latency_p95" and s.get("scope", "all") == "all"
            ),
            None,
        )
    return {
        "scenario": data.get("scenario") or (results[0]["scenario"] if results else "sweep"),
        "varied": varied,
        "rows": rows,
        "summary": data.get("summary") or [],
        "p95_target": target,
    }


def _numeric(values: list[Any]) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def sweep_chart(sweep: dict[str, Any]) -> dict[str, Any] | None:
    """p95 latency (log scale, 95% interval) against the first varied value, one colour
    per value of the second, hollow where an SLO missed, and a point saturated (no finite
    p95: the queue grows as long as the run lasts) drawn above the rest as a triangle;
    the p95 objective dashed."""
    rows = [dict(r) for r in sweep["rows"]]
    if not rows or not sweep["varied"]:
        return None
    finite = [r["latency_p95"] for r in rows if r["latency_p95"] is not None]
    target = sweep.get("p95_target")
    top = max([*finite, *([target] if target is not None else [])], default=1.0) * 1.5
    for r in rows:
        r["shown_p95"] = top if r["latency_p95"] is None else r["latency_p95"]
        r["verdict"] = (
            "saturated"
            if r["latency_p95"] is None
            else ("SLOs hold" if r["slos_hold"] else "SLO missed")
        )
    data = pd.DataFrame(rows)
    # a YAML path's dots would read as nested fields: the chart's columns are v0, v1...
    names = {f"v{i}": v for i, v in enumerate(sweep["varied"])}
    data = data.rename(columns={v: k for k, v in names.items()})
    kind = "Q" if _numeric(list(data["v0"])) else "O"
    x = alt.X(f"v0:{kind}", title=names["v0"], scale=alt.Scale(zero=False))
    tips = [alt.Tooltip(f"{k}:N", title=v) for k, v in names.items()] + [
        alt.Tooltip("latency_p95:Q", format=".4~s", title="p95 (s)"),
        alt.Tooltip("p95_low:Q", format=".4~s", title="95% CI low"),
        alt.Tooltip("p95_high:Q", format=".4~s", title="95% CI high"),
        alt.Tooltip("error_rate:Q", format=".2%"),
        "verdict:N",
    ]
    encode: dict[str, Any] = {"x": x}
    if len(names) > 1:
        encode["color"] = alt.Color("v1:N", title=names["v1"])
    y = alt.Y("shown_p95:Q", scale=alt.Scale(type="log"), title="p95 latency (s)")
    dots = (
        alt.Chart(data)
        .mark_point(size=50)
        .encode(
            y=y,
            shape=alt.Shape(
                "verdict:N",
                title=None,
                scale=alt.Scale(
                    domain=["SLOs hold", "SLO missed", "saturated"],
                    range=["circle", "circle", "triangle-up"],
                ),
            ),
            fill=alt.condition(
                "datum.slos_hold", alt.value("currentColor"), alt.value("transparent")
            ),
            tooltip=tips,
            **encode,
        )
    )
    layers: list[Any] = [dots]
    if kind == "Q" and len(data) > 1:
        layers.append(alt.Chart(data).mark_line(opacity=0.5).encode(y=y, **encode))
    bands = data.dropna(subset=["p95_low", "p95_high"])
    if len(bands):
        layers.append(alt.Chart(bands).mark_rule().encode(y="p95_low:Q", y2="p95_high:Q", **encode))
    if target is not None:
        layers.append(
            alt.Chart(pd.DataFrame([{"target": target}]))
            .mark_rule(color="#b00020", strokeDash=[6, 3])
            .encode(y="target:Q", tooltip=[alt.Tooltip("target:Q", title="p95 objective (s)")])
        )
    return _spec(alt.layer(*layers).properties(width=WIDTH, height=300))


def uncertainty_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Per output (the whole system's first, then the cost, each request type's p95 and
    each component's utilization): the central inputs' estimate and interval, and
    p5/p50/p95 across the samples of the inputs, with the input it follows most."""
    from capplan.results.model import Result
    from capplan.uncertainty import figures

    u = result["uncertainty"]
    central = figures(Result.of(result))
    rows = []
    for key, spread in u["outputs"].items():
        value, ci = central.get(key, (None, None))
        top = (u["sensitivity"].get(key) or [None])[0]
        rows.append(
            {
                "output": OUTPUT_TITLES.get(key, key),
                "key": key,
                "central": value,
                "ci95": ci,
                "p5": spread["p5"],
                "p50": spread["p50"],
                "p95": spread["p95"],
                "saturated_samples": spread.get("saturated_samples", 0),
                "follows": top,
            }
        )
    order = {"cost.monthly_usd": 1}
    rows.sort(
        key=lambda row: (
            0 if row["key"] in OUTPUT_TITLES else order.get(row["key"], 2),
            row["key"].startswith("components."),
        )
    )
    return rows


def sensitivity_chart(result: dict[str, Any]) -> dict[str, Any] | None:
    """Spearman rank correlation of each output with each input across the samples: the
    inputs the answer depends on, strongest at the top."""
    rows = [
        {
            "output": OUTPUT_TITLES.get(key, key),
            "input": s["input"],
            "rank_correlation": s["rank_correlation"],
        }
        for key, ranked in result["uncertainty"]["sensitivity"].items()
        if key in OUTPUT_TITLES  # the whole system's; the rest are in the table
        for s in ranked
    ]
    if not rows:
        return None
    data = pd.DataFrame(rows)
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(
                "rank_correlation:Q", scale=alt.Scale(domain=[-1, 1]), title="rank correlation"
            ),
            y=alt.Y("input:N", title=None),
            color=alt.condition(
                "datum.rank_correlation > 0", alt.value("#c0392b"), alt.value("#2471a3")
            ),
            row=alt.Row(
                "output:N",
                title=None,
                sort=list(OUTPUT_TITLES.values()),
                header=alt.Header(labelAngle=0, labelOrient="top", labelAnchor="start"),
            ),
            tooltip=["output:N", "input:N", alt.Tooltip("rank_correlation:Q", format=".2f")],
        )
        .properties(width=WIDTH // 2, height=alt.Step(14))
    )
    return _spec(chart)

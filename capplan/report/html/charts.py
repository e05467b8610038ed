"""The report's charts as Vega-Lite specifications, built with Altair from result dicts.

Every chart carries its numbers in tooltips; bands are 95% intervals over the
replications. Each function returns a Vega-Lite spec (a dict) or None when the results
hold nothing to draw.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

WIDTH = 640
PERCENTILES = ("p50", "p95", "p99")
SATURATION = 0.85
"""The utilization line drawn when a scenario sets no max_utilization objective."""


def _spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    spec: dict[str, Any] = chart.to_dict()
    spec.pop("$schema", None)  # a URL the page never loads; the page says the mode
    return spec


def _scenario_colour(results: list[dict[str, Any]]) -> alt.Color:
    """The same colour for a scenario in every chart, in the order given."""
    names = list(dict.fromkeys(r["scenario"] for r in results))
    return alt.Color(
        "scenario:N",
        title="scenario",
        scale=alt.Scale(domain=names),
        legend=alt.Legend(symbolOpacity=1),
    )


def _slo_target(result: dict[str, Any], name: str, scope: str = "all") -> float | None:
    for row in result["slos"]:
        if row["name"] == name and row["scope"] == scope:
            return float(row["target"])
    return None


def latency_curve(curves: list[dict[str, Any]], results: list[dict[str, Any]]) -> dict | None:
    """p50/p95/p99 with bands against the load scale, one colour per scenario, the SLO
    line, the knee and the saturation scale marked."""
    rows, marks = [], []
    for curve in curves:
        for p in curve["points"]:
            for q in PERCENTILES:
                value, ci = p["latency_s"][q], p["ci95"][q]
                rows.append(
                    {
                        "scenario": curve["scenario"],
                        "load_scale": p["load_scale"],
                        "percentile": q,
                        "latency_s": value,
                        "low": ci[0] if ci else value,
                        "high": ci[1] if ci else value,
                        "holds": "yes" if p["holds"] else "no",
                        "saturated": "yes" if p["saturated"] else "no",
                    }
                )
        for label, scale in (("knee", curve["knee"]), ("saturation", curve["saturation_scale"])):
            if scale is not None:
                marks.append({"scenario": curve["scenario"], "mark": label, "load_scale": scale})
        marks.append(
            {
                "scenario": curve["scenario"],
                "mark": "headroom",
                "load_scale": curve["headroom"]["max_load_scale"],
            }
        )
    if not rows:
        return None
    data = pd.DataFrame(rows)
    drawn = data[data["latency_s"] > 0].copy()  # None (saturated) and 0 have no place on a log axis
    # a band reaching zero (few replications) is drawn down to the foot of the axis
    drawn["low"] = drawn["low"].clip(lower=drawn["latency_s"].min() / 2)
    x = alt.X("load_scale:Q", title="load scale (1 = today)")
    colour = _scenario_colour(results)
    dash = alt.StrokeDash(
        "percentile:N",
        title="percentile",
        sort=list(PERCENTILES),
        legend=alt.Legend(symbolType="stroke", symbolStrokeColor="#333", symbolStrokeWidth=2),
    )
    tip = [
        "scenario:N",
        alt.Tooltip("load_scale:Q", format=".3f"),
        "percentile:N",
        alt.Tooltip("latency_s:Q", format=".4f", title="latency (s)"),
        alt.Tooltip("low:Q", format=".4f", title="95% CI low"),
        alt.Tooltip("high:Q", format=".4f", title="95% CI high"),
        "holds:N",
        "saturated:N",
    ]
    y = alt.Y("latency_s:Q", title="latency (s)", scale=alt.Scale(type="log"))
    band = (
        alt.Chart(drawn)
        .mark_area(opacity=0.18)
        .encode(
            x=x,
            y=alt.Y("low:Q", scale=alt.Scale(type="log")),
            y2="high:Q",
            color=colour,
            detail="percentile:N",
        )
    )
    lines = (
        alt.Chart(drawn)
        .mark_line(point=True, opacity=0.85)
        .encode(x=x, y=y, color=colour, strokeDash=dash, tooltip=tip)
    )
    layers: list[alt.Chart] = [band, lines]
    targets = [
        {"target": t, "label": f"{r['scenario']} p95 SLO"}
        for r in results
        if (t := _slo_target(r, "latency_p95")) is not None
    ]
    if targets:
        layers.append(
            alt.Chart(pd.DataFrame(targets).drop_duplicates("target"))
            .mark_rule(color="#b00020", strokeDash=[6, 3])
            .encode(y="target:Q", tooltip=["label:N", alt.Tooltip("target:Q", title="p95 SLO (s)")])
        )
    if marks:
        rules = alt.Chart(pd.DataFrame(marks))
        layers.append(
            rules.mark_rule(strokeDash=[2, 2]).encode(
                x="load_scale:Q",
                color=colour,
                opacity=alt.value(0.7),
                tooltip=["scenario:N", "mark:N", alt.Tooltip("load_scale:Q", format=".3f")],
            )
        )
        layers.append(
            rules.mark_text(angle=270, align="right", baseline="bottom", dx=-4, fontSize=10).encode(
                x="load_scale:Q", y=alt.value(2), text="mark:N", color=colour
            )
        )
    chart = alt.layer(*layers).properties(width=WIDTH, height=320)
    return _spec(chart)


def utilization(results: list[dict[str, Any]]) -> dict | None:
    """Utilization per component and scenario, with the saturation line, beside the share
    of the slowest 5% of requests' time each component holds."""
    rows = []
    for r in results:
        for name, c in r["components"].items():
            ci = (c.get("ci95") or {}).get("utilization")
            rows.append(
                {
                    "scenario": r["scenario"],
                    "component": name,
                    "utilization": c["utilization"],
                    "low": ci[0] if ci else c["utilization"],
                    "high": ci[1] if ci else c["utilization"],
                    "tail_share": c.get("latency_share_p95", 0.0),
                    "saturated": "yes" if c["saturated"] else "no",
                }
            )
    if not rows:
        return None
    data = pd.DataFrame(rows)
    limit = next(
        (row["target"] for r in results for row in r["slos"] if row["name"] == "max_utilization"),
        SATURATION,
    )
    y = alt.Y("component:N", title=None)
    names = list(dict.fromkeys(r["scenario"] for r in results))
    offset = alt.YOffset("scenario:N", sort=names)
    colour = _scenario_colour(results)
    tip = [
        "scenario:N",
        "component:N",
        alt.Tooltip("utilization:Q", format=".1%"),
        alt.Tooltip("low:Q", format=".1%", title="95% CI low"),
        alt.Tooltip("high:Q", format=".1%", title="95% CI high"),
        "saturated:N",
    ]
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("utilization:Q", axis=alt.Axis(format="%"), title="utilization"),
            y=y,
            yOffset=offset,
            color=colour,
            tooltip=tip,
        )
    )
    errs = alt.Chart(data).mark_rule().encode(x="low:Q", x2="high:Q", y=y, yOffset=offset)
    line = (
        alt.Chart(pd.DataFrame([{"limit": limit}]))
        .mark_rule(color="#b00020", strokeDash=[6, 3])
        .encode(
            x="limit:Q", tooltip=[alt.Tooltip("limit:Q", format=".0%", title="saturation line")]
        )
    )
    left = alt.layer(bars, errs, line).properties(
        width=WIDTH // 2, height=alt.Step(9), title="utilization (95% CI)"
    )
    right = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("tail_share:Q", axis=alt.Axis(format="%"), title="share of slowest 5%'s time"),
            y=alt.Y("component:N", title=None, axis=None),
            yOffset=offset,
            color=colour,
            tooltip=["scenario:N", "component:N", alt.Tooltip("tail_share:Q", format=".1%")],
        )
        .properties(width=WIDTH // 3, height=alt.Step(9), title="where the slowest requests wait")
    )
    return _spec(alt.hconcat(left, right).resolve_scale(y="shared"))


def time_split(results: list[dict[str, Any]]) -> dict | None:
    """Per request type, mean latency split by component (stacked), per scenario."""
    rows = []
    for r in results:
        for rtype, req in r["requests"].items():
            for comp, t in req.get("time_by_component_s", {}).items():
                rows.append(
                    {
                        "scenario": r["scenario"],
                        "request": rtype,
                        "component": comp,
                        "seconds": t["value"],
                    }
                )
    if not rows:
        return None
    data = pd.DataFrame(rows)
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("seconds:Q", title="mean seconds of a successful request"),
            y=alt.Y("scenario:N", title=None, sort=[r["scenario"] for r in results]),
            color=alt.Color("component:N"),
            row=alt.Row(
                "request:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left")
            ),
            tooltip=[
                "scenario:N",
                "request:N",
                "component:N",
                alt.Tooltip("seconds:Q", format=".4f"),
            ],
        )
        .properties(width=WIDTH - 120, height=alt.Step(16))
    )
    return _spec(chart)


def over_time(result: dict[str, Any]) -> dict | None:
    """A time-varying run: offered load, p95 against its SLO with its band, replicas per
    autoscaled component and nodes, cost rate; windows that broke an SLO shaded."""
    tl = result.get("timeline")
    if not tl or tl.get("stationary", True):
        return None
    rows, pods, broke = [], [], []
    target = _slo_target(result, "latency_p95")
    width = tl["window_s"]
    auto = set((result.get("autoscaling") or {}).get("components", {}))
    node_usd_h = _node_price(result)
    for w in tl["windows"]:
        lat = w["latency_s"]
        ci = (lat.get("ci95") or {}).get("p95")
        t = w["start_s"] / 3600
        rows.append(
            {
                "hour": t,
                "clock": w["clock"],
                "offered_rps": w["offered_rps"],
                "p95": lat.get("p95"),
                "low": ci[0] if ci else lat.get("p95"),
                "high": ci[1] if ci else lat.get("p95"),
                "nodes": w.get("nodes"),
                "cost_per_hour": (w.get("nodes") or 0) * node_usd_h if node_usd_h else None,
            }
        )
        for name, c in w["components"].items():
            if name in auto and c.get("replicas_ready") is not None:
                pods.append(
                    {
                        "hour": t,
                        "clock": w["clock"],
                        "component": name,
                        "replicas": c["replicas_ready"],
                    }
                )
        bad = w["saturated"] or w["error_rate"] > _slo_target_or(result, "error_rate", 1.0)
        if target is not None and (lat.get("p95") is None or lat["p95"] > target):
            bad = True
        if bad:
            broke.append({"start": t, "end": t + width / 3600})
    data = pd.DataFrame(rows)
    x = alt.X("hour:Q", title="hours since start")
    shade = (
        alt.Chart(pd.DataFrame(broke))
        .mark_rect(color="#b00020", opacity=0.12)
        .encode(x="start:Q", x2="end:Q")
        if broke
        else None
    )

    def panel(layer: Any, title: str) -> Any:
        parts = [shade, layer] if shade is not None else [layer]
        return alt.layer(*parts).properties(width=WIDTH, height=110, title=title)

    offered = (
        alt.Chart(data)
        .mark_line()
        .encode(
            x=x,
            y=alt.Y("offered_rps:Q", title="req/s"),
            tooltip=["clock:N", alt.Tooltip("offered_rps:Q", format=".1f")],
        )
    )
    band = alt.Chart(data).mark_area(opacity=0.25).encode(x=x, y="low:Q", y2="high:Q")
    p95 = (
        alt.Chart(data)
        .mark_line()
        .encode(
            x=x,
            y=alt.Y("p95:Q", title="p95 (s)"),
            tooltip=[
                "clock:N",
                alt.Tooltip("p95:Q", format=".4f"),
                alt.Tooltip("low:Q", format=".4f"),
                alt.Tooltip("high:Q", format=".4f"),
            ],
        )
    )
    latency_layers = [band, p95]
    if target is not None:
        latency_layers.append(
            alt.Chart(pd.DataFrame([{"target": target}]))
            .mark_rule(color="#b00020", strokeDash=[6, 3])
            .encode(y="target:Q")
        )
    panels = [panel(offered, "offered load"), panel(alt.layer(*latency_layers), "p95 latency")]
    if pods:
        panels.append(
            panel(
                alt.Chart(pd.DataFrame(pods))
                .mark_line(interpolate="step-after")
                .encode(
                    x=x,
                    y=alt.Y("replicas:Q", title="ready pods"),
                    color="component:N",
                    tooltip=["clock:N", "component:N", alt.Tooltip("replicas:Q", format=".1f")],
                ),
                "replicas",
            )
        )
    for field, title, fmt, caption in (
        ("nodes", "nodes", ".1f", "nodes"),
        ("cost_per_hour", "USD per hour", "$.2f", "compute cost rate (nodes x node price)"),
    ):
        if data[field].notna().any():
            steps = (
                alt.Chart(data)
                .mark_line(interpolate="step-after")
                .encode(
                    x=x,
                    y=alt.Y(f"{field}:Q", title=title),
                    tooltip=["clock:N", alt.Tooltip(f"{field}:Q", format=fmt)],
                )
            )
            panels.append(panel(steps, caption))
    return _spec(alt.vconcat(*panels))


def _slo_target_or(result: dict[str, Any], name: str, default: float) -> float:
    t = _slo_target(result, name)
    return default if t is None else t


def _node_price(result: dict[str, Any]) -> float | None:
    run = (result.get("cost") or {}).get("run") or {}
    hours = run.get("node_hours")
    return run["compute_usd"] / hours if hours else None


def cost(results: list[dict[str, Any]]) -> dict | None:
    """Monthly cost stacked by category per scenario, with the guide-style baseline, and
    by component."""
    cats, comps = [], []
    for r in results:
        c = r.get("cost")
        if not c:
            continue
        for cat, usd in c["by_category"].items():
            cats.append({"bar": r["scenario"], "category": cat, "usd": usd})
        for cat, usd in (c.get("baseline") or {}).items():
            cats.append({"bar": f"{r['scenario']} (baseline)", "category": cat, "usd": usd})
        for name, usd in c["by_component"].items():
            comps.append({"scenario": r["scenario"], "component": name, "usd": usd})
    if not cats:
        return None
    by_cat = (
        alt.Chart(pd.DataFrame(cats).drop_duplicates())
        .mark_bar()
        .encode(
            y=alt.Y("bar:N", title=None, sort=None),
            x=alt.X("usd:Q", title="USD per month", stack="zero"),
            color=alt.Color("category:N"),
            tooltip=["bar:N", "category:N", alt.Tooltip("usd:Q", format="$,.0f")],
        )
        .properties(width=WIDTH // 2, title="by category")
    )
    if not comps:
        return _spec(by_cat)
    by_comp = (
        alt.Chart(pd.DataFrame(comps))
        .mark_bar()
        .encode(
            y=alt.Y("scenario:N", title=None),
            x=alt.X("usd:Q", title="USD per month", stack="zero"),
            color=alt.Color("component:N", scale=alt.Scale(scheme="tableau20")),
            tooltip=["scenario:N", "component:N", alt.Tooltip("usd:Q", format="$,.0f")],
        )
        .properties(width=WIDTH // 2, title="by component")
    )
    return _spec(alt.vconcat(by_cat, by_comp).resolve_scale(color="independent"))


def loadtest(result: dict[str, Any]) -> dict | None:
    """Predicted against measured latency quantiles per request type, both with their
    intervals."""
    rows = []
    for row in result.get("comparison", []):
        if not row["metric"].startswith("latency"):
            continue
        for side in ("predicted", "measured"):
            value, ci = row[side], row[f"{side}_ci95"]
            if value is None:
                continue
            rows.append(
                {
                    "request": row["scope"],
                    "statistic": row["metric"].replace("latency ", ""),
                    "side": side,
                    "seconds": value,
                    "low": ci[0] if ci else value,
                    "high": ci[1] if ci else value,
                    "flagged": "yes" if row["flagged"] else "no",
                }
            )
    if not rows:
        return None
    data = pd.DataFrame(rows)
    x = alt.X("statistic:N", sort=["mean", "p50", "p95", "p99"], title=None)
    colour = alt.Color("side:N", title=None)
    tip = [
        "request:N",
        "statistic:N",
        "side:N",
        alt.Tooltip("seconds:Q", format=".4f"),
        alt.Tooltip("low:Q", format=".4f"),
        alt.Tooltip("high:Q", format=".4f"),
        alt.Tooltip("flagged:N", title="differs beyond noise"),
    ]
    points = (
        alt.Chart()
        .mark_point(filled=True, size=60)
        .encode(
            x=x,
            xOffset="side:N",
            y=alt.Y("seconds:Q", title="latency (s)"),
            color=colour,
            tooltip=tip,
        )
    )
    bars = (
        alt.Chart().mark_rule().encode(x=x, xOffset="side:N", y="low:Q", y2="high:Q", color=colour)
    )
    chart = (
        alt.layer(bars, points, data=data)
        .facet(column=alt.Column("request:N", title=None))
        .resolve_scale(y="independent")
    )
    return _spec(chart)

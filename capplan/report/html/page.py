"""One self-contained HTML page from results: the charts' scripts, styles and data are
inlined (the Vega, Vega-Lite and Vega-Embed bundle from vl-convert), so the page opens
offline, from a CI artifact or an e-mail, and asks the network for nothing.

The page is rendered from a Jinja2 template; the data of each chart is a JSON script
block that the page hands to Vega-Embed.
"""

from __future__ import annotations

import functools
import json
from importlib.resources import files
from typing import Any

import jinja2

from capplan._version import __version__
from capplan.gate import evaluate
from capplan.gate.verdicts import format_value
from capplan.headroom import describe
from capplan.report.html import charts, spread
from capplan.report.terminal import spread_value

STATUS = {"pass": "met", "fail": "missed", "inconclusive": "inconclusive"}


@functools.cache
def _vega_bundle() -> str:
    """Vega-Embed with Vega and Vega-Lite, as one script that sets ``window.vegaEmbed``."""
    import vl_convert

    bundle = str(vl_convert.javascript_bundle())  # type: ignore[call-arg]  # snippet is optional
    if "</script" in bundle.lower():  # would end the inline script early
        raise RuntimeError("the chart library's bundle cannot be inlined as it is")
    return bundle


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(
            lambda name: files("capplan.report.html").joinpath(name).read_text("utf-8")
        ),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda x, d=1: "—" if x is None else f"{x * 100:.{d}f}%"
    env.filters["usd"] = lambda x: "—" if x is None else f"${x:,.0f}"
    return env


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(value, allow_nan=False).replace("</", "<\\/")


def _fmt(name: str, x: float | None) -> str:
    return "—" if x is None else format_value(name, x)


def _verdicts(results: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {r["scenario"]: [] for r in results}
    for v in evaluate(results):
        ci = v.ci95
        out[v.scenario].append(
            {
                "slo": v.slo,
                "scope": v.scope,
                "target": _fmt(v.slo, v.target),
                "value": _fmt(v.slo, v.value),
                "ci95": "—" if ci is None else f"{_fmt(v.slo, ci[0])} to {_fmt(v.slo, ci[1])}",
                "status": STATUS[v.status],
                "reason": v.reason,
            }
        )
    return out


def _summary(result: dict[str, Any], curve: dict[str, Any] | None) -> dict[str, Any]:
    cost = result.get("cost") or {}
    ci = cost.get("monthly_usd_ci95")
    bottleneck = (result.get("bottlenecks") or [{}])[0].get("sentence")
    return {
        "scenario": result["scenario"],
        "load_scale": result["load_scale"],
        "binding": bottleneck or "no constraint stands out",
        "headroom": (
            describe(curve["headroom"]).removeprefix(f"{result['scenario']}: ") if curve else None
        ),
        "cost": cost.get("monthly_usd"),
        "cost_ci": ci,
        "per_1000": cost.get("per_1000_requests_usd"),
        "saturated": result["saturated"],
        "availability": (result.get("availability") or {}).get("sentence"),
    }


def _analytic(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, a in (result.get("analytic") or {}).get("components", {}).items():
        sim = result["components"].get(name, {})
        rows.append(
            {
                "component": name,
                "model": a.get("model", ""),
                "analytic": a.get("utilization"),
                "simulated": sim.get("utilization"),
                "applies": a.get("applies"),
                "disagrees": a.get("disagrees"),
                "why": a.get("why", ""),
            }
        )
    return rows


def _highlight(text: str) -> str:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import YamlLexer

    return str(highlight(text, YamlLexer(), HtmlFormatter(noclasses=True, nobackground=True)))


def render(
    results: list[dict[str, Any]],
    *,
    curves: list[dict[str, Any]] | None = None,
    loadtests: list[dict[str, Any]] | None = None,
    sources: dict[str, str] | None = None,
    sweeps: list[dict[str, Any]] | None = None,
    title: str = "capplan capacity report",
) -> str:
    """The report page for ``results`` (simulate's JSON form), with latency-against-load
    ``curves`` (:func:`capplan.headroom.load_curve`), ``loadtests`` (loadtest's JSON form),
    ``sweeps`` (:func:`capplan.report.html.spread.compact_sweep`) and the scenario files'
    text by name."""
    curves = curves or []
    loadtests = loadtests or []
    sweeps = sweeps or []
    by_name = {c["scenario"]: c for c in curves}
    figures: list[dict[str, Any]] = []

    def figure(section: str, spec: dict[str, Any] | None, caption: str) -> None:
        if spec is not None:
            figures.append(
                {
                    "section": section,
                    "id": f"chart-{len(figures)}",
                    "spec": _script_json(spec),
                    "caption": caption,
                }
            )

    figure(
        "load",
        charts.latency_curve(curves, results) if curves else None,
        "p50, p95 and p99 latency (log scale) with 95% bands as the load scale grows; the "
        "dashed red line is the p95 objective; vertical lines mark each scenario's "
        "headroom answer, knee (p95 twice its lowest-load value) and utilization-law "
        "saturation scale. Points past saturation have no latency (the queue grows "
        "without bound).",
    )
    figure(
        "utilization",
        charts.utilization(results),
        "Busy share of each component's capacity with its 95% interval; the red line is "
        "the utilization objective. Right: the share of the slowest 5% of requests' time "
        "spent at each component.",
    )
    figure(
        "time",
        charts.time_split(results),
        "Mean time a successful request of each type spends at each component (waiting "
        "and served, nested calls excluded); the bars add up to its mean latency.",
    )
    for r in results:
        figure(
            "time-" + r["scenario"],
            charts.over_time(r),
            f"{r['scenario']}: window by window (means over the replications); windows "
            "that broke an objective are shaded.",
        )
    figure(
        "cost",
        charts.cost(results),
        "Monthly cost by category beside the guide-style baseline, and by component.",
    )
    for i, sw in enumerate(sweeps):
        figure(
            f"sweep-{i}",
            spread.sweep_chart(sw),
            f"{sw['scenario']}: p95 latency (log scale, 95% interval) at each point of the "
            f"sweep over {', '.join(sw['varied'])}; hollow where an objective was missed, "
            "a triangle above the rest where the system saturated (no finite p95); the "
            "dashed red line is the p95 objective.",
        )
    uncertain = [r for r in results if r.get("uncertainty")]
    for r in uncertain:
        figure(
            "sensitivity-" + r["scenario"],
            spread.sensitivity_chart(r),
            f"{r['scenario']}: how each output follows each uncertain input across the "
            f"{r['uncertainty']['samples']} samples (Spearman rank correlation; red: the "
            "output rises with the input).",
        )
    for lt in loadtests:
        figure(
            "loadtest",
            charts.loadtest(lt),
            f"{lt['scenario']}: predicted and measured latency statistics per request type, "
            "each with its 95% interval.",
        )
    over_time = [f for f in figures if f["section"].startswith("time-")]
    by_section = {f["section"]: f for f in figures}
    env = _environment()
    env.filters["val"] = lambda x, key: "—" if x is None else spread_value(x, key)
    return env.get_template("report.html.j2").render(
        title=title,
        version=__version__,
        bundle=_vega_bundle(),
        results=results,
        summaries=[_summary(r, by_name.get(r["scenario"])) for r in results],
        verdicts=_verdicts(results),
        figures={f["section"]: f for f in figures if not f["section"].startswith("time-")},
        sweeps=[
            {**sw, "figure": by_section.get(f"sweep-{i}"), "points": len(sw["rows"])}
            for i, sw in enumerate(sweeps)
        ],
        uncertain=[
            {
                "scenario": r["scenario"],
                "u": r["uncertainty"],
                "rows": spread.uncertainty_rows(r),
                "figure": by_section.get("sensitivity-" + r["scenario"]),
            }
            for r in uncertain
        ],
        over_time=over_time,
        loadtest_figures=[f for f in figures if f["section"] == "loadtest"],
        loadtests=loadtests,
        curves=curves,
        unsplit=[
            r["scenario"]
            for r in results
            if not any(q.get("time_by_component_s") for q in r["requests"].values())
        ],
        analytic={r["scenario"]: _analytic(r) for r in results},
        sources={name: _highlight(text) for name, text in (sources or {}).items()},
    )

"""Report tables about resources: components, LLM quotas, network links, the binding
constraint."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from capplan.report.text import count, percent, scenario_table
from capplan.scenario.units import format_duration

BAR_WIDTH = 8


def _bar(util: float, highlight: bool, saturated: bool) -> Text:
    filled = min(BAR_WIDTH, round(util * BAR_WIDTH))
    style = "red" if saturated or util >= 0.85 else "yellow" if util >= 0.7 else "green"
    text = Text("█" * filled, style=style)
    text.append("░" * (BAR_WIDTH - filled), style="dim")
    label = "SATURATED" if saturated else percent(util)
    text.append(f" {label}", style="bold red" if saturated else ("bold" if highlight else ""))
    return text


def components_table(results: list[dict[str, Any]]) -> Table:
    table = scenario_table(
        "Components",
        results,
        "component",
        caption=(
            "bar: utilization of the busiest resource (workers busy / capacity, a worker waiting on a "
            "nested call counting as busy; quota or bandwidth used); cpu: CPU used / CPU requested; "
            "wait: mean queueing delay; bold: the most loaded"
        ),
    )
    hottest = [
        max(r["components"], key=lambda n: r["components"][n]["utilization"]) for r in results
    ]
    for name in results[0]["components"]:
        cells = []
        for r, hot in zip(results, hottest, strict=True):
            c = r["components"].get(name)
            if c is None:
                cells.append(Text("-"))
                continue
            if "mean_delay_s" in c:  # a pure delay: nothing to be busy
                cells.append(Text(f"delay {format_duration(c['mean_delay_s'])}", style="dim"))
                continue
            cell = _bar(c["utilization"], name == hot, c["saturated"])
            if "cpu_utilization" in c:
                cpu = c["cpu_utilization"]
                cell.append(f"  cpu {percent(cpu)}", style="red" if cpu >= 0.85 else "")
            if c["mean_wait_s"] >= 1e-3:
                cell.append(f"  wait {format_duration(c['mean_wait_s'])}", style="dim")
            cells.append(cell)
        table.add_row(Text(name, style="bold" if name in hottest else ""), *cells)
    return table


def _components_with(results: list[dict[str, Any]], key: str) -> list[str]:
    return list(dict.fromkeys(n for r in results for n, c in r["components"].items() if key in c))


def llm_table(results: list[dict[str, Any]]) -> Table | None:
    names = _components_with(results, "tokens_per_min")
    if not names:
        return None
    table = scenario_table(
        "LLM APIs",
        results,
        "",
        caption=(
            "used / limit per minute; 429s and retries per minute; failed: calls that ran out of "
            "attempts; cost at this load for a 730-hour month"
        ),
    )
    rows: list[tuple[str, Any]] = [
        (
            "requests/min",
            lambda c: f"{count(c['requests_per_min'])} / {count(c['requests_per_min_limit'])}",
        ),
        (
            "tokens/min",
            lambda c: f"{count(c['tokens_per_min'])} / {count(c['tokens_per_min_limit'])}",
        ),
        ("429s/min", lambda c: count(c["http_429_per_min"])),
        ("retries/min", lambda c: count(c["retries_per_min"])),
        ("failed/min", lambda c: count(c["rate_limited_per_min"])),
        ("cache hits/min", lambda c: count(c["cache_hits_per_min"])),
        ("latency share", lambda c: percent(c["latency_share"])),
        (
            "cost/month",
            lambda c: f"${c['cost_per_month_usd']:,.0f}" if "cost_per_month_usd" in c else "-",
        ),
    ]
    for name in names:
        for label, fmt in rows:
            cells = [
                Text(fmt(r["components"][name])) if name in r["components"] else Text("-")
                for r in results
            ]
            table.add_row(f"{name} {label}", *cells)
    return table


def _bytes(x: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if x >= size:
            return f"{x / size:.3g} {unit}"
    return f"{x:.0f} B"


def keyspace_table(results: list[dict[str, Any]]) -> Table | None:
    names = _components_with(results, "keyspaces")
    if not names:
        return None
    table = scenario_table(
        "Cache key spaces",
        results,
        "",
        caption=(
            "at the run's mean lookup rate: hit ratio from the key space's TTL and size "
            "(TTL: exact for Poisson lookups; size limit: Che's approximation, about a point); "
            "memory: keys stored × value size, against max_size; evicted: removed for room"
        ),
    )

    def memory(k: dict[str, Any]) -> str:
        limit = k["max_size_bytes"]
        return _bytes(k["memory_bytes"]) + (f" / {_bytes(limit)}" if limit else "")

    rows: list[tuple[str, Any]] = [
        ("lookups/s", lambda k: count(k["lookups_per_s"])),
        ("hit ratio", lambda k: percent(k["hit_ratio"])),
        ("memory", memory),
        ("evicted/s", lambda k: count(k["evictions_per_s"])),
    ]
    spaces = list(
        dict.fromkeys(
            (n, ks)
            for r in results
            for n in names
            for ks in r["components"].get(n, {}).get("keyspaces", {})
        )
    )
    for name, ks in spaces:
        for label, fmt in rows:
            cells = []
            for r in results:
                k = r["components"].get(name, {}).get("keyspaces", {}).get(ks)
                cells.append(Text(fmt(k)) if k is not None else Text("-"))
            table.add_row(f"{name}.{ks} {label}", *cells)
    return table


def link_table(results: list[dict[str, Any]]) -> Table | None:
    names = _components_with(results, "gb_per_month")
    if not names:
        return None
    table = scenario_table(
        "Network links",
        results,
        "",
        caption=(
            "utilization of the busier direction; traffic of both directions, background included"
        ),
    )
    for name in names:
        for label, fmt in (
            (
                "utilization",
                lambda c: percent(c["utilization"]) + (" SATURATED" if c["saturated"] else ""),
            ),
            ("MB/s", lambda c: count(c["bytes_per_s"] / 1e6)),
            ("GB/month", lambda c: count(c["gb_per_month"])),
        ):
            cells = [
                Text(fmt(r["components"][name])) if name in r["components"] else Text("-")
                for r in results
            ]
            table.add_row(f"{name} {label}", *cells)
    return table


def bottleneck_lines(result: dict[str, Any], limit: int = 4) -> list[Text]:
    """The binding constraint and the next most loaded resources, in words."""
    lines = []
    for i, b in enumerate(result["bottlenecks"][:limit]):
        share = b["latency_share_p95"]
        text = Text(f"{result['scenario']}: " + ("binding: " if i == 0 else "then:    "))
        style = "red" if b["saturated"] or (b["utilization"] or 0) >= 0.85 else ""
        text.append(b["sentence"], style=style)
        if share >= 0.01:
            text.append(f" ({percent(share)} of the slowest 5% of requests' time)", style="dim")
        lines.append(text)
    return lines


def cost_table(results: list[dict[str, Any]]) -> Table | None:
    priced = [r for r in results if r.get("cost")]
    if not priced:
        return None
    table = scenario_table(
        "Monthly cost (730-hour month), USD",
        results,
        "",
        caption=(
            "computed, with the baseline given in the scenario in brackets; compute: nodes from "
            "bin-packing every pod's requests; LLM and egress follow the simulated traffic"
        ),
    )

    def money(x: float | None) -> str:
        return "-" if x is None else f"${x:,.0f}"

    def cell(r: dict[str, Any], category: str) -> Text:
        cost = r.get("cost")
        if not cost:
            return Text("-")
        text = Text(money(cost["by_category"][category]))
        if category in cost["baseline"]:
            text.append(f" [{money(cost['baseline'][category])}]", style="dim")
        return text

    for category in ("compute", "storage", "network", "llm"):
        table.add_row(category, *[cell(r, category) for r in results])

    def largest(r: dict[str, Any]) -> Text:
        cost = r.get("cost")
        if not cost:
            return Text("-")
        items = sorted(cost["by_component"].items(), key=lambda kv: -kv[1])[:3]
        return Text(", ".join(f"{n} {money(v)}" for n, v in items), style="dim")

    table.add_row("largest components", *[largest(r) for r in results])
    table.add_row(
        "total",
        *[
            Text(money(r["cost"]["monthly_usd"]), style="bold") if r.get("cost") else Text("-")
            for r in results
        ],
    )
    table.add_row(
        "nodes",
        *[
            Text(
                f"{r['cost']['nodes']}"
                + (
                    f" (needs {r['cost']['nodes_needed']} > max {r['cost']['max_nodes']})"
                    if r["cost"]["exceeds_max_nodes"]
                    else ""
                ),
                style="red" if r["cost"]["exceeds_max_nodes"] else "",
            )
            if r.get("cost")
            else Text("-")
            for r in results
        ],
    )
    table.add_row(
        "per 1,000 requests",
        *[
            Text(f"${r['cost']['per_1000_requests_usd']:.3f}")
            if r.get("cost") and r["cost"]["per_1000_requests_usd"] is not None
            else Text("-")
            for r in results
        ],
    )
    if any(
        r.get("cost") and r["cost"].get("run") and not r["timeline"]["stationary"] for r in results
    ):

        def over_run(r: dict[str, Any]) -> Text:
            run = (r.get("cost") or {}).get("run")
            if not run:
                return Text("-")
            text = Text(f"{money(run['compute_per_month_usd'])}/month")
            text.append(
                f" (at peak size all day {money(run['peak_provisioned_per_month_usd'])}, "
                f"saving {money(run['saving_per_month_usd'])}; "
                f"nodes {run['nodes_min']:.3g}-{run['nodes_max']:.3g})",
                style="dim",
            )
            return text

        table.add_row(Text("compute over the run"), *[over_run(r) for r in results])
    base = priced[0]

    def scaling(r: dict[str, Any]) -> Text:
        if r is base or not r.get("cost"):
            return Text("")
        load = r["load_scale"] / base["load_scale"]
        ratio = r["cost"]["monthly_usd"] / base["cost"]["monthly_usd"]
        linear = ratio <= load
        return Text(
            f"×{ratio:.2f} for ×{load:g} load" + ("" if linear else ": worse than linear"),
            style="" if linear else "red",
        )

    if len(priced) > 1:
        table.add_row(Text(f"vs {base['scenario']}"), *[scaling(r) for r in results])
    return table


def crosscheck_line(result: dict[str, Any]) -> Text:
    """One line on the analytic cross-check and the throughput bound."""
    a = result["analytic"]
    applied = [n for n, v in a["components"].items() if v["applies"]]
    text = Text(f"{result['scenario']}: analytic cross-check: ", style="dim")
    if a["disagreements"]:
        why = "; ".join(f"{n}: {a['components'][n]['why']}" for n in a["disagreements"])
        text.append(f"simulation and queueing theory disagree at {why}", style="yellow")
    else:
        n = len(applied)
        text.append(
            f"{n} component{'' if n == 1 else 's'} where the formulas apply agree", style="dim"
        )
    bound = a["throughput_bound"]
    if bound:
        text.append(
            f"; throughput bound {bound['rps']:.3g}/s ({bound['component']} "
            f"{bound['resource'].replace('_', ' ')})",
            style="dim",
        )
    return text

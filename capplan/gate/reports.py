"""Gate reports for CI systems: JUnit XML, Markdown (a pull-request comment), JSON."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter

from capplan.files import to_json
from capplan.gate.verdicts import FAIL, INCONCLUSIVE, PASS, Verdict, exit_code

ICONS = {PASS: "✅", FAIL: "❌", INCONCLUSIVE: "⚠️"}


def junit(verdicts: list[Verdict]) -> str:
    """One test suite per scenario, one test case per SLO. A violated SLO is a failure; an
    inconclusive one is an error (the check could not decide), so neither passes silently."""
    root = ET.Element("testsuites", name="capplan gate")
    by_scenario: dict[str, list[Verdict]] = {}
    for v in verdicts:
        by_scenario.setdefault(v.scenario, []).append(v)
    totals: Counter[str] = Counter()
    for scenario, vs in by_scenario.items():
        counts = Counter(v.status for v in vs)
        totals.update(counts)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=scenario,
            tests=str(len(vs)),
            failures=str(counts[FAIL]),
            errors=str(counts[INCONCLUSIVE]),
            skipped="0",
        )
        for v in vs:
            name = v.slo if v.scope == "all" else f"{v.slo} [{v.scope}]"
            case = ET.SubElement(
                suite, "testcase", classname=f"capplan.{scenario}", name=name, time="0"
            )
            if v.status == FAIL:
                ET.SubElement(
                    case, "failure", message=v.reason, type="slo_violated"
                ).text = v.reason
            elif v.status == INCONCLUSIVE:
                ET.SubElement(case, "error", message=v.reason, type="inconclusive").text = v.reason
            else:
                ET.SubElement(case, "system-out").text = v.reason
    root.set("tests", str(len(verdicts)))
    root.set("failures", str(totals[FAIL]))
    root.set("errors", str(totals[INCONCLUSIVE]))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def markdown(verdicts: list[Verdict]) -> str:
    """A summary fit for a pull-request comment."""
    counts = Counter(v.status for v in verdicts)
    code = exit_code(verdicts)
    headline = {0: "✅ all SLOs hold", 1: "❌ SLO violated", 3: "⚠️ inconclusive"}[code]
    lines = [
        f"## capplan gate: {headline}",
        "",
        f"{counts[PASS]} passed, {counts[FAIL]} violated, {counts[INCONCLUSIVE]} inconclusive. "
        "An SLO passes only if its whole 95% confidence interval is within target.",
        "",
        "| scenario | SLO | verdict | detail |",
        "|---|---|---|---|",
    ]
    for v in verdicts:
        name = v.slo if v.scope == "all" else f"{v.slo} [{v.scope}]"
        lines.append(f"| {v.scenario} | {name} | {ICONS[v.status]} {v.status} | {v.reason} |")
    return "\n".join(lines) + "\n"


def json_report(verdicts: list[Verdict]) -> str:
    payload = {"exit_code": exit_code(verdicts), "verdicts": [v.to_dict() for v in verdicts]}
    return to_json(payload)

"""The CI gate: SLO verdicts decided on confidence intervals, and reports CI systems read."""

from capplan.gate.reports import json_report, junit, markdown
from capplan.gate.verdicts import FAIL, INCONCLUSIVE, PASS, Verdict, evaluate, exit_code

__all__ = [
    "FAIL",
    "INCONCLUSIVE",
    "PASS",
    "Verdict",
    "evaluate",
    "exit_code",
    "json_report",
    "junit",
    "markdown",
]

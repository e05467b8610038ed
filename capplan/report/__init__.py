"""Reports: rendering results for people (terminal) and machines (JSON)."""

from capplan.report.json_out import dumps, write_results
from capplan.report.terminal import render

__all__ = ["dumps", "render", "write_results"]

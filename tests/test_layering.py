"""Imports point downstream only: the engine never loads the CLI, UI or cluster libraries."""

from __future__ import annotations

import subprocess
import sys

import pytest

FORBIDDEN = ["typer", "rich", "kubernetes", "locust", "click", "simpy"]
"""SimPy is only the benchmark's baseline: the engine runs on its own kernel."""


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("capplan.sim", FORBIDDEN),
        ("capplan.scenario", FORBIDDEN),
        ("capplan.analytic", FORBIDDEN),
        ("capplan.results", FORBIDDEN),
        ("capplan", FORBIDDEN),
        # the load test runs Locust in subprocesses only: gevent would patch our sockets
        ("capplan.loadtest", [*FORBIDDEN, "gevent"]),
        ("capplan.emulate", [*FORBIDDEN, "gevent"]),
        ("capplan.cli", ["locust", "gevent", "kubernetes", "simpy"]),
    ],
)
def test_module_does_not_load(module: str, forbidden: list[str]):
    code = (
        f"import sys, {module}\n"
        f"bad = [m for m in {forbidden!r} if m in sys.modules]\n"
        "print(','.join(bad))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "", f"{module} loaded {proc.stdout.strip()}"

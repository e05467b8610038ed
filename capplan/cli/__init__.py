"""The command line: a thin layer that parses options, calls the library, renders."""

from capplan.cli import (  # register their commands
    calibrate,
    failures,
    language,
    live,
    manifests,
    planning,
    report,
    simulation,
    sweep,
)
from capplan.cli.app import app, main

__all__ = [
    "app",
    "calibrate",
    "failures",
    "language",
    "live",
    "main",
    "manifests",
    "planning",
    "report",
    "simulation",
    "sweep",
]

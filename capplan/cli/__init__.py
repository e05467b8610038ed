"""The command line: a thin layer that parses options, calls the library, renders."""

from capplan.cli import (  # register their commands
    calibrate,
    failures,
    live,
    planning,
    report,
    sweep,
)
from capplan.cli.app import app, main

__all__ = ["app", "calibrate", "failures", "live", "main", "planning", "report", "sweep"]

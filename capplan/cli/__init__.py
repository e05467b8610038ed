"""The command line: a thin layer that parses options, calls the library, renders."""

from capplan.cli import calibrate, failures, live, planning, report  # register their commands
from capplan.cli.app import app, main

__all__ = ["app", "calibrate", "failures", "live", "main", "planning", "report"]

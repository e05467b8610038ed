"""The command line: a thin layer that parses options, calls the library, renders."""

from capplan.cli import failures, live, planning, report  # register their commands
from capplan.cli.app import app, main

__all__ = ["app", "failures", "live", "main", "planning", "report"]

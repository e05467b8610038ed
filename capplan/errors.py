"""The one exception hierarchy capplan raises.

Every expected failure is a :class:`CapplanError`; the command line turns it into a message
and an exit code in exactly one place (``capplan.cli``). Anything else is a bug and is
allowed to show a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class CapplanError(Exception):
    """Base class of every error capplan raises on purpose."""

    exit_code = 2


def printable(text: str) -> str:
    """``text`` with control characters escaped (``\\x1b``), so that a name taken from a file
    cannot move the cursor, retitle the terminal or hide the rest of a message."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, located as precisely as the input allows."""

    file: str
    path: str
    message: str
    line: int | None = None
    value: object = None
    has_value: bool = False

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        shown = f" (got {self.value!r})" if self.has_value else ""
        path = f" {self.path}:" if self.path else ""
        return printable(f"{where}{path} {self.message}{shown}")


class ScenarioError(CapplanError):
    """A scenario file is unreadable or invalid; lists every problem found, not only the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class SimulationError(CapplanError):
    """A scenario is valid but cannot be simulated as asked (e.g. a horizon too short)."""


class OutputError(CapplanError):
    """A result could not be written where it was asked to go."""


class CalibrationError(CapplanError):
    """Measurements that cannot be read, or cannot support the estimate asked of them."""

"""JSON output of simulations: one result as itself, several under ``scenarios``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from capplan.files import to_json, write_text


def dumps(results: list[dict[str, Any]]) -> str:
    """One result as itself, several as ``{"scenarios": [...]}``."""
    return to_json(results[0] if len(results) == 1 else {"scenarios": results})


def write_results(path: str | Path, results: list[dict[str, Any]]) -> None:
    write_text(path, dumps(results))

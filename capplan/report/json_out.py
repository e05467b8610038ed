"""JSON output: deterministic text, written atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from capplan.errors import OutputError


def to_json(payload: Any) -> str:
    """The one JSON text form of every output: indented, no NaN, same input same bytes."""
    return json.dumps(payload, indent=2, sort_keys=False, allow_nan=False) + "\n"


def dumps(results: list[dict[str, Any]]) -> str:
    """One result as itself, several as ``{"scenarios": [...]}``."""
    return to_json(results[0] if len(results) == 1 else {"scenarios": results})


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write through a temporary file and rename, so a reader never sees half a file and a
    failure leaves the previous file as it was."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)  # leave neither half a file nor a stray temporary
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from exc


def write_json(path: str | Path, results: list[dict[str, Any]]) -> None:
    write_text_atomic(path, dumps(results))


def write_json_data(path: str | Path, payload: Any) -> None:
    """Any JSON-ready payload, in the same form, atomically."""
    write_text_atomic(path, to_json(payload))

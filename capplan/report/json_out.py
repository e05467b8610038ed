"""JSON output: deterministic text, written atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from capplan.errors import OutputError


def dumps(results: list[dict[str, Any]]) -> str:
    """One result as itself, several as ``{"scenarios": [...]}``; same input, same bytes."""
    payload: Any = results[0] if len(results) == 1 else {"scenarios": results}
    return json.dumps(payload, indent=2, sort_keys=False, allow_nan=False) + "\n"


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write through a temporary file and rename, so a reader never sees half a file and a
    failure leaves the previous file as it was."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from exc


def write_json(path: str | Path, results: list[dict[str, Any]]) -> None:
    write_text_atomic(path, dumps(results))

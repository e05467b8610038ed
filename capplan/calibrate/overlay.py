"""The calibrated scenario as an overlay: ``extends:`` the original and only the changed
values, each with a comment naming its source, sample size and fit."""

from __future__ import annotations

from typing import Any

import yaml

from capplan.calibrate import Calibration

MARK = "calibrated by capplan"
"""First-line marker: a file with it may be replaced by the next calibration."""


def _flow(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10_000)
    return text.strip().removesuffix("...").strip()


def overlay(cal: Calibration, base_file: str) -> str:
    """YAML text of the overlay; ``base_file`` relative to where it is written."""
    lines = [
        f"# {cal.scenario} {MARK} from {'; '.join(cal.sources)}.",
        "# Only the values the measurements changed are here; everything else comes from the",
        "# file it extends. Each value's source and fit is in the comment above it.",
    ]
    lines += [f"# note: {n}" for n in cal.notes]
    lines += [
        "capplan: 1",
        f"extends: {_flow(base_file)}",
        f"name: {_flow(cal.scenario + '-calibrated')}",
    ]
    tree: dict[str, Any] = {}
    for change in cal.changes:
        node = tree
        for key in change.path[:-1]:
            node = node.setdefault(key, {})
        node[change.path[-1]] = change
    lines += _emit(tree, 0)
    return "\n".join(lines) + "\n"


def _emit(tree: dict[str, Any], depth: int) -> list[str]:
    pad = "  " * depth
    out: list[str] = []
    for key, value in tree.items():
        name = _flow(key)
        if isinstance(value, dict):
            out.append(f"{pad}{name}:")
            out += _emit(value, depth + 1)
            continue
        se = f", standard error {value.std_error}" if value.std_error else ""
        out.append(f"{pad}# calibrated: {value.source}{se}; was {_flow(value.before)}")
        out.append(f"{pad}{name}: {_flow(value.after)}")
    return out

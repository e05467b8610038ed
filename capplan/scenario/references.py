"""Checks across the scenario that a single field's type cannot make: names that refer to
other parts of the file. They run on the merged data, so they are reported together with
the field errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Found = tuple[tuple[str | int, ...], str, object]


def _steps(
    steps: Any, path: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    if not isinstance(steps, list):
        return
    for i, step in enumerate(steps):
        if isinstance(step, dict):
            yield (*path, i), step
            for nested in ("steps", "on_miss"):
                yield from _steps(step.get(nested), (*path, i, nested))


def check_references(data: dict[str, Any]) -> list[Found]:
    """Every reference to an undefined component or request type, and misplaced step options."""
    found: list[Found] = []
    components = data.get("components")
    components = components if isinstance(components, dict) else {}
    requests = data.get("requests")
    requests = requests if isinstance(requests, dict) else {}
    kinds = {name: c.get("type") for name, c in components.items() if isinstance(c, dict)}
    for rname, rtype in requests.items():
        if not isinstance(rtype, dict):
            continue
        for path, step in _steps(rtype.get("steps"), ("requests", rname, "steps")):
            target = step.get("call")
            if isinstance(target, str) and target not in components:
                found.append(((*path, "call"), "calls an undefined component", target))
                continue
            kind = kinds.get(target) if isinstance(target, str) else None
            if step.get("on_miss") and kind not in (None, "cache"):
                found.append(
                    ((*path, "on_miss"), f"only cache components miss ({target} is a {kind})", kind)
                )
            if step.get("op") is not None and kind not in (None, "database"):
                found.append(
                    (
                        (*path, "op"),
                        f"op applies to database components ({target} is a {kind})",
                        step.get("op"),
                    )
                )
    workload = data.get("workload")
    mix = workload.get("mix") if isinstance(workload, dict) else None
    if isinstance(mix, dict):
        for name in mix:
            if name not in requests:
                found.append((("workload", "mix", name), "names an undefined request type", name))
    elif len(requests) > 1 and isinstance(workload, dict):
        found.append(
            (("workload",), "several request types need a 'mix' of weights", sorted(requests))
        )
    return found

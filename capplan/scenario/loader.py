"""Reading scenario files: YAML with line numbers, ``extends`` merging, validation.

Every problem is reported at once, each with the file and line it comes from (after an
``extends`` merge, the file that supplied the value), the YAML path and the bad value.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from capplan.errors import Problem, ScenarioError
from capplan.scenario import checks
from capplan.scenario.model import Scenario
from capplan.scenario.references import check_references
from capplan.scenario.types import Model
from capplan.scenario.yamlfile import Origins, YamlPath, format_path, read_yaml, unreadable

__all__ = ["Origins", "YamlPath", "format_path", "load_scenario", "validate_data"]


def _merge(base: Any, over: Any) -> Any:
    """Deep merge: maps merge key by key, lists and scalars in ``over`` replace."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = _merge(base[key], value) if key in base else value
        return out
    return over


def _merge_origins(base: Origins, over: Origins, over_data: dict[str, Any]) -> Origins:
    """Where each merged value came from: ``over`` wins, and a replaced value hides its old children."""

    def replaced(path: YamlPath) -> bool:
        node: Any = over_data
        for part in path:
            if isinstance(node, dict) and part in node:
                node = node[part]
            else:
                return False
        return not isinstance(node, dict)

    hidden = {p for p in over if p and replaced(p)}
    kept = {p: o for p, o in base.items() if not any(p[: len(h)] == h and p != h for h in hidden)}
    kept.update(over)
    return kept


def _load_raw(file: Path, shown: str, stack: tuple[Path, ...]) -> tuple[Any, Origins]:
    data, origins, problems = read_yaml(file, shown)
    if problems:
        raise ScenarioError(problems)
    if not isinstance(data, dict):
        raise ScenarioError(
            [
                Problem(
                    shown, "", "a scenario must be a YAML mapping", origins.get((), (shown, 1))[1]
                )
            ]
        )
    parent = data.get("extends")
    if parent is None:
        return data, origins
    line = origins.get(("extends",), (shown, None))[1]
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError(
            [Problem(shown, "extends", "must be a path to a scenario file", line, parent, True)]
        )
    parent_file = (file.parent / parent).resolve()
    if parent_file in stack:
        chain = " -> ".join(p.name for p in (*stack, parent_file))
        raise ScenarioError([Problem(shown, "extends", f"cycle: {chain}", line, parent, True)])
    if len(stack) > 16:
        raise ScenarioError(
            [Problem(shown, "extends", "more than 16 files deep", line, parent, True)]
        )
    parent_shown = str(Path(shown).parent / parent)
    why = unreadable(parent_file)
    if why is not None:
        why = "base scenario not found" if why == "file not found" else f"base scenario: {why}"
        raise ScenarioError([Problem(shown, "extends", why, line, parent, True)])
    base, base_origins = _load_raw(parent_file, parent_shown, (*stack, parent_file))
    merged = _merge(base, data)
    merged["extends"] = parent
    return merged, _merge_origins(base_origins, origins, data)


def _known_keys() -> set[str]:
    keys: set[str] = set()
    todo: list[type[Model]] = [Model]
    while todo:
        cls = todo.pop()
        keys.update(f.alias or name for name, f in cls.model_fields.items())
        todo.extend(cls.__subclasses__())
    return keys


def _locate(loc: tuple[str | int, ...], data: Any, missing: bool) -> tuple[YamlPath, bool]:
    """Map a pydantic error location onto the YAML path, dropping union tags and the like."""
    path: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            path.append(part)
            node = node[part]  # type: ignore[index]
        elif last and (missing or isinstance(node, dict)):
            path.append(part)
            return tuple(path), False
        elif not isinstance(node, (dict, list)):
            break
    return tuple(path), True


def _message(err: Any) -> str:
    msg: str = err["msg"]
    kind = err["type"]
    if kind == "extra_forbidden":
        key = err["loc"][-1]
        near = difflib.get_close_matches(str(key), sorted(_known_keys()), n=1)
        return "unknown key" + (f"; did you mean '{near[0]}'?" if near else "")
    if kind in ("missing", "union_tag_not_found"):
        return "required key is missing"
    if kind == "union_tag_invalid":
        return f"unknown type; expected one of {err['ctx']['expected_tags']}"
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    msg = msg.replace("Input should be", "must be").replace("Input tag", "type")
    return msg[:1].lower() + msg[1:]


def _lookup(origins: Origins, path: YamlPath, fallback: str) -> tuple[str, int | None]:
    for cut in range(len(path), -1, -1):
        if path[:cut] in origins:
            return origins[path[:cut]]
    return fallback, None


def validate_data(data: dict[str, Any], origins: Origins, shown: str) -> Scenario:
    """Validate merged scenario data; raise :class:`ScenarioError` listing every problem.
    Values given as ranges (``{between: [low, high]}``) are read at their medians, and
    the ranges kept on the scenario for :mod:`capplan.uncertainty`."""
    from capplan import uncertainty

    problems: list[Problem] = []
    scenario: Scenario | None = None
    raw = data
    inputs, bad = uncertainty.parse(data)
    ranges = {path[:-1] for path, _, _ in bad}
    for path, message, value in bad:
        file, line = _lookup(origins, path, shown)
        problems.append(Problem(file, format_path(path), message, line, value, value is not None))
    if inputs:
        data = uncertainty.with_values(data, inputs, [0.5] * len(inputs))
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            missing = err["type"] in ("missing", "union_tag_not_found")
            path, has_value = _locate(tuple(err["loc"]), data, missing)
            if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
                # the location is the mapping; the problem is its discriminator key
                path = (*path, str(err["ctx"]["discriminator"]).strip("'"))
                if not missing:
                    err = {**err, "input": err["ctx"]["tag"]}
            if path in ranges:
                continue  # a malformed range, said above: not also "expected a duration"
            file, line = _lookup(origins, path, shown)
            value = err.get("input") if has_value and not missing else None
            if isinstance(value, (dict, list)):
                has_value = False
            problems.append(
                Problem(
                    file, format_path(path), _message(err), line, value, has_value and not missing
                )
            )
    for path, message, value in check_references(data):
        file, line = _lookup(origins, path, shown)
        problems.append(Problem(file, format_path(path), message, line, value, value is not None))
    if scenario is not None:
        scenario._origins = origins
        scenario._file = shown
        if inputs:
            scenario._uncertain = inputs
            scenario._raw = raw
        problems += checks.check(scenario)
    if problems:
        unique = list({str(p): p for p in problems}.values())
        unique.sort(key=lambda p: (p.file, p.line or 0, p.path))
        raise ScenarioError(unique)
    assert scenario is not None
    return scenario


def load_data(path: str | Path) -> tuple[dict[str, Any], Origins, str]:
    """A scenario file read and merged with what it extends, not yet validated: (data,
    where each value came from, the name to show), for tools that change values by their
    YAML path (``capplan sweep``) and then validate with :func:`validate_data`."""
    shown = str(path)
    file = Path(path).resolve()
    data, origins = _load_raw(file, shown, (file,))
    return data, origins, shown


def load_scenario(path: str | Path, load_scale: float | None = None) -> Scenario:
    """Read, merge and validate a scenario file.

    ``load_scale`` overrides the file's own ``load_scale`` (the command line's ``--scale``).
    Raises :class:`ScenarioError` naming file, YAML path, line and value of every problem.
    """
    shown = str(path)
    file = Path(path).resolve()
    data, origins = _load_raw(file, shown, (file,))
    if load_scale is not None:
        if not 0 < load_scale <= 1e6:
            raise ScenarioError([Problem("--scale", "", "must be > 0", None, load_scale, True)])
        data = {**data, "load_scale": load_scale}
    return validate_data(data, origins, shown)

"""Reading one YAML file safely, with the line each value came from.

A scenario file is small and written by a person, so anything that only an attack or an
accident produces is refused with a located message instead of exhausting the machine:
files that are not regular files (a FIFO would block, ``/dev/zero`` never ends) or larger
than ``MAX_FILE_BYTES``, nesting deeper than ``MAX_DEPTH``, an alias that contains itself,
and alias expansion beyond ``MAX_NODES`` values (the "billion laughs"). Merge keys
(``<<: *base``) are plain YAML and work as YAML says: explicit keys override merged ones.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from capplan.errors import Problem

YamlPath = tuple[str | int, ...]
Origins = dict[YamlPath, tuple[str, int]]

MAX_FILE_BYTES = 4 * 2**20
"""Largest scenario file read (4 MiB; the bundled ones are under 10 KiB)."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists, aliases expanded."""
MAX_NODES = 200_000
"""Most values a file may stand for once its aliases are expanded."""

MERGE_TAG = "tag:yaml.org,2002:merge"


def format_path(path: YamlPath) -> str:
    """('requests', 'chat', 'steps', 0, 'call') -> 'requests.chat.steps[0].call'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _TooDeep(Exception):
    def __init__(self, line: int):
        self.line = line


class _Loader(yaml.SafeLoader):
    """SafeLoader that counts nesting while composing (the composer recurses per level)."""

    def __init__(self, text: str):
        super().__init__(text)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _TooDeep(self.peek_event().start_mark.line + 1)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def unreadable(file: Path) -> str | None:
    """Why ``file`` cannot be a scenario file without opening it, or None if it can be read."""
    try:
        info = os.stat(file)
    except FileNotFoundError:
        return "file not found"
    except OSError as exc:
        return f"cannot read file: {exc.strerror or exc}"
    if stat.S_ISDIR(info.st_mode):
        return "is a folder, not a scenario file"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a device, pipe or socket)"
    if info.st_size > MAX_FILE_BYTES:
        return f"file too large for a scenario ({info.st_size:,} bytes; at most {MAX_FILE_BYTES:,})"
    return None


def _read_text(file: Path, shown: str) -> tuple[str | None, list[Problem]]:
    why = unreadable(file)
    if why is not None:
        return None, [Problem(shown, "", why)]
    try:
        with open(file, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return None, [Problem(shown, "", f"cannot read file: {exc.strerror or exc}")]
    if len(raw) > MAX_FILE_BYTES:  # grew since stat
        return None, [
            Problem(shown, "", f"file too large for a scenario (at most {MAX_FILE_BYTES:,} bytes)")
        ]
    try:
        return raw.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [Problem(shown, "", "not UTF-8 text", line)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_graph(root: yaml.Node, shown: str) -> Problem | None:
    """Refuse an alias that contains itself, and expansion beyond the limits.

    Iterative post-order over the node graph (aliases are shared nodes), memoizing each
    node's expanded size and depth, so the check itself never expands anything."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            on_path.discard(key)
            line = node.start_mark.line + 1
            if size[key] > MAX_NODES:
                return Problem(shown, "", f"aliases expand to more than {MAX_NODES:,} values", line)
            if depth[key] > MAX_DEPTH:
                return Problem(shown, "", f"nested deeper than {MAX_DEPTH} levels", line)
            continue
        if key in size:
            continue
        if key in on_path:
            return Problem(
                shown, "", "an alias refers to a value that contains it", node.start_mark.line + 1
            )
        on_path.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in _children(node))
    return None


def _origins(root: yaml.Node, shown: str) -> tuple[Origins, list[Problem]]:
    """The line of every value by YAML path, and duplicate keys (merged keys excepted)."""
    origins: Origins = {}
    problems: list[Problem] = []

    def mapping(n: yaml.MappingNode, path: YamlPath, explicit: bool) -> None:
        seen: set[object] = set()
        for key_node, value_node in n.value:
            if key_node.tag == MERGE_TAG:
                merged = (
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                for m in merged:
                    if isinstance(m, yaml.MappingNode):
                        mapping(m, path, False)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(
                    Problem(
                        shown,
                        format_path(path),
                        "a key must be a plain name, not a list or mapping",
                        key_node.start_mark.line + 1,
                    )
                )
                continue
            key = key_node.value
            if key in seen and explicit:
                problems.append(
                    Problem(
                        shown,
                        format_path((*path, key)),
                        "duplicate key",
                        key_node.start_mark.line + 1,
                    )
                )
            seen.add(key)
            if explicit or (*path, key) not in origins:
                origins[(*path, key)] = (shown, key_node.start_mark.line + 1)
            walk(value_node, (*path, key))

    def walk(n: yaml.Node, path: YamlPath) -> None:
        if isinstance(n, yaml.MappingNode):
            mapping(n, path, True)
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                origins[(*path, i)] = (shown, item.start_mark.line + 1)
                walk(item, (*path, i))

    origins[()] = (shown, root.start_mark.line + 1)
    walk(root, ())
    return origins, problems


def read_yaml(file: Path, shown: str) -> tuple[Any, Origins, list[Problem]]:
    """Parse ``file`` (named ``shown`` in messages): its data, origins and problems."""
    text, problems = _read_text(file, shown)
    if text is None:
        return None, {}, problems
    try:
        loader = _Loader(text)
    except yaml.YAMLError as exc:  # the reader refuses control characters at once
        return None, {}, [_yaml_problem(exc, text, shown)]
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}, []
        bad = _check_graph(node, shown)
        if bad is not None:
            return None, {}, [bad]
        origins, problems = _origins(node, shown)
        if problems:
            return None, origins, problems
        data = loader.construct_document(node)
    except _TooDeep as exc:
        return None, {}, [Problem(shown, "", f"nested deeper than {MAX_DEPTH} levels", exc.line)]
    except yaml.YAMLError as exc:
        return None, {}, [_yaml_problem(exc, text, shown)]
    finally:
        loader.dispose()
    return data, origins, []


def _yaml_problem(exc: yaml.YAMLError, text: str, shown: str) -> Problem:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        return Problem(shown, "", f"not valid YAML: {exc.problem}", line)
    if isinstance(exc, yaml.reader.ReaderError):
        line = text[: exc.position].count("\n") + 1
        char = chr(exc.character) if isinstance(exc.character, int) else str(exc.character)
        return Problem(
            shown, "", f"not valid YAML: control character {char!r} is not allowed", line
        )
    return Problem(shown, "", f"not valid YAML: {exc}")

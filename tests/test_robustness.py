"""Robustness as a property: mutations of the bundled scenarios through ``validate`` and a
short ``simulate`` end with exit code 0, 1, 2 or 3, never a traceback, a hang or an
exhausted machine.

Mutations: numbers at the extremes (NaN, inf, 1e308, 0, negative, huge integers), values
of the wrong type, malformed units, references to nothing or to lists, names with unicode,
control and path characters, ``extends`` chains (to a sibling, to itself, to nothing),
YAML aliases, merge keys and deep nesting. A few hundred examples run by default; set
``CAPPLAN_FUZZ_EXAMPLES`` for more (``CAPPLAN_FUZZ_EXAMPLES=5000 pytest
tests/test_robustness.py``).
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
import resource
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capplan_helpers import ROOT, cli

EXAMPLES = int(os.environ.get("CAPPLAN_FUZZ_EXAMPLES", "200"))
SECONDS_PER_EXAMPLE = 60
"""A hang is an example that has not ended by then (a normal one takes well under 1 s)."""
MEMORY_BYTES = 3 * 2**30
"""Address space an example may add; past it, an allocation fails with MemoryError."""

BASES = {p.name: yaml.safe_load(p.read_text()) for p in sorted((ROOT / "scenarios").glob("*.yaml"))}

EXTREMES = [
    float("nan"), float("inf"), -float("inf"), 1e308, -1e308, 1e-308, 0, -1, 0.0, 10**30,
    2**63, -(2**63), 1, True, None, "", "1e309ms", "NaN", "-5s", "1xyz", "1m", "10m",
    "1h30m", "0s", "1e12/s", "9" * 400, "50%", "150%", "inf%", [], {}, [[1]], {"a": 1},
]  # fmt: skip
NAMES = [
    "ok-name", "../../../elsewhere/victim", "/abs", "a b{", "[/x]", "\x1b]0;PWNED\x07",
    "名前", "UPPER_case", "-dash", "x" * 300, "with space", "tab\tname", "", "null",
]  # fmt: skip


SCALES = [1e-6, 1e-3, 0.1, 0.5, 2, 10, 1000, 1e6]
"""Plausible mutations: a number (or the number of a '60ms', '3/s', '70%') times these,
mostly still valid, so that odd but legal scenarios reach the simulation."""


def _scaled(value: Any, factor: float) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return max(0, round(value * factor))
    if isinstance(value, float):
        return value * factor
    if isinstance(value, str):
        m = re.match(r"^(\d+(?:\.\d+)?)(.*)$", value)
        if m:
            return f"{float(m.group(1)) * factor:g}{m.group(2)}"
    return value


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _set(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return data


def _rename(data: Any, path: tuple[Any, ...], name: str) -> Any:
    """Rename the key at ``path`` (a component, request type...) keeping its value."""
    if not path:
        return data
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    if isinstance(parent, dict):
        parent[name] = parent.pop(path[-1])
    return data


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str, str | None]:
    """(file name, YAML text, text of a sibling file it may extend)."""
    name = draw(st.sampled_from(sorted(BASES)))
    data = copy.deepcopy(BASES[name])
    data.pop("extends", None)
    if "current" not in name:  # the overlays need current.yaml's keys
        merged = copy.deepcopy(BASES["current.yaml"])
        merged.update(copy.deepcopy({k: v for k, v in BASES[name].items() if k != "extends"}))
        data = merged
    # short runs: a mutation may lengthen them, which the work limit then refuses
    data["simulation"] = {"duration": "3s", "warmup": "1s", "replications": 2, "seed": 1}
    # half the cases are plausible edits (numbers scaled, units kept) that mostly stay
    # valid and reach the simulation; the other half are hostile
    hostile = draw(st.booleans())
    for _ in range(draw(st.integers(1, 2))):
        paths = list(_paths(data))
        leaves = [p for p in paths if not isinstance(_get(data, p), (dict, list))]
        path = draw(st.sampled_from(leaves if draw(st.integers(0, 4)) else paths))
        kind = (
            draw(st.sampled_from(["scale"] * 5 + ["value", "value", "name", "delete", "unknown"]))
            if hostile
            else "scale"
        )
        if kind == "scale":
            factor = draw(st.sampled_from(SCALES))
            data = _set(data, path, _scaled(_get(data, path), factor))
        elif kind == "value":
            data = _set(data, path, copy.deepcopy(draw(st.sampled_from(EXTREMES))))
        elif kind == "name":
            data = _rename(data, path, draw(st.sampled_from(NAMES)))
        elif kind == "delete" and path:
            data = _set(data, path[:-1], _without(_get(data, path[:-1]), path[-1]))
        elif kind == "unknown" and isinstance(_get(data, path), dict):
            _get(data, path)["replicaz"] = 3
        if not isinstance(data, dict):
            break
    comps = data.get("components") if isinstance(data, dict) else None
    if isinstance(comps, dict) and draw(st.booleans()):
        # one value shared by two components: the dump writes an anchor and an alias
        shared = [c for c in comps.values() if isinstance(c, dict) and "service_time" in c]
        if len(shared) >= 2:
            shared[1]["service_time"] = shared[0]["service_time"]
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    extra = (
        draw(st.sampled_from(["", "alias", "merge", "deep", "extends", "self", "missing"]))
        if hostile
        else draw(st.sampled_from(["", "", "extends"]))
    )
    sibling = None
    if extra == "alias":
        text += "x-anchor: &big [1, 2, 3]\nx-use: [*big, *big]\n"
    elif extra == "merge":
        text += "x-base: &b {a: 1}\nx-merged: {<<: *b, b: 2}\n"
    elif extra == "deep":
        depth = draw(st.integers(10, 300))
        text += "x-deep: " + "[" * depth + "]" * depth + "\n"
    elif extra == "extends":
        sibling = yaml.safe_dump(copy.deepcopy(BASES["current.yaml"]), allow_unicode=True)
        text = "extends: sibling.yaml\n" + text
    elif extra == "self":
        text = "extends: fuzz.yaml\n" + text
    elif extra == "missing":
        text = "extends: nowhere/none.yaml\n" + text
    return "fuzz.yaml", text, sibling


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def _without(node: Any, key: Any) -> Any:
    if isinstance(node, dict):
        return {k: v for k, v in node.items() if k != key}
    if isinstance(node, list):
        return [v for i, v in enumerate(node) if i != key]
    return node


@contextlib.contextmanager
def bounded() -> Iterator[None]:
    """Fail an example that hangs; make one that runs away with memory fail fast."""

    def hang(_sig: int, _frame: object) -> None:
        raise AssertionError(f"an example ran for more than {SECONDS_PER_EXAMPLE} s")

    old_handler = signal.signal(signal.SIGALRM, hang)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as fh:
        used = int(fh.read().split()[0]) * resource.getpagesize()
    limit = used + MEMORY_BYTES
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard < 0 else min(limit, hard), hard))
    signal.alarm(SECONDS_PER_EXAMPLE)
    try:
        yield
    finally:
        signal.alarm(0)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        signal.signal(signal.SIGALRM, old_handler)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
@given(case=mutated())
def test_mutated_scenarios_end_with_a_known_exit_code(tmp_path_factory, case):
    name, text, sibling = case
    folder: Path = tmp_path_factory.mktemp("fuzz")
    path = folder / name
    path.write_text(text, encoding="utf-8")
    if sibling is not None:
        (folder / "sibling.yaml").write_text(sibling, encoding="utf-8")
    with bounded():
        code, out, err = cli("validate", str(path))
        assert code in (0, 2), (code, out, err)
        assert "Traceback" not in out + err, err
        if code == 0:
            code, out, err = cli(
                "simulate", str(path), "--jobs", "1", "--no-progress", "--max-visits", "300000"
            )
            assert code in (0, 1, 2, 3), (code, out, err)
            assert "Traceback" not in out + err, err
    for stream in (out, err):
        assert "\x1b]" not in stream and "\x07" not in stream  # names are escaped

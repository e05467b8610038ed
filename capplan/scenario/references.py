"""Checks across the scenario that a single field's type cannot make: names that refer to
other parts of the file. They run on the merged data, so they are reported together with
the field errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from capplan.kinds import KINDS, OPTIONAL_STEP_KEYS
from capplan.scenario.model import PATH_PARAMETER

Found = tuple[tuple[str | int, ...], str, object]

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
"""Names of scenarios, components and request types: they become file names, URL paths,
metric labels and Kubernetes names, so they keep to characters all of those accept."""
NAME_RULE = (
    "a name has letters, digits, '_', '.' and '-', starts with a letter or digit, and has at "
    "most 63 characters"
)
HTTP_PATH = re.compile(r"/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@%]|\{[A-Za-z_][A-Za-z0-9_]*\}|/)*")
"""An absolute URL path of RFC 3986 characters; ``{name}`` only as a whole segment."""


def _bad_name(name: object) -> bool:
    return not (isinstance(name, str) and NAME.fullmatch(name))


def _check_names(data: dict[str, Any]) -> list[Found]:
    found: list[Found] = []
    name = data.get("name")
    if isinstance(name, str) and name and _bad_name(name):
        found.append((("name",), NAME_RULE, name))
    for section in ("components", "requests"):
        entries = data.get(section)
        if isinstance(entries, dict):
            for key in entries:
                if _bad_name(key):
                    found.append(((section, key), NAME_RULE, key))
    return found


def _check_http_path(rname: str, rtype: Any) -> list[Found]:
    http = rtype.get("http") if isinstance(rtype, dict) else None
    path = http.get("path") if isinstance(http, dict) else None
    if not isinstance(path, str):
        return []
    where = ("requests", rname, "http", "path")
    if not HTTP_PATH.fullmatch(path):
        return [
            (
                where,
                "must be an absolute URL path ('/api/v1/leads/{id}'): RFC 3986 characters, "
                "no query or fragment, '{name}' only as a whole segment",
                path,
            )
        ]
    for segment in path.split("/"):
        if "{" in segment and not re.fullmatch(r"\{[A-Za-z_][A-Za-z0-9_]*\}", segment):
            return [(where, "a '{name}' parameter must be a whole path segment", path)]
    return []


def _call_edges(requests: dict[str, Any]) -> dict[str, list[tuple[str, tuple[str | int, ...]]]]:
    """Who holds a worker while calling whom, with the path of the call (as graph.py)."""
    edges: dict[str, list[tuple[str, tuple[str | int, ...]]]] = {}

    def walk(steps: Any, holder: str | None, path: tuple[str | int, ...]) -> None:
        if not isinstance(steps, list):
            return
        for i, step in enumerate(steps):
            if not isinstance(step, dict):
                continue
            here = (*path, i)
            callee = step.get("call")
            callee = callee if isinstance(callee, str) else None
            if holder is not None and callee is not None:
                edges.setdefault(holder, []).append((callee, (*here, "call")))
            walk(step.get("steps"), callee, (*here, "steps"))
            walk(step.get("on_miss"), holder, (*here, "on_miss"))
            walk(step.get("fallback"), holder, (*here, "fallback"))
            for j, branch in _branches(step):
                walk(branch.get("steps"), holder, (*here, "choice", j, "steps"))

    for rname, rtype in requests.items():
        if isinstance(rtype, dict):
            walk(rtype.get("steps"), None, ("requests", rname, "steps"))
    return edges


def _check_cycles(requests: dict[str, Any]) -> list[Found]:
    """A component whose worker waits, directly or not, on a call to itself: a pool calling
    itself deadlocks once every worker waits on a call that needs a worker. Each cycle is
    named once, at the call that closes it."""
    edges = _call_edges(requests)
    found: list[Found] = []
    reported: set[frozenset[str]] = set()
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    chain: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        chain.append(node)
        for callee, where in edges.get(node, []):
            if state.get(callee) == 1:
                cycle = [*chain[chain.index(callee) :], callee]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    found.append(
                        (
                            where,
                            "call cycle: "
                            + " -> ".join(cycle)
                            + " (a pool waiting on itself deadlocks)",
                            callee,
                        )
                    )
            elif state.get(callee) is None:
                visit(callee)
        chain.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def _steps(
    steps: Any, path: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    if not isinstance(steps, list):
        return
    for i, step in enumerate(steps):
        if isinstance(step, dict):
            yield (*path, i), step
            for nested in ("steps", "on_miss", "fallback"):
                yield from _steps(step.get(nested), (*path, i, nested))
            for j, branch in _branches(step):
                yield from _steps(branch.get("steps"), (*path, i, "choice", j, "steps"))


def _branches(step: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    """A choice step's branches (as written; their own validation reports their shape)."""
    branches = step.get("choice")
    if isinstance(branches, list):
        for j, branch in enumerate(branches):
            if isinstance(branch, dict):
                yield j, branch


_KEY_RULE = {
    "on_miss": "only {kinds} components miss",
    "keyspace": "keyspace applies to {kinds} components",
    "op": "op applies to {kinds} components",
    "tokens": "tokens apply to {kinds} components",
}


def _a(word: str) -> str:
    """The word with its article, as it is said ('an llm_api': el-el-em)."""
    return ("an " if word[:1] in "aeiou" or word.startswith("llm") else "a ") + word


def _check_step(
    path: tuple[str | int, ...],
    step: dict[str, Any],
    components: dict[str, Any],
    kinds: dict[str, Any],
) -> list[Found]:
    found: list[Found] = []
    target = step.get("call")
    if isinstance(target, str) and target not in components:
        return [((*path, "call"), "calls an undefined component", target)]
    kind = kinds.get(target) if isinstance(target, str) else None
    spec = KINDS.get(kind) if isinstance(kind, str) else None
    if spec is not None and not spec.called:
        found.append(
            ((*path, "call"), f"{_a(spec.type)} is crossed with 'via', not called", target)
        )
    for key in OPTIONAL_STEP_KEYS:
        given = step.get(key)
        if spec is None or given is None or given == [] or key in spec.step_keys:
            continue
        owners = " and ".join(k.type for k in KINDS.values() if key in k.step_keys)
        found.append(
            (
                (*path, key),
                _KEY_RULE[key].format(kinds=owners) + f" ({target} is {_a(spec.type)})",
                None,
            )
        )
    if spec is not None:
        for key in sorted(spec.required_step_keys):
            if step.get(key) is None:
                what = ": {input, output}" if key == "tokens" else ""
                found.append(((*path, key), f"a call to {_a(spec.type)} needs {key}{what}", None))
        if step.get("steps") and not spec.nested:
            found.append(((*path, "steps"), f"{_a(spec.type)} call has no nested steps", None))
    via = step.get("via")
    if via is not None and not isinstance(via, str):
        pass  # the field's own type check reports it
    elif via is not None:
        crossed = KINDS.get(kinds.get(via) or "")
        if via not in components:
            found.append(((*path, "via"), "names an undefined component", via))
        elif crossed is not None and crossed.called:
            found.append(((*path, "via"), f"must name a link ({via} is {_a(crossed.type)})", via))
    elif step.get("request_bytes") or step.get("response_bytes"):
        found.append((path, "payload sizes need 'via: <link>' to cross", None))
    return found


def _check_calls(
    components: dict[str, Any], kinds: dict[str, Any], requests: dict[str, Any]
) -> list[Found]:
    """Each kind's own checks of the calls made to each of its components."""
    calls: dict[str, list[tuple[tuple[str | int, ...], dict[str, Any]]]] = {}
    for rname, rtype in requests.items():
        if isinstance(rtype, dict):
            for path, step in _steps(rtype.get("steps"), ("requests", rname, "steps")):
                if isinstance(step.get("call"), str):
                    calls.setdefault(step["call"], []).append((path, step))
    found: list[Found] = []
    for name, component in components.items():
        spec = KINDS.get(kinds.get(name) or "")
        if spec is not None and spec.check_calls is not None and isinstance(component, dict):
            found += spec.check_calls(name, component, calls.get(name, []))
    return found


def check_references(data: dict[str, Any]) -> list[Found]:
    """Every reference to an undefined component or request type, and misplaced step options."""
    found: list[Found] = []
    components = data.get("components")
    components = components if isinstance(components, dict) else {}
    requests = data.get("requests")
    requests = requests if isinstance(requests, dict) else {}
    kinds = {
        name: c.get("type") if isinstance(c.get("type"), str) else None
        for name, c in components.items()
        if isinstance(c, dict)
    }
    for rname, rtype in requests.items():
        if isinstance(rtype, dict):
            for path, step in _steps(rtype.get("steps"), ("requests", rname, "steps")):
                found += _check_step(path, step, components, kinds)
    slos = data.get("slos")
    limits = slos.get("max_utilization") if isinstance(slos, dict) else None
    if isinstance(limits, dict):
        for name in limits:
            if name not in components:
                found.append(
                    (("slos", "max_utilization", name), "names an undefined component", name)
                )
    if (
        isinstance(slos, dict)
        and slos.get("monthly_cost_max") is not None
        and not data.get("costs")
    ):
        found.append(
            (("slos", "monthly_cost_max"), "needs a 'costs' section to price the scenario", None)
        )
    for rname, rtype in requests.items():
        rslos = rtype.get("slos") if isinstance(rtype, dict) else None
        for key in ("max_utilization", "monthly_cost_max", "attainment"):
            if isinstance(rslos, dict) and key in rslos:
                found.append(
                    (
                        ("requests", rname, "slos", key),
                        "applies to the whole system: set it under the top-level slos",
                        None,
                    )
                )
    costs = data.get("costs")
    network = costs.get("network") if isinstance(costs, dict) else None
    links = network.get("egress_links") if isinstance(network, dict) else None
    for i, link in enumerate(links if isinstance(links, list) else []):
        if isinstance(link, str) and kinds.get(link) != "link":
            found.append(
                (("costs", "network", "egress_links", i), "must name a link component", link)
            )
    found += _check_calls(components, kinds, requests)
    found += _check_routes(requests)
    found += _check_names(data)
    found += _check_cycles(requests)
    for rname, rtype in requests.items():
        found += _check_http_path(rname, rtype)
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


def _check_routes(requests: dict[str, Any]) -> list[Found]:
    """Two request types on one HTTP method and path could not be told apart by the
    emulator or in load-test results (``{name}`` segments match anything)."""
    found: list[Found] = []
    seen: dict[tuple[str, str], str] = {}
    for rname, rtype in requests.items():
        http = rtype.get("http") if isinstance(rtype, dict) else None
        if http is None:
            where: tuple[str | int, ...] = ("requests", rname)
            method, path = "GET", f"/{rname}"
        elif isinstance(http, dict) and isinstance(http.get("path"), str):
            where = ("requests", rname, "http")
            method, path = str(http.get("method", "GET")).upper(), http["path"]
        else:
            continue
        key = (method, PATH_PARAMETER.sub("{}", path))
        if key in seen:
            found.append(
                (where, f"same HTTP method and path as request {seen[key]!r}", f"{method} {path}")
            )
        else:
            seen[key] = rname
    return found

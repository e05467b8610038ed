"""Who waits on whom: the call graph of a scenario's components.

A component *waits on* every component called (or link crossed) by the steps nested under
its own steps, because its worker stays busy through them. A cache's ``on_miss`` steps run
after the cache released its worker, so they belong to whoever called the cache; so do a
step's ``fallback`` steps, which its caller runs, and a ``choice``'s branches.
"""

from __future__ import annotations

from capplan.scenario.model import Scenario, Step


def _walk(steps: list[Step], holder: str | None, edges: dict[str, set[str]]) -> None:
    for step in steps:
        if step.call is None:  # a choice: its branches belong to the same holder
            for _, branch in step.branches():
                _walk(branch, holder, edges)
            continue
        if holder is not None:
            edges[holder].add(step.call)
            if step.via is not None:
                edges[holder].add(step.via)
        _walk(step.steps, step.call, edges)
        _walk(step.on_miss, holder, edges)
        _walk(step.fallback, holder, edges)


def waits_on(scenario: Scenario) -> dict[str, frozenset[str]]:
    """For each component, every component its workers may wait on, directly or not."""
    edges: dict[str, set[str]] = {name: set() for name in scenario.components}
    for rtype in scenario.requests.values():
        _walk(rtype.steps, None, edges)
    closure: dict[str, frozenset[str]] = {}
    for name in edges:
        seen: set[str] = set()
        todo = list(edges[name])
        while todo:
            callee = todo.pop()
            if callee not in seen:
                seen.add(callee)
                todo.extend(edges[callee])
        seen.discard(name)
        closure[name] = frozenset(seen)
    return closure


def callers(scenario: Scenario) -> dict[str, frozenset[str | None]]:
    """For each component, who calls it directly: other components, and ``None`` for the
    clients outside the system (the first steps of a request type). A link is crossed,
    not called: it has no callers."""
    found: dict[str, set[str | None]] = {name: set() for name in scenario.components}

    def walk(steps: list[Step], holder: str | None) -> None:
        for step in steps:
            if step.call is None:
                for _, branch in step.branches():
                    walk(branch, holder)
                continue
            found[step.call].add(holder)
            walk(step.steps, step.call)
            walk(step.on_miss, holder)
            walk(step.fallback, holder)

    for rtype in scenario.requests.values():
        walk(rtype.steps, None)
    return {name: frozenset(c) for name, c in found.items()}

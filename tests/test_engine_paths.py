"""The engine's fast paths give what its general paths give.

A step whose visit is only a worker held for a service time is driven by the step runner
itself (``PooledStation.direct``) instead of through the station's visit generator, and
successful requests are accounted for in batches (``capplan.sim.ledger``) instead of one
by one. Both are speed-ups only: with them off, every record must be the same.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest

from capplan.sim import ledger, plan, run_replication
from capplan.sim.kernel import Kernel
from capplan.sim.streams import Streams
from capplan_helpers import exp, scenario


def mixed() -> Any:
    """Every balancing policy, queue limits that refuse, nested and sibling steps, a
    timeout that fails some requests, and load that leaves requests in flight at the end."""
    return scenario(
        {
            "simulation": {
                "duration": "900s",
                "warmup": "60s",
                "replications": 1,
                "window": "30s",
            },
            "workload": {"arrival_rate": "30/s", "mix": {"a": 0.7, "b": 0.3}},
            "requests": {
                "a": {
                    "timeout": "300ms",
                    "steps": [
                        {"call": "rr", "steps": [{"call": "lc"}, {"call": "sq"}]},
                        {"call": "sq"},
                    ],
                },
                "b": {"steps": [{"call": "lc"}, {"call": "limited"}]},
            },
            "components": {
                "rr": {
                    "type": "service",
                    "replicas": 3,
                    "workers": 4,
                    "load_balancing": "round_robin",
                    "service_time": exp("60ms"),
                },
                "lc": {
                    "type": "service",
                    "replicas": 2,
                    "workers": 2,
                    "load_balancing": "least_connections",
                    "service_time": exp("40ms"),
                },
                "sq": {
                    "type": "service",
                    "replicas": 2,
                    "workers": 1,
                    "load_balancing": "shared_queue",
                    "service_time": exp("25ms"),
                },
                "limited": {
                    "type": "service",
                    "workers": 1,
                    "queue_limit": 3,
                    "service_time": exp("90ms"),
                },
            },
        }
    )


def records(s: Any, replication: int = 0) -> Any:
    return run_replication(s, replication)


def inlined(s: Any) -> int:
    """How many of the scenario's steps the step runner drives itself."""
    _, plans = plan.compile_scenario(s, Kernel(), Streams(0, 0))

    def count(steps: tuple[Any, ...]) -> int:
        return sum(step.direct + count(step.steps) for step in steps)

    return sum(count(p.steps) for p in plans)


def close(a: Any, b: Any, path: str = "") -> list[str]:
    """Paths where two records differ beyond float rounding (sums taken in another order)."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return close(dataclasses.asdict(a), dataclasses.asdict(b), path)  # type: ignore[arg-type]
    if isinstance(a, dict):
        if a.keys() != b.keys():
            return [path]
        return [p for k in a for p in close(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list | tuple):
        if len(a) != len(b):
            return [path]
        return [
            p
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for p in close(x, y, f"{path}[{i}]")
        ]
    if isinstance(a, float) and isinstance(b, float):
        same = a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
        return [] if same else [f"{path}: {a} != {b}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def test_direct_visits_match_the_visit_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    s = mixed()
    fast = records(s)
    assert fast.types["a"].errors.get("timeout") and fast.types["b"].errors.get("rejected")
    assert inlined(s) == 5  # in a: lc and sq inside rr, then sq; in b: lc, limited (not rr)
    monkeypatch.setattr(plan, "INLINE", False)
    assert inlined(s) == 0
    general = records(s)
    # the same events in the same order: equal to the last bit
    assert fast == general


def test_batched_accounting_matches_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    s = mixed()
    batched = records(s)
    monkeypatch.setattr(ledger, "SETTLE", 1)  # every tally settles what it has
    one_by_one = records(s)
    assert close(batched, one_by_one) == []
    assert batched.latency == one_by_one.latency  # the sketch sees the same samples

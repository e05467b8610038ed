"""The runner: how many replications it runs at once, and that the schedule never changes
the records."""

from __future__ import annotations

import pytest

from capplan.sim import runner as runner_module
from capplan.sim.engine import run_replication
from capplan.sim.runner import Runner
from capplan_helpers import exp, scenario


@pytest.mark.parametrize(
    ("cores", "tasks", "at_once"),
    [
        (2, 1, 1),
        (2, 2, 2),
        (2, 3, 3),  # 1.5 replications' time instead of 2
        (2, 4, 2),  # the cores divide it: no sharing
        (2, 5, 5),
        (2, 6, 2),
        (2, 7, 2),  # past SHARE_CORES_UP_TO per core
        (4, 5, 5),
        (4, 13, 4),
    ],
)
def test_a_batch_the_cores_do_not_divide_runs_at_once(cores, tasks, at_once, monkeypatch):
    monkeypatch.setattr(runner_module, "default_jobs", lambda: cores)
    assert Runner().at_once(tasks) == at_once


def test_explicit_jobs_are_a_limit():
    assert Runner(2).at_once(3) == 2
    assert Runner(4).at_once(5) == 4


def test_records_do_not_depend_on_the_schedule(monkeypatch):
    s = scenario(
        {
            "simulation": {"duration": "300s", "warmup": "20s", "replications": 3, "seed": 5},
            "workload": {"arrival_rate": "4/s"},
            "requests": {"r": {"steps": [{"call": "q"}]}},
            "components": {"q": {"type": "service", "workers": 2, "service_time": exp("0.3s")}},
        }
    )
    alone = [run_replication(s, rep) for rep in range(3)]
    monkeypatch.setattr(runner_module, "default_jobs", lambda: 2)
    with Runner() as shared:  # three at once on a pool of three
        (together,) = shared.run([s])
        assert shared._size == 3
        # a later batch of six on the same pool: two at a time
        (first, second) = shared.run([s, s.model_copy()])
    with Runner(2) as two:
        (paired,) = two.run([s])
    for got in (together, first, second, paired):
        assert [r.types["r"].arrivals for r in got] == [r.types["r"].arrivals for r in alone]
        assert [r.types["r"].latency.mean for r in got] == [
            r.types["r"].latency.mean for r in alone
        ]


def test_the_longest_replications_are_started_first(monkeypatch):
    """A pool that takes the next task as a process frees up ends soonest with the long
    tasks first; the records still come back per scenario, in the scenarios' order."""

    def one(rate: str, reps: int):
        return scenario(
            {
                "simulation": {"duration": "200s", "warmup": "0s", "replications": reps},
                "workload": {"arrival_rate": rate},
                "requests": {"r": {"steps": [{"call": "q"}]}},
                "components": {"q": {"type": "service", "workers": 4, "service_time": exp("0.1s")}},
            }
        )

    light, heavy, middle = one("2/s", 2), one("20/s", 3), one("8/s", 1)
    assert runner_module.longest_first([light, heavy, middle]) == [
        (1, 0), (1, 1), (1, 2), (2, 0), (0, 0), (0, 1)
    ]  # fmt: skip
    started = []
    real = runner_module.run_replication

    def spy(s, rep):
        started.append(s.workload.arrival_rate)
        return real(s, rep)

    monkeypatch.setattr(runner_module, "run_replication", spy)
    (a, b, c) = Runner(1).run([light, heavy, middle])
    assert started == [20.0] * 3 + [8.0] + [2.0] * 2
    assert [len(a), len(b), len(c)] == [2, 3, 1]
    assert a[0].types["r"].arrivals < c[0].types["r"].arrivals < b[0].types["r"].arrivals

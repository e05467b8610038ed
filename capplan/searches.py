"""Searches that submit their candidates in batches.

A search over configurations (sizing's rounds, its steady states at the peak and the
trough) is written as a generator: it yields the list of scenarios it needs simulated
next and is sent back their results, in the same order, until it returns its answer.
:func:`drive` runs several such searches side by side: each round it gathers every
search's pending candidates into one batch on the runner, so that with more workers (or
a Dask cluster) independent searches, and the candidates one search can guess it will
need next, run at once instead of one after another.

A search that guesses ahead (:class:`Ahead`) keeps every result it was sent, keyed by
the candidate's configuration, and looks there before asking for a simulation: a guess
that comes true costs no round, a wrong guess costs only the workers' time, and the
answer is the same whatever the batch size, since each candidate's result depends only
on its scenario and seed.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Hashable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from capplan.results.model import Result
    from capplan.scenario.model import Scenario
    from capplan.sim.runner import Runner

T = TypeVar("T")
Search = Generator[list["Scenario"], list["Result"], T]
"""Yields the candidates to simulate next, is sent their results, returns its answer."""


def one(scenario: Scenario) -> Search[Result]:
    """The simplest search: one simulation, its result."""
    (result,) = yield [scenario]
    return result


def drive(
    searches: Sequence[Search[Any]],
    runner: Runner,
    *,
    max_visits: float | None = None,
) -> list[Any]:
    """Run ``searches`` to their answers, every round's candidates in one batch."""
    from capplan.api import run_all

    answers: dict[int, Any] = {}
    pending: dict[int, list[Scenario]] = {}
    for i, search in enumerate(searches):
        try:
            pending[i] = next(search)
        except StopIteration as stop:
            answers[i] = stop.value
    while pending:
        order = list(pending)
        batch = [c for i in order for c in pending[i]]
        results = run_all(batch, max_visits=max_visits, runner=runner)
        at = 0
        for i in order:
            n = len(pending[i])
            mine, at = results[at : at + n], at + n
            try:
                pending[i] = searches[i].send(mine)
            except StopIteration as stop:
                answers[i] = stop.value
                del pending[i]
    return [answers[i] for i in range(len(searches))]


class Ahead:
    """Results already simulated, by configuration, and the candidates to guess with.

    ``make(config)`` builds a candidate's scenario. :meth:`get` is used as
    ``result = yield from ahead.get(config, guesses)``: the cached result, or a batch of
    ``config`` and up to ``batch - 1`` of ``guesses`` not simulated yet.
    """

    def __init__(self, make: Callable[[Any], Scenario], batch: int = 1):
        self.make = make
        self.batch = max(1, batch)
        self.known: dict[Hashable, Result] = {}

    @staticmethod
    def key(config: Any) -> Hashable:
        return tuple(sorted(config.items())) if isinstance(config, dict) else config

    def forget(self) -> None:
        """The scenario under the configurations changed: nothing known holds."""
        self.known.clear()

    def get(
        self, config: Any, guesses: Sequence[Any] = ()
    ) -> Generator[list[Scenario], list[Result], Result]:
        k = self.key(config)
        if k not in self.known:
            todo = [config]
            for g in guesses:
                if len(todo) >= self.batch:
                    break
                if self.key(g) not in self.known and all(self.key(g) != self.key(t) for t in todo):
                    todo.append(g)
            results = yield [self.make(c) for c in todo]
            for c, r in zip(todo, results, strict=True):
                self.known[self.key(c)] = r
        return self.known[k]

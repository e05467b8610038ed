"""Running a generator on SimPy events without a ``simpy.Process``."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from simpy.events import Event


class Task:
    """Drives one request's generator on SimPy events without a ``simpy.Process``.

    A Process costs an initialization event and interrupt bookkeeping per request;
    requests are never interrupted, so resuming the generator from the awaited event's
    callback is all they need. The generator starts at once, at the current time. The
    task holds no reference to itself, so it is freed by reference counting as soon as its
    request ends (the replication runs with the cyclic collector paused).
    """

    __slots__ = ("gen",)

    def __init__(self, gen: Generator[Event, Any, None]):
        self.gen = gen
        self._advance(None)

    def _resume(self, event: Event) -> None:
        self._advance(event._value)

    def _advance(self, value: Any) -> None:
        try:
            event = self.gen.send(value)
        except StopIteration:
            return
        event.callbacks.append(self._resume)

"""The event kernel: processes are generators, time is a heap of wake-ups.

It follows SimPy's design (a process is a generator that yields what it waits for; the
environment pops the earliest event and resumes whoever waits on it) reduced to the two
waits this model has, so that an event costs a heap push and a generator resume and no
event object:

- ``yield delay`` (a float, seconds): resume after that much simulated time;
- ``yield None``: park until someone calls :meth:`Kernel.wake` (a worker handed over, a
  reply arrived); the value given to ``wake`` is what ``yield`` returns.

A :class:`Task` drives one generator. Its wake-up can be cancelled (a stale heap entry
is skipped when popped) and an exception can be thrown into it at the current time
(:meth:`Kernel.interrupt`: a pod that dies takes its in-flight requests with it); that is
what a fixed-capacity engine never needed and capacity that changes during a run does.
"""

from __future__ import annotations

from collections.abc import Generator
from heapq import heappop, heappush
from itertools import count
from typing import Any

Process = Generator[float | None, Any, Any]
"""A process: yields a delay (sleep) or None (park until woken)."""


class Task:
    """One running process. ``seq`` identifies its pending wake-up (0: none pending)."""

    __slots__ = ("gen", "parked", "seq")

    parked: Any
    """Where it waits for a worker (a queue), or the worker granted to it before it
    resumes; set by whoever parks it and read only if it is interrupted there."""

    def __init__(self, gen: Process):
        self.gen = gen
        self.seq = 0


class Kernel:
    """Simulated time and the processes waiting on it."""

    __slots__ = ("_heap", "_next", "now")

    def __init__(self) -> None:
        self.now = 0.0
        self._heap: list[tuple[float, int, Task, Any]] = []
        # wake-ups at the same time run in the order they were made; a task's latest
        # number marks its one live wake-up
        self._next = count(1).__next__

    def spawn(self, gen: Process) -> Task:
        """Start ``gen`` now: it runs until its first ``yield``."""
        task = Task(gen)
        self._advance(task, None)
        return task

    def start(self, task: Task) -> None:
        """Start a task made beforehand (so that its generator could be given the task)."""
        try:
            step = task.gen.send(None)
        except StopIteration:
            task.seq = 0
            return
        if step is not None:  # _push, inline: every request starts here
            task.seq = seq = self._next()
            heappush(self._heap, (self.now + step, seq, task, None))

    def spawn_at(self, when: float, gen: Process) -> Task:
        """Start ``gen`` at time ``when`` (not before now)."""
        task = Task(gen)
        self._push(max(when, self.now), task, None)
        return task

    def wake(self, task: Task, value: Any = None) -> None:
        """Resume a parked task at the current time; ``yield`` returns ``value``."""
        self._push(self.now, task, value)

    def hand_over(self, task: Task, value: Any) -> None:
        """Resume a parked task now, inside the caller (a worker handed from one request
        to the next): the same as :meth:`wake` at this instant, without a heap entry."""
        try:
            step = task.gen.send(value)
        except StopIteration:
            task.seq = 0
            return
        if step is not None:
            task.seq = seq = self._next()
            heappush(self._heap, (self.now + step, seq, task, None))
        else:
            task.seq = 0

    def reschedule(self, task: Task, when: float) -> None:
        """Move a waiting task's wake-up to ``when`` (its earlier one is forgotten): a
        request whose service slows or speeds up as others come and go."""
        self._push(when, task, None)

    def cancel(self, task: Task) -> None:
        """Forget the task's pending wake-up; it stays parked until woken again."""
        task.seq = 0

    def interrupt(self, task: Task, exc: BaseException) -> None:
        """Throw ``exc`` into the task now, wherever it waits (its pending wake-up is
        cancelled); the task may catch it and go on, or end."""
        task.seq = 0
        try:
            step = task.gen.throw(exc)
        except StopIteration:
            return
        except type(exc):
            return  # not caught: the task ends
        if step is not None:
            self._push(self.now + step, task, None)

    def _push(self, when: float, task: Task, value: Any) -> None:
        task.seq = seq = self._next()
        heappush(self._heap, (when, seq, task, value))

    def _advance(self, task: Task, value: Any) -> None:
        try:
            step = task.gen.send(value)
        except StopIteration:
            task.seq = 0
            return
        if step is not None:
            self._push(self.now + step, task, None)

    def peek(self) -> float:
        """Time of the next wake-up (inf when nothing is pending)."""
        heap = self._heap
        while heap and heap[0][2].seq != heap[0][1]:
            heappop(heap)  # cancelled
        return heap[0][0] if heap else float("inf")

    def run(self, until: float) -> None:
        """Process every wake-up due before ``until``, then set the clock to ``until``.

        Wake-ups due exactly at ``until`` are left for the next call, so that a window
        ending at ``until`` sees the state just before them, as a half-open interval."""
        heap = self._heap
        pop, push, next_seq = heappop, heappush, self._next
        while heap:
            entry = pop(heap)
            when, s, task, value = entry
            if when >= until:
                push(heap, entry)  # not yet: the next call's
                break
            if task.seq != s:
                continue  # cancelled or superseded
            self.now = when
            try:
                step = task.gen.send(value)
            except StopIteration:
                task.seq = 0
                continue
            if step is not None:
                task.seq = seq = next_seq()
                push(heap, (when + step, seq, task, None))
        if until > self.now:
            self.now = until

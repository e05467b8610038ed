"""A piecewise-constant quantity of the run (nodes, pending pods, desired replicas) and
its integral, so that any window's time-average is exact."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from capplan.sim.kernel import Kernel


class Level:
    __slots__ = ("area", "kernel", "last", "value")

    def __init__(self, kernel: Kernel, value: float = 0.0):
        self.kernel = kernel
        self.value = value
        self.area = 0.0
        self.last = kernel.now

    def set(self, value: float) -> None:
        now = self.kernel.now
        self.area += self.value * (now - self.last)
        self.last = now
        self.value = value

    def integral(self) -> float:
        """The area up to now."""
        return self.area + self.value * (self.kernel.now - self.last)

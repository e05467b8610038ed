"""The measured interval window by window, recorded as the run goes.

Memory stays flat in run length: the current window keeps its successful latencies in a
compact array, and closing it keeps five numbers of them (count, mean, p50, p95, p99)
and a few counters per component; no per-request record outlives its window.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import replace
from typing import Any

import numpy as np

from capplan.sim.records import LatencySummary, WindowComponent, WindowRecord
from capplan.sim.stations.base import StationMeasure

SATURATION = 1.0
"""A window in which a component's offered load reaches this, while its queue grows, is
saturated: what arrived exceeded what it could serve."""


class WindowBook:
    """Counts of the current window, and the windows closed so far. The engine's
    :class:`~capplan.sim.ledger.Ledger` counts into it when it settles: ``offered`` (the
    arrivals since the window opened), ``completed``, ``latencies`` and ``errors`` (of
    requests ending within [start, end)), and the sojourn of each measured arrival in its
    arrival window's ``sojourn`` and ``finished``."""

    __slots__ = (
        "closed",
        "completed",
        "count",
        "end",
        "errors",
        "finished",
        "in_system",
        "index",
        "latencies",
        "offered",
        "sojourn",
        "start",
        "window_s",
    )

    def __init__(self, start: float, window_s: float, count: int):
        self.start = start
        self.window_s = window_s
        self.count = count
        self.end = start + window_s * count
        self.index = 0
        self.offered = 0
        self.completed = 0
        self.errors: dict[str, int] = {}
        self.latencies = array("d")
        self.sojourn = np.zeros(count)
        self.finished = np.zeros(count, dtype=np.int64)
        self.closed: list[WindowRecord] = []
        self.in_system: list[float] = []

    def close(
        self,
        measures: dict[str, StationMeasure],
        mean_in_system: float,
        control: tuple[dict[str, Any], Any] | None = None,
    ) -> None:
        """Close the current window with its components' measures and, when autoscalers
        run, what they did in it."""
        latency = None
        n = len(self.latencies)
        if n:
            lat = np.sort(np.frombuffer(self.latencies, dtype=np.float64))
            # the smallest value with at least a fraction q at or below it
            p50, p95, p99 = (float(lat[max(0, math.ceil(q * n) - 1)]) for q in (0.5, 0.95, 0.99))
            latency = LatencySummary(float(lat.mean()), p50, p95, p99)
        components = {name: _component(m) for name, m in measures.items()}
        nodes = pending = at_max = None
        if control is not None:
            per, cluster = control
            for name, cw in per.items():
                components[name] = replace(
                    components[name],
                    replicas_desired=cw.replicas_desired,
                    replicas_pending=cw.replicas_pending,
                    hpa_metrics=cw.metrics,
                )
            if cluster is not None:
                nodes, pending, at_max = cluster.nodes, cluster.pods_pending, cluster.at_max_nodes
        k = self.index
        self.closed.append(
            WindowRecord(
                start_s=k * self.window_s,
                offered=self.offered,
                completed=self.completed,
                errors=dict(sorted(self.errors.items())),
                latency=latency,
                sojourn_s=0.0,  # filled when the run ends: late finishers count too
                finished=0,
                components=components,
                nodes=nodes,
                pods_pending=pending,
                at_max_nodes=at_max,
            )
        )
        self.in_system.append(mean_in_system)
        self.index += 1
        self.offered = self.completed = 0
        self.errors = {}
        self.latencies = array("d")

    def records(self) -> tuple[WindowRecord, ...]:
        """The closed windows, with the sojourns of their arrivals as known at the end."""
        return tuple(
            replace(w, sojourn_s=float(self.sojourn[k]), finished=int(self.finished[k]))
            for k, w in enumerate(self.closed)
        )


def _component(m: StationMeasure) -> WindowComponent:
    extra: dict[str, Any] = m.extra
    return WindowComponent(
        utilization=m.utilization,
        cpu_utilization=extra.get("cpu_utilization"),
        queue_length=m.mean_queue_length,
        replicas_ready=extra.get("replicas_ready"),
        saturated=m.offered_load >= SATURATION and m.backlog_growth > 0,
        memory_utilization=extra.get("memory_utilization"),
    )

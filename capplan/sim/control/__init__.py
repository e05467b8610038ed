"""The control plane of a run: pods on nodes, the HPAs and the cluster autoscaler.

Built from the scenario when ``simulation.autoscale`` is on and the scenario declares an
``autoscaling`` block or a ``costs`` section (whose nodes then are live). Each pooled
component's replica sets become deployments of pods with the component's requests; with
``costs``, every pod is placed on a node (:mod:`.cluster`); each ``autoscaling`` block
becomes an HPA (:mod:`.hpa`). The engine spawns :meth:`ControlPlane.processes` and, at
each window's close, reads :meth:`ControlPlane.window`.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from capplan.kinds import as_pooled, kind_of
from capplan.scenario.model import Scenario
from capplan.sim.control.cluster import Cluster
from capplan.sim.control.hpa import Hpa
from capplan.sim.control.pods import Deployment, Pod
from capplan.sim.kernel import Kernel
from capplan.sim.streams import Streams


@dataclass(frozen=True)
class ComponentWindow:
    """An autoscaled component over one window (time-averages, and the HPA's reads)."""

    replicas_desired: float
    replicas_pending: float
    metrics: dict[str, float | None]


@dataclass(frozen=True)
class ClusterWindow:
    nodes: float
    pods_pending: float
    at_max_nodes: float
    """Share of the window with pods pending while the cluster was at ``max_nodes``."""


@dataclass(frozen=True)
class ScaleRecord:
    component: str
    at: float
    before: int
    after: int
    ready_at: float | None


@dataclass(frozen=True)
class ControlRecord:
    """What the control plane did in one replication."""

    events: tuple[ScaleRecord, ...]
    nodes_peak: int
    nodes_added: int
    nodes_removed: int
    max_nodes_binding_since: float | None
    """When pods first stayed pending with the cluster at ``max_nodes`` (None: never)."""
    nodes_lost: int = 0
    """Nodes that failed."""


def wanted(scenario: Scenario) -> bool:
    """Whether a run of ``scenario`` has a control plane."""
    if not scenario.simulation.autoscale:
        return False
    if scenario.costs is not None:
        return True
    return any(getattr(c, "autoscaling", None) is not None for c in scenario.components.values())


class ControlPlane:
    def __init__(
        self, scenario: Scenario, kernel: Kernel, stations: dict[str, Any], streams: Streams
    ):
        self.kernel = kernel
        costs = scenario.costs
        k8s = scenario.kubernetes
        self.cluster = (
            Cluster(kernel, costs.cluster, costs.node, k8s.zones, k8s.zone_spread)
            if costs is not None
            else None
        )
        self.deployments: dict[str, list[Deployment]] = {}
        self.hpas: dict[str, Hpa] = {}
        pods: list[Pod] = []
        for name, component in scenario.components.items():
            sets = getattr(stations[name], "shards", None)
            c = as_pooled(component)
            if c is None or sets is None:
                continue  # an external API, a link, a delay: no pods
            requests = c.resources.requests if c.resources is not None else None
            cpu = (requests.cpu if requests else None) or 0.0
            memory = (requests.memory if requests else None) or 0.0
            startup = (
                streams.sampler(c.startup, f"components.{name}.startup")
                if c.startup is not None
                else _at_once
            )
            deps = []
            for shard in sets:
                members: list[Deployment] = []  # spread over the zones together
                for rs in (shard.primaries, shard.readers):
                    dep = Deployment(
                        name, kernel, rs, cpu, memory, startup, self.cluster, kind_of(c).deployment
                    )
                    dep.peers = members
                    members.append(dep)
                    mine = [Pod(dep, cpu, memory, 0.0) for r in rs.replicas]
                    dep.adopt(mine)
                    pods += mine
                    deps.append(dep)
            self.deployments[name] = deps
            if c.autoscaling is not None:
                self.hpas[name] = Hpa(name, c.autoscaling, c, deps[0], kernel)
        if self.cluster is not None:
            for pod in self.cluster.start_with(pods):
                assert pod.deployment is not None
                pod.deployment.unplace(pod)
            for pod in pods:
                if pod.node is not None:
                    pod.replica.zone = pod.node.zone  # a replica runs where its pod is
        self._last: dict[str, float] = {}
        self._last_t = kernel.now

    def processes(self) -> list[Generator[float, Any, None]]:
        procs = []
        for hpa in self.hpas.values():
            procs += [hpa.scraper(), hpa.sync()]
        if self.cluster is not None:
            procs.append(self.cluster.autoscaler())
        return procs

    def _delta(self, key: str, integral: float) -> float:
        span = self.kernel.now - self._last_t
        previous = self._last.get(key, 0.0)
        self._last[key] = integral
        return (integral - previous) / span if span > 0 else 0.0

    def window(self) -> tuple[dict[str, ComponentWindow], ClusterWindow | None]:
        """Time-averages since the last call (the first call: since the warm-up ended,
        after :meth:`begin`)."""
        comps = {}
        for name, hpa in self.hpas.items():
            dep = hpa.deployment
            comps[name] = ComponentWindow(
                self._delta(f"{name}.desired", hpa.desired.integral()),
                self._delta(f"{name}.pending", dep.pending.integral()),
                hpa.window_seen(),
            )
        cluster = None
        if self.cluster is not None:
            c = self.cluster
            cluster = ClusterWindow(
                self._delta("nodes", c.billed.integral()),
                self._delta("pending", c.waiting.integral()),
                self._delta("binding", c.binding.integral()),
            )
        self._last_t = self.kernel.now
        return comps, cluster

    def begin(self) -> None:
        """Start the windows now (when the warm-up ends)."""
        self.window()

    def settled(self, since: float) -> bool:
        """Nothing has changed since ``since`` and nothing is about to: every HPA holds
        still, no pod waits for a node, no node came or went. (A stationary run may then
        end early once saturation is established.)"""
        c = self.cluster
        if c is not None and (c.pending or c.last_added >= since or c.last_removed >= since):
            return False
        for hpa in self.hpas.values():
            if not hpa.quiet or any(e.at >= since for e in hpa.events):
                return False
        return True

    def record(self, start: float) -> ControlRecord:
        """What happened from ``start`` (the measured interval's beginning) on."""
        events = [
            ScaleRecord(
                name,
                e.at - start,
                e.before,
                e.after,
                None if e.ready_at is None else e.ready_at - start,
            )
            for name, hpa in self.hpas.items()
            for e in hpa.events
            if e.at >= start
        ]
        c = self.cluster
        since = None if c is None or c.binding_since is None else c.binding_since - start
        return ControlRecord(
            tuple(sorted(events, key=lambda e: e.at)),
            c.peak if c is not None else 0,
            c.added if c is not None else 0,
            c.removed if c is not None else 0,
            since,
            c.lost if c is not None else 0,
        )


def _at_once() -> float:
    return 0.0

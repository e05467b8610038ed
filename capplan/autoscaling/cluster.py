"""The cluster autoscaler's decisions, as pure functions of pods and nodes.

After kubernetes/autoscaler cluster-autoscaler (FAQ.md, config/flags): a scale-up asks for
the nodes the pending pods need, found by packing them first-fit-decreasing onto the
nodes already on their way and then onto new ones (its binpacking estimator); a node is
*unneeded* while its pods request less than ``scale-down-utilization-threshold`` of both
its CPU and its memory, and is removed once unneeded for ``scale-down-unneeded-time``
when its pods fit on the other nodes.
"""

from __future__ import annotations

from collections.abc import Sequence

Resources = tuple[float, float]
"""(CPU cores, memory bytes)."""


def _sorted(pods: Sequence[Resources]) -> list[Resources]:
    return sorted(pods, key=lambda p: (-p[0], -p[1]))


def first_fit(pods: Sequence[Resources], free: list[list[float]]) -> list[Resources]:
    """Place ``pods`` (largest first) on the first node of ``free`` (each [cpu, memory]
    left, updated in place) with room; the pods that fit nowhere."""
    left = []
    for cpu, memory in _sorted(pods):
        for room in free:
            if room[0] >= cpu - 1e-9 and room[1] >= memory - 1e-9:
                room[0] -= cpu
                room[1] -= memory
                break
        else:
            left.append((cpu, memory))
    return left


def nodes_to_add(
    pending: Sequence[Resources], upcoming_free: Sequence[Resources], node: Resources
) -> int:
    """How many new nodes the pending pods need, after those that fit on the nodes already
    starting (whose free room is ``upcoming_free``). A pod larger than an empty node is
    left out: no node would hold it."""
    free = [list(r) for r in upcoming_free]
    rest = [p for p in first_fit(pending, free) if p[0] <= node[0] and p[1] <= node[1]]
    bins: list[list[float]] = []
    for pod in _sorted(rest):
        if first_fit([pod], bins):
            bins.append([node[0] - pod[0], node[1] - pod[1]])
    return len(bins)


def requested_share(used: Resources, node: Resources) -> float:
    """A node's utilization as the autoscaler counts it: the larger of the CPU and the
    memory its pods request, as shares of its allocatable capacity."""
    return max(used[0] / node[0] if node[0] else 0.0, used[1] / node[1] if node[1] else 0.0)


def fits_elsewhere(pods: Sequence[Resources], others_free: Sequence[Resources]) -> bool:
    """Whether every pod of a node could be placed on the other nodes."""
    return not first_fit(pods, [list(r) for r in others_free])

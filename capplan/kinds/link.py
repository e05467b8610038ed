"""``type: link``: a network link that steps cross with ``via``; payloads queue for its
bandwidth in each direction (:mod:`capplan.sim.stations.link`)."""

from __future__ import annotations

import math
from typing import Any

from capplan.kinds.base import Kind
from capplan.scenario.external import LinkComponent
from capplan.sim.stations.link import BACKGROUND_CHUNK_S, build

BANDWIDTHS_BPS = (1e9, 2.5e9, 5e9, 10e9, 25e9, 40e9, 50e9, 100e9, 200e9, 400e9)
"""Link speeds as they are sold; sizing picks the next one that keeps the target."""


def analytic(m: Any, name: str, c: LinkComponent) -> None:
    """M/G/1 per direction: the payloads crossing it plus its background traffic."""
    worst = 0.0
    for direction in (0, 1):
        classes = [(r, size * 8 / c.bandwidth) for r, size in m.payloads.get((name, direction), [])]
        if c.background:
            chunk = BACKGROUND_CHUNK_S
            classes.append((c.background * m.s.load_scale / c.bandwidth / chunk, chunk))
        rho = sum(r * t for r, t in classes)
        second = sum(r * t * t for r, t in classes)
        m.link_wait[(name, direction)] = second / (2 * (1 - rho)) if rho < 1 else math.inf
        worst = max(worst, rho)
    wait = max(m.link_wait[(name, 0)], m.link_wait[(name, 1)])
    m.comps[name] = {"utilization": worst, "mean_wait_s": wait, "saturated": worst >= 1}


def _gbps(bps: float) -> str:
    return f"{bps / 1e9:g} Gbps"


def resize(
    c: LinkComponent, factor: float, load: float, above: str
) -> tuple[LinkComponent, dict[str, str]]:
    need = c.bandwidth * factor
    bw = next((b for b in BANDWIDTHS_BPS if b >= need and b > c.bandwidth), None)
    bw = bw or math.ceil(need / 100e9) * 100e9
    row = {"setting": "bandwidth", "today": _gbps(c.bandwidth), "sized": _gbps(bw)}
    row["reason"] = f"{load * 100:.0f}% of the link, {above}: a faster link"
    return c.model_copy(update={"bandwidth": bw}), row


KIND = Kind(LinkComponent, build, called=False, analytic=analytic, resize=resize)

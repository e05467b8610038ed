"""``type: llm_api``: a provider's model behind requests- and tokens-per-minute quotas.

The model (:class:`~capplan.scenario.external.LlmApiComponent`) and its station
(:mod:`capplan.sim.stations.llm`) are larger than a kind module; this module names them
and holds the analytic and sizing treatments.
"""

from __future__ import annotations

from typing import Any

from capplan.kinds.base import Kind
from capplan.scenario.external import LlmApiComponent
from capplan.sim.stations.llm import build


def _round_up(x: float) -> float:
    """Up to two significant digits: quotas are asked for in round numbers."""
    import math

    step = 10 ** max(0, math.floor(math.log10(x)) - 1)
    return float(math.ceil(x / step - 1e-9) * step)


def analytic(m: Any, name: str, c: LlmApiComponent) -> None:
    """Admits min(offered, quota) and answers in its mean latency (no queue modelled)."""
    steps = [s for s in m.calls[name] if s.tokens is not None]
    weights = [m.rate[id(s)] for s in steps]
    total = sum(weights) or 1.0
    pairs = [(w, s.tokens) for w, s in zip(weights, steps, strict=True) if s.tokens]
    tokens = sum(w * (t.input.mean + t.output.mean) for w, t in pairs) / total
    out = sum(w * t.output.mean for w, t in pairs) / total
    offered = m.visits(name) * (1 - c.cache_hit_ratio) * 60
    rl = c.rate_limit
    quota = (
        min(rl.requests_per_minute, rl.tokens_per_minute / tokens)
        if tokens
        else rl.requests_per_minute
    )
    hit = c.cache_hit_ratio
    m.answer[name] = hit * c.cache_latency.mean + (1 - hit) * (
        c.latency.base.mean + c.latency.per_output_token.mean * out
    )
    m.comps[name] = {
        "utilization": offered / quota,
        "mean_wait_s": 0.0,
        "saturated": False,
        "refused_fraction": max(0.0, 1 - quota / offered) if offered else 0.0,
    }


def resize(
    c: LlmApiComponent, factor: float, load: float, above: str
) -> tuple[LlmApiComponent, dict[str, str]]:
    rl = c.rate_limit
    quota = rl.model_copy(
        update={
            "requests_per_minute": _round_up(rl.requests_per_minute * factor),
            "tokens_per_minute": _round_up(rl.tokens_per_minute * factor),
        }
    )
    row = {
        "setting": "rate_limit",
        "today": f"{rl.requests_per_minute:,.0f} rpm, {rl.tokens_per_minute:,.0f} tpm",
        "sized": f"{quota.requests_per_minute:,.0f} rpm, {quota.tokens_per_minute:,.0f} tpm",
        "reason": (
            f"calls ask for {load * 100:.0f}% of today's quota, {above}: "
            "a provider tier with at least these limits"
        ),
    }
    return c.model_copy(update={"rate_limit": quota}), row


KIND = Kind(
    LlmApiComponent,
    build,
    nested=False,
    step_keys=frozenset({"tokens"}),
    required_step_keys=frozenset({"tokens"}),
    analytic=analytic,
    resize=resize,
)

"""Component types for what the system calls but does not run: a rate-limited LLM API
and network links."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from capplan.scenario.distributions import Constant, Count, CountDistribution, Distribution
from capplan.scenario.resilience import Backoff
from capplan.scenario.types import (
    Bandwidth,
    Fraction,
    Model,
    NonNegativeDuration,
    PositiveInt,
)

Quota = Annotated[float, Field(gt=0, le=1e12)]


class Burst(Model):
    """Token-bucket capacities: how much may be spent at once after a quiet spell."""

    requests: Quota | None = None
    """Requests; default: one minute's quota."""
    tokens: Quota | None = None
    """Tokens; default: one minute's quota."""


class RateLimit(Model):
    """Provider quotas, enforced as token buckets refilled continuously."""

    requests_per_minute: Quota
    """Calls admitted per minute."""
    tokens_per_minute: Quota
    """Input plus output tokens admitted per minute."""
    burst: Burst = Field(default_factory=Burst)
    """Bucket capacities."""


class Retry(Backoff):
    """How the client retries a 429 (Too Many Requests): after the last 429 the call
    fails with cause ``rate_limited``. Each wait is the backoff or the provider's
    retry-after, whichever is later, and the calling worker stays busy through it. The
    step runner applies it to every step that calls the component, inside the step's own
    client behaviour."""


class LlmLatency(Model):
    """Call duration: ``base`` + ``per_output_token`` × output tokens."""

    base: Distribution
    """Time to first token, network and queueing at the provider."""
    per_output_token: Distribution = Field(default_factory=lambda: Constant(value=0.0))
    """Generation time per output token (e.g. 20ms)."""


class Pricing(Model):
    """Token prices in US dollars."""

    input_per_1k: Annotated[float, Field(ge=0, le=1000)]
    """Dollars per 1,000 input tokens."""
    output_per_1k: Annotated[float, Field(ge=0, le=1000)]
    """Dollars per 1,000 output tokens."""


class LlmApiComponent(Model):
    """An external LLM API with request and token quotas, 429s and client retries.

    A call is charged its input plus output tokens. A call over either quota gets a 429 at
    once and is retried after the backoff or the limiter's retry-after, whichever is later;
    retries keep the calling worker busy, as they do in a real agent.
    """

    type: Literal["llm_api"]
    rate_limit: RateLimit
    """Requests and tokens per minute."""
    retry: Retry = Field(default_factory=Retry)
    """Client retry policy for 429s."""
    latency: LlmLatency
    """Duration of an admitted call."""
    max_concurrency: PositiveInt | None = None
    """Calls in flight at once (client-side pool); more wait FIFO. Default: no limit."""
    cache_hit_ratio: Fraction = 0.0
    """Fraction of calls answered from a prompt or response cache: no tokens, no quota."""
    cache_latency: Distribution = Field(
        default_factory=lambda: Constant.model_validate({"value": "5ms"})
    )
    """Duration of a cache hit. Default 5ms."""
    pricing: Pricing | None = None
    """Token prices, for the monthly cost."""


class LinkComponent(Model):
    """A network link that payloads cross (``via`` on a step), FIFO at its bandwidth.

    Each direction (request, response) has its own queue at the full bandwidth, as on a
    full-duplex link; after transmission a payload takes the propagation ``latency``.
    """

    type: Literal["link"]
    bandwidth: Bandwidth
    """'1Gbps', '10Gbps'."""
    latency: NonNegativeDuration = 0.0
    """One-way propagation delay."""
    background: Bandwidth | None = None
    """Traffic on the link that no request step carries (replication, backups, metrics),
    in each direction at today's load; it grows with ``load_scale``. It competes for the
    link as a Poisson stream of transfers of 8 ms of link time each."""


class Tokens(Model):
    """Tokens one LLM call sends and receives."""

    input: Count = Field(default_factory=lambda: CountDistribution(value=0))
    """Prompt tokens."""
    output: Count = Field(default_factory=lambda: CountDistribution(value=0))
    """Completion tokens."""

"""Per-replica CPU and memory, as in a Kubernetes container's requests and limits."""

from __future__ import annotations

from pydantic import model_validator

from capplan.scenario.types import Bytes, Cpu, Model


class ResourceAmounts(Model):
    """CPU and memory, as in a Kubernetes container's ``requests`` or ``limits``."""

    cpu: Cpu | None = None
    """CPU cores: 2 or '500m'."""
    memory: Bytes | None = None
    """Memory: '4Gi', '512Mi'."""


class Resources(Model):
    """Per-replica (per-pod) resources."""

    requests: ResourceAmounts | None = None
    """What the scheduler reserves for one replica."""
    limits: ResourceAmounts | None = None
    """The most one replica may use."""

    @model_validator(mode="after")
    def _requests_within_limits(self) -> Resources:
        if self.requests is None or self.limits is None:
            return self
        for key in ("cpu", "memory"):
            req, lim = getattr(self.requests, key), getattr(self.limits, key)
            if req is not None and lim is not None and req > lim:
                raise ValueError(f"requests.{key} exceeds limits.{key}")
        return self

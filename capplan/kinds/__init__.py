"""Component kinds, registered in one place.

Each YAML ``type`` is one :class:`~capplan.kinds.base.Kind` (its model, its station, and
the hooks of the later stages), written in one module of this package and listed in
``KINDS`` below. The scenario language's ``Component`` union, the engine's stations, the
reference checks, the analytic approximation, sizing and the manifests all look a
component's kind up here.
"""

from __future__ import annotations

from typing import Any, cast

from capplan.kinds import cache, database, delay, link, llm_api, service
from capplan.kinds.base import OPTIONAL_STEP_KEYS, Kind
from capplan.kinds.service import ServiceComponent

KINDS: dict[str, Kind] = {
    k.type: k
    for k in (service.KIND, database.KIND, cache.KIND, llm_api.KIND, link.KIND, delay.KIND)
}
"""Every kind by its YAML ``type``."""

MODELS = tuple(k.model for k in KINDS.values())
"""The components' pydantic models, for the scenario language's discriminated union."""


def kind_of(component: Any) -> Kind:
    """The kind of a validated component."""
    return KINDS[component.type]


def as_pooled(component: Any) -> ServiceComponent | None:
    """The component as replicas × workers if its kind is pooled (every pooled kind's
    model extends :class:`ServiceComponent`), else None."""
    return cast(ServiceComponent, component) if KINDS[component.type].pooled else None


def as_deployment(component: Any) -> ServiceComponent | None:
    """The component if its kind runs as a Deployment, else None."""
    return cast(ServiceComponent, component) if KINDS[component.type].deployment else None


__all__ = ["KINDS", "MODELS", "OPTIONAL_STEP_KEYS", "Kind", "as_deployment", "as_pooled", "kind_of"]

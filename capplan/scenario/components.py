"""Components of the scenario language: a discriminated union on ``type`` over the kinds
registered in :mod:`capplan.kinds` (one module per kind; see docs/scenario.md, "Adding a
type")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Union

from pydantic import Field

from capplan.kinds import MODELS
from capplan.kinds.cache import CacheComponent, Keyspace
from capplan.kinds.database import DatabaseComponent
from capplan.kinds.delay import DelayComponent
from capplan.kinds.service import ServiceComponent
from capplan.scenario.autoscaling import Autoscaling
from capplan.scenario.external import LinkComponent, LlmApiComponent
from capplan.scenario.resources import ResourceAmounts, Resources

if TYPE_CHECKING:  # the registry's union, spelt out for the type checker
    Component = Annotated[
        ServiceComponent
        | DatabaseComponent
        | CacheComponent
        | LlmApiComponent
        | LinkComponent
        | DelayComponent,
        Field(discriminator="type"),
    ]
else:
    Component = Annotated[Union[MODELS], Field(discriminator="type")]  # noqa: UP007
"""Any component; the ``type`` key selects the model."""

__all__ = [
    "Autoscaling",
    "CacheComponent",
    "Component",
    "DatabaseComponent",
    "DelayComponent",
    "Keyspace",
    "ResourceAmounts",
    "Resources",
    "ServiceComponent",
]

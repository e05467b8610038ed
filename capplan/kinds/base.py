"""The contract of a component kind: everything capplan knows about one YAML ``type``.

A kind is one :class:`Kind` object, written in one module of this package and listed in
``capplan.kinds.KINDS``. It carries the kind's validation model, the station it runs as,
and the hooks the later stages call; each hook is optional and its default is stated
below. Nothing else in capplan branches on a component's ``type``: it asks the kind.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, get_args

from capplan.scenario.types import Model
from capplan.sim.stations.base import Builder

OPTIONAL_STEP_KEYS = ("on_miss", "keyspace", "op", "tokens")
"""Step keys that apply to calls of some kinds only (see :attr:`Kind.step_keys`)."""


@dataclass(frozen=True)
class Kind:
    """One component kind."""

    model: type[Model]
    """The frozen pydantic model of its YAML; its ``type`` literal names the kind."""
    station: Builder
    """Builds its station for one replication (see :mod:`capplan.sim.stations.base`)."""
    pooled: bool = False
    """Replicas × workers that requests queue for (the model has ``replicas``,
    ``workers``, ``service_time``, ``resources``): utilization is busy workers, pods can
    fail, CPU and memory are per replica. Default: not (an external API, a link, a delay)."""
    deployment: bool = False
    """``render-manifests`` writes it as a Deployment with its Service, probes, budget and
    autoscaler, and ``size`` sizes its replicas. Default: not (a chart's values, or not
    run in the cluster at all)."""
    called: bool = True
    """Steps name it with ``call``. False: steps cross it with ``via`` (a link)."""
    nested: bool = True
    """A call may run nested ``steps`` while it holds the component."""
    step_keys: frozenset[str] = frozenset()
    """Which of :data:`OPTIONAL_STEP_KEYS` a call to it may give. Default: none."""
    required_step_keys: frozenset[str] = frozenset()
    """Keys every call to it must give (an LLM call's ``tokens``)."""
    hit_ratio: Callable[[Any, str, Any], tuple[float, Callable[[float], float] | None]] | None = (
        None
    )
    """For kinds whose calls hit or miss (a miss runs the step's ``on_miss``): called as
    ``(scenario, name, step)``, the share of the step's calls that hit, at the mean load
    and as a function of simulated time (None when it does not change). Default: every
    call is served, nothing misses."""
    check_calls: (
        Callable[
            [str, dict[str, Any], list[tuple[tuple[str | int, ...], dict[str, Any]]]], list[Any]
        ]
        | None
    ) = None
    """Checks of the scenario that need both a component and the steps that call it (a
    cache's keyspaces), run on the YAML data before validation so that each problem keeps
    its line: called as ``(name, component data, [(path, step data), ...])``, it returns
    ``(path, message, value)`` problems. Default: none."""
    figures: Callable[[Any, str], dict[str, Any]] | None = None
    """What the kind adds to its component's entry in the result (``components.<name>``)
    beyond the station's measures: called as ``(scenario, name)``, JSON-ready figures
    (a cache's key spaces). Default: nothing."""
    analytic: Callable[[Any, str, Any], None] | None = None
    """Its treatment in the analytic approximation (:mod:`capplan.analytic.layered`):
    called as ``(model, name, component)`` once the components it waits on are done, it
    sets ``model.comps[name]`` (utilization, mean_wait_s, saturated) and, for a component
    that answers in a mean time of its own rather than a hold, ``model.answer[name]``.
    Default: a pooled M/G/c with one queue per replica (or one shared queue)."""
    resize: Callable[[Any, float, float, str], tuple[Any, dict[str, str]]] | None = None
    """How ``size`` grows it when its load (utilization, or demand on a quota) is
    ``factor`` times its target (components that are not Deployments): called as
    ``(component, factor, load, "above the 70% target")``, it returns the grown component
    and a report row (setting, today, sized, reason). Default: not sized, as capacity that
    is not ours."""

    @property
    def type(self) -> str:
        """The YAML ``type`` that selects this kind."""
        return str(get_args(self.model.model_fields["type"].annotation)[0])


def grow_count(
    setting: str, remedy: str
) -> Callable[[Any, float, float, str], tuple[Any, dict[str, str]]]:
    """A ``resize`` hook that raises a whole-number ``setting`` (replicas, shards) by the
    factor its load is over target, rounding up; ``remedy`` ends the report's reason."""

    def resize(c: Any, factor: float, load: float, above: str) -> tuple[Any, dict[str, str]]:
        before = getattr(c, setting)
        after = math.ceil(before * factor - 1e-9)
        row = {"setting": setting, "today": str(before), "sized": str(after)}
        row["reason"] = f"{load * 100:.0f}% busy, {above}: {remedy}"
        return c.model_copy(update={setting: after}), row

    return resize

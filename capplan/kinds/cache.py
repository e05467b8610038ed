"""``type: cache``: a service whose lookups hit or miss; a miss runs the step's ``on_miss``.

The hit ratio is either given (``hit_ratio``) or follows from the cache's key spaces
(``keyspaces``): their number of keys, popularity, TTL and size, at the rate the scenario
sends lookups to each (:mod:`capplan.analytic.caches`). So at ten times the load a TTL
cache hits more often, and a size-limited one whose keys grew with the load less often.
Under a load profile the hit ratio follows the load over the day.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, model_validator

from capplan.analytic.caches import (
    CacheFigures,
    Popularity,
    Space,
    figures,
    popularity,
    shared_figures,
)
from capplan.kinds.base import Kind, grow_count
from capplan.kinds.service import ServiceComponent
from capplan.scenario.types import Bytes, Fraction, Model, PositiveDuration, PositiveInt
from capplan.sim.stations.base import BuildContext
from capplan.sim.stations.pooled import PooledStation

if TYPE_CHECKING:
    from capplan.scenario.model import Scenario, Step

ZipfExponent = Annotated[float, Field(gt=0, le=10)]

CURVE_POINTS = 33
"""Load levels at which a profiled run's hit ratios are computed (interpolated between)."""


class Zipf(Model):
    """Key of rank r requested in proportion to r^-zipf."""

    zipf: ZipfExponent
    """The exponent: 0.6-1.0 is typical of web and application caches (> 0)."""


class Keyspace(Model):
    """One namespace of keys stored in the cache (Redis keys under one prefix)."""

    keys: PositiveInt
    """Distinct keys that are looked up (at ``load_scale`` 1)."""
    popularity: Literal["uniform"] | Zipf = "uniform"
    """How lookups spread over the keys: ``uniform`` or ``{zipf: 0.9}``."""
    ttl: PositiveDuration | None = None
    """Time a stored value lives ('1h'; a hit does not extend it). Default: no TTL."""
    max_size: Bytes | None = None
    """Memory the key space may use ('5GB'). The cache's memory is its key spaces'
    ``max_size`` summed (``keys`` times ``value_size`` for one without), and past it the
    least recently used key of any key space is evicted, as Redis's ``maxmemory`` with
    ``allkeys-lru`` does. Default: no limit."""
    value_size: Bytes
    """Memory one stored key takes, value and overhead ('40KB')."""
    grows_with_load: bool = False
    """Whether the number of keys scales with ``load_scale`` (more leads at 10x), not
    only the lookups to them."""

    @model_validator(mode="after")
    def _room_for_one(self) -> Keyspace:
        if self.max_size is not None and self.max_size < self.value_size:
            raise ValueError("max_size is smaller than one value_size")
        return self

    def figures(self, rate: float, load_scale: float) -> CacheFigures:
        """The key space's steady state at ``rate`` lookups per second, alone in a cache."""
        room = math.floor(self.max_size / self.value_size) if self.max_size else None
        return figures(rate, self.popularity_at(load_scale), self.ttl, room)

    def keys_at(self, load_scale: float) -> int:
        return max(1, round(self.keys * load_scale)) if self.grows_with_load else self.keys

    def most(self, load_scale: float) -> float:
        """The memory it may take: ``max_size``, or every key stored without one."""
        if self.max_size is not None:
            return self.max_size
        return self.keys_at(load_scale) * self.value_size

    def popularity_at(self, load_scale: float) -> Popularity:
        zipf = self.popularity.zipf if isinstance(self.popularity, Zipf) else None
        return popularity(self.keys_at(load_scale), zipf)


class CacheComponent(ServiceComponent):
    """A cache: a service whose lookups hit with probability ``hit_ratio``, or with the
    ratio its ``keyspaces`` give at the simulated load.

    On a miss the step's ``on_miss`` steps run after the lookup has released its worker
    (cache-aside: the caller, not the cache, goes to the backing store).
    """

    type: Literal["cache"]  # type: ignore[assignment]
    chart: Literal["bitnami/redis-cluster"] | None = None
    """The Helm chart that runs it, for rendered values (without one: generic sizing)."""
    hit_ratio: Fraction | None = None
    """Fraction of lookups that hit, e.g. '85%'; or give ``keyspaces``."""
    keyspaces: dict[str, Keyspace] | None = Field(default=None, min_length=1)
    """Key spaces by name; each step that calls the cache names one (``keyspace:``)."""

    @model_validator(mode="after")
    def _one_source(self) -> CacheComponent:
        if (self.hit_ratio is None) == (self.keyspaces is None):
            raise ValueError("give either hit_ratio or keyspaces")
        return self

    def keyspace_figures(
        self, rates: dict[str, float], load_scale: float
    ) -> dict[str, CacheFigures]:
        """Each key space's steady state at its lookups per second (``rates``), the key
        spaces sharing the cache's memory (see ``Keyspace.max_size``); a cache with one
        key space holds whole values only."""
        spaces = self.keyspaces or {}
        if len(spaces) == 1:
            ((name, ks),) = spaces.items()
            return {name: ks.figures(rates.get(name, 0.0), load_scale)}
        bounded = any(ks.max_size is not None for ks in spaces.values())
        memory = sum(ks.most(load_scale) for ks in spaces.values())
        figs = shared_figures(
            [
                Space(rates.get(name, 0.0), ks.popularity_at(load_scale), ks.ttl, ks.value_size)
                for name, ks in spaces.items()
            ],
            memory if bounded else None,
        )
        return dict(zip(spaces, figs, strict=True))


# -- lookup rates ------------------------------------------------------------------------


def _cache_steps(
    steps: list[Step], rate: float, scenario: Scenario, hits: dict[tuple[str, str | None], float]
) -> Iterator[tuple[str, str | None, float]]:
    """(cache, keyspace, lookups per second) of every cache call under ``steps``."""
    for step in steps:
        r = rate * step.probability * step.repeat
        if step.call is None:
            for share, branch in step.branches():
                yield from _cache_steps(branch, r * share, scenario, hits)
            continue
        yield from _cache_steps(step.steps, r, scenario, hits)
        c = scenario.components[step.call]
        if isinstance(c, CacheComponent):
            yield step.call, step.keyspace, r
            hit = c.hit_ratio if c.hit_ratio is not None else hits.get((step.call, step.keyspace))
            yield from _cache_steps(step.on_miss, r * (1 - (hit or 0.0)), scenario, hits)


def _load_curve(scenario: Scenario) -> tuple[Callable[[float], float], float]:
    """The load multiplier at simulated time t, and its mean over the measured interval."""
    from capplan.sim.load import Curve

    w, sim = scenario.workload, scenario.simulation
    curve = Curve(w.profile, normalize=w.daily_requests is not None)
    offset = sim.start - sim.warmup  # clock time of simulated time 0

    def at(t: float) -> float:
        return curve(offset + t)

    return at, curve.mean_over(sim.start, sim.start + sim.duration)


def request_rate(scenario: Scenario) -> float:
    """Requests per second the scenario offers on average over the measured interval
    (closed workloads: the users over their think time plus the requests' service times,
    an upper bound)."""
    if not scenario.workload.is_open:
        from capplan.sim.budget import closed_rate

        return closed_rate(scenario)
    return scenario.arrival_rate * _load_curve(scenario)[1]


def keyspace_figures(
    scenario: Scenario, rate: float | None = None
) -> dict[str, dict[str, tuple[float, CacheFigures]]]:
    """Each key space's (lookups per second, steady state) at ``rate`` requests per second
    (default: the scenario's mean), by cache and key space. A key space looked up only on
    another's misses depends on that one's hit ratio: solved by repeating until the
    figures settle (one pass per level of nesting)."""
    spaces = [
        (name, ks)
        for name, c in scenario.components.items()
        if isinstance(c, CacheComponent) and c.keyspaces
        for ks in c.keyspaces
    ]
    if not spaces:
        return {}
    rate = request_rate(scenario) if rate is None else rate
    mix = scenario.mix()
    hits: dict[tuple[str, str | None], float] = {}
    out: dict[str, dict[str, tuple[float, CacheFigures]]] = {}
    for _ in range(len(spaces) + 1):
        lookups: dict[tuple[str, str | None], float] = dict.fromkeys(spaces, 0.0)
        for rname, rtype in scenario.requests.items():
            for cache, ks, r in _cache_steps(rtype.steps, rate * mix[rname], scenario, hits):
                if ks is not None:
                    lookups[(cache, ks)] += r
        out = {}
        new: dict[tuple[str, str | None], float] = {}
        by_cache: dict[str, dict[str, float]] = {}
        for (cache, ks), r in lookups.items():
            assert ks is not None
            by_cache.setdefault(cache, {})[ks] = r
        for cache, rates in by_cache.items():
            c = scenario.components[cache]
            assert isinstance(c, CacheComponent)
            for ks, f in c.keyspace_figures(rates, scenario.load_scale).items():
                out.setdefault(cache, {})[ks] = (rates[ks], f)
                new[(cache, ks)] = f.hit_ratio
        if new == hits:
            break
        hits = new
    return out


def _hit_ratio(
    scenario: Scenario, cache: str, keyspace: str
) -> tuple[float, Callable[[float], float] | None]:
    """The key space's hit ratio at the mean load and, under a load profile, as a function
    of simulated time: computed at :data:`CURVE_POINTS` load levels between the profile's
    least and greatest and interpolated between them."""
    base = request_rate(scenario)
    mean_ratio = keyspace_figures(scenario, base)[cache][keyspace][1].hit_ratio
    if scenario.workload.stationary:
        return mean_ratio, None
    at, mean = _load_curve(scenario)
    sim = scenario.simulation
    horizon = sim.warmup + sim.duration
    levels_seen = [at(horizon * i / 1024) / mean for i in range(1025)]
    lo, hi = min(levels_seen), max(levels_seen)
    if hi - lo < 1e-9:
        return mean_ratio, None
    levels = [lo + (hi - lo) * i / (CURVE_POINTS - 1) for i in range(CURVE_POINTS)]
    ratios = [
        keyspace_figures(scenario, base * level)[cache][keyspace][1].hit_ratio for level in levels
    ]
    step = (hi - lo) / (CURVE_POINTS - 1)

    def ratio_at(t: float) -> float:
        x = (at(t) / mean - lo) / step
        if x <= 0:
            return ratios[0]
        i = int(x)
        if i >= CURVE_POINTS - 1:
            return ratios[-1]
        return ratios[i] + (x - i) * (ratios[i + 1] - ratios[i])

    return mean_ratio, ratio_at


_MEMO: dict[int, tuple[Any, dict[tuple[str, str], Any]]] = {}
"""Hit ratios by scenario, kept for the few scenarios a process is running (computed once,
not per replication)."""


def hit_ratio(
    scenario: Scenario, cache: str, step: Step
) -> tuple[float, Callable[[float], float] | None]:
    """The hit ratio of a step's lookups: (at the mean load, as a function of simulated
    time under a profile or None)."""
    c = scenario.components[cache]
    assert isinstance(c, CacheComponent)
    if c.hit_ratio is not None:
        return c.hit_ratio, None
    assert step.keyspace is not None
    held = _MEMO.get(id(scenario))
    if held is None or held[0] is not scenario:
        if len(_MEMO) > 8:
            _MEMO.clear()
        held = _MEMO[id(scenario)] = (scenario, {})
    key = (cache, step.keyspace)
    if key not in held[1]:
        held[1][key] = _hit_ratio(scenario, cache, step.keyspace)
    return held[1][key]


def check_calls(
    name: str, component: dict[str, Any], calls: list[tuple[tuple[str | int, ...], dict[str, Any]]]
) -> list[tuple[tuple[str | int, ...], str, object]]:
    """With keyspaces, every lookup names one of them and every one is looked up; with a
    literal hit_ratio, no lookup names a keyspace."""
    spaces = component.get("keyspaces")
    found: list[tuple[tuple[str | int, ...], str, object]] = []
    if not isinstance(spaces, dict):
        for path, step in calls:
            if step.get("keyspace") is not None:
                found.append(
                    (
                        (*path, "keyspace"),
                        f"{name} has no keyspaces (it has a hit_ratio)",
                        step["keyspace"],
                    )
                )
        return found
    named: set[str] = set()
    listing = ", ".join(map(str, spaces))
    for path, step in calls:
        ks = step.get("keyspace")
        if ks is None:
            found.append((path, f"a lookup in {name} names its keyspace (one of: {listing})", None))
        elif ks not in spaces:
            near = difflib.get_close_matches(str(ks), [str(k) for k in spaces], n=1)
            hint = f"; did you mean '{near[0]}'?" if near else f" (it has: {listing})"
            found.append(((*path, "keyspace"), f"{name} has no such keyspace{hint}", ks))
        else:
            named.add(ks)
    for ks in spaces:
        if ks not in named:
            found.append(
                (("components", name, "keyspaces", ks), "no step looks this keyspace up", None)
            )
    return found


def result_figures(scenario: Scenario, name: str) -> dict[str, Any]:
    """Each key space at the run's mean lookup rate (docs/json.md, ``keyspaces``)."""
    c = scenario.components[name]
    assert isinstance(c, CacheComponent)
    if not c.keyspaces:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for ks, (rate, f) in keyspace_figures(scenario)[name].items():
        spec = c.keyspaces[ks]
        out[ks] = {
            "lookups_per_s": rate,
            "hit_ratio": f.hit_ratio,
            "keys": spec.keys_at(scenario.load_scale),
            "stored_keys": f.stored_keys,
            "memory_bytes": f.stored_keys * spec.value_size,
            "max_size_bytes": spec.max_size,
            "evictions_per_s": f.evictions_per_s,
            "expirations_per_s": f.expirations_per_s,
            "characteristic_time_s": f.characteristic_time_s,
            "method": f.method,
        }
    memory = sum(float(k["memory_bytes"] or 0.0) for k in out.values())
    return {"keyspaces": out, "keyspace_memory_bytes": memory}


def build(name: str, component: Any, ctx: BuildContext) -> PooledStation:
    def ratio(step: Step) -> tuple[float, Callable[[float], float] | None]:
        return hit_ratio(ctx.scenario, name, step)

    return PooledStation(
        name, component, ctx.kernel, ctx.streams, [(component.replicas, 0)], hit_ratio=ratio
    )


KIND = Kind(
    CacheComponent,
    build,
    pooled=True,
    step_keys=frozenset({"on_miss", "keyspace"}),
    hit_ratio=hit_ratio,
    check_calls=check_calls,
    figures=result_figures,
    resize=grow_count("replicas", "more cache nodes"),
)

"""From a scenario and its simulated result to a validated set of manifest files.

Each service becomes a Deployment (probes, a restricted security context, guaranteed
memory), a Service, a ServiceAccount, a NetworkPolicy admitting the callers of the
request graph, a ServiceMonitor, the autoscaling the simulation ran (an HPA, or a KEDA
ScaledObject) and, where it can keep capacity through a drain, a PodDisruptionBudget.
Alerts become a PrometheusRule; a kustomization.yaml lets ``kubectl apply -k`` take the
whole set. What is not a Kubernetes object (Helm values for the stores' charts, the
metrics adapter and the cluster autoscaler) goes under values/. Every object carries the
scenario, its hash, the capplan version and the projected figures that justified it.
Everything is validated before anything is written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from capplan._version import __version__
from capplan.files import inside, write_text
from capplan.k8s import charts, monitoring, objects
from capplan.k8s.validate import check_all, check_namespace, check_scenario, check_version
from capplan.kinds import as_deployment
from capplan.results.model import Component, Result, typed
from capplan.scenario.components import CacheComponent, ServiceComponent
from capplan.scenario.graph import callers
from capplan.scenario.model import Scenario, scenario_hash

DEFAULT_KUBERNETES_VERSION = "1.33"
VALUES = "values"
"""Subfolder for what is not a Kubernetes object (Helm values for the stores' charts, the
metrics adapter and the cluster autoscaler): ``kubectl apply -f`` does not recurse into it
and the kustomization does not list it."""


@dataclass(frozen=True)
class Rendered:
    """One file of the set: its name, its text, and the object it holds (None for
    files that are not Kubernetes objects)."""

    name: str
    text: str
    obj: dict[str, Any] | None
    warnings: tuple[str, ...] = ()
    """What its comment warns of, for the command to say too."""


def _sig(x: float | None, unit: str = "") -> str:
    return "saturated" if x is None else f"{x:.3g}{unit}"


class _Dumper(yaml.SafeDumper):
    """Safe YAML, with text of several lines (a redis.conf) as a literal block."""


def _text(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _text)


def _yaml(obj: dict[str, Any], comment: list[str]) -> str:
    head = "".join(f"# {line}\n" if line else "#\n" for line in comment)
    return head + yaml.dump(obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False)


def deployed(scenario: Scenario) -> list[tuple[str, ServiceComponent]]:
    """The components rendered as Deployments: the services (stores are run by charts)."""
    return [(n, d) for n, c in scenario.components.items() if (d := as_deployment(c)) is not None]


def namespace_of(scenario: Scenario, namespace: str | None) -> str:
    """The command line's namespace, else the scenario's ``kubernetes.namespace``, else
    default."""
    return namespace or scenario.kubernetes.namespace or "default"


def check_inputs(scenario: Scenario, namespace: str | None, kubernetes_version: str) -> None:
    """Everything ``render`` needs from its inputs, checked before anything is simulated."""
    check_version(kubernetes_version)
    if namespace is not None:
        check_namespace(namespace)
    check_scenario(scenario, [n for n, _ in deployed(scenario)])


def worker_bound(c: Component) -> bool:
    """Whether the workers run out before the CPU does at the simulated load."""
    if c.cpu_utilization is not None:
        return c.utilization > c.cpu_utilization
    work = c.work_utilization if c.work_utilization is not None else c.utilization
    return work < c.utilization / 2


def hpa_comment(
    name: str, c: ServiceComponent, measured: Component, keda: bool = False
) -> list[str]:
    """What the HPA file says above the object: its targets, and what to watch for."""
    spec = c.autoscaling
    assert spec is not None
    shown = {
        "cpu": lambda v: f"CPU {v * 100:g}% of requests",
        "memory": lambda v: f"memory {v * 100:g}% of requests",
        "rps": lambda v: f"{v:g} requests/s per pod ({objects.RPS_METRIC})",
        "inflight": lambda v: f"{v:g} requests in flight per pod ({objects.PODS_METRIC})",
    }
    targets = ", ".join(shown[m](v) for m, v in spec.targets.items())
    lines = [
        f"{name}: {spec.min} to {spec.max} replicas on {targets}; tolerance "
        f"{spec.tolerance:g}, as simulated (sync every {spec.sync_period:g}s, metrics over "
        f"{spec.metrics_window:g}s).",
    ]
    if keda:
        lines.append(
            "KEDA makes the HPA (keda-hpa-<name>) from this, querying Prometheus for the rates."
        )
    elif {"rps", "inflight"} & set(spec.targets):
        lines.append(
            "Pods metrics come from a metrics adapter: values/prometheus-adapter-values.yaml has "
            "its rules."
        )
    if any("tolerance" in d for d in objects.hpa_behavior(spec).values()):
        lines.append(
            "A per-direction tolerance needs Kubernetes 1.33+ with the HPAConfigurableTolerance "
            "feature gate."
        )
    if worker_bound(measured) and "inflight" not in spec.targets:
        lines += [
            f"Its workers fill up before its CPU does (projected: workers "
            f"{measured.utilization * 100:.0f}% busy at "
            f"{(measured.cpu_utilization or 0) * 100:.0f}% CPU): they wait on downstream "
            "calls, and a waiting",
            "worker uses no CPU, so a CPU target alone would not add replicas when they run "
            "out; an inflight_target",
            "in the scenario (requests in flight per pod) scales it on what actually runs out.",
        ]
    return lines


def _callers_comment(name: str, called: frozenset[str | None]) -> str:
    inside_ = sorted(c for c in called if c is not None)
    who = ", ".join(inside_) if inside_ else "no other component"
    if None in called:
        return (
            f"{name} is called first by clients outside the system: its port is open to "
            f"every source (the request graph also shows {who} calling it)."
        )
    return f"Only {who} call {name} in the scenario's request graph: only they may connect."


def _spread_comment(zone_spread: str, kubernetes_version: str) -> str:
    if zone_spread != "required":
        return ""
    lines = [
        "The zone spread is required (DoNotSchedule): surviving a zone outage relies on the",
        "pods being spread. nodeTaintsPolicy: Honor leaves the lost zone's unreachable nodes",
        "out of the skew, so that replacements and new pods schedule in the zones left;",
        "without it they would stay pending until the zone is back.",
    ]
    if tuple(int(p) for p in kubernetes_version.split(".")[:2]) < (1, 26):
        lines.append(
            "Kubernetes before 1.26 honors it only with the NodeInclusionPolicyInPodTopologySpread "
            "feature gate."
        )
    return "\n".join(lines)


def disruption_budget(c: ServiceComponent, measured: Component) -> tuple[int, str] | None:
    """(minAvailable, comment) for the PodDisruptionBudget, or None where one replica
    cannot have one (a budget on a single pod blocks every drain or protects nothing).

    minAvailable is what the projected load needs: the replicas that keep the busiest
    resource under its target (the HPA's CPU target, else 70%), at most all but one, so
    that a drain can always proceed one pod at a time."""
    start = c.autoscaling.min if c.autoscaling is not None else c.replicas
    replicas = max(start, c.replicas)
    if replicas < 2:
        return None
    target = (c.autoscaling.cpu_target if c.autoscaling else None) or 0.7
    load = max(measured.utilization, measured.cpu_utilization or 0.0)
    needed = max(1, math.ceil(c.replicas * load / target - 1e-9))
    if needed > replicas - 1:
        return replicas - 1, (
            f"The projected load needs {needed} of {replicas} replicas: none is spare, so a "
            "drain takes it below that for as long as a pod restarts. Add a replica (or raise "
            "the HPA's minimum) to keep it through drains."
        )
    return needed, (
        f"A drain keeps at least {needed} ready: what the projected load needs at the "
        f"{target * 100:.0f}% target (projected {load * 100:.0f}% busy at {c.replicas})."
    )


def render(
    scenario: Scenario,
    result: Result | Mapping[str, Any],
    namespace: str | None = None,
    kubernetes_version: str = DEFAULT_KUBERNETES_VERSION,
) -> list[Rendered]:
    """The manifest set, validated for ``kubernetes_version``; raises ManifestError, or
    ScenarioError for what the scenario must give (names, images). ``namespace`` overrides
    the scenario's ``kubernetes.namespace``. ``result``: its simulated result (typed, or
    in its JSON form), whose projections the objects carry as annotations."""
    (projected,) = typed([result])
    kubernetes_version = check_version(kubernetes_version)
    check_scenario(scenario, [n for n, _ in deployed(scenario)])
    namespace = namespace_of(scenario, namespace)
    check_namespace(namespace)
    labels = {"app.kubernetes.io/part-of": scenario.name, "app.kubernetes.io/managed-by": "capplan"}
    base = {
        "capplan.io/scenario": scenario.name,
        "capplan.io/scenario-hash": scenario_hash(scenario),
        "capplan.io/version": __version__,
        "capplan.io/load-scale": f"{scenario.load_scale:g}",
        "capplan.io/projected-latency-p95": _sig(projected.latency.p95, "s"),
        "capplan.io/projected-error-rate": _sig(projected.error_rate),
    }
    header = [
        f"Rendered by capplan {__version__} from scenario {scenario.name} "
        f"({scenario_hash(scenario)}) at load scale {scenario.load_scale:g}.",
        "Regenerate rather than edit: capplan render-manifests <scenario file>",
    ]
    files: list[Rendered] = []
    services = deployed(scenario)
    check_scenario(scenario, [n for n, _ in services])
    settings = scenario.kubernetes
    called_by = callers(scenario)
    for name, c in services:
        measured = projected.components[name]
        notes = {
            **base,
            "capplan.io/projected-utilization": _sig(measured.utilization),
        }
        if measured.cpu_utilization is not None:
            notes["capplan.io/projected-cpu-utilization"] = _sig(measured.cpu_utilization)
        own = {**labels, "app.kubernetes.io/name": name}
        files += [
            Rendered(
                f"{name}-deployment.yaml",
                _spread_comment(settings.zone_spread, kubernetes_version),
                objects.deployment(name, c, namespace, labels, notes, settings),
            ),
            Rendered(f"{name}-service.yaml", "", objects.service(name, c, namespace, own, base)),
            Rendered(
                f"{name}-serviceaccount.yaml",
                "",
                objects.service_account(name, namespace, own, base),
            ),
            Rendered(
                f"{name}-networkpolicy.yaml",
                _callers_comment(name, called_by[name]),
                objects.network_policy(
                    name,
                    c.port,
                    called_by[name],
                    settings.monitoring_namespace,
                    namespace,
                    own,
                    base,
                ),
            ),
            Rendered(
                f"{name}-servicemonitor.yaml",
                "",
                objects.service_monitor(name, namespace, own, base),
            ),
        ]
        if c.autoscaling is not None and settings.autoscaler == "keda":
            files.append(
                Rendered(
                    f"{name}-scaledobject.yaml",
                    "\n".join(hpa_comment(name, c, measured, keda=True)),
                    objects.scaled_object(name, c, settings, namespace, labels, notes),
                )
            )
        elif c.autoscaling is not None:
            files.append(
                Rendered(
                    f"{name}-hpa.yaml",
                    "\n".join(hpa_comment(name, c, measured)),
                    objects.hpa(name, c, namespace, labels, notes),
                )
            )
        budget = disruption_budget(c, measured)
        if budget is not None:
            min_available, why = budget
            files.append(
                Rendered(
                    f"{name}-pdb.yaml",
                    why,
                    objects.pdb(name, min_available, namespace, labels, notes),
                )
            )
    rule = monitoring.prometheus_rule(scenario, [n for n, _ in services], namespace, labels, base)
    if rule is not None:
        files.append(Rendered("prometheusrule.yaml", "", rule))
    adapter = (
        None if settings.autoscaler == "keda" else monitoring.adapter_values(scenario, namespace)
    )
    extras = [
        ("prometheus-adapter-values.yaml", adapter),
        ("cluster-autoscaler-values.yaml", monitoring.cluster_autoscaler_values(scenario)),
    ]
    check_all([f.obj for f in files if f.obj is not None], kubernetes_version)
    out = [
        Rendered(
            f.name, _yaml(f.obj, header + (["", *f.text.splitlines()] if f.text else [])), f.obj
        )
        for f in files
        if f.obj is not None
    ]
    for file_name, (values, comment) in ((f, v) for f, v in extras if v is not None):
        out.append(Rendered(f"{VALUES}/{file_name}", _yaml(values, [*header, "", *comment]), None))
    caches = {
        name: charts.cache_memory(scenario, name, c)
        for name, c in scenario.components.items()
        if isinstance(c, CacheComponent)
    }
    charted = set()
    for name, store in scenario.components.items():
        got = charts.chart_values(scenario, name, store, caches.get(name))
        if got is not None:
            values, comment = got
            charted.add(name)
            held = caches.get(name)
            out.append(
                Rendered(
                    f"{VALUES}/{name}-values.yaml",
                    _yaml(values, [*header, "", *comment, *charts.zone_lines(scenario, [store])]),
                    None,
                    (held.warning,) if held is not None and held.warning else (),
                )
            )
    stores = monitoring.stores_values(scenario, exclude=charted, caches=caches)
    if stores:
        unnamed = [held for name, held in caches.items() if name in stores]
        out.append(
            Rendered(
                f"{VALUES}/stores-values.yaml",
                _yaml(
                    stores,
                    [
                        *header,
                        "",
                        "Sizing of the stateful stores, for the operators or charts that run them;",
                        "not a Kubernetes object and not part of the kustomization.",
                        *(line for held in unnamed for line in held.lines),
                        *charts.zone_lines(
                            scenario,
                            [c for n, c in scenario.components.items() if n in stores],
                        ),
                    ],
                ),
                None,
                tuple(held.warning for held in unnamed if held.warning),
            )
        )
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": namespace,
        "resources": [f.name for f in out if f.obj is not None],
    }
    out.append(Rendered("kustomization.yaml", _yaml(kustomization, header), None))
    return out


def write(files: list[Rendered], out_dir: str) -> list[str]:
    """Write the (already validated) set, each file atomically; returns the paths."""
    paths = []
    for f in files:
        folder, _, leaf = f.name.rpartition("/")
        path = inside(inside(out_dir, folder) if folder else out_dir, leaf)
        write_text(path, f.text)
        paths.append(str(path))
    return paths

"""Validation of rendered objects before anything is written.

Built-in kinds are checked against the Kubernetes OpenAPI schemas of the chosen version in
strict mode (kubernetes-validate: unknown fields are errors); every object then gets the
checks the schemas do not make: quantities parse, requests do not exceed limits, an
HPA's minimum does not exceed its maximum. A PrometheusRule is a custom resource with no
bundled schema; its shape is checked here.
"""

from __future__ import annotations

import re
from typing import Any

from capplan.errors import CapplanError, Problem, ScenarioError
from capplan.scenario.model import Scenario

SCHEMA_KINDS = {
    "Deployment",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "Service",
    "ServiceAccount",
    "NetworkPolicy",
}

DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
"""RFC 1123 label: names of Deployments, Services and namespaces, and label values."""
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?")
DNS_LABEL_RULE = (
    "not a valid Kubernetes name (RFC 1123: lower-case letters, digits and '-', starting "
    "and ending with a letter or digit, at most 63 characters)"
)


class ManifestError(CapplanError):
    """A rendered object failed validation; nothing was written."""


def supported_versions() -> list[str]:
    """Kubernetes minor versions whose schemas kubernetes-validate bundles ('1.25', ...)."""
    from kubernetes_validate import utils

    minors = {".".join(v.split(".")[:2]) for v in utils.all_versions()}
    return sorted(minors, key=lambda v: tuple(int(p) for p in v.split(".")))


def check_version(version: str) -> str:
    """``version`` as the bundled schemas name it ('1.33' -> '1.33.0'); CapplanError (exit 2)
    naming the supported range otherwise."""
    supported = supported_versions()
    m = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", version.strip())
    minor = f"{m.group(1)}.{m.group(2)}" if m else None
    if minor not in supported:
        raise CapplanError(
            f"--kubernetes-version: {version!r} is not supported; the bundled schemas cover "
            f"{supported[0]} to {supported[-1]}"
        )
    return f"{minor}.0"


def check_namespace(namespace: str, where: str = "--namespace") -> None:
    if not DNS_LABEL.fullmatch(namespace):
        raise CapplanError(f"{where}: {namespace!r} is {DNS_LABEL_RULE}")


REDIS_CLUSTER_MIN = 3
"""Primaries a Redis Cluster needs: bitnami/redis-cluster's ``cluster.nodes`` says "the
number of master nodes should always be >= 3, otherwise cluster creation will fail"."""


def check_scenario(scenario: Scenario, services: list[str]) -> None:
    """What the scenario must give for its manifests, located in its files: names that
    Kubernetes accepts, an image for every Deployment, and a store that its chart can
    run. ScenarioError listing all."""
    problems: list[Problem] = []
    if not LABEL_VALUE.fullmatch(scenario.name) or not DNS_LABEL.fullmatch(scenario.name):
        problems.append(
            scenario.problem(
                ("name",),
                f"names the manifests' objects and labels: {DNS_LABEL_RULE}",
                scenario.name,
            )
        )
    given = scenario.kubernetes.namespace
    if given is not None and not DNS_LABEL.fullmatch(given):
        problems.append(scenario.problem(("kubernetes", "namespace"), DNS_LABEL_RULE, given))
    for name, c in scenario.components.items():
        replicas = getattr(c, "replicas", 0)
        if getattr(c, "chart", None) == "bitnami/redis-cluster" and replicas < REDIS_CLUSTER_MIN:
            problems.append(
                scenario.problem(
                    ("components", name, "chart"),
                    f"bitnami/redis-cluster runs a Redis Cluster, which needs at least "
                    f"{REDIS_CLUSTER_MIN} primaries (cluster creation fails with fewer), and "
                    f"this cache has replicas: {replicas}: give replicas: {REDIS_CLUSTER_MIN} "
                    "or more, or no chart (the store is then sized in values/stores-values.yaml)",
                    "bitnami/redis-cluster",
                )
            )
    for name in services:
        if not DNS_LABEL.fullmatch(name):
            problems.append(scenario.problem(("components", name), DNS_LABEL_RULE, name))
        if not getattr(scenario.components[name], "image", None):
            problems.append(
                scenario.problem(("components", name, "image"), "required to render its Deployment")
            )
    if problems:
        raise ScenarioError(problems)


def _where(obj: dict[str, Any]) -> str:
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def _quantities(obj: dict[str, Any]) -> list[str]:
    from kubernetes.utils import parse_quantity

    problems = []
    containers = obj.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
    for i, container in enumerate(containers):
        res = container.get("resources") or {}
        parsed: dict[str, dict[str, Any]] = {}
        for kind in ("requests", "limits"):
            for key, value in (res.get(kind) or {}).items():
                field = f"spec.template.spec.containers[{i}].resources.{kind}.{key}"
                try:
                    parsed.setdefault(kind, {})[key] = parse_quantity(value)
                except ValueError:
                    problems.append(f"{field}: not a quantity ({value!r})")
        for key, request in parsed.get("requests", {}).items():
            limit = parsed.get("limits", {}).get(key)
            if limit is not None and request > limit:
                problems.append(
                    f"spec.template.spec.containers[{i}].resources.requests.{key}: "
                    f"exceeds the limit ({res['requests'][key]} > {res['limits'][key]})"
                )
    return problems


def problems(obj: dict[str, Any], kubernetes_version: str) -> list[str]:
    """Everything wrong with one object, each prefixed with kind/name and the field."""
    import kubernetes_validate

    found: list[str] = []
    kind = obj.get("kind")
    if kind in SCHEMA_KINDS:
        try:
            kubernetes_validate.validate(obj, kubernetes_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path) or "(object)"
            found.append(f"{path}: {exc.message}")
        except kubernetes_validate.utils.VersionNotSupportedError:
            check_version(kubernetes_version)  # raises with the supported range
            raise
    found += _quantities(obj)
    spec = obj.get("spec", {})
    if kind == "HorizontalPodAutoscaler" and spec.get("minReplicas", 1) > spec.get(
        "maxReplicas", 0
    ):
        found.append(
            f"spec.minReplicas: exceeds maxReplicas ({spec['minReplicas']} > {spec['maxReplicas']})"
        )
    if kind == "ScaledObject":
        for key in ("scaleTargetRef", "triggers"):
            if not spec.get(key):
                found.append(f"spec.{key}: required")
        if spec.get("minReplicaCount", 0) > spec.get("maxReplicaCount", 0):
            found.append("spec.minReplicaCount: exceeds maxReplicaCount")
    if kind == "ServiceMonitor":
        if not spec.get("selector"):
            found.append("spec.selector: required")
        if not spec.get("endpoints"):
            found.append("spec.endpoints: required")
    if kind == "PrometheusRule":
        for g, group in enumerate(spec.get("groups", [])):
            for r, rule in enumerate(group.get("rules", [])):
                for key in ("alert", "expr"):
                    if not rule.get(key):
                        found.append(f"spec.groups[{g}].rules[{r}].{key}: required")
    return [f"{_where(obj)} {p}" for p in found]


def check_all(objects: list[dict[str, Any]], kubernetes_version: str) -> None:
    """Raise ManifestError listing every problem of every object; return if all are valid."""
    found = [p for obj in objects for p in problems(obj, kubernetes_version)]
    if found:
        raise ManifestError("\n".join(found))

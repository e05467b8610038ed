"""Validation of rendered objects before anything is written.

Built-in kinds are checked against the Kubernetes OpenAPI schemas of the chosen version in
strict mode (kubernetes-validate: unknown fields are errors); every object then gets the
checks the schemas do not make: quantities parse, requests do not exceed limits, an
HPA's minimum does not exceed its maximum. A PrometheusRule is a custom resource with no
bundled schema; its shape is checked here.
"""

from __future__ import annotations

from typing import Any

from capplan.errors import CapplanError

SCHEMA_KINDS = {"Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget"}


class ManifestError(CapplanError):
    """A rendered object failed validation; nothing was written."""


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
        except kubernetes_validate.utils.VersionNotSupportedError as exc:
            raise ManifestError(
                f"Kubernetes {kubernetes_version} is not supported by the bundled schemas: {exc}"
            ) from exc
    found += _quantities(obj)
    spec = obj.get("spec", {})
    if kind == "HorizontalPodAutoscaler" and spec.get("minReplicas", 1) > spec.get(
        "maxReplicas", 0
    ):
        found.append(
            f"spec.minReplicas: exceeds maxReplicas ({spec['minReplicas']} > {spec['maxReplicas']})"
        )
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

"""Kubernetes manifests from a scenario: render, validate, write, apply.

The kubernetes client and kubernetes-validate are imported only when these functions run.
"""

from capplan.k8s.render import DEFAULT_KUBERNETES_VERSION, Rendered, render, write
from capplan.k8s.validate import ManifestError

__all__ = ["DEFAULT_KUBERNETES_VERSION", "ManifestError", "Rendered", "render", "write"]

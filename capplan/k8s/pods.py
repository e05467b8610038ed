"""The pod template of a service's Deployment: probes that agree with the simulated
startup, the security context a restricted namespace requires, resources with
guaranteed memory, and no service-account token.

Probe timings come from the component's ``startup`` distribution, the time the model
takes a new pod to become ready: the readiness probe polls every few seconds, so a pod
takes traffic within one period of being able to serve (as simulated); where startup can
be long, a startup probe holds liveness off for up to 1.5x its 99th percentile, so that a
slow start is not killed as a hung process.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from capplan.scenario.components import ServiceComponent
from capplan.scenario.kubernetes import Kubernetes

READINESS_PERIOD_S = 5
LIVENESS_PERIOD_S = 10
STARTUP_PERIOD_S = 5
LONG_STARTUP_S = 30.0
"""A 99th-percentile startup above this gets a startup probe."""
STARTUP_SLACK = 1.5


def startup_p99(c: ServiceComponent) -> float | None:
    """The startup distribution's 99th percentile, from 20,000 draws of a fixed stream
    (the same scenario renders the same manifests)."""
    if c.startup is None:
        return None
    draws = c.startup.draw(np.random.Generator(np.random.PCG64(0)), 20_000)
    return float(np.quantile(draws, 0.99))


def probes(c: ServiceComponent) -> dict[str, Any]:
    """readinessProbe, livenessProbe and (for a long startup) startupProbe, camelCase."""
    port = c.health.port or c.port
    ready = {"httpGet": {"path": c.health.path, "port": port}}
    live = {"httpGet": {"path": c.health.liveness_path or c.health.path, "port": port}}
    p99 = startup_p99(c)
    out: dict[str, Any] = {
        "readinessProbe": {
            **ready,
            "periodSeconds": READINESS_PERIOD_S,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        },
        "livenessProbe": {
            **live,
            "periodSeconds": LIVENESS_PERIOD_S,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        },
    }
    if p99 is not None and p99 > LONG_STARTUP_S:
        out["startupProbe"] = {
            **live,
            "periodSeconds": STARTUP_PERIOD_S,
            "timeoutSeconds": 2,
            "failureThreshold": max(1, math.ceil(p99 * STARTUP_SLACK / STARTUP_PERIOD_S)),
        }
    else:
        # no startup probe: liveness waits out a normal start before it counts
        out["livenessProbe"]["initialDelaySeconds"] = math.ceil(p99 or 10.0)
    return out


def security(settings: Kubernetes) -> tuple[dict[str, Any], dict[str, Any]]:
    """(pod securityContext, container securityContext), camelCase."""
    sec = settings.security
    pod: dict[str, Any] = {
        "runAsNonRoot": sec.run_as_non_root,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if sec.run_as_user is not None:
        pod.update(runAsUser=sec.run_as_user, runAsGroup=sec.run_as_user, fsGroup=sec.run_as_user)
    container: dict[str, Any] = {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": sec.read_only_root_filesystem,
        "runAsNonRoot": sec.run_as_non_root,
        "capabilities": {"drop": ["ALL"]},
    }
    if sec.run_as_user is not None:
        container["runAsUser"] = sec.run_as_user
    if sec.add_capabilities:
        container["capabilities"]["add"] = list(sec.add_capabilities)
    return pod, container


def volumes(settings: Kubernetes) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """An emptyDir per writable path under a read-only root: (volumes, mounts)."""
    sec = settings.security
    if not sec.read_only_root_filesystem:
        return [], []
    vols, mounts = [], []
    for i, path in enumerate(sec.writable_paths):
        name = f"writable-{i}"
        vols.append({"name": name, "emptyDir": {}})
        mounts.append({"name": name, "mountPath": path})
    return vols, mounts


def resources(c: ServiceComponent, settings: Kubernetes) -> dict[str, Any]:
    """Requests and limits as quantities; with ``guaranteed_memory`` the memory request is
    the limit (a limit given alone sets both; a request given alone becomes the limit)."""
    from capplan.k8s.objects import quantities

    res = c.resources
    requests = dict(quantities(res.requests) or {}) if res else {}
    limits = dict(quantities(res.limits) or {}) if res else {}
    if settings.guaranteed_memory:
        memory = limits.get("memory") or requests.get("memory")
        if memory is not None:
            requests["memory"] = limits["memory"] = memory
    out: dict[str, Any] = {}
    if requests:
        out["requests"] = requests
    if limits:
        out["limits"] = limits
    return out

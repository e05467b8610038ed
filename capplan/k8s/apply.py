"""Server-side apply of a rendered set to a cluster: the one module that talks to one."""

from __future__ import annotations

from typing import Any

from capplan.errors import CapplanError


class ClusterError(CapplanError):
    """No cluster could be reached, or it refused the objects."""

    exit_code = 3


def apply(objects: list[dict[str, Any]], dry_run: bool = False) -> list[str]:
    """Apply every object server-side (field manager ``capplan``); returns one line per object."""
    from kubernetes import config, dynamic
    from kubernetes.client import api_client
    from kubernetes.config.config_exception import ConfigException

    try:
        try:
            config.load_incluster_config()
        except ConfigException:
            config.load_kube_config()
    except (ConfigException, FileNotFoundError, OSError) as exc:
        raise ClusterError(
            f"no Kubernetes cluster configured (in-cluster or kubeconfig): {exc}"
        ) from exc
    client = dynamic.DynamicClient(api_client.ApiClient())
    done = []
    for obj in objects:
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        try:
            resource = client.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
            resource.server_side_apply(
                body=obj,
                namespace=obj["metadata"].get("namespace"),
                field_manager="capplan",
                dry_run="All" if dry_run else None,
            )
        except Exception as exc:  # the client raises many kinds: connection, API, discovery
            raise ClusterError(f"{where}: could not apply: {exc}") from exc
        done.append(f"{where} {'validated by the server (dry run)' if dry_run else 'applied'}")
    return done

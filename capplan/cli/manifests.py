"""``capplan render-manifests``: the simulated system as Kubernetes objects."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from capplan.cli.app import (
    Dask,
    Jobs,
    MaxVisits,
    Scenario1,
    ShowProgress,
    _load_all,
    _simulate_all,
    app,
    err,
)


@app.command("render-manifests")
def render_manifests(
    file: Scenario1,
    out: Annotated[
        Path | None,
        typer.Option(metavar="FOLDER", help="Output folder (default: manifests/<scenario name>)."),
    ] = None,
    kubernetes_version: Annotated[
        str,
        typer.Option(
            metavar="VERSION", help="Kubernetes version whose schemas the objects must pass."
        ),
    ] = "1.33",
    namespace: Annotated[
        str | None,
        typer.Option(
            help="Namespace of every object (default: the scenario's kubernetes.namespace, "
            "else default)."
        ),
    ] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="Also server-side apply the set to the current cluster.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="With --apply: let the server validate, change nothing."),
    ] = False,
    jobs: Jobs = None,
    progress: ShowProgress = True,
    max_visits: MaxVisits = None,
    dask: Dask = None,
) -> None:
    """Render Kubernetes manifests for a scenario: per service a Deployment (probes, a
    restricted security context), a Service, a ServiceAccount, a NetworkPolicy admitting
    the callers of the request graph, a ServiceMonitor, the HorizontalPodAutoscaler that
    was simulated and a PodDisruptionBudget; a PrometheusRule; a kustomization.yaml; and,
    under values/ (not applied), Helm values for the stores' charts, the metrics adapter
    and the cluster autoscaler.
    The scenario is simulated first, and every object is annotated with the projected
    figures. Every object is validated (strict schemas of the chosen Kubernetes version,
    plus quantity, request/limit and replica checks) before any file is written.
    Without a reachable cluster, --apply exits with code 3.

    Example:

        capplan render-manifests scenarios/10x-planned.yaml --kubernetes-version 1.33
    """
    from capplan.k8s import render, write
    from capplan.k8s.render import check_inputs

    (scenario,) = _load_all([file], None, None, None)
    check_inputs(scenario, namespace, kubernetes_version)
    (result,) = _simulate_all([scenario], jobs, progress, max_visits, dask)
    files = render(scenario, result, namespace=namespace, kubernetes_version=kubernetes_version)
    folder = out if out is not None else Path("manifests") / scenario.name
    for path in write(files, str(folder)):
        typer.echo(f"wrote {path}")
    for f in files:  # what the files warn of, said where it is seen
        for warning in f.warnings:
            err.print(
                f"{folder / f.name}: {warning}", highlight=False, markup=False, soft_wrap=True
            )
    if apply:
        from capplan.k8s.apply import apply as apply_set

        for line in apply_set([f.obj for f in files if f.obj is not None], dry_run=dry_run):
            typer.echo(line)

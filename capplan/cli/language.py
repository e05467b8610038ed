"""``capplan validate`` and ``capplan schema``: the scenario language itself."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from capplan.cli.app import Files, _load_all, app


@app.command()
def validate(files: Files) -> None:
    """Check scenario files and report every problem with file, line, YAML path and value.

    Example:

        capplan validate scenarios/*.yaml
    """
    for s, f in zip(_load_all(files, None, None, None), files, strict=True):
        typer.echo(f"{f}: ok ({s.name})")


@app.command()
def schema(
    overlay: Annotated[
        bool,
        typer.Option(
            "--overlay",
            help="The schema of a file that extends another (every key optional).",
        ),
    ] = False,
) -> None:
    """Print the JSON Schema of the scenario language (for editor completion).

    Example:

        capplan schema > scenario.schema.json
        capplan schema --overlay > overlay.schema.json
    """
    from capplan.scenario import json_schema

    typer.echo(json.dumps(json_schema(overlay), indent=2))

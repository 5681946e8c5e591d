"""``mpeil stock N --out DIR``: write a synthetic permit stock (mpeil.synthetic) as building files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def stock(
    n: Annotated[int, typer.Argument(help="Number of buildings", min=1)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the building files to")],
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same stock")] = 0,
    file_format: Annotated[str, typer.Option("--format", help="json | csv")] = "json",
    per_file: Annotated[int, typer.Option(help="Buildings per file", min=1)] = 1,
    archetypes: Annotated[str | None, typer.Option(help="Comma-separated archetypes (default: all)")] = None,
) -> None:
    """Write a reproducible synthetic stock of buildings from scenarios/archetypes/."""
    from ..synthetic import write_stock

    chosen = [a.strip() for a in archetypes.split(",")] if archetypes else None
    paths = write_stock(n, out, seed=seed, fmt=file_format, per_file=per_file, archetypes=chosen)
    typer.echo(
        f"wrote {n} building{'' if n == 1 else 's'} in {len(paths)} file{'' if len(paths) == 1 else 's'} to {out}"
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``mpeil`` app."""
    app.command()(stock)

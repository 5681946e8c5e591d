"""``mpeil dataset build``: a documented, versioned benchmark dataset (mpeil.analysis.dataset)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import MpeilError

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)


@app.command()
def build(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the dataset to")],
    n: Annotated[int, typer.Option("--n", help="Synthetic buildings (ignored with --from-batch)", min=1)] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic stock: the same seed gives the same bytes")] = 0,
    method: Annotated[str, typer.Option("--method", "-m", help="Method name or TOML file")] = "mpeil-ef31",
    from_batch: Annotated[
        Path | None, typer.Option("--from-batch", help="A `mpeil batch` output folder instead of a synthetic stock")
    ] = None,
) -> None:
    """Write Parquet tables (buildings, elements, stages, distributions), a datacard, a JSON Schema and hashes."""
    from ..analysis.dataset import build_dataset

    try:
        manifest = build_dataset(out, n=n, seed=seed, method=method, batch=from_batch)
    except (MpeilError, OSError) as error:
        typer.echo(f"error {type(error).__name__}: {error}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(f"wrote {manifest['name']} ({manifest['n_buildings']} buildings) to {out}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="dataset", help="Build benchmark datasets for research and policy.")

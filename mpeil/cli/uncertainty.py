"""``mpeil uncertainty FILE… [--draws N] [--limit X]``: Monte Carlo p5/p50/p95 and P(score > limit)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..errors import MpeilError
from .output import OPTION_HELP
from .report import LIBRARY_HELP, scoring_options


def uncertainty(
    files: Annotated[list[Path], typer.Argument(help="Building files (JSON, CSV, XLSX); scored with shared draws")],
    draws: Annotated[int, typer.Option(help="Monte Carlo draws", min=1)] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed")] = 0,
    method: Annotated[str, typer.Option("--method", "-m", help="Method name or TOML file")] = "mpeil-ef31",
    limit: Annotated[float | None, typer.Option(help="A limit: adds P(score > limit)")] = None,
    sensitivity: Annotated[int, typer.Option(help="Also print the N inputs that drive the variance")] = 0,
    output_format: Annotated[str, typer.Option("--format", "-f", help="table | csv")] = "table",
    option: Annotated[list[str] | None, typer.Option("--option", help=OPTION_HELP)] = None,
    library: Annotated[list[str] | None, typer.Option("--library", "-l", help=LIBRARY_HELP)] = None,
) -> None:
    """Uncertainty of scores (spreads in scenarios/uncertainty/): p5, p50, p95 per building."""
    from ..analysis.uncertainty import monte_carlo

    if output_format not in ("table", "csv"):
        raise typer.BadParameter("format must be table or csv")
    try:
        options = scoring_options(None, None, option, library)
        result = monte_carlo([str(f) for f in files], n_draws=draws, seed=seed, method=method, **options)
    except (MpeilError, OSError) as error:
        typer.echo(f"error {type(error).__name__}: {error}", err=True)
        raise typer.Exit(code=2) from None
    summary = result.summary()
    if limit is not None:
        summary["p_exceeds"] = result.p_exceeds(limit)
    if output_format == "csv":
        sys.stdout.write(summary.reset_index().to_csv(index=False))
        return
    typer.echo(f"{draws} draws, seed {seed}; scores in {result.score_unit}")
    typer.echo(summary.drop(columns="score_unit").to_string(float_format=lambda v: f"{v:.4g}"))
    if sensitivity:
        typer.echo("\ninputs driving the variance (all buildings):")
        typer.echo(result.sensitivity(top=sensitivity).to_string(index=False, float_format=lambda v: f"{v:.3f}"))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``mpeil`` app."""
    app.command()(uncertainty)

"""``mpeil report FILE… --out report.html`` (one self-contained HTML report for a dossier) and
``mpeil compare A B…`` (variants like for like, explained)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import MpeilError

#: with this many buildings or fewer, the report compares them as variants unless told otherwise
_AUTO_COMPARE_MAX = 6


def _fail(error: Exception) -> typer.Exit:
    from rich.console import Console

    Console(stderr=True, soft_wrap=True).print(f"[red]error[/red] {type(error).__name__}: {error}", highlight=False)
    return typer.Exit(code=1)


def _variants(building_ids: list[str], baseline: str | None, compare: bool | None) -> list[str] | None:
    """Building ids to compare, baseline first, or None for no comparison."""
    if compare is False or len(building_ids) < 2:
        return None
    if compare is None and len(building_ids) > _AUTO_COMPARE_MAX and baseline is None:
        return None
    first = baseline if baseline is not None else building_ids[0]
    return [first, *[b for b in building_ids if b != first]]


def register(app: typer.Typer) -> None:
    @app.command()
    def report(
        files: Annotated[list[Path], typer.Argument(help="Building files (JSON, CSV, XLSX)")],
        out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write")] = Path("report.html"),
        method: Annotated[str, typer.Option("--method", "-m", help="Method name or TOML file")] = "mpeil-ef31",
        baseline: Annotated[str | None, typer.Option(help="Building id the others are compared with")] = None,
        compare: Annotated[
            bool | None,
            typer.Option(
                "--compare/--no-compare", help=f"Compare the buildings as variants (default: 2–{_AUTO_COMPARE_MAX})"
            ),
        ] = None,
        replacement_rule: Annotated[str | None, typer.Option(help="ceil | fractional | elca")] = None,
        include_d: Annotated[bool | None, typer.Option("--include-d/--exclude-d", help="Count module D")] = None,
    ) -> None:
        """Score the files together (one method, one library) and write one printable HTML report."""
        from ..api import score
        from ..hashing import file_sha256
        from ..outputs import Result
        from ..outputs.report import render_report

        options: dict[str, Any] = {
            k: v for k, v in {"replacement_rule": replacement_rule, "include_d": include_d}.items() if v is not None
        }
        try:
            result = score([str(f) for f in files], method=method, **options)
            provenance = {**result.provenance, "input_files": {str(f): file_sha256(f) for f in files}}
            result = Result(result.elements, result.method, provenance, result.operational)
            variants = _variants(result.building_ids, baseline, compare)
            if baseline is not None:
                result.check_building(baseline)
            text = render_report(result, variants)
        except MpeilError as error:
            raise _fail(error) from None
        except OSError as error:
            raise _fail(error) from None
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out} ({len(result.building_ids)} buildings, {len(text) / 1024:.0f} kB)")

    @app.command()
    def compare(
        files: Annotated[list[Path], typer.Argument(help="Building files; the first building is the baseline")],
        method: Annotated[str, typer.Option("--method", "-m", help="Method name or TOML file")] = "mpeil-ef31",
        output_format: Annotated[str, typer.Option("--format", "-f", help="text | csv | json")] = "text",
        by_stage: Annotated[bool, typer.Option(help="csv/json: element × stage rows instead of elements")] = False,
    ) -> None:
        """Compare building variants like for like: the explanation and the element table."""
        import sys

        from ..api import compare as compare_variants

        if output_format not in ("text", "csv", "json"):
            raise _fail(typer.BadParameter("format must be text, csv or json"))
        try:
            comparison = compare_variants(*[str(f) for f in files], method=method)
        except MpeilError as error:
            raise _fail(error) from None
        frame = comparison.table if by_stage else comparison.elements.drop(columns=["key"])
        if output_format == "csv":
            sys.stdout.write(frame.to_csv(index=False))
        elif output_format == "json":
            sys.stdout.write(frame.to_json(orient="records", indent=2, force_ascii=False) + "\n")
        else:
            columns = ["label", "matched_by", *comparison.buildings, *[f"Δ {b}" for b in comparison.variants]]
            typer.echo(comparison.explanation + "\n")
            typer.echo(f"Element contributions [{comparison.unit}]:")
            typer.echo(comparison.elements[columns].to_string(index=False, float_format=lambda v: f"{v:.4g}"))

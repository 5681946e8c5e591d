"""``mpeil report FILE… --out report.html`` (one self-contained HTML report for a dossier) and
``mpeil compare A B…`` (variants like for like, explained)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import MpeilError
from .files import check_not_option, check_output_file, output_error
from .output import OPTION_HELP, library_references, method_options

LIBRARY_HELP = "Shipped source (obd2024, obd2020, br18, ilcd) or a user library folder; repeatable"

#: with this many buildings or fewer, the report compares them as variants unless told otherwise
_AUTO_COMPARE_MAX = 6


def _fail(error: Exception) -> typer.Exit:
    from rich.console import Console
    from rich.markup import escape

    text = f"[red]error[/red] {type(error).__name__}: {escape(str(error))}"
    Console(stderr=True, soft_wrap=True).print(text, highlight=False)
    return typer.Exit(code=1)


def _variants(building_ids: list[str], baseline: str | None, compare: bool | None) -> list[str] | None:
    """Building ids to compare, baseline first, or None for no comparison."""
    if compare is False or len(building_ids) < 2:
        return None
    if compare is None and len(building_ids) > _AUTO_COMPARE_MAX and baseline is None:
        return None
    first = baseline if baseline is not None else building_ids[0]
    return [first, *[b for b in building_ids if b != first]]


def scoring_options(
    replacement_rule: str | None, include_d: bool | None, option: list[str] | None, library: list[str] | None
) -> dict[str, Any]:
    """The keyword arguments of ``api.score``/``api.compare``: method options (``--option``, then
    the named flags) and the library (``--library``, loaded once; None: the shipped default)."""
    from ..model.library import load_library

    options: dict[str, Any] = method_options(option)
    named = {"replacement_rule": replacement_rule, "include_d": include_d}
    options.update({k: v for k, v in named.items() if v is not None})
    references = library_references(library)
    if references:
        options["library"] = load_library(references)
    return options


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
    option: Annotated[list[str] | None, typer.Option("--option", help=OPTION_HELP)] = None,
    library: Annotated[list[str] | None, typer.Option("--library", "-l", help=LIBRARY_HELP)] = None,
) -> None:
    """Score the files together (one method, one library) and write one printable HTML report."""
    from ..api import score
    from ..hashing import file_sha256
    from ..outputs import Result
    from ..outputs.report import render_report

    try:
        check_not_option(out, "--out", (".html", ".htm"))
        check_output_file(out, "--out")
        options = scoring_options(replacement_rule, include_d, option, library)
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
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as error:
        raise _fail(output_error(out, "--out", error)) from None
    count = len(result.building_ids)
    typer.echo(f"wrote {out} ({count} building{'' if count == 1 else 's'}, {len(text) / 1024:.0f} kB)")


def compare(
    files: Annotated[list[Path], typer.Argument(help="Building files; the first building is the baseline")],
    method: Annotated[str, typer.Option("--method", "-m", help="Method name or TOML file")] = "mpeil-ef31",
    output_format: Annotated[str, typer.Option("--format", "-f", help="text | csv | json")] = "text",
    by_stage: Annotated[bool, typer.Option(help="csv/json: element × stage rows instead of elements")] = False,
    option: Annotated[list[str] | None, typer.Option("--option", help=OPTION_HELP)] = None,
    library: Annotated[list[str] | None, typer.Option("--library", "-l", help=LIBRARY_HELP)] = None,
) -> None:
    """Compare building variants like for like: the explanation and the element table."""
    import sys

    from ..api import compare as compare_variants

    if output_format not in ("text", "csv", "json"):
        raise _fail(typer.BadParameter("format must be text, csv or json"))
    try:
        options = scoring_options(None, None, option, library)
        comparison = compare_variants(*[str(f) for f in files], method=method, **options)
    except MpeilError as error:
        raise _fail(error) from None
    frame = comparison.table if by_stage else comparison.elements.drop(columns=["key"])
    if output_format == "csv":
        sys.stdout.write(frame.to_csv(index=False))
    elif output_format == "json":
        sys.stdout.write(frame.to_json(orient="records", indent=2, force_ascii=False) + "\n")
    else:
        _print_comparison(comparison)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``mpeil`` app."""
    app.command()(report)
    app.command()(compare)


def _print_comparison(comparison) -> None:
    """The explanation wrapped to the terminal's width (80 when piped), then the element table in
    the compact layout of ``mpeil score`` (:func:`fixed_table`): columns headed by a letter per
    building (A the baseline, legend above), so no building id is ever cut inside a header."""
    import math

    from rich.console import Console

    from ..sanitize import terminal_text
    from .output import fixed_table

    console = Console(highlight=False)
    for paragraph in comparison.explanation.split("\n\n"):
        console.print(paragraph, markup=False)
        console.print()
    buildings = list(comparison.buildings)
    letters = dict(zip(buildings, _column_letters(len(buildings)), strict=True))
    console.print(f"Element contributions [{comparison.unit}]", markup=False)
    for building in buildings:
        role = " (baseline)" if building == buildings[0] else ""
        console.print(f"  {letters[building]}  {terminal_text(building)}{role}", markup=False, soft_wrap=True)
    values = [*buildings, *[f"Δ {b}" for b in comparison.variants]]
    headers: list[tuple[str, ...]] = [("matched",), *[(letters[b],) for b in buildings]]
    headers += [(f"Δ {letters[b]}",) for b in comparison.variants]
    rows = []
    for row in comparison.elements.to_dict("records"):
        numbers = [float(row[c]) for c in values]
        cells = [_matched(str(row["matched_by"]), letters), *("—" if math.isnan(v) else f"{v:.4g}" for v in numbers)]
        rows.append((terminal_text(str(row["label"])), cells))
    for line in fixed_table(headers, rows, console.width):
        console.print(line, markup=False, soft_wrap=True)


def _matched(matched_by: str, letters: dict[str, str]) -> str:
    """``id``, ``type``, or ``only B`` for ``only in <building id>`` (the letter of the legend)."""
    building = matched_by.removeprefix("only in ")
    return f"only {letters[building]}" if building != matched_by and building in letters else matched_by


def _column_letters(count: int) -> list[str]:
    """A, B, … Z, then A2, B2, …: short column heads for ``count`` buildings."""
    return [chr(65 + i % 26) + (str(i // 26 + 1) if i >= 26 else "") for i in range(count)]

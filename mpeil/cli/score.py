"""``mpeil score FILE… [--method M] [--format table|json|csv]`` and ``mpeil methods``."""

from __future__ import annotations

import gc
import sys
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import MpeilError, MpeilWarning
from ..sanitize import csv_cell, terminal_text
from .output import (
    JSON_DOUBLE_PRECISION,
    OPTION_HELP,
    building_notes,
    fixed_table,
    library_references,
    method_options,
    print_error,
    table_console,
)


def print_notes(caught: list[warnings.WarningMessage], console) -> None:
    """mpeil's own warnings as one yellow ``note`` line each; any other warning is shown as usual."""
    for item in caught:
        if isinstance(item.message, MpeilWarning):
            console.print(f"[yellow]note[/yellow] {terminal_text(item.message, limit=2000)}", highlight=False)
        else:
            warnings.showwarning(item.message, item.category, item.filename, item.lineno, item.file, item.line)


def _number(value: float) -> str:
    """4 significant digits; a missing value prints as "n/a", never 0."""
    return "n/a" if value != value else f"{value:.4g}"


def check_unique_ids(building_ids: list[str], file: str, origin) -> None:
    """A building id already seen in an earlier file of this command is a DuplicateBuildingError
    (``origin``: the command's :class:`mpeil.validation.IdRegister`)."""
    origin.add(building_ids, file)


def _stage_cell(value: float, score: float) -> str:
    """A stage value at 3 significant digits; n/a where the stage or the building's score is n/a."""
    return "n/a" if value != value or score != score else f"{value:.3g}"


_STAGE_HEADS = {"product": "A1-A3", "construction": "A4-A5", "use": "B1-B5", "end of life": "C1-C4", "beyond": "D"}


def _print_table(results, console) -> None:
    """The score table (compact: fits 80 columns, names on their own line when they must), then a
    legend of both letter scales and one line of notes per building."""
    import pandas as pd

    from ..outputs.scale_names import scale_name

    method = results[0].method
    scores = pd.concat([r.scores for r in results])
    stage = pd.concat([r.by_stage() for r in results])
    with_label = "label" in scores
    headers = [("score",), *[(_STAGE_HEADS.get(c.split(" (")[0], c),) for c in stage.columns], ("weight", "declared")]
    headers += [("", scale_name("label"))] if with_label else []
    headers += [("", scale_name("quality_grade"))]
    rows = []
    for building, row in scores.iterrows():
        cells = [_number(row["score"]), *[_stage_cell(v, row["score"]) for v in stage.loc[building]]]
        cells.append("n/a" if row["weight_declared"] != row["weight_declared"] else f"{row['weight_declared']:.1%}")
        cells += [row["label"] if isinstance(row["label"], str) else "n/a"] if with_label else []
        rows.append((terminal_text(building), [*cells, str(row["quality_grade"])]))
    console.print(f"[bold]{terminal_text(method.label)}[/bold]: {terminal_text(method.title)}", highlight=False)
    unit = scores["score_unit"].iloc[0]
    counted = "counted" if method.include_d else "not counted"
    console.print(f"Score and stages in {unit} (per m² GFA); D is reported apart, {counted} in the score.")
    for line in fixed_table(headers, rows, console.width):
        console.print(line, highlight=False, soft_wrap=True)
    for scale in (["label"] if with_label else []) + ["quality_grade"]:
        console.print(f"[dim]{scale_name(scale, long=True)}[/dim]", highlight=False)
    for building, row in scores.iterrows():
        if notes := building_notes(row):
            console.print(
                f"[yellow]{terminal_text(building)}[/yellow]: " + "; ".join(terminal_text(note) for note in notes),
                highlight=False,
            )


def _csv_safe(frame):
    """Text cells a spreadsheet shows as text (an id ``=cmd|…`` is never a formula)."""
    frame = frame.copy()
    for column in frame.columns:
        frame[column] = frame[column].map(csv_cell)
    return frame


def _print_elements(result, console) -> None:
    """One table per building: the elements, largest contribution first, with their share."""
    from rich.table import Table

    unit = result.method.score_unit + (" /(m²·yr)" if result.method.per_year else " /m²")
    elements = result.by_element()
    for building, rows in elements.groupby("building", sort=False):
        total = rows["score"].sum()
        table = Table(title=f"{terminal_text(building)}: elements ({unit})", title_justify="left")
        table.add_column("element", overflow="fold")
        table.add_column("type", no_wrap=True)
        table.add_column("quantity", justify="right", no_wrap=True)
        table.add_column("name", overflow="fold", ratio=1)
        table.add_column("score", justify="right", no_wrap=True)
        table.add_column("share", justify="right", no_wrap=True)
        for row in rows.sort_values("score", ascending=False, key=lambda v: v.abs()).itertuples(index=False):
            share = row.score / total if total else float("nan")
            table.add_row(
                terminal_text(row.element),
                terminal_text(row.element_type),
                f"{row.quantity:g} {row.unit}",
                terminal_text(row.name or ""),
                f"{row.score:.4g}",
                f"{share:.1%}",
            )
        console.print(table)


def _frame_of(results, by_element: bool):
    import pandas as pd

    if by_element:
        return pd.concat([r.by_element() for r in results], ignore_index=True)
    return pd.concat([r.scores.reset_index() for r in results], ignore_index=True)


def _write_frame(frame, output_format: str) -> None:
    if output_format == "json":
        sys.stdout.write(
            frame.to_json(orient="records", indent=2, force_ascii=False, double_precision=JSON_DOUBLE_PRECISION) + "\n"
        )
    else:
        sys.stdout.write(_csv_safe(frame).to_csv(index=False))


LIBRARY_HELP = (
    "Shipped source (obd2024, obd2020, br18, ilcd) or a user library folder (mpeil epd import); "
    "repeatable, later folders on top"
)


def score(
    files: Annotated[list[Path], typer.Argument(help="Building files (JSON, CSV, XLSX, IFC)")],
    method: Annotated[str, typer.Option("--method", "-m", help="Method name or TOML file")] = "mpeil-ef31",
    output_format: Annotated[str, typer.Option("--format", "-f", help="table | json | csv")] = "table",
    replacement_rule: Annotated[str | None, typer.Option(help="ceil | fractional | elca")] = None,
    include_d: Annotated[bool | None, typer.Option("--include-d/--exclude-d", help="Count module D")] = None,
    option: Annotated[list[str] | None, typer.Option("--option", "-o", help=OPTION_HELP)] = None,
    by_element: Annotated[
        bool, typer.Option(help="Per-element breakdown (a table; with -f csv/json the element rows)")
    ] = False,
    library: Annotated[list[str] | None, typer.Option("--library", "-l", help=LIBRARY_HELP)] = None,
    gfa: Annotated[
        float | None, typer.Option("--gfa", help="IFC model: gross floor area in m² (over the model's)")
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="IFC model: material mapping CSV, tried before the default")
    ] = None,
) -> None:
    """Score building files; errors are reported per file and scoring goes on."""
    if output_format not in ("table", "json", "csv"):
        raise typer.BadParameter("format must be table, json or csv")
    options: dict[str, Any] = {**method_options(option), "replacement_rule": replacement_rule, "include_d": include_d}
    errors = _StderrConsole()
    scorer = _scorer(method, library, {k: v for k, v in options.items() if v is not None}, errors)
    _resume_collection()
    results, failed = _score_files(scorer, files, errors, _ifc_options(files, gfa, mapping, errors))
    if results and output_format == "table":
        console = table_console()
        _print_table(results, console)
        if by_element:
            for result in results:
                _print_elements(result, console)
    elif results:
        _write_frame(_frame_of(results, by_element), output_format)
    raise typer.Exit(code=1 if failed else 0)


class _StderrConsole:
    """Rich's console on stderr (soft-wrapped), made when something is first printed there: a run
    without errors or notes (``mpeil score one.json -f csv``) does not import rich (~0.01 s)."""

    def __init__(self) -> None:
        self._console: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=True, soft_wrap=True)
        return getattr(self._console, name)


def _resume_collection() -> None:
    """Cyclic garbage collection back on once the scorer is ready, with what start-up made frozen.

    The ``mpeil`` script (:func:`mpeil.cli.main`) turns collection off for ``mpeil score``: importing
    numpy, pandas, scipy and pint and reading the stored library make some 200,000 tracked objects
    that live as long as the process, and the collector walked them again and again for no garbage
    (~0.08 s CPU, 7 % of a cold ``mpeil score one.json``). They go to the permanent generation
    (:func:`gc.freeze`: later collections skip them, and the budget's forked children leave their
    pages shared), and collection runs as usual for the files scored. Called with collection on (the
    command run in-process, e.g. by ``CliRunner``), it does nothing.
    """
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def _scorer(method: str, library: list[str] | None, options: dict[str, Any], errors):
    """One scorer (method, library, scenarios loaded once) for every file of the call; a bad
    method, option or library ends the command with one error line."""
    from ..api import Scorer
    from ..stages.context import prepare_stored

    try:  # the shipped library as prepared comes from the user cache (mpeil.model.stored)
        return Scorer.from_context(prepare_stored(method, library_references(library), **options))
    except MpeilError as error:
        print_error(error, errors)
        raise typer.Exit(code=1) from None


def _score_files(scorer, files: list[Path], errors, ifc: dict[str, Any]) -> tuple[list, int]:
    """Each file scored with ``scorer``: (results, number of files that failed, each reported)."""
    from ..ids import IdRegister

    results, failed = [], 0
    origin = IdRegister("in one command")
    for path in files:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", MpeilWarning)
                result = _score_one(scorer, path, ifc)
            print_notes(caught, errors)
            check_unique_ids(result.building_ids, str(path), origin)
            results.append(result)
        except MpeilError as error:
            failed += 1
            print_error(error.located(file=str(path)), errors)
        except Exception as error:  # a bug, not an input: still one line, and the next file
            failed += 1
            print_error(error, errors, prefix=f"internal error on {path}:")
    return results, failed


def methods() -> None:
    """List the shipped scoring methods and which EPD sources declare their indicators."""
    from ..methods import available_methods, load_method
    from ..model.library import load_library

    library = load_library()
    declared = library.values.groupby(library.values["dataset_id"].str.split(":").str[0])["indicator"].unique()
    standards = library.datasets.groupby("source")["standard"].agg(lambda s: "/".join(sorted(set(s.dropna()))))
    import textwrap

    width = max(table_console().width, 40)  # the terminal's, or COLUMNS, or 80 when piped
    for name in available_methods():
        m = load_method(name)
        head = f"{name:14s} {m.score_unit:>10s}  {m.reference_study_period_years:g} y  {m.title}"
        typer.echo(textwrap.fill(head, width, subsequent_indent=" " * 15, break_on_hyphens=False))
        hint = _coverage_hint(m, declared, standards)
        typer.echo(textwrap.fill(hint, width, initial_indent="    ", subsequent_indent="    ", break_on_hyphens=False))


def register(app: typer.Typer) -> None:
    """Add ``score`` and ``methods`` to the ``mpeil`` app."""
    app.command()(score)
    app.command()(methods)


def _ifc_options(files: list[Path], gfa: float | None, mapping: Path | None, errors) -> dict[str, Any]:
    """``--gfa`` / ``--mapping`` for the IFC files; one floor area cannot hold for several models."""
    models = [f for f in files if f.suffix.lower() == ".ifc"]
    if gfa is not None and len(models) > 1:
        print_error(MpeilError("--gfa gives the floor area of one IFC model: score the models one per call"), errors)
        raise typer.Exit(code=1)
    return {k: v for k, v in (("gfa_m2", gfa), ("mapping", mapping)) if v is not None}


def _score_one(scorer, path: Path, ifc: dict[str, Any]):
    """One file, within the time and memory budget of a batch file (:mod:`mpeil.budget`); an IFC
    model without a floor area says how to give it here (``--gfa``)."""
    from ..budget import score_within_budget
    from ..readers.ifc_coverage import MissingFloorAreaError

    try:
        options = ifc if path.suffix.lower() == ".ifc" else {}
        return score_within_budget(scorer, path, **options)
    except MissingFloorAreaError as error:
        raise error.how(f"`mpeil score {path} --gfa M2`") from None


def _coverage_hint(method, declared, standards) -> str:
    """Which sources declare any of the method's indicators, and what that means for a building."""
    codes = {spec.code for spec in method.indicators}
    has = [s for s in declared.index if codes & set(declared[s])]
    lacks = [s for s in declared.index if s not in has]
    text = "indicators declared by: " + (
        ", ".join(f"{s} ({standards.get(s, '?')})" for s in has) or "no shipped source"
    )
    if lacks:
        text += (
            f"; none in {', '.join(f'{s} ({standards.get(s, chr(63))})' for s in lacks)}: a building built only from "
            "those data sets gets no score (NaN)"
        )
    return text

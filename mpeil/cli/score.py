"""``mpeil score FILE… [--method M] [--format table|json|csv]`` and ``mpeil methods``."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import MpeilError, MpeilWarning
from ..sanitize import csv_cell, terminal_text
from .output import print_error


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


def _print_table(results, console) -> None:
    import pandas as pd
    from rich.table import Table

    result = results[0]
    scores = pd.concat([r.scores for r in results])
    stage = pd.concat([r.by_stage() for r in results])
    table = Table(title=f"{result.method.title or result.method.name}")
    table.add_column("building", overflow="fold", min_width=12)
    table.add_column(f"score [{scores['score_unit'].iloc[0]}]", justify="right")
    for name in stage.columns:
        table.add_column(name.replace(" (", "\n("), justify="right")
    table.add_column("weight\ndeclared", justify="right")
    table.add_column("weight\nestimated", justify="right")
    table.add_column("grade", justify="center")
    for building, row in scores.iterrows():
        table.add_row(
            terminal_text(building),
            _number(row["score"]),
            *[_number(v) for v in stage.loc[building]],
            f"{row['weight_declared']:.1%}",
            f"{row['weight_estimated']:.1%}",
            str(row["quality_grade"]),
        )
    console.print(table)
    console.print(
        "[dim]Stages in score units per m² GFA per year; D is reported apart and "
        f"{'counted' if result.method.include_d else 'not counted'} in the score.[/dim]"
    )
    for building, row in scores.iterrows():
        notes = [f"flagged: {flag}" for flag in row["flags"]]
        if row["indicators_estimated"]:
            notes.append(f"estimated from peers: {', '.join(row['indicators_estimated'])}")
        if row["indicators_missing"]:
            notes.append(f"no data set declares {', '.join(row['indicators_missing'])}")
        if row["module_gaps"]:
            notes.append(
                "data gaps (share of lines): "
                + ", ".join(f"{m} {share:.0%}" for m, share in row["module_gaps"].items())
            )
        if row["uncovered"]:
            notes.append(f"not in any open data: {', '.join(row['uncovered'])}")
        if notes:
            console.print(
                f"[yellow]{terminal_text(building)}[/yellow]: " + terminal_text("; ".join(notes)), highlight=False
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
        sys.stdout.write(frame.to_json(orient="records", indent=2, force_ascii=False) + "\n")
    else:
        sys.stdout.write(_csv_safe(frame).to_csv(index=False))


def register(app: typer.Typer) -> None:
    @app.command()
    def score(
        files: Annotated[list[Path], typer.Argument(help="Building files (JSON, CSV, XLSX, IFC)")],
        method: Annotated[str, typer.Option("--method", "-m", help="Method name or TOML file")] = "mpeil-ef31",
        output_format: Annotated[str, typer.Option("--format", "-f", help="table | json | csv")] = "table",
        replacement_rule: Annotated[str | None, typer.Option(help="ceil | fractional | elca")] = None,
        include_d: Annotated[bool | None, typer.Option("--include-d/--exclude-d", help="Count module D")] = None,
        by_element: Annotated[
            bool, typer.Option(help="Per-element breakdown (a table; with -f csv/json the element rows)")
        ] = False,
        library: Annotated[
            list[str] | None,
            typer.Option(
                "--library",
                "-l",
                help="Shipped source (obd2024, obd2020, br18, ilcd) or a user library folder (mpeil epd import); "
                "repeatable, later folders on top",
            ),
        ] = None,
    ) -> None:
        """Score building files; errors are reported per file and scoring goes on."""
        from rich.console import Console

        from ..api import Scorer
        from ..budget import score_within_budget
        from ..ids import IdRegister

        console, errors = Console(), Console(stderr=True, soft_wrap=True)
        if not console.is_terminal:  # piped or logged: no terminal width to respect
            console = Console(width=130)
        options: dict[str, Any] = {"replacement_rule": replacement_rule, "include_d": include_d}
        try:  # one scorer (method, library, scenarios loaded once) for every file of the call
            from ..model.library import load_library
            from .output import library_references

            chosen = load_library(library_references(library))
            scorer = Scorer(method, chosen, **{k: v for k, v in options.items() if v is not None})
        except MpeilError as error:
            print_error(error, errors)
            raise typer.Exit(code=1) from None
        results, failed = [], 0
        origin = IdRegister("in one command")
        for path in files:
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", MpeilWarning)
                    result = score_within_budget(scorer, path)  # time and memory of a batch file (mpeil.budget)
                print_notes(caught, errors)
                check_unique_ids(result.building_ids, str(path), origin)
                results.append(result)
            except MpeilError as error:
                failed += 1
                print_error(error.located(file=str(path)), errors)
            except Exception as error:  # a bug, not an input: still one line, and the next file
                failed += 1
                print_error(error, errors, prefix=f"internal error on {path}:")
        if output_format not in ("table", "json", "csv"):
            raise typer.BadParameter("format must be table, json or csv")
        if results and output_format == "table":
            _print_table(results, console)
            if by_element:
                for result in results:
                    _print_elements(result, console)
        elif results:
            _write_frame(_frame_of(results, by_element), output_format)
        raise typer.Exit(code=1 if failed else 0)

    @app.command()
    def methods() -> None:
        """List the shipped scoring methods and which EPD sources declare their indicators."""
        from ..methods import available_methods, load_method
        from ..model.library import load_library

        library = load_library()
        declared = library.values.groupby(library.values["dataset_id"].str.split(":").str[0])["indicator"].unique()
        standards = library.datasets.groupby("source")["standard"].agg(lambda s: "/".join(sorted(set(s.dropna()))))
        for name in available_methods():
            m = load_method(name)
            typer.echo(f"{name:14s} {m.score_unit:>10s}  {m.reference_study_period_years:g} y  {m.title}")
            typer.echo("    " + _coverage_hint(m, declared, standards))


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

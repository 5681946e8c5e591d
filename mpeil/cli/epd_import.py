"""``mpeil epd import``: build a user EPD library from ILCD+EPD (JSON, XML) and openEPD files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ..errors import MpeilError


def import_(
    paths: Annotated[
        list[Path], typer.Argument(help="EPD files, folders or zip archives (ILCD+EPD JSON/XML, openEPD JSON).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Library folder to write.")],
    name: Annotated[
        str | None,
        typer.Option("--name", help="Library name, the prefix of its data-set ids (default: the folder name)."),
    ] = None,
    aliases: Annotated[
        Path | None,
        typer.Option(
            "--aliases",
            help="CSV of extra indicator/unit spellings (columns of data/indicator_aliases.csv); wins over the shipped one.",
        ),
    ] = None,
    screen: Annotated[
        bool,
        typer.Option(help="Screen the imported data sets against the shipped peers (outliers, contradictions)."),
    ] = True,
) -> None:
    """Build a user library; use it with --library on score, batch and epd commands.

    Reports every file: imported, imported with losses (what was dropped and why) or refused
    (one line naming the file and the element or JSON path). A refused file never stops the
    others; the exit code is 1 when any file was refused (or nothing imported), else 0.
    """
    from ..readers.epd_import import import_report, write_library

    console = Console(soft_wrap=True)
    try:
        report = import_report(paths, name=name or out.name, screen=screen, aliases=aliases)
    except MpeilError as error:
        console.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
        raise typer.Exit(code=1) from None
    _print_report(report, console)
    if report.library is not None:
        write_library(report.library, report.files, out, report)
        console.print(
            f"{len(report.library)} data sets ({len(report.library.values)} values) → {escape(str(out))} "
            f"(ids '{escape(report.library.name)}:<id>')",
            highlight=False,
        )
    raise typer.Exit(code=1 if report.refused or report.library is None else 0)


def brightway(
    mapping: Annotated[Path, typer.Argument(help="CSV: data set, module, database, activity code, amount.")],
    methods: Annotated[Path, typer.Argument(help="CSV: indicator code → Brightway method ('|'-joined).")],
    project: Annotated[str, typer.Option("--project", "-p", help="Brightway project holding the databases.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Library folder to write.")],
    name: Annotated[str, typer.Option("--name", help="Library name, the prefix of its ids.")] = "bw",
) -> None:
    """Build a library of data sets per EN 15804 module from Brightway activities (docs/brightway.md)."""
    from ..readers.brightway import brightway_library
    from ..readers.epd_import import EPDFile, write_library

    console = Console()
    try:
        import bw2data

        if project not in bw2data.projects:
            raise typer.BadParameter(f"no Brightway project {project!r}")
        bw2data.projects.set_current(project)
        library = brightway_library(mapping, methods, name=name)
    except MpeilError as error:
        console.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
        raise typer.Exit(code=1) from None
    inputs = [EPDFile(str(p), p.name, p.read_bytes()) for p in (mapping, methods)]
    write_library(library, inputs, out)
    console.print(f"{len(library)} data sets from Brightway project {escape(project)} → {escape(str(out))}")


def register(epd_app: typer.Typer) -> None:
    """Add this module's commands to the ``mpeil`` app."""
    epd_app.command("import")(import_)
    epd_app.command("brightway")(brightway)


def _print_report(report, console: Console) -> None:
    """One line per file, its losses indented under it, the screening flags, and the counts."""
    for outcome in report.outcomes:
        if outcome.status == "skipped":
            continue
        style = {"refused": "bold red", "imported_with_losses": "yellow"}.get(outcome.status, "green")
        console.print(f"[{style}]{escape(outcome.line())}[/]", highlight=False)
        for loss in outcome.losses:
            console.print(f"    dropped {escape(str(loss))}", highlight=False)
        for note in outcome.notes:
            console.print(f"    note {escape(note)}", highlight=False)
    flags = report.flags
    if flags is not None and len(flags):
        console.print(f"[yellow]{len(flags)} screening flag(s) (scores using these values are flagged):[/]")
        for row in flags.itertuples(index=False):
            console.print(f"    {escape(str(row.dataset_id))} {escape(str(row.indicator or ''))}: "
                          f"{escape(str(row.flag))}: {escape(str(row.reason))}", highlight=False)  # fmt: skip
    counts = report.counts()
    console.print(
        f"{counts['imported']} imported, {counts['imported_with_losses']} imported with losses, "
        f"{counts['refused']} refused" + (f", {counts['skipped']} read as references" if counts["skipped"] else ""),
        highlight=False,
    )

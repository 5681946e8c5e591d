"""``mpeil epd import``: build a user EPD library from ILCD+EPD (JSON, XML) and openEPD files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ..errors import MpeilError


def register(epd_app: typer.Typer) -> None:
    @epd_app.command("import")
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
    ) -> None:
        """Build a user library; use it with --library on score, batch and epd commands."""
        from ..readers.epd_import import import_epd, write_library

        console = Console()
        try:
            library, files = import_epd(paths, name=name or out.name, aliases=aliases)
        except MpeilError as error:
            console.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
            raise typer.Exit(code=1) from None
        write_library(library, files, out)
        console.print(
            f"{len(library)} data sets ({len(library.values)} values) from {len(files)} files → "
            f"{escape(str(out))} (ids '{escape(library.name)}:<id>')",
            highlight=False,
        )

    @epd_app.command("brightway")
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

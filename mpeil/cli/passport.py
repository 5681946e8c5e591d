"""``mpeil passport FILE --out passport.json``: building and material passports."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ..errors import MpeilError


def passport_schema_text() -> str:
    """The passport JSON Schema as written to ``data/passport.schema.json``."""
    from ..model.passport import passport_json_schema

    return json.dumps(passport_json_schema(), indent=2, ensure_ascii=False) + "\n"


def register(app: typer.Typer) -> None:
    @app.command()
    def passport(
        file: Annotated[Path | None, typer.Argument(help="Building file (JSON, CSV, XLSX)")] = None,
        out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the passport (JSON) here")] = None,
        method: Annotated[str, typer.Option("--method", "-m", help="Method for the impacts")] = "mpeil-ef31",
        schema: Annotated[bool, typer.Option("--schema", help="Print the passport JSON Schema and stop")] = False,
    ) -> None:
        """Building and material passport: per component identity, material, mass, data set, life,
        replacements, end of life, reuse potential and impacts per stage."""
        if schema:
            sys.stdout.write(passport_schema_text())
            return
        if file is None:
            raise typer.BadParameter("give a building file (or --schema)")
        from ..api import passport_of
        from ..readers import read_buildings

        console = Console(stderr=True)
        try:
            passports = [passport_of(b, method=method) for b in read_buildings(file)]
        except MpeilError as error:
            console.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
            raise typer.Exit(code=1) from None
        documents = [p.model_dump(mode="json") for p in passports]
        text = json.dumps(documents[0] if len(documents) == 1 else documents, indent=2, ensure_ascii=False) + "\n"
        if out is None:
            sys.stdout.write(text)
        else:
            out.write_text(text, encoding="utf-8")
            count = sum(len(p.components) for p in passports)
            console.print(f"wrote {len(passports)} passport(s), {count} components → {escape(str(out))}")

    @app.command()
    def workbook(
        files: Annotated[list[Path], typer.Argument(help="Building files (JSON, CSV, XLSX)")],
        out: Annotated[Path, typer.Option("--out", "-o", help="Workbook to write (.xlsx)")],
        method: Annotated[str, typer.Option("--method", "-m", help="Method for the results")] = "mpeil-ef31",
    ) -> None:
        """TOTEM-style Excel workbook: element and layer results beside the bill of materials.
        Edit its bill_of_materials sheet and score the workbook again: it round-trips."""
        from ..api import passport_of
        from ..outputs.workbook import write_workbook
        from ..readers import read_buildings

        console = Console(stderr=True)
        try:
            passports = [passport_of(b, method=method) for f in files for b in read_buildings(f)]
            write_workbook(passports, out)
        except (MpeilError, OSError) as error:
            console.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
            raise typer.Exit(code=1) from None
        console.print(f"wrote {len(passports)} building(s) → {escape(str(out))}")

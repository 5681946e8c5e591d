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
from .files import check_not_option
from .output import OPTION_HELP, method_options


def passport_schema_text() -> str:
    """The passport JSON Schema as written to ``data/passport/passport-<major>.schema.json``."""
    from ..model.passport import passport_json_schema

    return json.dumps(passport_json_schema(), indent=2, ensure_ascii=False) + "\n"


def _passport_documents(
    file: Path, method: str, view: str | None, html: Path | None, lang: str, library: list[str] | None, options: dict
) -> tuple[list[dict], object, set[str]]:
    """The passports (or their views) of every building in ``file``, the library scored with and
    the data sets the components use; the HTML written if asked. ``options``: method options."""
    from ..api import Scorer, passport_of
    from ..model.library import load_library
    from ..outputs.passport import passport_view
    from ..outputs.passport_html import render_passport_html
    from ..readers import read_buildings
    from .output import library_references

    references = library_references(library)
    chosen = load_library(references) if references else None
    scorer = Scorer(method, chosen, **options)
    passports = [passport_of(b, method=method, library=scorer.library, **options) for b in read_buildings(file)]
    documents = [p.model_dump(mode="json") if view is None else passport_view(p, view) for p in passports]
    if html is not None:
        html.write_text("".join(render_passport_html(d, lang) for d in documents[:1]), encoding="utf-8")
    return documents, scorer.library, {c.dataset_id for p in passports for c in p.components}


def _write_materials(folder: Path, library: object | None, used: set[str] | None, sources: list[str], how: dict) -> int:
    """Material passports of the data sets used (or, without a building, of each user library
    folder); ``how``: ``lang``, ``role`` (a view) and ``composition`` (a CSV path or None)."""
    from ..model.library import EPDLibrary
    from ..model.material_passport import read_composition
    from ..outputs.passport import write_material_passports

    options = {
        "lang": how["lang"],
        "role": how["role"],
        "compositions": read_composition(how["composition"]) if how["composition"] is not None else None,
    }

    if library is not None:
        ordered = [i for i in library.datasets["dataset_id"] if i in (used or set())]  # type: ignore[attr-defined]
        return len(write_material_passports(library, ordered, folder, **options))
    folders = [Path(s) for s in sources if Path(s).is_dir()]
    if not folders:
        raise typer.BadParameter("--materials without a building file needs --library FOLDER (a user library)")
    written = 0
    for source in folders:  # one library: the folder itself; several: a sub-folder each
        target = folder if len(folders) == 1 else folder / source.name
        written += len(write_material_passports(EPDLibrary.from_folder(source), None, target, **options))
    return written


def _documents_and_materials(file, method, view, html, lang, library, materials, how, console) -> list | None:
    """The passport documents of ``file`` (None when only material passports were asked), with the
    material passports written where ``materials`` names a folder."""
    if file is None and materials is not None:
        count = _write_materials(materials, None, None, library or [], how)
        console.print(f"wrote {count} material passport(s) → {escape(str(materials))}")
        return None
    if file is None:
        raise typer.BadParameter("give a building file (or --schema, or --materials with --library)")
    documents, scored_with, used = _passport_documents(file, method, view, html, lang, library, how["method_options"])
    if materials is not None:
        count = _write_materials(materials, scored_with, used, [], how)
        console.print(f"wrote {count} material passport(s) → {escape(str(materials))}")
    return documents


def passport(
    file: Annotated[Path | None, typer.Argument(help="Building file (JSON, CSV, XLSX)")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the passport (JSON) here")] = None,
    method: Annotated[str, typer.Option("--method", "-m", help="Method for the impacts")] = "mpeil-ef31",
    schema: Annotated[bool, typer.Option("--schema", help="Print the passport JSON Schema and stop")] = False,
    view: Annotated[
        str | None,
        typer.Option("--view", help="Write the view of a role: public, authority, architect, contractor, owner"),
    ] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write the human-readable rendering (self-contained HTML)")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="Language of the rendering: nl, fr, en")] = "en",
    materials: Annotated[
        Path | None,
        typer.Option(
            "--materials",
            help="Write a material passport (JSON, and its rendering in --lang) per data set used (or of --library)",
        ),
    ] = None,
    library: Annotated[
        list[str] | None,
        typer.Option("--library", "-l", help="Shipped source or user library folder (also material passports)"),
    ] = None,
    composition: Annotated[
        Path | None,
        typer.Option("--composition", help="CSV dataset_id,material,mass_share: compositions for material passports"),
    ] = None,
    option: Annotated[list[str] | None, typer.Option("--option", help=OPTION_HELP)] = None,
) -> None:
    """Building passport: per component identity, material, mass, data set, life, replacements,
    end of life, reuse potential and impacts per stage, with the coordinator's summary. FILE may
    itself be a passport (any version): it is read as the building it describes. With
    --materials, material passports too (readable back as a library: --library FOLDER)."""
    if schema:
        sys.stdout.write(passport_schema_text())
        return
    console = Console(stderr=True)
    how = {"lang": lang, "role": view, "composition": composition, "method_options": method_options(option)}
    try:
        check_not_option(out, "--out", (".json",))
        documents = _documents_and_materials(file, method, view, html, lang, library, materials, how, console)
    except MpeilError as error:
        console.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
        raise typer.Exit(code=1) from None
    if documents is None:
        return
    text = json.dumps(documents[0] if len(documents) == 1 else documents, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        count = sum(len(d.get("components", [])) for d in documents)
        console.print(f"wrote {len(documents)} passport(s), {count} components → {escape(str(out))}")


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


def register(app: typer.Typer) -> None:
    """Add ``passport`` and ``workbook`` to the ``mpeil`` app."""
    app.command()(passport)
    app.command()(workbook)

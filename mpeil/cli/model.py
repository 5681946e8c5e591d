"""``mpeil schema``, ``mpeil bom`` and ``mpeil convert``: building files (owned by the building I/O work)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..errors import MpeilError
from .files import check_output_file


def schema_text() -> str:
    """The building JSON Schema as written to ``data/building.schema.json``."""
    from ..model import building_json_schema

    return json.dumps(building_json_schema(), indent=2, ensure_ascii=False) + "\n"


def _fail(error: Exception) -> typer.Exit:
    from .output import print_error

    print_error(error)
    return typer.Exit(code=1)


def schema(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout")] = None,
) -> None:
    """Print the JSON Schema of a building file (one building; a file may also hold a list)."""
    try:
        check_output_file(output, "--output")
    except MpeilError as error:
        raise _fail(error) from None
    text = schema_text()
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


def bom(
    file: Annotated[Path, typer.Argument(help="Building file (JSON, CSV, XLSX)")],
) -> None:
    """Print the bill of materials of a building file: element, layer, product, amount."""
    from rich.console import Console

    from ..readers import read_buildings

    try:
        buildings = read_buildings(file)
    except MpeilError as error:
        raise _fail(error) from None
    console = Console()
    for building in buildings:
        console.print(_bom_table(building))


def convert(
    source: Annotated[Path, typer.Argument(help="Building file to read (JSON, CSV, XLSX)")],
    target: Annotated[Path, typer.Argument(help="File to write; the format follows its extension")],
) -> None:
    """Convert a building file between JSON, CSV and XLSX (the flat bill of materials)."""
    from ..readers import read_buildings, write_building

    try:
        check_output_file(target, "TARGET")
        buildings = read_buildings(source)
        write_building(buildings[0] if len(buildings) == 1 else buildings, target)
    except (MpeilError, OSError) as error:
        raise _fail(error) from None
    typer.echo(f"wrote {len(buildings)} building{'' if len(buildings) == 1 else 's'} to {target}")


def inventory(
    source: Annotated[Path, typer.Argument(help="Building file of a building to be dismantled or renovated")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the inventory as CSV")] = None,
) -> None:
    """Reuse inventory (hergebruikinventaris): components leaving the building for reuse."""
    from ..model.reuse import reuse_inventory
    from ..model.scenarios import load_scenarios
    from ..readers import read_buildings

    try:
        check_output_file(out, "--out")
        frames = [reuse_inventory(b, load_scenarios()) for b in read_buildings(source)]
    except (MpeilError, OSError) as error:
        raise _fail(error) from None
    import pandas as pd

    table = pd.concat(frames, ignore_index=True)
    if out is not None:
        table.to_csv(out, index=False)
        typer.echo(f"wrote {len(table)} component{'' if len(table) == 1 else 's'} to {out}")
    else:
        typer.echo(table.to_string(index=False) if len(table) else "no component leaves for reuse")


def _bom_table(building):
    """One building's bill of materials as a Rich table (ids wrap, never cut)."""
    from rich.table import Table

    title = f"{building.id}" + (f" — {building.name}" if building.name else "")
    table = Table(title=title, caption=f"gross floor area {building.gross_floor_area_m2:g} m²")
    table.add_column("element")
    table.add_column("layer", no_wrap=True)
    table.add_column("material")
    table.add_column("product", overflow="fold")  # ids are long: wrap them, never cut them
    table.add_column("amount", justify="right", no_wrap=True)
    for element in building.elements:
        head = f"{element.id} ({element.element_type.value}, {element.quantity:g} {element.unit})"
        for position, line in enumerate(element.layers):
            layer = " ".join(filter(None, [line.layer, line.composition if line.ratio != 1 else None]))
            if line.ratio != 1:
                layer += f" ×{line.ratio:g}"
            table.add_row(
                head if position == 0 else "",
                layer or f"#{position + 1}",
                line.name or "",
                line.product,
                f"{line.amount:g} {line.unit}",
            )
    for energy in building.operational:
        table.add_row("operational", energy.module, "", energy.product, f"{energy.amount_per_year:g} {energy.unit}/a")
    return table


def register(app: typer.Typer) -> None:
    """Add ``schema``, ``bom``, ``convert`` and ``inventory`` to the ``mpeil`` app."""
    for command in (schema, bom, convert, inventory):
        app.command()(command)

"""``mpeil ifc FILE.ifc [--out building.json] [--suggest mapping.csv] [--write-results out.ifc]``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from ..errors import MpeilError
from .files import check_output_file, output_error

_SHOWN_WARNINGS = 15


def _fail(error: Exception) -> typer.Exit:
    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=True, soft_wrap=True)  # one line, however long
    console.print(f"[red]error[/red] {type(error).__name__}: {escape(str(error))}", highlight=False, markup=True)
    return typer.Exit(code=1)


def _summary(reading, console) -> None:
    share = reading.mapped_share
    console.print(f"schema {reading.schema}, length unit {reading.length_unit}", highlight=False)
    elements = 0 if reading.building is None else len(reading.building.elements)
    console.print(f"elements scored: {elements}; material lines read: {len(reading.lines)}", highlight=False)
    console.print(f"gross floor area: {reading.gfa_m2:.2f} m² ({reading.gfa_derivation})", highlight=False)
    volume, mass = (f"{share[k]:.1%}" if math.isfinite(share[k]) else "unknown" for k in ("volume", "mass"))
    console.print(
        f"mapped share: volume {volume} "
        f"({share['mapped_volume_m3']:.2f} of {share['mapped_volume_m3'] + share['unmapped_volume_m3']:.2f} m³), "
        f"mass {mass}",
        highlight=False,
    )
    from ..readers.ifc.lines import MAPPED_BY  # here, not at import: the IFC reader loads the library modules

    keys = {key: "volume_" + key.split(" (")[0].replace(" ", "_") for key in MAPPED_BY}
    split = ", ".join(f"{key} {share[name]:.1%}" for key, name in keys.items() if share.get(name, 0) > 0)
    console.print(f"volume mapped by: {split or 'nothing'}", highlight=False)
    used = reading.lines["default_used"].dropna()
    if len(used):
        console.print("defaults used (lines):", highlight=False)
        kinds = used.str.replace(r"^(framing [^:]+|reinforcement [^ ]+ kg/m3).*", r"\1", regex=True)
        for text, count in kinds.value_counts().items():
            console.print(f"  {count:4d} × {text}", highlight=False)
    if not reading.unmapped.empty:
        console.print("unmapped materials:")
        columns = ["material", "ifc_classes", "elements", "volume_m3", "flags", "candidate"]
        console.print(reading.unmapped[columns].to_string(index=False, float_format="%.3f"), highlight=False)
    for warning in reading.warnings[:_SHOWN_WARNINGS]:
        console.print(f"[yellow]warning[/yellow] {warning}", highlight=False)
    if len(reading.warnings) > _SHOWN_WARNINGS:
        console.print(f"… and {len(reading.warnings) - _SHOWN_WARNINGS} more warnings", highlight=False)


def ifc(
    file: Annotated[Path, typer.Argument(help="IFC model (.ifc, IFC2X3 or IFC4)")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the building (JSON, CSV, XLSX)")] = None,
    mapping: Annotated[Path | None, typer.Option(help="Mapping CSV, tried before the default")] = None,
    gfa: Annotated[float | None, typer.Option("--gfa", help="Gross floor area in m² (overrides the file)")] = None,
    suggest: Annotated[Path | None, typer.Option(help="Write per material its quantity and candidates")] = None,
    write_results: Annotated[Path | None, typer.Option(help="Score and write result psets to this IFC")] = None,
    method: Annotated[str, typer.Option("--method", "-m", help="Method for --write-results")] = "mpeil-ef31",
    geometry: Annotated[bool, typer.Option(help="Compute missing quantities from the geometry")] = True,
    confirm: Annotated[
        list[str] | None,
        typer.Option("--confirm", help="GlobalId of an element flagged with an implausible mass to score anyway"),
    ] = None,
) -> None:
    """Read an IFC model: materials, quantities, GFA; map materials to data sets; write results back."""
    from rich.console import Console

    from ..model.library import load_library
    from ..readers import write_building
    from ..readers.ifc import MissingFloorAreaError, read_ifc
    from ..readers.ifc import suggest as suggest_table

    console = Console(width=160)
    try:
        for path, option in ((out, "--out"), (suggest, "--suggest"), (write_results, "--write-results")):
            check_output_file(path, option)
        library = load_library()
        reading = read_ifc(
            file, mapping=mapping, gfa_m2=gfa, library=library, geometry=geometry, confirm=tuple(confirm or ())
        )
        _summary(reading, console)
        if suggest is not None:
            suggest_table(reading, library).to_csv(suggest, index=False)
            console.print(f"suggestions written to {suggest}", highlight=False)
        building = reading.building
        if (out is not None or write_results is not None) and building is None:
            raise reading.problem or MpeilError("the IFC model gives no building", file=str(file))
        if out is not None and building is not None:
            write_building(building, out)
            console.print(f"building written to {out}", highlight=False)
        if write_results is not None:
            _write_back(file, write_results, reading, method, library)
            console.print(f"results written to {write_results}", highlight=False)
    except MissingFloorAreaError as error:
        raise _fail(error.how(f"`mpeil ifc {file} --gfa M2`")) from None
    except MpeilError as error:
        raise _fail(error) from None
    except OSError as error:  # e.g. the disk is full
        raise _fail(output_error(Path(error.filename or "?"), "output", error)) from None


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``mpeil`` app."""
    app.command()(ifc)


def _write_back(file: Path, out: Path, reading, method: str, library) -> None:
    from ..api import score
    from ..outputs.ifc_results import write_results

    result = score(reading.building, method=method, library=library)
    share = reading.mapped_share
    extra = {
        "GrossFloorAreaDerivation": reading.gfa_derivation,
        "MappedVolumeShare": share["volume"],
        "MappedMassShare": share["mass"],
        "UnmappedMaterials": "; ".join(reading.unmapped["material"].astype(str))[:1000],
        # how the volume was mapped (issue 19): user, default, search, template default, excluded, unmapped
        **{f"MappedBy_{k[7:]}": v for k, v in share.items() if k.startswith("volume_") and not k.endswith("_m3")},
        "DefaultsUsed": "; ".join(sorted(set(reading.lines["default_used"].dropna().astype(str))))[:1000],
    }
    write_results(file, out, result, reading.building, extra)

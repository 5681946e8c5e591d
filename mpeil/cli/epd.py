"""``mpeil epd search`` and ``mpeil epd show`` (owned by the EPD-data work)."""

from __future__ import annotations

import math
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from ..errors import MpeilError

app = typer.Typer(no_args_is_help=True)

#: the columns ``search`` looks in (every word must occur in one of them, case-insensitive)
SEARCH_COLUMNS = ("name_de", "name_en", "name_da", "category")

_PROPERTY_LABELS = {
    "gross_density_kg_m3": "gross density (kg/m³)",
    "bulk_density_kg_m3": "bulk density (kg/m³)",
    "area_weight_kg_m2": "area weight (kg/m²)",
    "layer_thickness_m": "layer thickness (m)",
    "yield_m2": "yield (m²)",
    "linear_weight_kg_m": "linear weight (kg/m)",
    "mass_per_piece_kg": "mass per piece (kg)",
    "conversion_factor_to_kg": "declared units per kg",
    "biogenic_carbon_kg": "biogenic carbon (kg C per declared amount)",
    "biogenic_carbon_packaging_kg": "biogenic carbon, packaging (kg C per declared amount)",
}


def _fail(console: Console, error: MpeilError) -> None:
    console.print(f"[bold red]error:[/] {error}", highlight=False)
    raise typer.Exit(code=1)


def _load(sources: list[str] | None):
    from ..model.library import load_library

    return load_library(sources or None)


def _text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return str(value)


def _number(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.6g}"


def _declared(amount, unit) -> str:
    if not _text(unit):
        return "(not declared)"
    return f"{_number(float(amount))} {unit}"


def _matches(datasets: pd.DataFrame, text: str) -> pd.DataFrame:
    columns = [c for c in SEARCH_COLUMNS if c in datasets]
    haystack = datasets[columns].fillna("").astype(str).agg(" ".join, axis=1).str.lower()
    mask = np.ones(len(datasets), dtype=bool)
    for word in text.lower().split():
        mask &= haystack.str.contains(word, regex=False).to_numpy(dtype=bool)
    return datasets[mask]


@app.command()
def search(
    words: Annotated[list[str], typer.Argument(help="Words that must all occur in the name or category.")],
    source: Annotated[
        list[str] | None,
        typer.Option("--source", "-s", help="Only this source (repeatable): obd2024, obd2020, br18, ilcd."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show at most this many.")] = 30,
) -> None:
    """Find data sets by name (German, English, Danish) or category."""
    console = Console()
    text = " ".join(words)
    try:
        library = _load(source)
    except MpeilError as error:
        _fail(console, error)
    found = _matches(library.datasets, text)
    if found.empty:
        console.print(f"No data set matches {text!r} in {library.name}.", highlight=False)
        raise typer.Exit(code=0)
    table = Table(title=f"{len(found)} data sets match {text!r} (showing {min(limit, len(found))})")
    table.add_column("id", no_wrap=True, style="cyan")
    table.add_column("name")
    table.add_column("type")
    table.add_column("standard", no_wrap=True)
    table.add_column("declared", no_wrap=True, justify="right")
    table.add_column("flags", style="yellow")
    flagged = library.flags.groupby("dataset_id")["indicator"].agg(lambda s: ", ".join(i or "properties" for i in s))
    for row in found.head(limit).itertuples(index=False):
        names = [n for n in (_text(row.name_de), _text(row.name_en), _text(getattr(row, "name_da", ""))) if n]
        table.add_row(
            row.dataset_id,
            " / ".join(dict.fromkeys(names)),
            _text(row.data_type),
            _text(row.standard),
            _declared(row.declared_amount, row.declared_unit),
            _text(flagged.get(row.dataset_id)),
        )
    console.print(table)


@app.command()
def show(
    dataset: Annotated[str, typer.Argument(help="Data set id, e.g. obd2024:<uuid>, or an unambiguous bare id.")],
    values: Annotated[bool, typer.Option("--values", "-v", help="Also print the values per module.")] = False,
) -> None:
    """Metadata, declared unit, conversion properties and declared modules of one data set."""
    console = Console()
    try:
        library = _load(None)
        info = library.info(dataset)
    except MpeilError as error:
        _fail(console, error)

    meta = Table(title=info["dataset_id"], show_header=False)
    meta.add_column("field", style="bold")
    meta.add_column("value")
    for label, key in (
        ("name (de)", "name_de"),
        ("name (en)", "name_en"),
        ("name (da)", "name_da"),
        ("category", "category"),
        ("type", "data_type"),
        ("standard", "standard"),
        ("source", "source"),
        ("version", "version"),
        ("country", "country"),
        ("reference year", "reference_year"),
        ("valid until", "valid_until"),
        ("owner", "owner"),
        ("url", "url"),
    ):
        if _text(info.get(key)):
            meta.add_row(label, _text(info[key]))
    meta.add_row("declared unit", _declared(info.get("declared_amount"), info.get("declared_unit")))
    console.print(meta)

    props = Table(title="Conversion properties", show_header=False)
    props.add_column("property", style="bold")
    props.add_column("value", justify="right")
    for key, label in _PROPERTY_LABELS.items():
        value = info.get(key)
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            props.add_row(label, _number(float(value)))
    index = library.resolve(dataset)
    mass = library.mass_per_unit(index)
    props.add_row("→ kg per declared unit", _number(mass) if not math.isnan(mass) else "unknown")
    console.print(props)

    if _text(info.get("notes")):
        console.print("[bold]Notes[/]")
        for note in _text(info["notes"]).split("; "):
            console.print(f"  • {note}", highlight=False)

    # one indicator list for all modules (the usual case) is printed once, below the table
    lists = {tuple(entry["indicators"]) for entry in info["modules"]}
    shared = len(lists) == 1
    modules = Table(title="Declared modules and scenarios")
    modules.add_column("module", no_wrap=True)
    modules.add_column("scenario")
    modules.add_column("indicators", justify="right")
    if not shared:
        modules.add_column("which")
    for entry in info["modules"]:
        cells = [entry["module"], entry["scenario"], str(len(entry["indicators"]))]
        modules.add_row(*cells, *([] if shared else [", ".join(entry["indicators"])]))
    if not info["modules"]:
        modules.add_row("(none)", "", "0", *([] if shared else [""]))
    console.print(modules)
    if shared:
        console.print("[bold]Indicators (every module):[/] " + ", ".join(next(iter(lists))), highlight=False)

    _print_trust(console, library, info["dataset_id"])

    if values and info["modules"]:
        rows = library.values[library.values["dataset_id"] == info["dataset_id"]]
        pivot = rows.assign(column=rows["module"] + rows["scenario"].map(lambda s: f" ({s})" if s else "")).pivot_table(
            index="indicator", columns="column", values="value", aggfunc="first", sort=False
        )
        table = Table(title=f"Values per {_declared(info.get('declared_amount'), info.get('declared_unit'))}")
        table.add_column("indicator", no_wrap=True)
        for column in pivot.columns:
            table.add_column(str(column), justify="right")
        for indicator, line in pivot.iterrows():
            table.add_row(str(indicator), *(_number(float(v)) for v in line.to_numpy()))
        console.print(table)


def _print_trust(console: Console, library, dataset_id: str) -> None:
    """The screen's flags on this data set and the indicators a score would estimate for it."""
    flags = library.flags[library.flags["dataset_id"] == dataset_id]
    for row in flags.itertuples(index=False):
        console.print(
            f"[bold yellow]flag[/] {row.indicator or 'properties'} ({row.flag}): {row.reason}", highlight=False
        )
    estimates = library.estimates[library.estimates["dataset_id"] == dataset_id]
    if len(estimates):
        parts = [
            f"{r.indicator} {r.module} {r.value:.3g} (σ_ln {r.sigma_log:.2g}, {r.n_peers} peers, {r.level})"
            for r in estimates.itertuples(index=False)
        ]
        console.print("[bold]Not declared, estimated from peers:[/] " + "; ".join(parts), highlight=False)

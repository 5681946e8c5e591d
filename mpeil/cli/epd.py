"""``mpeil epd search`` and ``mpeil epd show`` (owned by the EPD-data work)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..errors import InputError, MpeilError, UnknownEPDError

if TYPE_CHECKING:
    import pandas as pd

app = typer.Typer(no_args_is_help=True)

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


def _fail_unknown(console: Console, dataset: str, error: MpeilError) -> None:
    """``error: unknown data set 'nope'; did you mean …`` (the id is the argument, not a field)."""
    known = f"no data set {dataset!r} in the EPD library"
    if not error.message.startswith(known):
        _fail(console, error)
    hint = error.message[len(known) :] or "; find it with mpeil epd search WORDS"
    console.print(f"[bold red]error:[/] unknown data set {dataset!r}{hint}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=1)


def _load(libraries: list[str] | None):
    from ..model.library import load_library
    from .output import library_references

    return load_library(library_references(libraries))


def _user_sources(libraries: list[str] | None) -> list[str]:
    """The library names (``source`` values) of the user library folders among ``--library`` values."""
    import pandas as pd

    from .output import library_references

    sources: list[str] = []
    for reference in library_references(libraries) or []:
        path = Path(reference) / "datasets.parquet"
        if path.exists():
            names = pd.read_parquet(path, columns=["source"])["source"].dropna().unique()
            sources.extend(str(n) for n in names if str(n) not in sources)
    return sources


_LIBRARY_HELP = "Shipped source or user library folder (mpeil epd import) to load; repeatable, later folders on top"


def _text(value) -> str:
    import pandas as pd

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


def _mass_label(info: dict) -> str:
    """The engine works per ONE unit: a data set declared per 1000 kg gives its mass per 1 kg."""
    import pandas as pd

    unit, amount = _text(info.get("declared_unit")), info.get("declared_amount")
    if not unit or amount is None or pd.isna(amount) or float(amount) == 1.0:
        return "→ kg per declared unit"
    return f"→ kg per 1 {unit} (values are declared per {_number(float(amount))} {unit})"


def _gwp_cell(value: float, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{_number_short(value)} /{unit}" if unit else _number_short(value)


def _search_table(found: pd.DataFrame, title: str) -> Table:
    """Fits 80 columns: the name and id share one wrapped cell; numbers are short."""
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
    table.add_column("#", justify="right", no_wrap=True)
    # as wide as the longest id: an id is copied from here, so it is never broken across lines
    widest_id = max((len(str(i)) for i in found["dataset_id"]), default=0)
    table.add_column("data set (id; how it matched)", overflow="fold", ratio=1, min_width=widest_id)
    table.add_column("GWP A1-A3\nkg CO2e", justify="right", no_wrap=True)
    table.add_column("per\nkg", justify="right", no_wrap=True)
    table.add_column("kg/m³", justify="right", no_wrap=True)
    for number, row in enumerate(found.to_dict("records"), 1):
        cell = f"[bold]{escape(str(row['name']))}[/] [dim]({row['source']}, {row['data_type']})[/]"
        cell += f"\n[cyan]{row['dataset_id']}[/]\n[dim]{escape(str(row['matched']))}[/]"
        if row["flags"]:
            cell += f"\n[red]flag: {escape(str(row['flags']))}[/]"
        if row.get("weak"):  # under data/search.toml weak_score: shown, but likely not what was asked
            cell += "\n[yellow]weak match[/]"
        table.add_row(
            str(number),
            cell,
            _gwp_cell(float(row["gwp_a1a3_per_unit"]), str(row["declared_unit"])),
            _number_short(float(row["gwp_a1a3_per_kg"])),
            _number_short(float(row["density_kg_m3"])),
        )
    return table


def _number_short(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


@app.command()
def search(
    words: Annotated[list[str], typer.Argument(help="What to find, in Dutch, French, German, English or Danish.")],
    source: Annotated[
        list[str] | None,
        typer.Option("--source", "-s", help="Only this source (repeatable): obd2024, obd2020, br18, ilcd."),
    ] = None,
    method: Annotated[
        str | None, typer.Option("--method", "-m", help="Prefer this method's data source (default: mpeil-ef31's).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show at most this many.")] = 10,
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="table (readable at 80 columns), csv or json.")
    ] = "table",
    library_option: Annotated[list[str] | None, typer.Option("--library", "-l", help=_LIBRARY_HELP)] = None,
) -> None:
    """Find data sets by name or category, ranked, with GWP, density and quality flags per hit."""
    import pandas as pd

    from ..search import search_epd

    console = Console()
    text = " ".join(words)
    if output_format not in ("table", "csv", "json"):
        _fail(console, InputError(f"unknown format {output_format!r}; use table, csv or json", field="format"))
    try:
        library = _load(library_option)
        method = method or "mpeil-ef31"
        found = search_epd(text, library=library, method=method, limit=limit, sources=source or None)
        own = [s for s in _user_sources(library_option) if not source or s in source]
        if own:  # the user's own data sets that match come first, in their own ranking order
            mine = search_epd(text, library=library, method=method, limit=limit, sources=own)
            found = pd.concat([mine, found[~found["dataset_id"].isin(mine["dataset_id"])]], ignore_index=True)
            found = found.head(limit)
    except MpeilError as error:
        _fail(console, error)
    if output_format == "csv":
        typer.echo(found.to_csv(index=False), nl=False)
        return
    if output_format == "json":
        typer.echo(found.to_json(orient="records", force_ascii=False, indent=1))
        return
    if found.empty:
        console.print(f"No data set matches {text!r} in {library.name}.", highlight=False)
        raise typer.Exit(code=0)
    title = f"{len(found)} best matches for {text!r}" + (f" (method {method})" if method else "")
    console.print(_search_table(found, title))


@app.command()
def show(
    dataset: Annotated[str, typer.Argument(help="Data set id, e.g. obd2024:<uuid>, or an unambiguous bare id.")],
    values: Annotated[bool, typer.Option("--values", "-v", help="Also print the values per module.")] = False,
    library_option: Annotated[list[str] | None, typer.Option("--library", "-l", help=_LIBRARY_HELP)] = None,
) -> None:
    """Metadata, declared unit, conversion properties and declared modules of one data set."""
    console = Console()
    try:
        library = _load(library_option)
        info = library.info(dataset)
    except UnknownEPDError as error:
        _fail_unknown(console, dataset, error)
    except MpeilError as error:
        _fail(console, error)

    _print_meta(console, info)

    props = Table(title="Conversion properties", show_header=False)
    props.add_column("property", style="bold")
    props.add_column("value", justify="right")
    for key, label in _PROPERTY_LABELS.items():
        value = info.get(key)
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            props.add_row(label, _number(float(value)))
    index = library.resolve(dataset)
    mass = library.mass_per_unit(index)
    props.add_row(_mass_label(info), _number(mass) if not math.isnan(mass) else "unknown")
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


def _print_meta(console: Console, info: dict) -> None:
    """The data set's identity table, then its URL whole on a line of its own."""
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
    ):
        if _text(info.get(key)):
            meta.add_row(label, _text(info[key]))
    meta.add_row("declared unit", _declared(info.get("declared_amount"), info.get("declared_unit")))
    console.print(meta)
    if _text(info.get("url")):  # whole, never cut by the table: it is copied into a browser
        console.print("url: " + _text(info["url"]), highlight=False, markup=False, soft_wrap=True)


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

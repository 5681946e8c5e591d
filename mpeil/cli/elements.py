"""``mpeil elements list`` and ``mpeil elements show``: the element catalogue (scenarios/elements)."""

from __future__ import annotations

import math
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..errors import InputError, MpeilError

app = typer.Typer(no_args_is_help=True)


def _fail(console: Console, error: MpeilError) -> None:
    console.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
    raise typer.Exit(code=1)


def _params(pairs: list[str] | None) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--param {pair!r} is not NAME=VALUE (e.g. insulation=pur)", field="params")
        params[key.strip()] = value.strip()
    return params


@app.command("list")
def list_(
    element_type: Annotated[
        str | None, typer.Option("--type", "-t", help="Only this element type (EW, PR, FR, SF, EWi, …).")
    ] = None,
) -> None:
    """All element templates: name, element type, unit and what they are."""
    from ..elements import list_templates

    console = Console()
    try:
        frame = list_templates()
    except MpeilError as error:
        _fail(console, error)
    if element_type:
        frame = frame[frame["element_type"].str.lower() == element_type.lower()]
    table = Table(title=f"{len(frame)} element templates (scenarios/elements)", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("template", no_wrap=True, style="cyan")
    table.add_column("type", no_wrap=True)
    table.add_column("unit", no_wrap=True)
    table.add_column("build-up", ratio=1)
    for row in frame.to_dict("records"):
        table.add_row(str(row["name"]), str(row["element_type"]), str(row["unit"]), escape(str(row["title"])))
    console.print(table)


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="Template name, e.g. EW-cavity-brick.")],
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="NAME=VALUE (repeatable), e.g. -p insulation=pur.")
    ] = None,
) -> None:
    """A template's parameters and the layers it expands to (per element unit)."""
    from ..elements import expansion, load_template, parameters, resolve_params
    from ..model.library import load_library

    console = Console()
    try:
        template = load_template(name)
        given = _params(param)
        values = resolve_params(template, given)
        lines = expansion(name, given, library=load_library())
        table_of_params = parameters(name)
    except MpeilError as error:
        _fail(console, error)
    console.print(
        f"[bold]{escape(template.name)}[/] — {escape(template.title)} ({template.element_type}, per {template.unit})"
    )
    console.print(escape(template.description), highlight=False)
    params = Table(title="Parameters", box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
    params.add_column("parameter", no_wrap=True)
    for column in ("value", "default", "options / range"):
        params.add_column(column, overflow="fold")
    for spec in table_of_params.to_dict("records"):
        bounds = str(spec["options"]) or _range(spec["min"], spec["max"], str(spec["unit"]))
        name = str(spec["parameter"])
        params.add_row(name, _text(values[name]), _text(spec["default"]), escape(bounds))
    console.print(params)
    layers = Table(title="Expansion (per element unit)", box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
    for column, justify in (
        ("layer", "left"),
        ("material (data set; id)", "left"),
        ("amount", "right"),
        ("life", "right"),
    ):
        layers.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for line in lines.to_dict("records"):
        ratio = float(line["ratio"])
        label = str(line["layer"]) + (f" {line['composition']} ×{ratio:g}" if ratio != 1 else "")
        material = f"{escape(str(line['name'] or ''))} [dim]({escape(str(line['dataset_name']))})[/]"
        material += f"\n[cyan]{line['product']}[/]"
        years = line["service_life_years"]
        life = _text(years) if years is not None and years == years else str(line["service_life_category"])
        layers.add_row(label, material, f"{float(line['amount']):g} {line['unit']}", life)
    console.print(layers)
    for source in template.sources:
        console.print(f"  source: {escape(source)}", highlight=False)


def _text(value) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:g}"
    return str(value)


def _range(low, high, unit) -> str:
    if low is None or (isinstance(low, float) and math.isnan(low)):
        return unit or ""
    return f"{low:g}–{high:g} {unit}".strip()

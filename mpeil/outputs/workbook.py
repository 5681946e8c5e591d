"""A TOTEM-style Excel workbook: element → layer results beside the bill of materials that made them.

Sheets, in order:

``elements``
    one row per element: type, quantity and unit, its share of the score per stage (score units
    per m² GFA, per year if the method is) and its GWP-total over the study period;
``layers``
    one row per layer line, as TOTEM lists an element's build-up: layer, composition and ratio,
    material, data set, amount, service life and replacement years, mass, and the same results;
``bill_of_materials``
    the building exactly as mpeil reads it (:mod:`mpeil.model.bom`). Edit this sheet and score the
    workbook again: ``mpeil score results.xlsx`` reads it, so the workbook round-trips.

Values nobody declares are empty cells, never 0.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..model.passport import Component, Passport
from .result import STAGES

__all__ = ["write_workbook"]

_STAGES = list(STAGES)


def _stage_cells(component: Component, indicator: str) -> list[float | None]:
    impacts = next((i for i in component.impacts if i.indicator == indicator), None)
    return [None if impacts is None else impacts.stages.get(stage) for stage in _STAGES]


def _sum(values: list[list[float | None]]) -> list[float | None]:
    """Column sums where at least one value is declared; None (empty) where none is."""
    out: list[float | None] = []
    for column in zip(*values, strict=True):
        known = [v for v in column if v is not None]
        out.append(sum(known) if known else None)
    return out


def _layer_rows(passport: Passport) -> tuple[list[str], list[list]]:
    header = [
        "building",
        "element",
        "element type",
        "layer",
        "composition",
        "ratio",
        "material",
        "data set",
        "data set name",
        "amount",
        "unit",
        "service life (years)",
        "replacement years",
        "mass (kg)",
    ]
    header += [f"score {s}" for s in _STAGES] + [f"GWP-total {s} (kg CO2 eq.)" for s in _STAGES]
    rows = []
    for c in passport.components:
        layer = c.source_layer
        rows.append([
            passport.building["id"], c.element_id, c.element_type, c.layer, c.composition, layer.get("ratio", 1.0),
            c.material, c.dataset_id, c.dataset_name, layer["amount"], layer["unit"], c.service_life_years,
            ", ".join(f"{y:g}" for y in c.replacement_years), c.mass_kg,
            *_stage_cells(c, "score"), *_stage_cells(c, "GWP-total"),
        ])  # fmt: skip
    return header, rows


def _element_rows(passport: Passport) -> tuple[list[str], list[list]]:
    header = ["building", "element", "name", "element type", "quantity", "unit"]
    header += [f"score {s}" for s in _STAGES] + [f"GWP-total {s} (kg CO2 eq.)" for s in _STAGES]
    order: dict[str, list[Component]] = {}
    for component in passport.components:
        order.setdefault(component.element_id, []).append(component)
    rows = []
    for element_id, components in order.items():
        fields = components[0].element
        rows.append([
            passport.building["id"], element_id, fields.get("name"), components[0].element_type,
            fields["quantity"], fields.get("unit", "m2"),
            *_sum([_stage_cells(c, "score") for c in components]),
            *_sum([_stage_cells(c, "GWP-total") for c in components]),
        ])  # fmt: skip
    return header, rows


def _fill(sheet, header: list[str], rows: list[list]) -> None:
    sheet.append(header)
    for row in rows:
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text stays text, even when it starts with '=' (never a formula)
    sheet.freeze_panes = "A2"


def write_workbook(passports: Sequence[Passport], path: str | Path) -> Path:
    """Write the TOTEM-style workbook of one or more buildings' passports."""
    import openpyxl

    from ..model.passport import passport_to_building
    from ..readers import write_building

    path = Path(path)
    buildings = [passport_to_building(p) for p in passports]
    with tempfile.TemporaryDirectory() as folder:
        bom = Path(folder) / "bom.xlsx"
        write_building(buildings[0] if len(buildings) == 1 else buildings, bom)
        workbook = openpyxl.load_workbook(bom)
    for title, build in (("layers", _layer_rows), ("elements", _element_rows)):
        sheet = workbook.create_sheet(title, 0)
        header, rows = build(passports[0])
        for passport in passports[1:]:
            rows += build(passport)[1]
        _fill(sheet, header, rows)
    workbook.save(path)
    return path

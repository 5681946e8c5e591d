"""The flat bill of materials: one row per layer line (the CSV/XLSX format and the compiler's input).

Building and element columns repeat on every row; every :class:`Layer` field is a column;
``end_of_life`` is spread over ``eol_*`` columns and ``scenario`` is written ``"D=stofflich;C3=S1"``.
B6/B7 lines are rows with ``element_type`` ``"operational"``. Readers parse this table
(:mod:`mpeil.readers.buildings`); the compiler flattens buildings into it (:mod:`mpeil.compile`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from ..errors import InputError
from .building import Building, Element, Layer

__all__ = [
    "BUILDING_COLUMNS",
    "ELEMENT_COLUMNS",
    "EOL_COLUMNS",
    "LAYER_COLUMNS",
    "METADATA_COLUMN",
    "NUMERIC_COLUMNS",
    "BOM_COLUMNS",
    "OPERATIONAL_ELEMENT_TYPE",
    "bom_rows",
    "scenario_text",
]

BUILDING_COLUMNS = (
    "building_id",
    "building_name",
    "use_type",
    "gross_floor_area_m2",
    "reference_study_period_years",
    "construction_year",
    "region",
    "project_type",
)
ELEMENT_COLUMNS = ("element_id", "element_name", "element_type", "nl_sfb", "element_quantity", "element_unit")
EOL_COLUMNS = ("eol_landfill", "eol_incineration", "eol_reuse", "eol_recycling", "eol_sorted_on_site")
LAYER_COLUMNS: tuple[str, ...] = (
    "layer",
    "composition",
    "ratio",
    "product",
    "amount",
    "unit",
    "name",
    "service_life_years",
    "service_life_category",
    "transport",
    "transport_distance_km",
    "loss_rate",
    "waste_category",
    *EOL_COLUMNS,
    "scenario",
    "reused_input",
    "recycled_content",
    "existing",
    "remaining_service_life_years",
    "component_id",
    "source_component_id",
    "use_cycles",
    "use_cycle",
    "condition",
)
# a Layer field added later still gets a column (at the end), so files keep round-tripping
LAYER_COLUMNS += tuple(f for f in Layer.model_fields if f not in LAYER_COLUMNS and f != "end_of_life")
#: the numeric columns of the flat bill of materials (the readers and mpeil.validation type-check them)
NUMERIC_COLUMNS = (
    "gross_floor_area_m2",
    "reference_study_period_years",
    "construction_year",
    "element_quantity",
    "amount",
    "ratio",
    "service_life_years",
    "transport_distance_km",
    "loss_rate",
    "reused_input",
    "recycled_content",
    "remaining_service_life_years",
    "use_cycles",
    "use_cycle",
    *EOL_COLUMNS,
)
METADATA_COLUMN = "building_metadata"
#: every column of the flat bill of materials, in the order they are written
BOM_COLUMNS = BUILDING_COLUMNS + ELEMENT_COLUMNS + LAYER_COLUMNS + (METADATA_COLUMN,)
#: columns a CSV/XLSX file must have (the others may be left out: they take their defaults)
#: ``element_type`` of the rows that carry B6/B7 lines
OPERATIONAL_ELEMENT_TYPE = "operational"
_EOL_FIELD = {column: column.removeprefix("eol_") for column in EOL_COLUMNS}
_SCENARIO_PART = re.compile(r"^\s*([^=;]+?)\s*=\s*([^;]*?)\s*$")


def bom_rows(buildings: Building | Iterable[Building]) -> list[dict[str, Any]]:
    """The flat bill of materials: one dict per row, keys :data:`BOM_COLUMNS`, ``None`` = blank."""
    items = [buildings] if isinstance(buildings, Building) else list(buildings)
    rows: list[dict[str, Any]] = []
    for building in items:
        head = dict.fromkeys(BOM_COLUMNS)
        head.update(
            building_id=building.id,
            building_name=building.name,
            use_type=building.use_type.value,
            gross_floor_area_m2=building.gross_floor_area_m2,
            reference_study_period_years=building.reference_study_period_years,
            construction_year=building.construction_year,
            region=building.region,
            project_type=building.project_type,
        )
        head[METADATA_COLUMN] = json.dumps(building.metadata, ensure_ascii=False) if building.metadata else None
        for element in building.elements:
            rows.extend(_element_rows(building, element, head))
        for energy in building.operational:
            row = head.copy()
            row.update(
                element_type=OPERATIONAL_ELEMENT_TYPE,
                layer=energy.module,
                product=energy.product,
                amount=energy.amount_per_year,
                unit=energy.unit,
            )
            rows.append(row)
    return rows


def _element_rows(building: Building, element: Element, head: dict[str, Any]) -> Iterable[dict[str, Any]]:
    """The rows of one element's lines: ``head`` (the building's columns) and the element's, then the line's.

    A line's fields are read from its ``__dict__`` (every field there, the values ``model_dump``
    returns: a layer line holds text, numbers, booleans and ``None``, besides the two nested fields
    written here), so no serialiser runs per line."""
    template = head.copy()
    template.update(
        element_id=element.id,
        element_name=element.name,
        element_type=element.element_type.value,
        nl_sfb=element.nl_sfb,
        element_quantity=element.quantity,
        element_unit=element.unit,
    )
    for line in element.layers:
        row = template.copy()
        row.update(line.__dict__)
        del row["end_of_life"]  # not a column: spread over the eol_* columns
        row["scenario"] = None
        if line.end_of_life is not None:
            for column, route in _EOL_FIELD.items():
                row[column] = getattr(line.end_of_life, route)
        if line.scenario:
            row["scenario"] = scenario_text(line.scenario, building.id, element.id, line.layer)
        yield row


# ============================================================================ JSON
def scenario_text(choice: dict[str, str], building: str, element: str, layer: str | None) -> str:
    """``{"D": "stofflich"}`` → ``"D=stofflich"``; refuses what would not read back the same."""
    for module, name in choice.items():
        if (
            not _SCENARIO_PART.match(f"{module}={name}")
            or "=" in module
            or module.strip() != module
            or name.strip() != name
            or not name
        ):
            raise InputError(
                f"scenario {module!r}: {name!r} cannot be written as MODULE=NAME text "
                "(no '=' in the module, no ';' anywhere, no blank names)",
                building=building,
                element=element,
                layer=layer,
                field="scenario",
            )
    return ";".join(f"{module}={name}" for module, name in choice.items())

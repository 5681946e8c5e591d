"""Buildings → one flat table (a bill of materials), one row per layer line.

The same columns are the CSV/XLSX bill-of-materials format, so a BoM exported from BIM
or a spreadsheet and a building written by hand meet in one representation.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from ..model import Building

__all__ = ["BUILDING_COLUMNS", "ELEMENT_COLUMNS", "flatten"]

BUILDING_COLUMNS = (
    "building_id", "building_name", "use_type", "gross_floor_area_m2", "reference_study_period_years",
    "construction_year", "region", "project_type",
)
ELEMENT_COLUMNS = ("element_id", "element_name", "element_type", "nl_sfb", "element_quantity", "element_unit")


def flatten(buildings: Iterable[Building]) -> pd.DataFrame:
    """One row per layer line, with building and element columns repeated."""
    rows: list[dict] = []
    for building in buildings:
        head = {
            "building_id": building.id,
            "building_name": building.name,
            "use_type": building.use_type.value,
            "gross_floor_area_m2": building.gross_floor_area_m2,
            "reference_study_period_years": building.reference_study_period_years,
            "construction_year": building.construction_year,
            "region": building.region,
            "project_type": building.project_type,
        }
        for element in building.elements:
            element_head = {
                "element_id": element.id,
                "element_name": element.name,
                "element_type": element.element_type.value,
                "nl_sfb": element.nl_sfb,
                "element_quantity": element.quantity,
                "element_unit": element.unit,
            }
            for position, line in enumerate(element.layers):
                row = {**head, **element_head, "line": position + 1}
                row.update(line.model_dump(exclude={"end_of_life", "scenario"}))
                eol = line.end_of_life
                row.update(
                    eol_landfill=eol.landfill if eol else None,
                    eol_incineration=eol.incineration if eol else None,
                    eol_reuse=eol.reuse if eol else None,
                    eol_recycling=eol.recycling if eol else None,
                    eol_sorted_on_site=eol.sorted_on_site if eol else None,
                    scenario=";".join(f"{k}={v}" for k, v in sorted(line.scenario.items())) if line.scenario else None,
                )
                rows.append(row)
    return pd.DataFrame(rows)

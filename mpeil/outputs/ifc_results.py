"""Results back into the IFC model: a property set per element and one on the building.

``Mpeil_ElementResults`` on every scored element: ``GWP_<stage>`` (kg CO2e over the study
period) and ``Score_<stage>`` (the element's contribution to the building score, in the
score unit, e.g. mPt per m² GFA per year: elements sum to the building's stage values), the
data sets used (``DataSets``) and the method. ``Mpeil_BuildingResults`` on the IfcBuilding:
the score and GWP per stage per m² GFA per year, the GFA and how it was derived, the mapped
shares. Any IFC viewer shows property sets. ifcopenshell is imported when writing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..engine.modules import POSITION, positions
from ..errors import InputError
from ..model import Building
from .result import STAGES, Result

__all__ = ["element_stage_results", "write_results", "ELEMENT_PSET", "BUILDING_PSET", "GWP_INDICATOR"]

ELEMENT_PSET = "Mpeil_ElementResults"
BUILDING_PSET = "Mpeil_BuildingResults"
GWP_INDICATOR = "GWP-total"


def stage_key(stage: str) -> str:
    """``"end of life (C1-C4)"`` → ``"end_of_life"``: a property-name friendly stage name."""
    return stage.split(" (")[0].strip().replace(" ", "_")


def element_stage_results(result: Result) -> pd.DataFrame:
    """Element × (``GWP_<stage>`` in kg CO2e over the study period, ``Score_<stage>`` in score units)."""
    compiled = result.elements.compiled
    values = np.nan_to_num(result.elements.values)  # [element, module, indicator] over the study period
    weights = result._score_weights()  # per indicator: value → score units (the method's weighting)
    # the same denominator as Result.by_element: m² GFA (× study period when the method is per year)
    per_building = result._denominator(result.method.per_year)[compiled.element_building]
    gwp = result.indicators.index(GWP_INDICATOR) if GWP_INDICATOR in result.indicators else None
    columns: dict[str, Any] = {"building": compiled.building_ids[compiled.element_building]}
    for stage, modules in STAGES.items():
        index = positions(m for m in modules if m in POSITION)
        summed = values[:, index, :].sum(axis=1)  # [element, indicator]
        key = stage_key(stage)
        columns[f"GWP_{key}"] = summed[:, gwp] if gwp is not None else np.full(len(summed), np.nan)
        columns[f"Score_{key}"] = summed @ weights / per_building
    return pd.DataFrame(columns, index=pd.Index(compiled.element_ids, name="element"))


def _pset(model: Any, product: Any, name: str, properties: dict[str, Any]) -> None:
    import ifcopenshell.api.pset

    pset = ifcopenshell.api.pset.add_pset(model, product=product, name=name)
    clean = {k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in properties.items()}
    ifcopenshell.api.pset.edit_pset(model, pset=pset, properties={k: v for k, v in clean.items() if v == v})


def write_results(
    source: str | Path, out: str | Path, result: Result, building: Building, extra: dict[str, Any] | None = None
) -> Path:
    """Copy ``source`` to ``out`` with the result property sets added; returns ``out``.

    ``building`` is the Building that was scored (its element ids are the IFC GlobalIds);
    ``extra`` adds properties to the building set (e.g. the GFA derivation, mapped shares).
    """
    import ifcopenshell

    model = ifcopenshell.open(str(source))
    table = element_stage_results(result)
    method = result.method.name
    for element in building.elements:
        try:
            product = model.by_guid(element.id)
        except RuntimeError:
            raise InputError(f"no entity with GlobalId {element.id!r} in the model", file=str(source)) from None
        row = table.loc[element.id]
        datasets = sorted({line.product for line in element.layers})
        properties = {k: row[k] for k in table.columns if k != "building"}
        _pset(model, product, ELEMENT_PSET, {**properties, "DataSets": "; ".join(datasets), "Method": method})
    _pset(model, _ifc_building(model, source), BUILDING_PSET, _building_properties(result, building, extra))
    model.write(str(out))
    return Path(out)


def _ifc_building(model: Any, source: str | Path) -> Any:
    buildings = model.by_type("IfcBuilding")
    if not buildings:
        raise InputError("the model has no IfcBuilding to hold the results", file=str(source))
    return buildings[0]


def _building_properties(result: Result, building: Building, extra: dict[str, Any] | None) -> dict[str, Any]:
    scores = result.scores.loc[building.id].to_dict()
    stages = result.by_stage().loc[building.id].to_dict()
    properties: dict[str, Any] = {
        "Method": result.method.name,
        "Score": float(scores["score"]),
        "ScoreUnit": str(scores["score_unit"]),
        "GrossFloorArea_m2": building.gross_floor_area_m2,
    }
    for stage, value in stages.items():
        properties[f"Score_{stage_key(str(stage))}"] = float(value)
    if GWP_INDICATOR in result.indicators:
        gwp = result.by_stage(GWP_INDICATOR).loc[building.id].to_dict()
        for stage, value in gwp.items():
            properties[f"GWP_{stage_key(str(stage))}_per_m2_year"] = float(value)
    properties.update(extra or {})
    return properties

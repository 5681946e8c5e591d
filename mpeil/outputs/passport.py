"""Build a :class:`~mpeil.model.passport.Passport` from a building and the result of scoring
its line-split form (:func:`mpeil.model.passport.split_lines`)."""

from __future__ import annotations

import math

import numpy as np

from .. import __version__
from ..engine.modules import positions
from ..errors import ConversionError, InputError
from ..model.building import Building, Layer
from ..model.indicators import indicator_catalogue
from ..model.passport import Component, ComponentImpacts, Passport
from ..model.reuse import component_identity
from ..model.scenarios import ScenarioSet
from .result import STAGES, Result

__all__ = ["build_passport", "replacement_years"]


def replacement_years(
    service_life_years: float, study_period_years: float, first_after: float | None = None
) -> list[float]:
    """Years (from construction) of the replacements within the study period, EN 15978's ceil rule:
    a part of life L is replaced at L, 2L, … while that is before the end of the study period.
    A part kept in a renovation is first replaced after its remaining life ``first_after``."""
    first = service_life_years if first_after is None else first_after
    years = []
    year = first
    while year < study_period_years - 1e-9 and service_life_years > 0:
        years.append(float(year))
        year += service_life_years
    return years


def _stage_values(result: Result, element: int, indicator: int | None) -> dict[str, float | None]:
    """Per stage: the indicator over the study period, or (``indicator=None``) the component's
    contribution to the building's single score, in the score's own unit (per m² GFA, per year
    if the method is), so the components of a building sum to its score."""
    values = result.elements.values[element]  # [M, I] over the study period
    compiled = result.elements.compiled
    per_area = compiled.gross_floor_area_m2[0] * (compiled.study_period_years[0] if result.method.per_year else 1.0)
    out: dict[str, float | None] = {}
    for stage, members in STAGES.items():
        rows = values[positions(members)]
        column = rows if indicator is None else rows[:, indicator]
        if np.isnan(column).all():
            out[stage] = None
        elif indicator is None:
            out[stage] = float(np.nan_to_num(rows) @ result._score_weights() @ np.ones(len(members))) / per_area
        else:
            out[stage] = float(np.nansum(column))
    return out


def _volume_m3(library, dataset: int, quantity: float) -> float | None:
    try:
        per_m3 = library.conversion_factor(dataset, "m**3")
    except ConversionError:
        return None
    return float(quantity / per_m3) if per_m3 > 0 else None


def _component(building, element, position, layer: Layer, result, e, library, scenarios, study_period):
    compiled = result.elements.compiled
    line = int(np.flatnonzero(compiled.line_element == e)[0])
    dataset = int(compiled.dataset[line])
    row = library.datasets.iloc[dataset]
    mass = float(compiled.mass_kg[line])
    life = float(compiled.service_life_years[line])
    remaining = float(compiled.remaining_life_years[line])
    eol = None
    if layer.end_of_life is not None:
        eol = {k: v for k, v in layer.end_of_life.model_dump().items() if k != "sorted_on_site"}
    elif layer.waste_category:
        shares = scenarios.eol_shares(layer.waste_category)
        eol = dict(zip(("landfill", "incineration", "reuse", "recycling"), map(float, shares), strict=True))
    gwp = result.indicators.index("GWP-total") if "GWP-total" in result.indicators else None
    unit = result.method.score_unit + ("/(m²·yr)" if result.method.per_year else "/m²")
    impacts = [
        ComponentImpacts(
            indicator="score", unit=f"{unit}, share of the building score", stages=_stage_values(result, e, None)
        )
    ]
    if gwp is not None:
        impacts.append(
            ComponentImpacts(
                indicator="GWP-total",
                unit=indicator_catalogue()["GWP-total"].unit_label,
                stages=_stage_values(result, e, gwp),
            )
        )
    return Component(
        component_id=component_identity(building, element.id, position, layer),
        element_id=element.id,
        element_type=element.element_type.value,
        layer=layer.layer,
        composition=layer.composition,
        line=position,
        material=layer.name or (None if row.isna()["name_en"] else str(row["name_en"])),
        product=layer.product,
        dataset_id=str(row["dataset_id"]),
        ilcd_uuid=None if row.isna()["source_uuid"] else str(row["source_uuid"]),
        dataset_name=None if row.isna()["name_en"] else str(row["name_en"]),
        mass_kg=None if math.isnan(mass) else mass,
        volume_m3=_volume_m3(library, dataset, float(compiled.quantity[line])),
        service_life_years=life,
        replacement_years=[
            y + (building.construction_year or 0)
            for y in replacement_years(life, study_period, None if math.isnan(remaining) else remaining)
        ],
        end_of_life=eol,
        waste_category=layer.waste_category,
        reuse_potential=float(eol["reuse"]) if eol else 0.0,
        use_cycles=layer.use_cycles,
        condition=layer.condition,
        disassembly=layer.disassembly,
        impacts=impacts,
        element=element.model_dump(mode="json", exclude={"layers"}, exclude_defaults=True),
        source_layer=layer.model_dump(mode="json", exclude_defaults=True),
    )


def build_passport(building: Building, split_result: Result, library, scenarios: ScenarioSet) -> Passport:
    """The passport of ``building``; ``split_result`` scores ``split_lines(building)`` alone."""
    compiled = split_result.elements.compiled
    if compiled.n_buildings != 1 or compiled.element_ids.size != sum(len(e.layers) for e in building.elements):
        raise InputError("the result does not score this building's split lines", building=building.id)
    study_period = float(compiled.study_period_years[0])
    components, e = [], 0
    for element in building.elements:
        for position, layer in enumerate(element.layers, start=1):
            components.append(
                _component(building, element, position, layer, split_result, e, library, scenarios, study_period)
            )
            e += 1
    return Passport(
        building=building.model_dump(mode="json", exclude={"elements"}, exclude_defaults=True),
        method=split_result.method.name,
        study_period_years=study_period,
        library=library.name,
        library_hash=library.fingerprint(),
        engine_version=__version__,
        components=components,
    )

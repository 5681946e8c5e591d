"""Export to LCAx (the open exchange format of ocni-dtu/lcax) and a cross-check against its calculator.

Each layer line becomes an LCAx ``Product`` whose ``EPD`` carries mpeil's module values per
declared unit (declared EPD values, or the scenario-modelled ones where the EPD is silent),
with the line's quantity per element unit in that declared unit; each element becomes an
``Assembly`` with the element's quantity. lcax multiplies and sums (it models no replacements of
its own), so on a building whose service lives cover the study period its A1-A3 … D totals must
equal mpeil's; :mod:`mpeil.readers.lcax` reads such a project back into the same building.
"""

from __future__ import annotations

import datetime
from typing import Any

import numpy as np
import pandas as pd

from ..compile import CompiledBuildings
from ..engine import EngineOptions, PreparedLines, prepare_lines
from ..engine.modules import OUTPUT_MODULES, POSITION
from ..model.library import EPDLibrary
from ..model.scenarios import ScenarioSet
from ..readers.lcax import LCAX_CATEGORIES, LCAX_MODULES, LCAX_UNITS

__all__ = ["LCAX_MODULES", "LCAX_CATEGORIES", "LCAX_EXPORT_MODULES", "to_lcax"]

#: every module a product's EPD carries; B4 is not an EPD value (mpeil derives it from service lives,
#: and a re-import recomputes it), so it appears only in the results
LCAX_EXPORT_MODULES = tuple(m for m in LCAX_MODULES if m != "B4")


def _epd(lcax, library, dataset: int, epd_id: str, values: np.ndarray, codes, modules):
    impacts = {}
    for j, code in enumerate(codes):
        if code not in LCAX_CATEGORIES:
            continue
        per_module = {
            getattr(lcax.LifeCycleModule, LCAX_MODULES[m]): float(values[POSITION[m], j])
            for m in modules
            if not np.isnan(values[POSITION[m], j])
        }
        if per_module:
            impacts[getattr(lcax.ImpactCategoryKey, LCAX_CATEGORIES[code])] = lcax.ImpactCategory(per_module)
    row = library.datasets.iloc[dataset]
    mass = library.mass_per_unit(dataset)
    unit = getattr(lcax.Unit, LCAX_UNITS.get(str(row["declared_unit"]), "UNKNOWN"))
    day = datetime.date(2000, 1, 1)  # LCAx requires dates; mpeil's profiles carry none
    return lcax.EPD(
        name=str(row["name_en"] if not pd.isna(row["name_en"]) else row["dataset_id"]),
        declared_unit=unit,
        version="1",
        published_date=day,
        valid_until=day,
        standard=lcax.Standard.EN15804A2,
        location=lcax.Country.UNKNOWN,
        subtype=lcax.SubType.GENERIC,
        impacts=lcax.Impacts(impacts),
        id=epd_id,
        conversions=[lcax.Conversion(to=lcax.Unit.KG, value=float(mass))] if np.isfinite(mass) else None,
        meta_data={
            "dataset_id": str(row["dataset_id"]),
            "estimated_indicators": ",".join(_estimated(library, dataset, codes)),
        },
    )


def _estimated(library: EPDLibrary, dataset: int, codes) -> list[str]:
    """Indicators of which some module value of the data set is a peer estimate, not declared."""
    estimated = library.estimated(list(codes), OUTPUT_MODULES)[dataset].any(axis=0)
    return [code for code, flag in zip(codes, estimated, strict=True) if flag]


def _results(lcax, values: np.ndarray, codes, modules=tuple(LCAX_MODULES)):
    """``values[module, indicator]`` (over the study period) → ``lcax.Impacts``."""
    impacts = {}
    for j, code in enumerate(codes):
        if code in LCAX_CATEGORIES:
            per_module = {
                getattr(lcax.LifeCycleModule, LCAX_MODULES[m]): float(values[POSITION[m], j])
                for m in modules
                if not np.isnan(values[POSITION[m], j])
            }
            if per_module:
                impacts[getattr(lcax.ImpactCategoryKey, LCAX_CATEGORIES[code])] = lcax.ImpactCategory(per_module)
    return lcax.Impacts(impacts)


def _epd_ids(compiled, library: EPDLibrary, keys_index: np.ndarray, lines: np.ndarray) -> dict[int, str]:
    """Profile → EPD id: the data-set id, suffixed ``#<profile>`` when one data set has several
    unit profiles in the building (other transport, end of life or scenario choices)."""
    out = {}
    for dataset in np.unique(compiled.dataset[lines]):
        profiles = np.unique(keys_index[lines][compiled.dataset[lines] == dataset])
        dataset_id = str(library.datasets.at[int(dataset), "dataset_id"])
        for k in profiles:
            out[int(k)] = dataset_id if len(profiles) == 1 else f"{dataset_id}#{int(k)}"
    return out


def to_lcax(
    compiled,
    library: EPDLibrary | None = None,
    scenarios: ScenarioSet | None = None,
    options: EngineOptions | None = None,
    building: int | str = 0,
    modules: tuple[str, ...] = LCAX_EXPORT_MODULES,
    result=None,
):
    """An ``lcax.Project`` for one building (needs the optional ``lcax`` package).

    ``compiled`` is a :class:`~mpeil.outputs.result.Result` (``to_lcax(result)``: the compiled
    buildings, the library as scored, scenarios, engine options and the lines' unit profiles are
    the ones it was scored with, from the stages) or a :class:`CompiledBuildings` with library,
    scenarios and options given (the unit profiles are then prepared for it by the engine).
    ``building`` is a position or a building id.

    Assemblies are the elements (quantity and unit of the element, TOTEM type as a
    ``Classification``); products hold their amount per element unit and one EPD per unit
    profile with mpeil's module values per declared unit (declared, or scenario-modelled where the
    EPD is silent). With a Result (given as ``compiled`` or as ``result``), project and assemblies
    also carry mpeil's results for every module, and the project's ``metaData`` the single score.
    :func:`mpeil.readers.lcax.read_lcax` reads it back.
    """
    lines = None
    if result is None and not isinstance(compiled, CompiledBuildings):
        result = compiled
        lines = getattr(result, "line_profiles", None)  # the stages' unit profiles of what it scored
    compiled, library, scenarios, options = _inputs(compiled, library, scenarios, options)
    if result is not None and getattr(result, "library", None) is not None:
        # the values the result was scored with: under gap_policy "estimated" the peer estimates
        # fill undeclared cells, and each EPD names the indicators that are estimates
        library = result.library
    prepared = lines() if lines is not None else prepare_lines(compiled, library, scenarios, options)
    building = _building_position(compiled, building)
    return _project(compiled, library, options, prepared, building, modules, result)


def _inputs(source, library, scenarios, options):
    if isinstance(source, CompiledBuildings):
        if library is None or scenarios is None or options is None:
            raise TypeError("to_lcax(compiled, library, scenarios, options): all four are needed without a Result")
        return source, library, scenarios, options
    elements = getattr(source, "elements", None)  # a Result: everything it was scored with travels with it
    if elements is None or not isinstance(getattr(elements, "compiled", None), CompiledBuildings):
        raise TypeError(f"to_lcax takes a Result or CompiledBuildings, not {type(source).__name__}")
    if library is None:
        library = getattr(source, "library", None)
    if scenarios is None:
        scenarios = getattr(source, "scenarios", None)
    if library is None or scenarios is None:
        raise TypeError("this Result does not carry its library and scenarios; pass them to to_lcax")
    return elements.compiled, library, scenarios, options or elements.options


def _building_position(compiled: CompiledBuildings, building: int | str) -> int:
    if isinstance(building, str):
        ids = [str(b) for b in compiled.building_ids]
        if building not in ids:
            from ..errors import InputError

            raise InputError(f"no building {building!r} in the result; it has {ids[:5]}", field="building")
        return ids.index(building)
    return int(building)


def _project(compiled, library, options, lines: PreparedLines, building: int, modules: tuple[str, ...], result=None):
    import lcax

    keys_index, profiles = lines.profile_index, lines.profiles
    codes = [s.code for s in options.indicators]
    elements = np.flatnonzero(compiled.element_building == building)
    lines_of_building = np.flatnonzero(np.isin(compiled.line_element, elements))
    names = _epd_ids(compiled, library, keys_index, lines_of_building)
    epds: dict[int, Any] = {}
    assemblies = []
    for e in elements:
        products = []
        for line in np.flatnonzero(compiled.line_element == e):
            k = int(keys_index[line])
            if k not in epds:
                epds[k] = _epd(lcax, library, int(compiled.dataset[line]), names[k], profiles.values[k], codes, modules)
            products.append(
                lcax.Product(
                    name=f"line {int(compiled.line_number[line])}",
                    reference_service_life=round(float(compiled.service_life_years[line])),
                    impact_data=[epds[k]],
                    quantity=float(compiled.quantity[line]) / float(compiled.element_quantity[e]),
                    unit=epds[k].declared_unit,
                    id=f"{e}-{line}",
                    meta_data={"service_life_years": float(compiled.service_life_years[line])},
                )
            )
        assemblies.append(
            lcax.Assembly(
                name=str(compiled.element_names[e] or compiled.element_ids[e]),
                quantity=float(compiled.element_quantity[e]),
                unit=getattr(lcax.Unit, LCAX_UNITS[str(compiled.element_unit[e])]),
                products=products,
                id=str(compiled.element_ids[e]),
                classification=[lcax.Classification(system="TOTEM", code=str(compiled.element_types[e]), name="")],
                results=None if result is None else _results(lcax, result.elements.values[e], codes),
            )
        )
    meta: dict[str, float | str] = {"gross_floor_area_m2": float(compiled.gross_floor_area_m2[building])}
    if result is not None:
        row = result.scores.iloc[building]
        meta.update(
            {
                "mpeil_method": result.method.name,
                "mpeil_score": float(row["score"]),
                "mpeil_score_unit": str(row["score_unit"]),
            }
        )
    return lcax.Project(
        id=str(compiled.building_ids[building]),
        name=str(compiled.building_ids[building]),
        location=lcax.Location(country=lcax.Country.UNKNOWN),
        project_phase=lcax.ProjectPhase.OTHER,
        software_info=lcax.SoftwareInfo(lca_software="mpeil"),
        life_cycle_modules=[getattr(lcax.LifeCycleModule, LCAX_MODULES[m]) for m in modules],
        impact_categories=[getattr(lcax.ImpactCategoryKey, LCAX_CATEGORIES[c]) for c in codes if c in LCAX_CATEGORIES],
        assemblies=assemblies,
        reference_study_period=int(compiled.study_period_years[building]),
        results=None if result is None else _results(lcax, result._totals.values[building], codes),
        meta_data=meta,
    )

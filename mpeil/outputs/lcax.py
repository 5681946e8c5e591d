"""Export to LCAx (the open exchange format of ocni-dtu/lcax) and a cross-check against its calculator.

Each layer line becomes an LCAx ``Product`` whose ``EPD`` carries mpeil's module values per
declared unit (declared EPD values, or the scenario-modelled ones where the EPD is silent),
with the line's quantity in that declared unit; each element becomes an ``Assembly``. lcax
multiplies and sums (it models no replacements and no transport of its own), so on a building
whose service lives cover the study period its A1-A3, C and D totals must equal mpeil's.
"""

from __future__ import annotations

import datetime

import numpy as np

from ..compile import CompiledBuildings
from ..engine import EngineOptions
from ..engine.profiles import OUTPUT_MODULES, build_profiles, profile_keys
from ..model.library import EPDLibrary
from ..model.scenarios import ScenarioSet

__all__ = ["LCAX_MODULES", "LCAX_CATEGORIES", "to_lcax"]

LCAX_MODULES = {
    "A1-A3": "A1A3",
    "A4": "A4",
    "A5": "A5",
    "B1": "B1",
    "B2": "B2",
    "B3": "B3",
    "B4": "B4",
    "B5": "B5",
    "C1": "C1",
    "C2": "C2",
    "C3": "C3",
    "C4": "C4",
    "D": "D",
}
LCAX_CATEGORIES = {
    "GWP-total": "GWP",
    "GWP-fossil": "GWP_FOS",
    "GWP-biogenic": "GWP_BIO",
    "GWP-luluc": "GWP_LUL",
    "ODP": "ODP",
    "AP": "AP",
    "EP-freshwater": "EP_FW",
    "EP-marine": "EP_MAR",
    "EP-terrestrial": "EP_TER",
    "POCP": "POCP",
    "ADPE": "ADPE",
    "ADPF": "ADPF",
    "WDP": "WDP",
    "PM": "PM",
    "IRP": "IRP",
    "ETP-fw": "ETP_FW",
    "HTP-c": "HTP_C",
    "HTP-nc": "HTP_NC",
    "SQP": "SQP",
}
_UNITS = {
    "meter ** 3": "M3",
    "meter ** 2": "M2",
    "kilogram": "KG",
    "meter": "M",
    "piece": "PCS",
    "metric_ton * kilometer": "TONES_KM",
    "kilometer * metric_ton": "TONES_KM",
}


def to_lcax(
    compiled,
    library: EPDLibrary | None = None,
    scenarios: ScenarioSet | None = None,
    options: EngineOptions | None = None,
    building: int | str = 0,
    modules: tuple[str, ...] = ("A1-A3", "C1", "C2", "C3", "C4", "D"),
):
    """An ``lcax.Project`` for one building (needs the optional ``lcax`` package).

    ``compiled`` is a :class:`~mpeil.outputs.result.Result` (then library, scenarios and options
    come from it: ``to_lcax(result)``) or a :class:`CompiledBuildings` with the three given.
    ``building`` is a position or a building id.
    """
    compiled, library, scenarios, options = _inputs(compiled, library, scenarios, options)
    building = _building_position(compiled, building)
    return _project(compiled, library, scenarios, options, building, modules)


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


def _project(compiled, library, scenarios, options, building: int, modules: tuple[str, ...]):
    import lcax

    keys_index, keys = profile_keys(compiled)
    profiles = build_profiles(
        library,
        scenarios,
        keys,
        compiled,
        options,
    )
    codes = [s.code for s in options.indicators]
    today = datetime.date(2000, 1, 1)
    assemblies = []
    for e in np.flatnonzero(compiled.element_building == building):
        products = []
        for line in np.flatnonzero(compiled.line_element == e):
            values = profiles.values[keys_index[line]]
            impacts = {}
            for j, code in enumerate(codes):
                if code not in LCAX_CATEGORIES:
                    continue
                per_module = {
                    getattr(lcax.LifeCycleModule, LCAX_MODULES[m]): float(values[OUTPUT_MODULES.index(m), j])
                    for m in modules
                    if not np.isnan(values[OUTPUT_MODULES.index(m), j])
                }
                if per_module:
                    impacts[getattr(lcax.ImpactCategoryKey, LCAX_CATEGORIES[code])] = lcax.ImpactCategory(per_module)
            dataset = library.datasets.iloc[compiled.dataset[line]]
            unit = getattr(lcax.Unit, _UNITS.get(str(library.declared_unit(int(compiled.dataset[line]))), "UNKNOWN"))
            epd = lcax.EPD(
                name=str(dataset["name_en"] or dataset["dataset_id"]),
                declared_unit=unit,
                version="1",
                published_date=today,
                valid_until=today,
                standard=lcax.Standard.EN15804A2,
                location=lcax.Country.UNKNOWN,
                subtype=lcax.SubType.GENERIC,
                impacts=lcax.Impacts(impacts),
                id=str(dataset["dataset_id"]),
            )
            products.append(
                lcax.Product(
                    name=f"line {int(compiled.line_number[line])}",
                    reference_service_life=int(compiled.service_life_years[line]),
                    impact_data=[epd],
                    quantity=float(compiled.quantity[line]),
                    unit=unit,
                    id=f"{e}-{line}",
                )
            )
        assemblies.append(
            lcax.Assembly(
                name=str(compiled.element_ids[e]),
                quantity=1.0,
                unit=lcax.Unit.PCS,
                products=products,
                id=str(compiled.element_ids[e]),
            )
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
    )

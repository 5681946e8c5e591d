"""LCAx projects (the open exchange format of ocni-dtu/lcax) → mpeil buildings and a user library.

LCAx's semantics: an ``Assembly`` has a quantity in its unit (100 m² of wall); each of its
``Product``\\ s has a quantity **per assembly unit** in its own unit, and ``impactData`` holding an
``EPD`` with values per declared unit, per impact category and life-cycle module. mpeil reads:

* each assembly as an :class:`~mpeil.model.Element` (id, name, quantity and unit; the TOTEM element
  type from a ``Classification`` of system ``"TOTEM"`` when present);
* each product as a :class:`~mpeil.model.Layer` (amount = product quantity, service life from
  ``metaData["service_life_years"]`` when mpeil wrote it, else ``referenceServiceLife``);
* each embedded EPD as a data set of a user library named ``name`` (id ``<name>:<EPD id>``), its
  mass per declared unit from a ``Conversion`` to kg;
* the gross floor area from ``metaData["gross_floor_area_m2"]`` or ``projectInfo.grossFloorArea``.

A product whose impact data is not an embedded EPD (a reference, generic data), an assembly unit
mpeil does not model, or a project without a floor area is refused with a typed error.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from ..errors import ParseError
from ..model import Building, Element, Layer
from ..model.library import EPDLibrary
from .epd_common import NOTES_COLUMN, datasets_frame, values_frame

__all__ = ["LCAX_MODULES", "LCAX_CATEGORIES", "LCAX_UNITS", "read_lcax"]

#: mpeil module → LCAx life-cycle module (attribute names of ``lcax.LifeCycleModule``)
LCAX_MODULES = {
    "A1-A3": "A1A3", "A4": "A4", "A5": "A5", "B1": "B1", "B2": "B2", "B3": "B3", "B4": "B4", "B5": "B5",
    "C1": "C1", "C2": "C2", "C3": "C3", "C4": "C4", "D": "D",
}  # fmt: skip
#: catalogue indicator → LCAx impact category key (``lcax.ImpactCategoryKey``)
LCAX_CATEGORIES = {
    "GWP-total": "GWP", "GWP-fossil": "GWP_FOS", "GWP-biogenic": "GWP_BIO", "GWP-luluc": "GWP_LUL",
    "ODP": "ODP", "AP": "AP", "EP-freshwater": "EP_FW", "EP-marine": "EP_MAR", "EP-terrestrial": "EP_TER",
    "POCP": "POCP", "ADPE": "ADPE", "ADPF": "ADPF", "WDP": "WDP", "PM": "PM", "IRP": "IRP",
    "ETP-fw": "ETP_FW", "HTP-c": "HTP_C", "HTP-nc": "HTP_NC", "SQP": "SQP",
}  # fmt: skip
#: mpeil unit spelling → LCAx unit (``lcax.Unit``)
LCAX_UNITS = {"m3": "M3", "m2": "M2", "kg": "KG", "m": "M", "piece": "PCS", "t*km": "TONES_KM", "kWh": "KWH"}
_ELEMENT_UNITS = {"m2": "m2", "m": "m", "pcs": "piece"}


def _lower(enum_value) -> str:
    """``Unit.M3`` / ``"m3"`` → ``"m3"`` (lcax enums print as ``Unit.M3``)."""
    return str(enum_value).rsplit(".", 1)[-1].lower()


def _epd_rows(epd, name: str, where: dict) -> tuple[dict, list[tuple]]:
    modules = {v.lower(): k for k, v in LCAX_MODULES.items()}
    categories = {v.lower(): k for k, v in LCAX_CATEGORIES.items()}
    dataset_id = f"{name}:{epd.id}"
    unit = {v.lower(): k for k, v in LCAX_UNITS.items()}.get(_lower(epd.declared_unit))
    if unit is None:
        raise ParseError(
            f"EPD declared unit {_lower(epd.declared_unit)!r} is not supported", **where, field="declaredUnit"
        )
    rows = []
    impacts = epd.impacts.dict() if epd.impacts is not None else {}
    for category, per_module in impacts.items():
        code = categories.get(_lower(category))
        for module, value in (per_module.dict() if per_module is not None else {}).items():
            if code is None or value is None or _lower(module) not in modules:
                continue
            if not math.isfinite(float(value)):
                raise ParseError(f"value {value!r} is not finite", **where, field=f"impacts.{_lower(category)}")
            rows.append((dataset_id, modules[_lower(module)], "", code, float(value)))
    kg = next((c.value for c in epd.conversions or [] if _lower(c.to) == "kg" and c.value), math.nan)
    dataset = {
        "dataset_id": dataset_id,
        "source": name,
        "source_uuid": str(epd.id),
        "name_en": str(epd.name),
        "data_type": _lower(epd.subtype) if epd.subtype is not None else pd.NA,
        "standard": "EN 15804+A2" if "a2" in _lower(epd.standard) else "EN 15804+A1",
        "declared_amount": 1.0,
        "declared_unit": unit,
        "conversion_factor_to_kg": 1.0 / float(kg) if kg and not math.isnan(kg) and kg > 0 else math.nan,
        NOTES_COLUMN: "from an LCAx project",
    }
    return dataset, rows


def _layer(product, name: str, where: dict, epds: dict, element_unit: str) -> Layer:
    data = product.impact_data or []
    if len(data) != 1 or type(data[0]).__name__ != "EPD":
        raise ParseError("a product needs exactly one embedded EPD", **where, field="impactData")
    epd = data[0]
    if epd.id not in epds:
        epds[epd.id] = _epd_rows(epd, name, where)
    meta = product.meta_data or {}
    life = float(meta["service_life_years"]) if "service_life_years" in meta else float(product.reference_service_life)
    unit = {"pcs": "piece"}.get(_lower(product.unit), _lower(product.unit))
    if unit == "m" and element_unit == "m2":
        unit = "m/m2"  # metres per m² of element, not a layer thickness (mpeil.model.building)
    return Layer(
        product=f"{name}:{epd.id}",
        amount=float(product.quantity),
        unit=unit,
        name=str(product.name),
        service_life_years=life if life > 0 else None,
    )


def _gross_floor_area(project, where: dict) -> float:
    meta = project.meta_data or {}
    if "gross_floor_area_m2" in meta:
        return float(meta["gross_floor_area_m2"])
    info = project.project_info
    area = getattr(info, "gross_floor_area", None) if info is not None else None
    if area is not None and getattr(area, "value", None):
        return float(area.value)
    raise ParseError("the project states no gross floor area", **where, field="projectInfo.grossFloorArea")


def _element(assembly, name: str, where: dict, epds: dict) -> Element:
    where = {**where, "element": str(assembly.id)}
    unit = _ELEMENT_UNITS.get(_lower(assembly.unit))
    if unit is None:
        raise ParseError(f"assembly unit {_lower(assembly.unit)!r} is not m2, m or pcs", **where, field="unit")
    totem = next((c.code for c in assembly.classification or [] if c.system == "TOTEM"), "Other")
    layers = [_layer(p, name, {**where, "layer": str(p.id)}, epds, unit) for p in assembly.products]
    return Element(
        id=str(assembly.id),
        name=str(assembly.name),
        element_type=totem,
        quantity=float(assembly.quantity),
        unit=unit,
        layers=layers,
    )


def read_lcax(project, name: str = "lcax") -> tuple[list[Building], EPDLibrary]:
    """An ``lcax.Project`` (or a path to its JSON) → ``([building], user library)``."""
    import lcax

    where: dict = {}
    if isinstance(project, (str, Path)):
        where = {"file": str(project)}
        try:
            project = lcax.Project.loads(Path(project).read_text(encoding="utf-8"))
        except (ValueError, OSError) as exc:
            raise ParseError(f"not an LCAx project: {exc}", **where) from None
    where["building"] = str(project.id)
    epds: dict = {}
    elements = [_element(a, name, where, epds) for a in project.assemblies if type(a).__name__ == "Assembly"]
    building = Building(
        id=str(project.id),
        name=str(project.name),
        gross_floor_area_m2=_gross_floor_area(project, where),
        reference_study_period_years=float(project.reference_study_period or 0) or None,
        elements=elements,
    )
    rows = [r for _, values in epds.values() for r in values]
    library = EPDLibrary(datasets_frame([d for d, _ in epds.values()]), values_frame(rows), name=name)
    return [building], library

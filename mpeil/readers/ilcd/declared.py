"""The declared unit of an ILCD+EPD data set and its conversion properties.

The declared amount is the reference exchange's amount × the reference flow property's
``meanValue``, in the reference unit of that property's unit group: a steel EPD whose flow
has the reference flow property *Mass* with ``meanValue`` 1000 and whose exchange has
``resultingAmount`` (XML) or ``meanAmount`` 1 is declared per **1000 kg**, not per kg.

* XML: ``resultingAmount`` (else ``meanAmount``) × ``meanValue``.
* soda4LCA JSON: ``resultingflowAmount`` is already that product; it is used when it agrees
  with ``meanAmount`` × ``meanValue``. When it equals the bare ``meanAmount`` while
  ``meanValue`` is not 1 (a writer that left the product out), the product is used, with a note.

Material properties (MatML in XML, ``materialProperties`` in JSON) and the other flow
properties (mass, biogenic carbon) become the library's property columns.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field

import pandas as pd

from ...errors import ParseError, UnitError
from ...paths import data_dir
from ...units import parse_unit, unit_registry
from ..epd_common import mass_per_declared_unit, orient_kg_factor, property_notes, tidy_unit
from .cells import read_property, require_number
from .reference import ReferenceData

__all__ = ["Declared", "declared_unit", "MATERIAL_PROPERTIES"]

#: ILCD material property name → (library column, unit of that column)
MATERIAL_PROPERTIES = {
    "gross density": ("gross_density_kg_m3", "kg/m**3"),
    "bulk density": ("bulk_density_kg_m3", "kg/m**3"),
    "grammage": ("area_weight_kg_m2", "kg/m**2"),
    "layer thickness": ("layer_thickness_m", "m"),
    "productiveness": ("yield_m2", "m**2"),
    "linear density": ("linear_weight_kg_m", "kg/m"),
    "weight per unit": ("mass_per_piece_kg", "kg/piece"),
    "weight per piece": ("mass_per_piece_kg", "kg/piece"),
}
_KG_FACTOR = "conversion factor to 1 kg"
_KG_PER_DECLARED_UNIT = "conversion factor [mass/declared unit]"
# reference UUIDs of ILCD flow properties
_MASS_PROPERTY = "93a60a56-a3c8-11da-a746-0800200b9a66"
_BIOGENIC_CARBON_PROPERTY = "62e503ce-544a-4599-b2ad-bcea15a7bf20"
_BIOGENIC_CARBON_PACKAGING_PROPERTY = "262a541b-209e-44cc-a426-33bce30de7b1"
#: "grammage (kg/m^2)": EPD International writes the unit into the property name
_NAME_WITH_UNIT = re.compile(r"^(.*?)\s*\(([^()]*)\)\s*$")


@dataclass
class Declared:
    """Declared amount and unit, conversion properties, the per-kg factor, and notes."""

    amount: float
    unit: str
    props: dict[str, float] = field(default_factory=dict)
    factor: float = math.nan
    notes: list[str] = field(default_factory=list)
    lost: list[tuple[str, str]] = field(default_factory=list)  # (property, reason)


def reference_exchange(doc: dict, where: dict) -> dict:
    """The exchange of the reference flow (the declared unit)."""
    exchanges = ((doc.get("exchanges") or {}).get("exchange")) or []
    wanted = ((doc["processInformation"].get("quantitativeReference") or {}).get("referenceToReferenceFlow")) or []
    wanted_ids = {int(w) for w in (wanted if isinstance(wanted, list) else [wanted]) if str(w).strip().isdigit()}
    for exchange in exchanges:
        if exchange.get("dataSetInternalID") in wanted_ids:
            return exchange
    for exchange in exchanges:
        if exchange.get("referenceFlow"):
            return exchange
    raise ParseError("no reference flow (declared unit) in the data set", **where, field="exchanges")


def _reference_unit_text(reference: dict) -> str:
    """The reference unit as the JSON view states it, else from the shipped reference data
    (by the flow property's UUID, or its ``unitGroupUUID``)."""
    if reference.get("referenceUnit"):
        return str(reference["referenceUnit"])
    shipped = ReferenceData.shipped()
    return shipped.flow_property_unit.get(str(reference.get("uuid", "")).lower()) or shipped.unit_group_unit.get(
        str(reference.get("unitGroupUUID", "")).lower(), ""
    )


@functools.lru_cache(maxsize=1)
def _unit_spellings() -> dict[str, str]:
    """ILCD unit-group spellings of a declared unit that pint reads wrongly or not at all
    (``Stück``, ``Item(s)``, ``unit``): ``data/ilcd/declared_unit_spellings.csv``."""
    frame = pd.read_csv(data_dir() / "ilcd" / "declared_unit_spellings.csv", dtype=str, keep_default_na=False)
    return {str(s).strip().lower(): str(u).strip() for s, u in zip(frame["spelling"], frame["unit"], strict=True)}


def _reference_property(exchange: dict, where: dict) -> tuple[dict, str]:
    flow_properties = exchange.get("flowProperties") or []
    reference = next((p for p in flow_properties if p.get("referenceFlowProperty")), None)
    text = _reference_unit_text(reference) if reference is not None else ""
    if reference is None or not text:
        raise ParseError(
            "the reference flow has no reference flow property with a known unit (declared unit)",
            **where,
            field="exchanges/exchange[referenceFlow]/flowProperties",
        )
    text = _unit_spellings().get(text.strip().lower(), text)
    try:
        return reference, tidy_unit(text)
    except UnitError as exc:
        raise ParseError(f"unknown declared unit {text!r}", **where, field="flowProperties/referenceUnit") from exc


def _amount(exchange: dict, reference: dict, where: dict, notes: list[str]) -> float:
    """Declared amount = exchange amount × reference flow property ``meanValue`` (see module docs)."""
    field_ = "exchanges/exchange[referenceFlow]"
    mean_amount = require_number(exchange.get("meanAmount"), {**where, "field": f"{field_}/meanAmount"})
    xml_amount = require_number(exchange.get("resultingAmount"), {**where, "field": f"{field_}/resultingAmount"})
    product = require_number(exchange.get("resultingflowAmount"), {**where, "field": f"{field_}/resultingflowAmount"})
    mean_value = require_number(reference.get("meanValue"), {**where, "field": "flowProperties/meanValue"})
    mean_value = 1.0 if math.isnan(mean_value) else mean_value
    base = xml_amount if not math.isnan(xml_amount) else mean_amount
    computed = (1.0 if math.isnan(base) else base) * mean_value
    amount = computed
    if not math.isnan(product):
        amount = product
        if mean_value != 1.0 and math.isclose(product, base) and not math.isclose(product, computed):
            amount = computed
            notes.append(
                f"declared amount {computed:g}: resultingflowAmount {product:g} left out the reference flow "
                f"property's meanValue {mean_value:g}"
            )
    if math.isnan(amount) or amount <= 0:
        raise ParseError(f"declared amount {amount!r} is not a positive number", **where, field=f"{field_}/meanAmount")
    return amount


def _convert_property(value: float, unit_text: str, target: str) -> float:
    """Convert a material property to the column's unit; the unit text may be ILCD-style."""
    if not unit_text or unit_text.strip() in {"-", ""}:
        return value
    registry = unit_registry()
    text = unit_text.strip().replace("^", "**")
    text = re.sub(r"(?<=[a-zA-Z])([23])\b", r"**\1", text)
    try:
        return float(registry.Quantity(value, registry.parse_units(text)).to(target).magnitude)
    except Exception:  # pint raises several unrelated types
        return float(registry.Quantity(value, parse_unit(unit_text)).to(target).magnitude)


def _split_name(item: dict) -> tuple[str, str]:
    """Property name and unit; ``"grammage (kg/m^2)"`` names its unit in brackets."""
    name = str(item.get("name", "")).strip().lower()
    unit = str(item.get("unit", "") or "").strip()
    match = _NAME_WITH_UNIT.match(name)
    if match and match.group(1) in MATERIAL_PROPERTIES:
        name = match.group(1)
        if not unit or unit.lower() == str(item.get("name", "")).strip().lower():
            unit = match.group(2)
    return name, unit


def _material_properties(exchange: dict, declared: Declared) -> tuple[float, float]:
    """Fill ``declared.props`` from the material properties; return the two kg factors as written."""
    kg_factor = kg_per_unit = math.nan
    for item in exchange.get("materialProperties") or []:
        name, unit = _split_name(item)
        cell = read_property(item.get("value"))
        if cell.note:
            declared.notes.append(f"material property {name!r}: {cell.note}")
        if cell.problem:
            declared.lost.append((name, cell.problem))
            continue
        if not cell.declared:
            continue
        if name in MATERIAL_PROPERTIES:
            column, target = MATERIAL_PROPERTIES[name]
            try:
                declared.props[column] = _convert_property(cell.value, unit, target)
            except Exception:  # pint raises several unrelated types
                declared.lost.append((name, f"{cell.value:g} {unit!r}: unit not understood"))
        elif name == _KG_FACTOR:
            kg_factor = cell.value
        elif name == _KG_PER_DECLARED_UNIT.lower():
            kg_per_unit = cell.value
    return kg_factor, kg_per_unit


def _flow_properties(exchange: dict, reference: dict, declared: Declared) -> None:
    """Mass and biogenic-carbon flow properties → property columns."""
    mean_amount = read_property(exchange.get("meanAmount")).value
    mean_amount = 1.0 if math.isnan(mean_amount) else mean_amount
    flow_unit_amount = read_property(reference.get("meanValue")).value
    flow_unit_amount = flow_unit_amount if flow_unit_amount and not math.isnan(flow_unit_amount) else 1.0
    for prop in exchange.get("flowProperties") or []:
        if prop is reference:
            continue
        uuid = str(prop.get("uuid", "")).lower()
        cell = read_property(prop.get("meanValue"))
        if cell.problem:
            declared.lost.append((f"flow property {uuid}", cell.problem))
        if not cell.declared:
            continue
        if uuid == _BIOGENIC_CARBON_PROPERTY:
            declared.props["biogenic_carbon_kg"] = cell.value * mean_amount
        elif uuid == _BIOGENIC_CARBON_PACKAGING_PROPERTY:
            declared.props["biogenic_carbon_packaging_kg"] = cell.value * mean_amount
        elif uuid == _MASS_PROPERTY and cell.value > 0:
            _fill_mass(declared, cell.value / flow_unit_amount)


def _fill_mass(declared: Declared, kg_per_unit: float) -> None:
    """Turn a mass flow property into the property column of the declared unit's dimension."""
    registry = unit_registry()
    quantity = registry.Quantity(1.0, parse_unit(declared.unit))
    for column, dimension_unit in (
        ("gross_density_kg_m3", "m**3"),
        ("area_weight_kg_m2", "m**2"),
        ("linear_weight_kg_m", "m"),
        ("mass_per_piece_kg", "piece"),
    ):
        if quantity.dimensionality == registry.Quantity(1.0, dimension_unit).dimensionality:
            value = kg_per_unit / float(quantity.to(dimension_unit).magnitude)
            if column not in declared.props:
                declared.props[column] = value
                declared.notes.append(f"{column} {value:g} from the reference flow's mass property")
            return


def _kg_factor(declared: Declared, kg_factor: float, kg_per_unit: float) -> float:
    """Declared units per kg, from an explicit mass per declared unit or the oriented per-kg factor."""
    if math.isnan(kg_per_unit) or kg_per_unit <= 0:
        factor, note = orient_kg_factor(kg_factor, declared.amount, declared.unit, declared.props)
        if note:
            declared.notes.append(note)
        return factor
    mass = mass_per_declared_unit(declared.unit, declared.props)
    if not math.isnan(mass) and not math.isclose(mass, kg_per_unit, rel_tol=0.05):
        declared.notes.append(
            f"mass per declared unit {kg_per_unit:g} kg disagrees with the other properties ({mass:g} kg); not used"
        )
        return math.nan
    return 1.0 / kg_per_unit


def declared_unit(doc: dict, where: dict) -> Declared:
    """Declared amount, unit, properties (per the storage contract) and the oriented per-kg factor."""
    exchange = reference_exchange(doc, where)
    reference, unit = _reference_property(exchange, where)
    notes: list[str] = []
    declared = Declared(_amount(exchange, reference, where, notes), unit, notes=notes)
    kg_factor, kg_per_unit = _material_properties(exchange, declared)
    _flow_properties(exchange, reference, declared)
    declared.factor = _kg_factor(declared, kg_factor, kg_per_unit)
    declared.notes.extend(property_notes(declared.props))
    return declared

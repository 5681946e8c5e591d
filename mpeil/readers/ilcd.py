"""ILCD+EPD process data sets (the JSON form soda4LCA nodes serve) → the EPD library.

Point :func:`read_ilcd` at your own downloads (files or folders of ``*.json``), e.g. from
ÖKOBAUDAT (``…/resource/processes/<uuid>?format=json&view=extended``), EPD Norge or the
ECO Platform. What is read:

* identity and metadata (``dataset_id`` = ``"ilcd:<uuid>"``, names, classification, sub-type,
  compliance, location, reference year, validity, owner);
* the declared unit and amount from the reference flow (its reference flow property's unit
  and the exchange's ``resultingflowAmount``);
* material properties of the reference flow (gross density, grammage, layer thickness, …)
  and its other flow properties (mass, biogenic carbon content);
* per-module values from ``LCIAResults`` (impact indicators) and from the ``exchanges``
  (resource, waste and output flows), with their scenarios (``C3`` ``S1``, ``D``
  ``energetisch`` …).

Indicators are recognised by the reference UUID of their LCIA method / flow data set, then
by the acronym at the end of their name, with ``data/indicator_aliases.csv``; that file also
maps the ILCD unit strings (``kg CO_(2)-Äq.``, ``kg CO2 eqv.``, …) to catalogue units. +A1 and
+A2 indicator sets map to different catalogue codes (``GWP-A1`` vs ``GWP-total``).
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from ..errors import ParseError, UnitError
from ..model.indicators import indicator_catalogue
from ..model.library import MODULES, EPDLibrary
from ..paths import data_dir
from ..units import parse_unit, unit_registry
from .epd_common import (
    NOTES_COLUMN,
    datasets_frame,
    mass_per_declared_unit,
    orient_kg_factor,
    parse_number,
    property_notes,
    tidy_unit,
    values_frame,
)
from .oekobaudat import DATA_TYPES

__all__ = ["read_ilcd", "read_ilcd_frames", "IndicatorAliases", "ilcd_files"]

_ALLOWED_MODULES = set(MODULES) | {"A1", "A2", "A3"}

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

_ACRONYM = re.compile(r"\(([^()]+)\)\s*$")


class IndicatorAliases:
    """``data/indicator_aliases.csv``: ILCD reference UUIDs, acronyms and unit strings."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.by_uuid: dict[str, str] = {}
        self.by_acronym: dict[str, list[str]] = {}
        self.units: dict[tuple[str, str], str] = {}
        for row in frame.itertuples(index=False):
            kind, alias, code, unit = (
                str(row.kind).strip(),
                str(row.alias).strip(),
                str(row.code).strip(),
                str(row.unit).strip(),
            )
            if kind == "uuid":
                self.by_uuid[alias.lower()] = code
            elif kind == "acronym":
                self.by_acronym.setdefault(alias.lower(), []).append(code)
            elif kind == "unit":
                self.units[(alias, code)] = unit
            else:
                raise ParseError(f"unknown alias kind {kind!r}", field="kind")

    @classmethod
    @functools.lru_cache(maxsize=4)
    def from_csv(cls, path: Path) -> IndicatorAliases:
        return cls(pd.read_csv(path, dtype=str, keep_default_na=False))

    @classmethod
    def shipped(cls) -> IndicatorAliases:
        return cls.from_csv(data_dir() / "indicator_aliases.csv")

    def unit(self, text: str, code: str):
        """pint unit of an ILCD unit string (context ``code`` first), or None if unknown."""
        text = (text or "").strip()
        spelled = self.units.get((text, code)) or self.units.get((text, ""))
        if spelled is None:
            try:
                return parse_unit(text.replace("^", "**"))
            except UnitError:
                return None
        return parse_unit(spelled)


def ilcd_files(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    """Expand files and folders (``*.json`` inside, sorted) into a list of files."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(path.glob("*.json")))
        elif path.exists():
            files.append(path)
        else:
            raise ParseError("no such ILCD file or folder", file=str(path))
    return files


def _texts(items) -> dict[str, str]:
    """``[{"lang": "de", "value": "…"}]`` → ``{"de": "…"}`` (first per language)."""
    out: dict[str, str] = {}
    if isinstance(items, dict):
        items = [items]
    for item in items or []:
        if isinstance(item, dict) and item.get("value"):
            out.setdefault(item.get("lang", ""), str(item["value"]).strip())
    return out


def _short(ref: dict | None) -> str:
    texts = _texts((ref or {}).get("shortDescription"))
    return texts.get("en") or texts.get("de") or next(iter(texts.values()), "")


def _anies(node: dict) -> list[dict]:
    return [a for a in ((node or {}).get("other") or {}).get("anies", []) if isinstance(a, dict)]


def _unit_text(node: dict) -> str:
    for any_ in _anies(node):
        if any_.get("name") == "referenceToUnitGroupDataSet":
            return _short(any_.get("value"))
    return ""


def _category(info: dict) -> str:
    classifications = ((info.get("classificationInformation") or {}).get("classification")) or []
    if isinstance(classifications, dict):
        classifications = [classifications]
    if not classifications:
        return ""
    chosen = next((c for c in classifications if c.get("name") == "OEKOBAU.DAT"), classifications[0])
    classes = sorted(chosen.get("class") or [], key=lambda c: int(c.get("level", 0)))
    return " / ".join(str(c.get("value", "")).strip() for c in classes if c.get("value"))


def _reference_exchange(doc: dict, where: dict) -> dict:
    exchanges = ((doc.get("exchanges") or {}).get("exchange")) or []
    wanted = ((doc["processInformation"].get("quantitativeReference") or {}).get("referenceToReferenceFlow")) or []
    wanted_ids = {int(w) for w in (wanted if isinstance(wanted, list) else [wanted])}
    for exchange in exchanges:
        if exchange.get("dataSetInternalID") in wanted_ids:
            return exchange
    for exchange in exchanges:
        if exchange.get("referenceFlow"):
            return exchange
    raise ParseError("no reference flow (declared unit) in the data set", **where, field="exchanges")


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


def _declared(doc: dict, where: dict, notes: list[str]) -> tuple[float, str, dict[str, float], float]:
    """Declared amount, unit, properties (per the contract) and the oriented per-kg factor."""
    exchange = _reference_exchange(doc, where)
    flow_properties = exchange.get("flowProperties") or []
    reference = next((p for p in flow_properties if p.get("referenceFlowProperty")), None)
    if reference is None or not reference.get("referenceUnit"):
        raise ParseError(
            "the reference flow has no reference flow property (declared unit)", **where, field="exchanges"
        )
    try:
        unit = tidy_unit(str(reference["referenceUnit"]))
    except UnitError as exc:
        raise ParseError(
            f"unknown declared unit {reference['referenceUnit']!r}", **where, field="referenceUnit"
        ) from exc
    mean_amount = parse_number(exchange.get("meanAmount", 1.0), where=where)
    reference_value = parse_number(reference.get("meanValue", 1.0), where=where)
    amount = parse_number(exchange.get("resultingflowAmount"), where=where)
    if math.isnan(amount):
        amount = mean_amount * (reference_value if not math.isnan(reference_value) else 1.0)
    if math.isnan(amount) or amount <= 0:
        raise ParseError(f"declared amount {amount!r} is not a positive number", **where, field="meanAmount")

    props: dict[str, float] = {}
    kg_factor = math.nan
    kg_per_unit_explicit = math.nan
    for item in exchange.get("materialProperties") or []:
        name = str(item.get("name", "")).strip().lower()
        value = parse_number(item.get("value"), where={**where, "field": f"materialProperties {name}"})
        if math.isnan(value):
            continue
        if name in MATERIAL_PROPERTIES:
            column, target = MATERIAL_PROPERTIES[name]
            try:
                props[column] = _convert_property(value, str(item.get("unit", "")), target)
            except Exception:  # pint raises several unrelated types
                notes.append(f"material property {name!r} {value:g} {item.get('unit')!r} not used: unit not understood")
        elif name == _KG_FACTOR:
            kg_factor = value
        elif name == _KG_PER_DECLARED_UNIT.lower():
            kg_per_unit_explicit = value

    flow_unit_amount = reference_value if reference_value and not math.isnan(reference_value) else 1.0
    for prop in flow_properties:
        if prop is reference:
            continue
        uuid = str(prop.get("uuid", "")).lower()
        value = parse_number(prop.get("meanValue"), where=where)
        if math.isnan(value):
            continue
        if uuid == _BIOGENIC_CARBON_PROPERTY:
            props["biogenic_carbon_kg"] = value * mean_amount
        elif uuid == _BIOGENIC_CARBON_PACKAGING_PROPERTY:
            props["biogenic_carbon_packaging_kg"] = value * mean_amount
        elif uuid == _MASS_PROPERTY and value > 0:
            kg_per_unit = value / flow_unit_amount
            _fill_mass(props, unit, kg_per_unit, notes)

    if not math.isnan(kg_per_unit_explicit) and kg_per_unit_explicit > 0:
        factor = 1.0 / kg_per_unit_explicit
        mass = mass_per_declared_unit(unit, props)
        if not math.isnan(mass) and not math.isclose(mass, kg_per_unit_explicit, rel_tol=0.05):
            notes.append(
                f"mass per declared unit {kg_per_unit_explicit:g} kg disagrees with the other properties "
                f"({mass:g} kg); not used"
            )
            factor = math.nan
    else:
        factor, note = orient_kg_factor(kg_factor, amount, unit, props)
        if note:
            notes.append(note)
    notes.extend(property_notes(props))
    return amount, unit, props, factor


def _fill_mass(props: dict[str, float], unit: str, kg_per_unit: float, notes: list[str]) -> None:
    """Turn a mass flow property into the property column of the declared unit's dimension."""
    registry = unit_registry()
    declared = registry.Quantity(1.0, parse_unit(unit))
    for column, dimension_unit in (
        ("gross_density_kg_m3", "m**3"),
        ("area_weight_kg_m2", "m**2"),
        ("linear_weight_kg_m", "m"),
        ("mass_per_piece_kg", "piece"),
    ):
        if declared.dimensionality == registry.Quantity(1.0, dimension_unit).dimensionality:
            value = kg_per_unit / float(declared.to(dimension_unit).magnitude)
            if column not in props:
                props[column] = value
                notes.append(f"{column} {value:g} from the reference flow's mass property")
            return


def _acronym(names: dict[str, str]) -> str:
    for text in names.values():
        match = _ACRONYM.search(text)
        if match:
            return match.group(1).strip()
    return ""


def _standard(doc: dict, codes: set[str]) -> str:
    compliance = ((doc.get("modellingAndValidation") or {}).get("complianceDeclarations") or {}).get("compliance") or []
    if isinstance(compliance, dict):
        compliance = [compliance]
    texts = " ".join(_short(c.get("referenceToComplianceSystem")) for c in compliance).replace(" ", "")
    if "15804+A2" in texts:
        return "EN 15804+A2"
    if "15804+A1" in texts:
        return "EN 15804+A1"
    catalogue = indicator_catalogue()
    sets = {catalogue[c].standard for c in codes if catalogue[c].group in ("core", "additional", "impact")}
    if len(sets) == 1:
        return sets.pop()
    return ""


def _parse_one(path: Path, aliases: IndicatorAliases) -> tuple[dict, list[tuple[str, str, str, str, float]]]:
    where = {"file": str(path)}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ParseError(f"not valid JSON: {exc}", **where) from None
    return parse_ilcd_document(doc, aliases, where)


def parse_ilcd_document(
    doc: dict, aliases: IndicatorAliases, where: dict, prefix: str = "ilcd"
) -> tuple[dict, list[tuple[str, str, str, str, float]]]:
    """One ILCD+EPD process document (the soda4LCA JSON shape) → a data-set row and value rows.

    ``prefix`` names the library the data set goes into (``"<prefix>:<uuid>"``); the ILCD XML
    reader (:mod:`mpeil.readers.ilcd_xml`) builds the same shape from XML and calls this too.
    """
    if not isinstance(doc, dict) or "processInformation" not in doc:
        raise ParseError("not an ILCD process data set (no processInformation)", **where)
    info = doc["processInformation"].get("dataSetInformation") or {}
    uuid = str(info.get("UUID", "")).strip()
    if not uuid:
        raise ParseError("data set has no UUID", **where, field="UUID")
    dataset_id = f"{prefix}:{uuid}"
    notes: list[str] = []
    amount, unit, props, factor = _declared(doc, where, notes)

    catalogue = indicator_catalogue()
    registry = unit_registry()
    # first pass: which indicator each result/exchange is
    entries = []
    for kind, nodes in (
        ("LCIA", ((doc.get("LCIAResults") or {}).get("LCIAResult")) or []),
        ("exchange", ((doc.get("exchanges") or {}).get("exchange")) or []),
    ):
        for node in nodes:
            modules = [a for a in _anies(node) if "module" in a]
            if not modules:
                continue
            ref = node.get("referenceToLCIAMethodDataSet") or node.get("referenceToFlowDataSet") or {}
            names = _texts(ref.get("shortDescription"))
            entries.append((kind, str(ref.get("refObjectId", "")).lower(), names, _unit_text(node), modules))
    known = {aliases.by_uuid[e[1]] for e in entries if aliases.by_uuid.get(e[1])}
    standard = _standard(doc, known)

    rows: list[tuple[str, str, str, str, float]] = []
    skipped: list[str] = []
    for kind, ref_uuid, names, unit_text, modules in entries:
        label = names.get("en") or names.get("de") or next(iter(names.values()), ref_uuid)
        field = f"{kind} {label!r}"
        if ref_uuid in aliases.by_uuid:
            code = aliases.by_uuid[ref_uuid]
        else:
            candidates = aliases.by_acronym.get(_acronym(names).lower(), [])
            code = _choose(candidates, unit_text, standard, aliases, catalogue, registry)
        if not code:
            skipped.append(label)
            continue
        source_unit = aliases.unit(unit_text, code)
        target_unit = parse_unit(catalogue[code].unit)
        scale = 1.0
        if source_unit is None:
            if unit_text:
                raise ParseError(
                    f"unknown unit {unit_text!r} of indicator {code}; add it to data/indicator_aliases.csv",
                    **where,
                    field=field,
                )
        elif source_unit != target_unit:
            try:
                scale = float(registry.Quantity(1.0, source_unit).to(target_unit).magnitude)
            except Exception:
                if code == "EP-freshwater" and source_unit == parse_unit("kg_PO4_eq"):
                    notes.append(
                        f"EP-freshwater labelled {unit_text!r} (the EN 15804+A2:2019 misprint); "
                        "values stored as stated, as kg P eq."
                    )
                else:
                    raise ParseError(
                        f"unit {unit_text!r} does not fit indicator {code} ({catalogue[code].unit_label})",
                        **where,
                        field=field,
                    ) from None
        for any_ in modules:
            module = str(any_.get("module", "")).strip()
            value = parse_number(any_.get("value"), where={**where, "field": f"{field} {module}"})
            if math.isnan(value):
                continue  # module listed without a value: not declared
            if module not in _ALLOWED_MODULES:
                raise ParseError(f"unknown module {module!r}", **where, field=field)
            scenario = str(any_.get("scenario") or "").strip()
            rows.append((dataset_id, module, scenario, code, value * scale))
    if skipped:
        notes.append("not imported (no catalogue indicator): " + ", ".join(sorted(set(skipped))))
    if not standard:
        standard = _standard(doc, {r[3] for r in rows})

    base = _texts(info.get("name", {}).get("baseName"))
    name_de, name_en = base.get("de"), base.get("en")
    if not name_de and not name_en and base:
        lang, text = next(iter(base.items()))
        name_en = text
        notes.append(f"name given only in language {lang!r}")
    time = doc["processInformation"].get("time") or {}
    publication = (doc.get("administrativeInformation") or {}).get("publicationAndOwnership") or {}
    subtype = next(
        (
            a.get("value")
            for a in _anies((doc.get("modellingAndValidation") or {}).get("LCIMethodAndAllocation") or {})
            if a.get("name") == "subType"
        ),
        "",
    )
    location = (
        (doc["processInformation"].get("geography") or {}).get("locationOfOperationSupplyOrProduction") or {}
    ).get("location")
    url = doc.get("source") if isinstance(doc.get("source"), str) and doc["source"].startswith("http") else None
    dataset = {
        "dataset_id": dataset_id,
        "source": prefix,
        "source_uuid": uuid,
        "version": publication.get("dataSetVersion") or pd.NA,
        "name_de": name_de or pd.NA,
        "name_en": name_en or pd.NA,
        "category": _category(info) or pd.NA,
        "data_type": DATA_TYPES.get(str(subtype), subtype) or pd.NA,
        "standard": standard or pd.NA,
        "country": location or pd.NA,
        "reference_year": str(time["referenceYear"]) if time.get("referenceYear") else pd.NA,
        "valid_until": str(time["dataSetValidUntil"]) if time.get("dataSetValidUntil") else pd.NA,
        "owner": _short(publication.get("referenceToOwnershipOfDataSet")) or pd.NA,
        "url": url or pd.NA,
        "declared_amount": amount,
        "declared_unit": unit,
        **props,
        "conversion_factor_to_kg": factor,
        NOTES_COLUMN: "; ".join(notes),
    }
    return dataset, rows


def _choose(candidates, unit_text, standard, aliases, catalogue, registry) -> str:
    """Pick among catalogue codes sharing an acronym: by unit dimension, then by standard."""
    candidates = [c for c in candidates if c]
    if len(candidates) <= 1:
        return candidates[0] if candidates else ""
    fitting = []
    for code in candidates:
        unit = aliases.unit(unit_text, code)
        target = parse_unit(catalogue[code].unit)
        if unit is None:
            fitting.append(code)
            continue
        try:
            registry.Quantity(1.0, unit).to(target)
            fitting.append(code)
        except Exception:
            continue
    if len(fitting) > 1 and standard:
        fitting = [c for c in fitting if catalogue[c].standard in (standard, "both")] or fitting
    return fitting[0] if len(fitting) == 1 else ""


def read_ilcd_frames(
    paths: str | Path | Iterable[str | Path], aliases: IndicatorAliases | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read ILCD+EPD JSON files (or folders of them) into ``(datasets, values)`` frames."""
    aliases = aliases or IndicatorAliases.shipped()
    datasets, values = [], []
    for path in ilcd_files(paths):
        dataset, rows = _parse_one(path, aliases)
        datasets.append(dataset)
        values.extend(rows)
    return datasets_frame(datasets), values_frame(values)


def read_ilcd(paths: str | Path | Iterable[str | Path], aliases: IndicatorAliases | None = None) -> EPDLibrary:
    """Read ILCD+EPD JSON files (or folders of them) into an :class:`EPDLibrary` (ids ``ilcd:<uuid>``)."""
    datasets, values = read_ilcd_frames(paths, aliases)
    return EPDLibrary(datasets, values, name="ilcd")

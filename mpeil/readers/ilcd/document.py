"""One ILCD+EPD process document (the soda4LCA JSON shape; XML is turned into it) → a data set.

What is read:

* identity and metadata (``dataset_id`` = ``"<prefix>:<uuid>"``, names, classification,
  sub-type, compliance, location, reference year, validity, owner);
* the declared amount and unit, and conversion properties (:mod:`.declared`);
* per-module values from ``LCIAResults`` (impact indicators) and ``exchanges`` (resource,
  waste and output flows), with their scenarios (``C3`` ``S1``, ``D`` ``energetisch`` …).

Indicators are recognised by the reference UUID of their LCIA method / flow data set, then by
the acronym at the end of their name (:class:`.aliases.IndicatorAliases`); units by meaning.
Whatever cannot be imported is a :class:`~mpeil.readers.epd_common.Loss` of that indicator,
module or cell only: an unknown unit, a unit of another dimension, an unknown module, an
unreadable cell (``1.83+03``). *Not declared* markers (``ND``, ``MND``, ``MNA`` …) leave the
value missing and are kept as losses of kind ``"declared"``. A data set is refused (a
:class:`~mpeil.errors.ParseError` naming the file and the element) only when it has no UUID
or no usable declared unit.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import pandas as pd

from ...errors import ParseError
from ...model.indicators import indicator_catalogue
from ...model.library import MODULES
from ...units import parse_unit, unit_registry
from ..epd_common import NOTES_COLUMN, ImportedDataSet, ValueRow
from ..losses import Loss
from ..oekobaudat import DATA_TYPES
from .aliases import IndicatorAliases
from .cells import read_cell
from .declared import declared_unit
from .reference import ReferenceData

__all__ = ["read_ilcd_document", "parse_ilcd_document"]

_ALLOWED_MODULES = set(MODULES) | {"A1", "A2", "A3"}
_ACRONYM = re.compile(r"\(([^()]+)\)\s*$")


@dataclass(frozen=True)
class _Entry:
    """One LCIA result or exchange with module values."""

    kind: str  # "LCIA" | "exchange"
    path: str  # JSON path or XPath of the element
    ref_uuid: str
    names: dict[str, str]
    unit_text: str
    modules: list[dict]

    @property
    def label(self) -> str:
        return self.names.get("en") or self.names.get("de") or next(iter(self.names.values()), self.ref_uuid)


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
    """The unit an LCIA result or exchange states: its unit group reference's short description,
    else the reference unit of that unit group in the shipped ILCD+EPD reference data."""
    for any_ in _anies(node):
        if any_.get("name") == "referenceToUnitGroupDataSet":
            value = any_.get("value")
            value = value if isinstance(value, dict) else {}
            uuid = str(value.get("refObjectId") or "").lower()
            return _short(value) or ReferenceData.shipped().unit_group_unit.get(uuid, "")
    return ""


def _entries(doc: dict, xml: bool) -> list[_Entry]:
    entries = []
    for kind, parent, child in (("LCIA", "LCIAResults", "LCIAResult"), ("exchange", "exchanges", "exchange")):
        for index, node in enumerate(((doc.get(parent) or {}).get(child)) or []):
            modules = [a for a in _anies(node) if "module" in a]
            if not modules:
                continue
            ref = node.get("referenceToLCIAMethodDataSet") or node.get("referenceToFlowDataSet") or {}
            path = f"/processDataSet/{parent}/{child}[{index + 1}]" if xml else f"{parent}.{child}[{index}]"
            names = _texts(ref.get("shortDescription"))
            entries.append(
                _Entry(kind, path, str(ref.get("refObjectId", "")).lower(), names, _unit_text(node), modules)
            )
    return entries


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
    return sets.pop() if len(sets) == 1 else ""


def _fits(unit, target) -> bool:
    try:
        unit_registry().Quantity(1.0, unit).to(target)
    except Exception:  # pint raises several unrelated types
        return False
    return True


def _choose(candidates: list[str], unit_text: str, standard: str, aliases: IndicatorAliases) -> str:
    """Pick among catalogue codes sharing an acronym: by unit dimension, then by standard."""
    candidates = [c for c in candidates if c]
    if len(candidates) <= 1:
        return candidates[0] if candidates else ""
    catalogue = indicator_catalogue()
    fitting = []
    for code in candidates:
        unit = aliases.unit(unit_text, code)
        if unit is None or _fits(unit, parse_unit(catalogue[code].unit)):
            fitting.append(code)
    if len(fitting) > 1 and standard:
        fitting = [c for c in fitting if catalogue[c].standard in (standard, "both")] or fitting
    return fitting[0] if len(fitting) == 1 else ""


def _code(entry: _Entry, aliases: IndicatorAliases, standard: str) -> str:
    if entry.ref_uuid in aliases.by_uuid:
        return aliases.by_uuid[entry.ref_uuid]
    return _choose(aliases.by_acronym.get(_acronym(entry.names).lower(), []), entry.unit_text, standard, aliases)


def _scale(entry: _Entry, code: str, aliases: IndicatorAliases, notes: list[str]) -> tuple[float, str]:
    """Factor from the stated unit to the catalogue unit of ``code``; ``(NaN, reason)`` when refused."""
    catalogue = indicator_catalogue()
    target = parse_unit(catalogue[code].unit)
    source = aliases.unit(entry.unit_text, code)
    if source is None:
        if not entry.unit_text:
            return 1.0, ""  # no unit stated: the indicator's own unit (ILCD reference UUID)
        return math.nan, f"unit {entry.unit_text!r} not understood (add it with an --aliases file)"
    if source == target:
        return 1.0, ""
    if _fits(source, target):
        return float(unit_registry().Quantity(1.0, source).to(target).magnitude), ""
    conversion = aliases.conversion(code, source)
    if conversion is not None and parse_unit(conversion[0]) == target:
        notes.append(
            f"{code} stated in {entry.unit_text!r}: values × {conversion[1]:g} to {catalogue[code].unit_label}"
        )
        return conversion[1], ""
    return math.nan, f"unit {entry.unit_text!r} does not fit {code} ({catalogue[code].unit_label})"


def _values(entry: _Entry, code: str, scale: float, dataset_id: str) -> tuple[list[ValueRow], list[Loss]]:
    """Value rows of one entry, and its losses (``what`` "declared" for a *not declared* marker)."""
    rows: list[ValueRow] = []
    losses: list[Loss] = []
    for index, any_ in enumerate(entry.modules):
        module = str(any_.get("module", "")).strip().replace("–", "-").replace(" ", "")  # "A1 – A3"
        scenario = str(any_.get("scenario") or "").strip()
        item = f"{code} {module}" + (f" ({scenario})" if scenario else "")
        where = f"{entry.path}/other/amount[{index + 1}]" if entry.path.startswith("/") else f"{entry.path}.anies"
        cell = read_cell(any_.get("value"))
        if cell.marker:
            losses.append(Loss("declared", where, f"{item}: {cell.marker} (not declared)"))
        elif cell.problem:
            losses.append(Loss("value", where, f"{item}: {cell.problem}"))
        elif not cell.declared:
            continue  # module listed without a value: not declared
        elif module not in _ALLOWED_MODULES:
            losses.append(Loss("module", where, f"{item}: {module!r} is not an EN 15804 module"))
        else:
            rows.append((dataset_id, module, scenario, code, cell.value * scale))
    return rows, losses


def _identity(doc: dict, where: dict, prefix: str) -> tuple[dict, str]:
    if not isinstance(doc, dict) or not isinstance(doc.get("processInformation"), dict):
        raise ParseError("not an ILCD process data set (no processInformation)", **where)
    info = doc["processInformation"].get("dataSetInformation") or {}
    uuid = str(info.get("UUID", "")).strip()
    if not uuid:
        raise ParseError("data set has no UUID", **where, field="processInformation.dataSetInformation.UUID")
    return info, uuid


def _category(info: dict) -> str:
    classifications = ((info.get("classificationInformation") or {}).get("classification")) or []
    if isinstance(classifications, dict):
        classifications = [classifications]
    if not classifications:
        return ""
    chosen = next((c for c in classifications if c.get("name") == "OEKOBAU.DAT"), classifications[0])
    classes = sorted(chosen.get("class") or [], key=lambda c: int(c.get("level", 0)))
    return " / ".join(str(c.get("value", "")).strip() for c in classes if c.get("value"))


def _metadata(doc: dict, info: dict, notes: list[str]) -> dict:
    """Names, category, type, location, time, owner and URL of a data set."""
    base = _texts((info.get("name") or {}).get("baseName"))
    name_de, name_en = base.get("de"), base.get("en")
    if not name_de and not name_en and base:
        lang, name_en = next(iter(base.items()))
        notes.append(f"name given only in language {lang!r}")
    time = doc["processInformation"].get("time") or {}
    publication = (doc.get("administrativeInformation") or {}).get("publicationAndOwnership") or {}
    method = (doc.get("modellingAndValidation") or {}).get("LCIMethodAndAllocation") or {}
    subtype = next((a.get("value") for a in _anies(method) if a.get("name") == "subType"), "")
    geography = (doc["processInformation"].get("geography") or {}).get("locationOfOperationSupplyOrProduction") or {}
    source = doc.get("source")
    return {
        "version": publication.get("dataSetVersion") or pd.NA,
        "name_de": name_de or pd.NA,
        "name_en": name_en or pd.NA,
        "category": _category(info) or pd.NA,
        "data_type": DATA_TYPES.get(str(subtype), subtype) or pd.NA,
        "country": geography.get("location") or pd.NA,
        "reference_year": str(time["referenceYear"]) if time.get("referenceYear") else pd.NA,
        "valid_until": str(time["dataSetValidUntil"]) if time.get("dataSetValidUntil") else pd.NA,
        "owner": _short(publication.get("referenceToOwnershipOfDataSet")) or pd.NA,
        "url": source if isinstance(source, str) and source.startswith("http") else pd.NA,
    }


def _loss_notes(losses: list[Loss], not_declared: list[Loss]) -> list[str]:
    """The data set's notes on what the file does not declare and what the reader dropped."""
    markers = sorted({loss.reason.rsplit(": ", 1)[-1].split(" ")[0] for loss in not_declared})
    notes = [f"not declared ({'/'.join(markers)}): {len(not_declared)} cells"] if markers else []
    dropped = [loss.reason for loss in losses]
    if dropped:
        more = f"; … ({len(dropped)} in all)" if len(dropped) > 20 else ""
        notes.append("not imported: " + "; ".join(dropped[:20]) + more)
    return notes


def read_ilcd_document(doc: dict, aliases: IndicatorAliases, where: dict, prefix: str = "ilcd") -> ImportedDataSet:
    """One ILCD+EPD process document → its data-set row, value rows and losses.

    ``prefix`` names the library the data set goes into (``"<prefix>:<uuid>"``). Raises
    :class:`~mpeil.errors.ParseError` (naming file and element) when the data set is refused.
    """
    info, uuid = _identity(doc, where, prefix)
    dataset_id = f"{prefix}:{uuid}"
    declared = declared_unit(doc, where)
    notes = declared.notes
    losses = [
        Loss("property", "reference flow: material properties (MatML) and flow properties", f"{name}: {reason}")
        for name, reason in declared.lost
    ]
    entries = _entries(doc, xml=doc.get("_format") == "xml")
    standard = _standard(doc, {aliases.by_uuid[e.ref_uuid] for e in entries if aliases.by_uuid.get(e.ref_uuid)})
    rows: list[ValueRow] = []
    for entry in entries:
        code = _code(entry, aliases, standard)
        if not code:
            losses.append(Loss("indicator", entry.path, f"{entry.label}: no catalogue indicator"))
            continue
        scale, reason = _scale(entry, code, aliases, notes)
        if reason:
            losses.append(Loss("unit", entry.path, f"{code}: {reason}"))
            continue
        entry_rows, entry_losses = _values(entry, code, scale, dataset_id)
        rows.extend(entry_rows)
        losses.extend(entry_losses)
    dataset = {
        "dataset_id": dataset_id,
        "source": prefix,
        "source_uuid": uuid,
        **_metadata(doc, info, notes),
        "standard": standard or _standard(doc, {r[3] for r in rows}) or pd.NA,
        "declared_amount": declared.amount,
        "declared_unit": declared.unit,
        **declared.props,
        "conversion_factor_to_kg": declared.factor,
    }
    not_declared = [loss for loss in losses if loss.what == "declared"]
    losses = [loss for loss in losses if loss.what != "declared"]
    dataset[NOTES_COLUMN] = "; ".join([*notes, *_loss_notes(losses, not_declared)])
    return ImportedDataSet(dataset, rows, losses, not_declared)


def parse_ilcd_document(
    doc: dict, aliases: IndicatorAliases, where: dict, prefix: str = "ilcd"
) -> tuple[dict, list[ValueRow]]:
    """:func:`read_ilcd_document` as ``(data-set row, value rows)``; losses are in the row's notes."""
    imported = read_ilcd_document(doc, aliases, where, prefix)
    return imported.dataset, imported.rows

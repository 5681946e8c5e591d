"""openEPD JSON (the open EPD format of Building Transparency / EC3) → the EPD library.

An openEPD document declares its unit as ``{"qty": 1, "unit": "m3"}``, its mass per declared
unit as ``kg_per_declared_unit``, and its impacts per LCIA method, indicator and life-cycle
stage: ``impacts["EF 3.1"]["gwp"]["A1A2A3"] = {"mean": 250.0, "unit": "kgCO2e"}``. Which
openEPD indicator is which catalogue code, with which unit and scale, is data:
``data/openepd_indicators.csv`` (e.g. ``ep-fresh`` is stored in kg PO4 eq and scaled to kg P eq).
An indicator under a method the file does not know, or in another unit than the file names,
is refused with a :class:`~mpeil.errors.ParseError` naming the JSON path: a value is never
guessed into another unit.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd

from ..errors import ParseError, UnitError
from ..paths import data_dir
from .epd_common import NOTES_COLUMN, tidy_unit

__all__ = ["parse_openepd_document", "openepd_indicator_map", "is_openepd"]

#: openEPD stage keys → mpeil modules (A1A2A3 is the aggregate; the *_years keys are not values)
_STAGES = {
    "A1A2A3": "A1-A3",
    **{
        m: m
        for m in ("A1", "A2", "A3", "A4", "A5", "B1", "B2", "B3", "B4", "B5", "B6", "B7", "C1", "C2", "C3", "C4", "D")
    },
}
_UNIT_ALIASES = {"item": "piece", "unit": "piece", "ea": "piece", "each": "piece"}
_QUANTITY = re.compile(r"^\s*([-+0-9.eE]+)\s*(.*)$")


def is_openepd(doc: object) -> bool:
    """An openEPD document has ``declared_unit`` and ``impacts`` (and usually ``doctype``)."""
    return isinstance(doc, dict) and "impacts" in doc and "declared_unit" in doc


def openepd_indicator_map(path: Path | None = None) -> dict[tuple[str, str], tuple[str, str, float]]:
    """``(lcia_method, openepd_key) → (openepd_unit, code, scale)``; unmapped rows have code ''."""
    frame = pd.read_csv(path or data_dir() / "openepd_indicators.csv", dtype=str, keep_default_na=False)
    out: dict[tuple[str, str], tuple[str, str, float]] = {}
    for method, key, unit, code, scale in frame[
        ["lcia_method", "openepd_key", "openepd_unit", "code", "scale"]
    ].itertuples(index=False):
        out[(str(method), str(key))] = (str(unit), str(code), float(scale) if scale else math.nan)
    return out


def _amount(node, where: dict, field: str) -> tuple[float, str]:
    """``{"qty": 1, "unit": "m3"}``, ``{"mean": 2.5, "unit": "kgCO2e"}`` or ``"2.5 kgCO2e"`` → (value, unit)."""
    if isinstance(node, dict):
        value = node.get("qty", node.get("mean"))
        unit = str(node.get("unit") or "")
    elif isinstance(node, str) and (match := _QUANTITY.match(node)):
        value, unit = match.group(1), match.group(2)
    else:
        raise ParseError(f"expected an amount with a unit, got {node!r}", **where, field=field)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ParseError(f"not a number: {value!r}", **where, field=field) from None
    if not math.isfinite(number):
        raise ParseError(f"not a finite number: {value!r}", **where, field=field)
    return number, unit.strip()


def _declared(doc: dict, where: dict) -> tuple[float, str, float]:
    amount, unit_text = _amount(doc["declared_unit"], where, "declared_unit")
    if amount <= 0:
        raise ParseError(f"declared amount {amount!r} is not positive", **where, field="declared_unit.qty")
    try:
        unit = tidy_unit(_UNIT_ALIASES.get(unit_text.lower(), unit_text))
    except UnitError:
        raise ParseError(f"unknown declared unit {unit_text!r}", **where, field="declared_unit.unit") from None
    kg = math.nan
    if doc.get("kg_per_declared_unit") is not None:
        kg, kg_unit = _amount(doc["kg_per_declared_unit"], where, "kg_per_declared_unit")
        if kg_unit not in ("kg", ""):
            raise ParseError(f"kg_per_declared_unit in {kg_unit!r}, not kg", **where, field="kg_per_declared_unit")
    return amount, unit, kg


def _values(doc: dict, dataset_id: str, where: dict, mapping) -> tuple[list[tuple], list[str]]:
    rows: list[tuple[str, str, str, str, float]] = []
    skipped: list[str] = []
    impacts = doc.get("impacts") or {}
    if not isinstance(impacts, dict):
        raise ParseError("impacts is not an object", **where, field="impacts")
    for method, indicators in impacts.items():
        for key, stages in (indicators or {}).items():
            if (method, key) not in mapping:
                raise ParseError(
                    f"indicator {key!r} under LCIA method {method!r} is not in data/openepd_indicators.csv",
                    **where,
                    field=f"impacts.{method}.{key}",
                )
            unit_expected, code, scale = mapping[(method, key)]
            if not code:
                skipped.append(f"{method} {key}")
                continue
            for stage, measurement in (stages or {}).items():
                if stage not in _STAGES or measurement is None:
                    continue
                field = f"impacts.{method}.{key}.{stage}"
                value, unit = _amount(measurement, where, field)
                if unit and unit.replace(" ", "") != unit_expected:
                    raise ParseError(f"unit {unit!r} where {unit_expected!r} is expected", **where, field=field)
                rows.append((dataset_id, _STAGES[stage], "", code, value * scale))
    return rows, skipped


def parse_openepd_document(doc: dict, where: dict, prefix: str) -> tuple[dict, list[tuple]]:
    """One openEPD document → a data-set row (library contract) and value rows, ids ``<prefix>:<id>``."""
    if not is_openepd(doc):
        raise ParseError("not an openEPD document (needs declared_unit and impacts)", **where)
    identity = str(doc.get("id") or "").strip()
    if not identity:
        raise ParseError("openEPD document has no id", **where, field="id")
    dataset_id = f"{prefix}:{identity}"
    amount, unit, kg = _declared(doc, where)
    rows, skipped = _values(doc, dataset_id, where, openepd_indicator_map())
    if not rows:
        raise ParseError("no impact value this library can use", **where, field="impacts")
    codes = {r[3] for r in rows}
    standard = "EN 15804+A1" if all(c.endswith("-A1") for c in codes) else "EN 15804+A2"
    notes = ["not imported: " + ", ".join(skipped)] if skipped else []
    classes = doc.get("product_classes") or {}
    dataset = {
        "dataset_id": dataset_id,
        "source": prefix,
        "source_uuid": identity,
        "version": str(doc.get("version") or "") or pd.NA,
        "name_en": str(doc.get("name") or doc.get("product_name") or "") or pd.NA,
        "category": " / ".join(str(v) for v in classes.values()) if isinstance(classes, dict) and classes else pd.NA,
        "data_type": "specific",
        "standard": standard,
        "reference_year": str(doc.get("date_of_issue") or "")[:4] or pd.NA,
        "valid_until": str(doc.get("valid_until") or "")[:10] or pd.NA,
        "owner": str((doc.get("manufacturer") or {}).get("name") or "") or pd.NA,
        "url": str(doc.get("declaration_url") or "") or pd.NA,
        "declared_amount": amount,
        "declared_unit": unit,
        # declared units per kg (the library's convention): one declared amount weighs kg
        "conversion_factor_to_kg": amount / kg if kg > 0 else math.nan,
        NOTES_COLUMN: "; ".join(notes),
    }
    return dataset, rows


def read_openepd_file(path: Path, prefix: str) -> tuple[dict, list[tuple]]:
    """Read one openEPD JSON file."""
    where = {"file": str(path)}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ParseError(f"not valid JSON: {exc}", **where) from None
    return parse_openepd_document(doc, where, prefix)

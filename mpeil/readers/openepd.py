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

import hashlib
import json
import math
import re
from pathlib import Path

import pandas as pd

from ..errors import ParseError, UnitError
from ..paths import data_dir
from .epd_common import NOTES_COLUMN, tidy_unit
from .losses import Loss

_IMPACT_CODES = (
    "GWP-total", "GWP-fossil", "GWP-biogenic", "GWP-luluc", "ODP", "AP", "EP-freshwater", "EP-marine",
    "EP-terrestrial", "POCP", "ADPE", "ADPF", "WDP", "PM", "IRP", "ETP-fw", "HTP-c", "HTP-nc", "SQP",
    "GWP-A1", "ODP-A1", "AP-A1", "EP-A1", "POCP-A1", "ADPE-A1", "ADPF-A1",
)  # fmt: skip

__all__ = ["parse_openepd", "parse_openepd_document", "openepd_indicator_map", "is_openepd", "draft_id"]

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


#: ``doctype`` values of openEPD documents that declare impacts (openepd 8.0: ``OpenEpdDoctypes``)
_DOCTYPES = ("openepd", "openindustryepd", "opengenericestimate")


def is_openepd(doc: object) -> bool:
    """An openEPD document has ``impacts`` and ``declared_unit`` (an industry EPD may give only
    ``kg_per_declared_unit``) or an openEPD ``doctype``."""
    if not isinstance(doc, dict) or "impacts" not in doc:
        return False
    return "declared_unit" in doc or "kg_per_declared_unit" in doc or str(doc.get("doctype")).lower() in _DOCTYPES


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
    """(declared amount, unit, kg per declared amount). Without ``declared_unit`` the declared unit
    is the mass ``kg_per_declared_unit`` gives (the openEPD industry-EPD example declares only that)."""
    if doc.get("declared_unit") is None:
        if doc.get("kg_per_declared_unit") is None:
            raise ParseError("neither declared_unit nor kg_per_declared_unit", **where, field="declared_unit")
        kg, kg_unit = _amount(doc["kg_per_declared_unit"], where, "kg_per_declared_unit")
        if kg <= 0 or kg_unit not in ("kg", ""):
            raise ParseError(f"kg_per_declared_unit {kg!r} {kg_unit!r} is not a mass in kg", **where,
                             field="kg_per_declared_unit")  # fmt: skip
        return kg, "kg", kg
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


#: the two sections besides ``impacts`` that hold values per scope, each one scope set per key
_SECTIONS = ("resource_uses", "output_flows")


def _scope_rows(stages: dict, path: str, code: str, scale: float, unit_expected: str, ctx: dict) -> list[tuple]:
    """Rows of one scope set (``{"A1A2A3": {...}, "C_scenarios": [...], "ext": {...}}``)."""
    rows: list[tuple] = []
    for stage, measurement in stages.items():
        if stage == "C_scenarios":
            rows.extend(_scenario_rows(measurement, path, code, scale, unit_expected, ctx))
            continue
        if stage not in _STAGES or measurement is None:
            if stage != "ext" and not stage.endswith("_years") and measurement is not None:
                ctx["losses"].append(Loss("module", f"{path}.{stage}", "not an EN 15804 module mpeil reads"))
            continue
        value = _checked(measurement, f"{path}.{stage}", unit_expected, ctx)
        if value is not None:
            rows.append((ctx["dataset_id"], _STAGES[stage], "", code, value * scale))
    return rows


def _scenario_rows(scenarios, path: str, code: str, scale: float, unit_expected: str, ctx: dict) -> list[tuple]:
    """End-of-life scenarios (``C_scenarios``): C1-C4 and D per named scenario (the ``scenario`` column)."""
    rows: list[tuple] = []
    if scenarios is not None and not isinstance(scenarios, list):
        raise ParseError("C_scenarios is not a list", **ctx["where"], field=f"{path}.C_scenarios")
    for position, scenario in enumerate(scenarios or []):
        at = f"{path}.C_scenarios[{position}]"
        name = str(scenario.get("name") or "").strip() if isinstance(scenario, dict) else ""
        if not name:
            ctx["losses"].append(Loss("scenario", at, "an end-of-life scenario without a name"))
            continue
        for module in ("C1", "C2", "C3", "C4", "D"):
            if scenario.get(module) is None:
                continue
            value = _checked(scenario[module], f"{at}.{module}", unit_expected, ctx)
            if value is not None:
                rows.append((ctx["dataset_id"], module, name, code, value * scale))
    return rows


def _checked(measurement, field: str, unit_expected: str, ctx: dict) -> float | None:
    """A value in the expected unit, or None with a loss (another unit: never converted by guess)."""
    value, unit = _amount(measurement, ctx["where"], field)
    if unit and unit.replace(" ", "") != unit_expected:
        ctx["losses"].append(Loss("unit", field, f"in {unit!r} where {unit_expected!r} is expected: not imported"))
        return None
    return value


def _values(doc: dict, ctx: dict, mapping) -> list[tuple]:
    """Value rows of ``impacts`` (per LCIA method), ``resource_uses`` and ``output_flows``."""
    sections: list[tuple[str, str, dict]] = []  # (json path, method key of the mapping, indicators)
    impacts = doc.get("impacts") or {}
    if not isinstance(impacts, dict):
        raise ParseError("impacts is not an object", **ctx["where"], field="impacts")
    sections += [(f"impacts.{m}", str(m), ind) for m, ind in impacts.items() if m != "ext"]
    sections += [(name, name, doc.get(name) or {}) for name in _SECTIONS]
    rows: list[tuple] = []
    for path, method, indicators in sections:
        if not isinstance(indicators, dict):
            raise ParseError("not an object", **ctx["where"], field=path)
        for key, stages in indicators.items():
            if key == "ext" or stages is None:
                continue  # the spec's extension members carry no declared values
            where = f"{path}.{key}"
            if (method, key) not in mapping:
                ctx["losses"].append(Loss("indicator", where, "not in data/openepd_indicators.csv for this method"))
                continue
            unit_expected, code, scale = mapping[(method, key)]
            if not code:
                ctx["losses"].append(
                    Loss("indicator", where, "mapped to no catalogue indicator (data/openepd_indicators.csv)")
                )
                continue
            if not isinstance(stages, dict):
                raise ParseError("not an object of scopes", **ctx["where"], field=where)
            rows.extend(_scope_rows(stages, where, code, scale, unit_expected, ctx))
    return rows


def draft_id(doc: dict) -> str:
    """An id for a document without one (an openEPD draft): ``draft-`` + the first 16 hex digits of
    the SHA-256 of its canonical JSON (sorted keys), so the same content always gets the same id."""
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "draft-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def parse_openepd(doc: dict, where: dict, prefix: str) -> tuple[dict, list[tuple], list[Loss]]:
    """One openEPD document → a data-set row (library contract), value rows and what was dropped."""
    if not is_openepd(doc):
        raise ParseError("not an openEPD document (needs declared_unit and impacts)", **where)
    identity = str(doc.get("id") or "").strip()
    notes = []
    if not identity:
        identity = draft_id(doc)
        notes.append(f"no id in the document (a draft): id {identity} derived from its content")
    dataset_id = f"{prefix}:{identity}"
    amount, unit, kg = _declared(doc, where)
    if doc.get("declared_unit") is None:
        notes.append(f"no declared_unit: declared {amount:g} kg from kg_per_declared_unit")
    ctx: dict = {"where": where, "dataset_id": dataset_id, "losses": []}
    rows = _values(doc, ctx, openepd_indicator_map())
    if not rows:  # refused, naming where the first value was dropped
        losses = ctx["losses"]
        more = f" (and {len(losses) - 1} more dropped)" if len(losses) > 1 else ""
        reason = f"{losses[0].reason}{more}" if losses else "none declared"
        raise ParseError(
            f"no impact value this library can use: {reason}",
            **where,
            field=losses[0].where if losses else "impacts",
        )
    impact_codes = {r[3] for r in rows} & set(_IMPACT_CODES)
    standard = "EN 15804+A1" if impact_codes and all(c.endswith("-A1") for c in impact_codes) else "EN 15804+A2"
    classes = doc.get("product_classes") or {}
    manufacturer: dict = doc["manufacturer"] if isinstance(doc.get("manufacturer"), dict) else {}
    dataset = {
        "dataset_id": dataset_id,
        "source": prefix,
        "source_uuid": identity,
        "version": str(doc.get("version") or "") or pd.NA,
        "name_en": str(doc.get("name") or doc.get("product_name") or "") or pd.NA,
        "category": " / ".join(str(v) for v in classes.values()) if isinstance(classes, dict) and classes else pd.NA,
        "data_type": "average" if doc.get("doctype") == "openIndustryEpd" else "specific",
        "standard": standard,
        "reference_year": str(doc.get("date_of_issue") or "")[:4] or pd.NA,
        "valid_until": str(doc.get("valid_until") or "")[:10] or pd.NA,
        "owner": str(manufacturer.get("name") or "") or pd.NA,
        "url": str(doc.get("declaration_url") or "") or pd.NA,
        "declared_amount": amount,
        "declared_unit": unit,
        # declared units per kg (the library's convention): one declared amount weighs kg
        "conversion_factor_to_kg": amount / kg if kg > 0 else math.nan,
        NOTES_COLUMN: "; ".join(notes),
    }
    return dataset, rows, ctx["losses"]


def parse_openepd_document(doc: dict, where: dict, prefix: str) -> tuple[dict, list[tuple]]:
    """One openEPD document → a data-set row and value rows (what was dropped: :func:`parse_openepd`)."""
    dataset, rows, _ = parse_openepd(doc, where, prefix)
    return dataset, rows


def read_openepd_file(path: Path, prefix: str) -> tuple[dict, list[tuple]]:
    """Read one openEPD JSON file."""
    where = {"file": str(path)}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ParseError(f"not valid JSON: {exc}", **where) from None
    return parse_openepd_document(doc, where, prefix)

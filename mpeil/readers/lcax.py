"""LCAx projects (the open exchange format of ocni-dtu/lcax), 2.x and 3.x → mpeil buildings and data sets.

The project JSON is read as JSON (not through ``lcax.Project.loads``, which reads only the
version of the installed package and answers an older file with an untyped ``TypeError``).
Both published layouts are read:

* **3.x** (3.8 is current): ``assemblies`` and ``products`` are lists of objects with
  ``"type": "assembly"`` / ``"product"``; ``impactData`` is a list of ``{"type": "EPD" | "GenericData"}``;
  stages are ``lifeCycleModules``;
* **2.x**: ``assemblies`` and ``products`` are objects keyed by id with ``"type": "actual"``;
  ``impactData`` is one object; stages are ``lifeCycleStages``.

LCAx's semantics: an assembly has a quantity in its unit (100 m² of wall); each product has a
quantity **per assembly unit** in its own unit and impact data with values per declared unit, per
impact category and life-cycle module. mpeil reads each assembly as an
:class:`~mpeil.model.Element` and each product as a :class:`~mpeil.model.Layer`; the EPDs become
data sets. Rules where LCAx leaves a choice (each also reported as a :class:`~mpeil.readers.epd_import.Loss`):

* **several EPDs in one product** (``impactData`` list): LCAx's own calculation
  (``modules/calculation/src/calculate.rs``, ``calculate_product``) walks the list and, per module,
  each entry overwrites the previous one, so the **last** entry is the one LCAx scores. mpeil uses
  the last entry and names the others as dropped;
* a product **without** impact data, with a reference instead of embedded data, declaring only
  operational energy (B6/B7, outside the M-peil), or in a unit its EPD cannot be converted to
  (LCAx converts only through the EPD's ``conversions``; mpeil also through a ``to: kg`` conversion
  when the product is in kg) is dropped and reported; an assembly left without products is dropped;
* a ``{"to": "kg", "value": v}`` conversion is read as v kg per declared unit, so a product in kg
  divides by it (LCAx's ``calculate_product`` multiplies by the value, which gives 818 × 0.5 × 7850
  for 0.5 kg of steel at 818 kg CO2e/m³ and 7850 kg/m³; mpeil keeps the physical 818 × 0.5 / 7850);
* an EPD's standard ``en15804a1`` maps its impact keys to the EN 15804+A1 indicators (GWP-A1, …),
  anything else to EN 15804+A2; impact keys LCAx has but the catalogue has not are reported.

Every error is a :class:`~mpeil.errors.ParseError` naming the file and the JSON path
(``field="assemblies[3].products[0].impactData[1].declaredUnit"``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from ..errors import ParseError
from ..model import Building, Element, Layer
from ..model.building import InlineDataset
from ..model.library import EPDLibrary
from .epd_common import NOTES_COLUMN, datasets_frame, values_frame
from .losses import Loss

__all__ = [
    "LCAX_MODULES",
    "LCAX_CATEGORIES",
    "LCAX_UNITS",
    "LCAxRead",
    "is_lcax_project",
    "lcax_version",
    "read_lcax",
    "read_lcax_project",
    "read_lcax_epd",
    "is_lcax_epd",
    "lcax_buildings",
]

#: mpeil module → LCAx life-cycle module (attribute names of ``lcax.LifeCycleModule``)
LCAX_MODULES = {
    "A1-A3": "A1A3", "A4": "A4", "A5": "A5", "B1": "B1", "B2": "B2", "B3": "B3", "B4": "B4", "B5": "B5",
    "C1": "C1", "C2": "C2", "C3": "C3", "C4": "C4", "D": "D",
}  # fmt: skip
#: catalogue indicator → LCAx impact category key (``lcax.ImpactCategoryKey``), EN 15804+A2
LCAX_CATEGORIES = {
    "GWP-total": "GWP", "GWP-fossil": "GWP_FOS", "GWP-biogenic": "GWP_BIO", "GWP-luluc": "GWP_LUL",
    "ODP": "ODP", "AP": "AP", "EP-freshwater": "EP_FW", "EP-marine": "EP_MAR", "EP-terrestrial": "EP_TER",
    "POCP": "POCP", "ADPE": "ADPE", "ADPF": "ADPF", "WDP": "WDP", "PM": "PM", "IRP": "IRP",
    "ETP-fw": "ETP_FW", "HTP-c": "HTP_C", "HTP-nc": "HTP_NC", "SQP": "SQP",
}  # fmt: skip
#: LCAx impact keys that name the same indicator under either standard (resource use, waste, outputs)
_BOTH_STANDARDS = {
    "pere": "PERE", "perm": "PERM", "pert": "PERT", "penre": "PENRE", "penrm": "PENRM", "penrt": "PENRT",
    "sm": "SM", "rsf": "RSF", "nrsf": "NRSF", "fw": "FW", "hwd": "HWD", "nhwd": "NHWD", "rwd": "RWD",
    "cru": "CRU", "mfr": "MFR", "mrf": "MFR", "mer": "MER", "eee": "EEE", "eet": "EET",
}  # fmt: skip
#: LCAx impact key → EN 15804+A1 indicator (an ``en15804a1`` EPD's ``gwp`` is the A1 GWP)
_A1_CATEGORIES = {
    "gwp": "GWP-A1", "odp": "ODP-A1", "ap": "AP-A1", "ep": "EP-A1", "pocp": "POCP-A1",
    "adpe": "ADPE-A1", "adpf": "ADPF-A1",
}  # fmt: skip
#: mpeil unit spelling → LCAx unit (``lcax.Unit``)
LCAX_UNITS = {"m3": "M3", "m2": "M2", "kg": "KG", "m": "M", "piece": "PCS", "t*km": "TONES_KM", "kWh": "KWH"}
_UNITS_IN = {"m3": "m3", "m2": "m2", "kg": "kg", "m": "m", "pcs": "piece", "tones_km": "t*km", "kwh": "kWh"}
_ELEMENT_UNITS = {"m2": "m2", "m": "m", "pcs": "piece"}
_OPERATIONAL = {"b6", "b7"}
#: impact data ``type`` values that carry their values in the file (2.x ``actual``, 3.x ``EPD``/``GenericData``)
_EMBEDDED = ("epd", "genericdata", "actual")
#: losses named one per line when a project is scored; the rest are counted
_LOSSES_SHOWN = 5
#: the mass property of a data set per declared unit (what an LCAx ``to: kg`` conversion gives)
_MASS_PROPERTY = {
    "m3": "gross_density_kg_m3",
    "m2": "area_weight_kg_m2",
    "m": "linear_weight_kg_m",
    "piece": "mass_per_piece_kg",
}


@dataclass
class LCAxRead:
    """One LCAx project read: its building, its data sets (``(row, values)`` by EPD id), what was dropped."""

    building: Building
    datasets: dict[str, tuple[dict, list[tuple]]]
    losses: list = field(default_factory=list)  # list[epd_import.Loss]
    version: str = ""


def _text(value: Any) -> str:
    """``Unit.M3`` / ``"M3"`` / ``"m3"`` → ``"m3"``."""
    return str(value).rsplit(".", 1)[-1].strip().lower()


def lcax_version(doc: Any) -> str:
    """The project's ``formatVersion`` (``format_version`` before 1.0), ``""`` when absent."""
    if not isinstance(doc, dict):
        return ""
    return str(doc.get("formatVersion") or doc.get("format_version") or "")


def is_lcax_project(doc: Any) -> bool:
    """An LCAx project: a JSON object with ``assemblies`` (or pre-1.0 ``emission_parts``) and a format version."""
    if not isinstance(doc, dict) or not lcax_version(doc):
        return False
    return "assemblies" in doc or "emission_parts" in doc


def _items(container: Any, path: str, where: dict) -> list[tuple[str, dict]]:
    """``(json path, object)`` of a 3.x list or a 2.x id-keyed object."""
    if container is None:
        return []
    if isinstance(container, list):
        pairs = [(f"{path}[{i}]", item) for i, item in enumerate(container)]
    elif isinstance(container, dict):
        pairs = [(f"{path}.{key}", item) for key, item in container.items()]
    else:
        raise ParseError(f"expected a list or an object, got {type(container).__name__}", **where, field=path)
    for at, item in pairs:
        if not isinstance(item, dict):
            raise ParseError(f"expected an object, got {type(item).__name__}", **where, field=at)
    return pairs


def _number(node: dict, key: str, where: dict, path: str, *, positive: bool = False) -> float:
    value = node.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise ParseError(f"{key} is not a finite number: {value!r}", **where, field=f"{path}.{key}")
    if positive and float(value) <= 0:
        raise ParseError(f"{key} {value!r} is not positive", **where, field=f"{path}.{key}")
    return float(value)


def _embedded(node: dict) -> bool:
    """An embedded EPD or generic data set (2.x ``"actual"`` with impacts; 3.x ``"EPD"``/``"GenericData"``)."""
    kind = _text(node.get("type", ""))
    return kind in _EMBEDDED and isinstance(node.get("impacts"), dict)


def _indicator(key: str, a1: bool) -> str | None:
    key = _text(key)
    if a1 and key in _A1_CATEGORIES:
        return _A1_CATEGORIES[key]
    if key in _BOTH_STANDARDS:
        return _BOTH_STANDARDS[key]
    if a1:
        return None
    return {v.lower(): k for k, v in LCAX_CATEGORIES.items()}.get(key)


def _join(path: str, member: str) -> str:
    """``path.member``, or ``member`` at the document's root (a standalone EPD file)."""
    return f"{path}.{member}" if path else member


def _epd_values(epd: dict, dataset_id: str, where: dict, path: str, losses: list) -> list[tuple]:
    a1 = _text(epd.get("standard") or "") == "en15804a1"
    modules = {v.lower(): k for k, v in LCAX_MODULES.items()}
    rows = []
    for key, per_module in epd["impacts"].items():
        if per_module is not None and not isinstance(per_module, dict):
            raise ParseError("expected an object of modules", **where, field=_join(path, f"impacts.{key}"))
        code = _indicator(key, a1)
        if code is None:
            losses.append(Loss("indicator", _join(path, f"impacts.{key}"), "no catalogue indicator of that name"))
            continue
        for module, value in (per_module or {}).items():
            if value is None:
                continue  # not declared
            if _text(module) not in modules:
                if _text(module) not in _OPERATIONAL:
                    losses.append(
                        Loss("module", _join(path, f"impacts.{key}.{module}"), "not an EN 15804 module mpeil reads")
                    )
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
                raise ParseError(
                    f"not a finite number: {value!r}", **where, field=_join(path, f"impacts.{key}.{module}")
                )
            rows.append((dataset_id, modules[_text(module)], "", code, float(value)))
    return rows


def _dataset(epd: dict, prefix: str, where: dict, path: str, losses: list) -> tuple[dict, list[tuple]]:
    epd_id = str(epd.get("id") or "").strip()
    if not epd_id:
        raise ParseError("impact data without an id", **where, field=_join(path, "id"))
    unit = _UNITS_IN.get(_text(epd.get("declaredUnit") or ""))
    if unit is None:
        raise ParseError(
            f"declared unit {epd.get('declaredUnit')!r} is not one mpeil reads",
            **where,
            field=_join(path, "declaredUnit"),
        )
    dataset_id = f"{prefix}:{epd_id}"
    kg = _kg_conversion(epd)
    standard = _text(epd.get("standard") or "")
    source: dict = epd["source"] if isinstance(epd.get("source"), dict) else {}
    row = {
        "dataset_id": dataset_id,
        "source": prefix,
        "source_uuid": epd_id,
        "name_en": str(epd.get("name") or "") or pd.NA,
        "data_type": _text(epd.get("subtype")) if epd.get("subtype") else pd.NA,
        "standard": "EN 15804+A1" if standard == "en15804a1" else "EN 15804+A2",
        "version": str(epd.get("version") or "") or pd.NA,
        "valid_until": str(epd.get("validUntil") or "")[:10] or pd.NA,
        "url": str(source.get("url") or "") or pd.NA,
        "declared_amount": 1.0,
        "declared_unit": unit,
        # declared units per kg: an LCAx conversion ``to: kg`` gives kg per declared unit
        "conversion_factor_to_kg": 1.0 / kg if kg > 0 else math.nan,
        NOTES_COLUMN: f"from an LCAx project ({source.get('name') or 'no source named'!s})",
    }
    if unit in _MASS_PROPERTY and kg > 0:
        row[_MASS_PROPERTY[unit]] = kg
    return row, _epd_values(epd, dataset_id, where, path, losses)


def _kg_conversion(epd: dict) -> float:
    """kg per declared unit from the EPD's ``conversions`` (``{"to": "kg", "value": …}``); NaN if none."""
    if _text(epd.get("declaredUnit") or "") == "kg":
        return 1.0
    conversions = epd.get("conversions")
    for conversion in conversions if isinstance(conversions, list) else []:
        if isinstance(conversion, dict) and _text(conversion.get("to") or "") == "kg":
            value = conversion.get("value")
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
                return float(value)
    return math.nan


def _choose(product: dict, path: str, where: dict, losses: list) -> tuple[str, dict] | None:
    """The impact data LCAx scores for the product (the last entry, see the module docstring)."""
    data = product.get("impactData")
    if isinstance(data, dict):  # 2.x: one object
        entries = [(f"{path}.impactData", data)]
    else:
        entries = _items(data, f"{path}.impactData", where)
    name = str(product.get("name") or product.get("id") or "")
    if not entries:
        losses.append(Loss("product", path, f"product {name!r} has no impact data: not scored"))
        return None
    at, chosen = entries[-1]
    if len(entries) > 1:
        others = ", ".join(str(e.get("name") or e.get("id")) for _, e in entries[:-1])
        losses.append(
            Loss("impact data", f"{path}.impactData", f"{len(entries)} entries; the last ({chosen.get('name')!s}) is "
                 f"used, as LCAx's own calculation does; not used: {others}")
        )  # fmt: skip
    impacts = chosen.get("impacts")
    if _text(chosen.get("type", "")) in _EMBEDDED and impacts is not None and not isinstance(impacts, dict):
        raise ParseError("impacts is not an object", **where, field=f"{at}.impacts")
    if not _embedded(chosen):
        losses.append(Loss("product", at, f"impact data of type {chosen.get('type')!r} is not embedded: not scored"))
        return None
    return at, chosen


def _layer(product: dict, path: str, ctx: _Context, element_unit: str) -> Layer | None:
    choice = _choose(product, path, ctx.where, ctx.losses)
    if choice is None:
        return None
    at, epd = choice
    row, values = ctx.datasets.get(str(epd.get("id"))) or _dataset(epd, ctx.prefix, ctx.where, at, ctx.losses)
    if not values:
        ctx.losses.append(
            Loss("product", path, f"its impact data {row['name_en']!s} has no EN 15804 value mpeil reads")
        )
        return None
    ctx.datasets[str(epd.get("id"))] = (row, values)
    unit = _UNITS_IN.get(_text(product.get("unit") or ""))
    if unit is None:
        raise ParseError(
            f"product unit {product.get('unit')!r} is not one mpeil reads", **ctx.where, field=f"{path}.unit"
        )
    if unit != row["declared_unit"] and not (unit == "kg" and row["conversion_factor_to_kg"] > 0):
        ctx.losses.append(
            Loss("unit", f"{path}.unit", f"product in {unit}, its EPD per {row['declared_unit']} with no conversion "
                 "between them (LCAx could not compute it either): not scored")
        )  # fmt: skip
        return None
    meta = product.get("metaData")
    if isinstance(meta, dict) and meta.get("service_life_years") is not None:  # written by mpeil's export
        life = _number(meta, "service_life_years", ctx.where, f"{path}.metaData")
    elif product.get("referenceServiceLife") is not None:
        life = _number(product, "referenceServiceLife", ctx.where, path)
    else:
        life = 0.0
    if unit == "m" and element_unit == "m2":
        unit = "m/m2"  # metres per m² of element, not a layer thickness (mpeil.model.building)
    return _model(
        Layer,
        ctx.where,
        path,
        product=f"{ctx.reference_prefix}:{row['source_uuid']}",
        amount=_number(product, "quantity", ctx.where, path),
        unit=unit,
        name=str(product.get("name") or "") or None,
        service_life_years=life if life > 0 else None,
    )


def _model(cls, where: dict, path: str, **fields):
    """``cls(**fields)``; a value the model refuses is a :class:`ParseError` naming the JSON path."""
    try:
        return cls(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        at = ".".join(str(p) for p in first.get("loc", ()))
        raise ParseError(f"{cls.__name__} {at}: {first.get('msg')}", **where, field=path) from None


@dataclass
class _Context:
    where: dict
    prefix: str  # data-set id prefix in the returned library
    reference_prefix: str  # what layers reference (``prefix``, or ``inline`` for a building file)
    datasets: dict = field(default_factory=dict)
    losses: list = field(default_factory=list)


def _element(assembly: dict, path: str, ctx: _Context) -> Element | None:
    where = {**ctx.where, "element": str(assembly.get("id") or path)}
    unit = _ELEMENT_UNITS.get(_text(assembly.get("unit") or ""))
    if unit is None:
        raise ParseError(f"assembly unit {assembly.get('unit')!r} is not m2, m or pcs", **where, field=f"{path}.unit")
    totem = next(
        (
            c.get("code")
            for c in _list(assembly.get("classification"))
            if isinstance(c, dict) and c.get("system") == "TOTEM"
        ),
        "Other",
    )
    inner = _Context(where, ctx.prefix, ctx.reference_prefix, ctx.datasets, ctx.losses)
    layers = []
    for at, product in _items(assembly.get("products"), f"{path}.products", where):
        if _operational_only(product):
            ctx.losses.append(Loss("product", at, f"{product.get('name')!s}: operational energy (B6/B7) is outside "
                                   "the M-peil: not scored"))  # fmt: skip
            continue
        layer = _layer(product, at, inner, unit)
        if layer is not None:
            layers.append(layer)
    if not layers:
        ctx.losses.append(Loss("assembly", path, f"{assembly.get('name')!s}: no product left to score"))
        return None
    quantity = _number(assembly, "quantity", where, path, positive=True)
    return _model(Element, where, path, id=str(assembly.get("id")), name=str(assembly.get("name") or "") or None,
                  element_type=totem, quantity=quantity, unit=unit, layers=layers)  # fmt: skip


def _operational_only(product: dict) -> bool:
    data = product.get("impactData")
    entries = [data] if isinstance(data, dict) else [e for e in _list(data) if isinstance(e, dict)]
    impacts: list[dict] = [e["impacts"] for e in entries if isinstance(e.get("impacts"), dict)]
    modules = {_text(m) for i in impacts for per in i.values() if isinstance(per, dict) for m in per}
    return bool(modules) and modules <= _OPERATIONAL


def _list(value: Any) -> list:
    """``value`` when it is a list, else empty (the caller reads a list member leniently)."""
    return value if isinstance(value, list) else []


def _gross_floor_area(doc: dict, where: dict) -> float:
    meta = doc.get("metaData") or {}
    if isinstance(meta, dict) and meta.get("gross_floor_area_m2") is not None:
        return _number(meta, "gross_floor_area_m2", where, "metaData", positive=True)
    info = doc.get("projectInfo") or {}
    area = info.get("grossFloorArea") if isinstance(info, dict) else None
    if isinstance(area, dict) and isinstance(area.get("value"), (int, float)) and area["value"] > 0:
        if _text(area.get("unit") or "m2") != "m2":
            raise ParseError(f"gross floor area in {area.get('unit')!r}, not m2", **where,
                             field="projectInfo.grossFloorArea.unit")  # fmt: skip
        return float(area["value"])
    raise ParseError(
        "the project states no gross floor area: give it in projectInfo.grossFloorArea "
        '({"value": …, "unit": "m2"}) or metaData.gross_floor_area_m2',
        **where,
        field="projectInfo.grossFloorArea",
    )


def _check_version(doc: dict, where: dict) -> str:
    version = lcax_version(doc)
    major = version.split(".", 1)[0]
    if major not in ("2", "3"):
        raise ParseError(
            f"LCAx format version {version or '(none)'} is not read: mpeil reads LCAx 2.x and 3.x projects",
            **where,
            field="formatVersion",
        )
    if not isinstance(doc.get("assemblies"), (list, dict)):
        raise ParseError("an LCAx project needs assemblies (a list in 3.x, an object in 2.x)", **where,
                         field="assemblies")  # fmt: skip
    return version


def read_lcax_project(doc: dict, *, file: str | None = None, name: str = "lcax", inline: bool = False) -> LCAxRead:
    """A parsed LCAx project (2.x or 3.x JSON) → :class:`LCAxRead`.

    ``inline``: the building carries its data sets (``datasets``, referenced as ``inline:<EPD id>``),
    so a building file scores on its own; otherwise its layers reference ``<name>:<EPD id>``.
    """
    where: dict = {"file": file} if file else {}
    if not isinstance(doc, dict):
        raise ParseError("an LCAx project is a JSON object", **where)
    version = _check_version(doc, where)
    where["building"] = str(doc.get("id") or "")
    ctx = _Context(where, name, "inline" if inline else name)
    elements = []
    for at, assembly in _items(doc["assemblies"], "assemblies", where):
        if _text(assembly.get("type", "")) not in ("assembly", "actual"):
            ctx.losses.append(Loss("assembly", at, f"of type {assembly.get('type')!r} (a reference): not read"))
            continue
        element = _element(assembly, at, ctx)
        if element is not None:
            elements.append(element)
    if not elements:
        first = f"; first: {ctx.losses[0]}" if ctx.losses else ""
        raise ParseError(
            f"no assembly with a product mpeil can score ({len(ctx.losses)} things dropped{first})",
            **where,
            field="assemblies",
        )
    period = doc.get("referenceStudyPeriod")
    limit = next(int(m.max_length) for m in Building.model_fields["datasets"].metadata if hasattr(m, "max_length"))
    if inline and len(ctx.datasets) > limit:
        raise ParseError(
            f"{len(ctx.datasets)} EPDs, more than a building file carries ({limit}): import them with "
            "`mpeil epd import` and score with --library",
            **where,
            field="assemblies",
        )
    building = _model(
        Building,
        where,
        "(project)",
        id=str(doc.get("id") or "lcax"),
        name=str(doc.get("name") or "") or None,
        gross_floor_area_m2=_gross_floor_area(doc, where),
        reference_study_period_years=float(period) if isinstance(period, (int, float)) and period > 0 else None,
        elements=elements,
        metadata={"source": f"LCAx {version}"},
        datasets=[_inline(row, values, where) for row, values in ctx.datasets.values()] if inline else [],
    )
    return LCAxRead(building, ctx.datasets, ctx.losses, version)


def _inline(row: dict, values: list[tuple], where: dict) -> InlineDataset:
    per_module: dict[str, dict[str, float]] = {}
    for _, module, _, code, value in values:
        per_module.setdefault(module, {})[code] = value
    props = {p: row[p] for p in _MASS_PROPERTY.values() if p in row}
    return _model(
        InlineDataset,
        where,
        f"impactData {row['source_uuid']!s}",
        id=str(row["source_uuid"]),
        name=str(row["name_en"]) if row["name_en"] is not pd.NA else str(row["source_uuid"]),
        declared_unit=str(row["declared_unit"]),
        source=None if row["url"] is pd.NA else str(row["url"]),
        values=per_module,
        **props,
    )


def is_lcax_epd(doc: Any) -> bool:
    """A standalone LCAx EPD document: ``formatVersion``, ``declaredUnit`` and ``impacts``, no assemblies."""
    return (
        isinstance(doc, dict)
        and bool(lcax_version(doc))
        and "declaredUnit" in doc
        and isinstance(doc.get("impacts"), dict)
        and "assemblies" not in doc
    )


def read_lcax_epd(doc: dict, *, file: str | None = None, name: str = "lcax") -> tuple[dict, list[tuple], list[Loss]]:
    """A standalone LCAx EPD (2.x/3.x) → ``(data-set row, value rows, losses)``, id ``<name>:<id>``."""
    where: dict = {"file": file} if file else {}
    losses: list[Loss] = []
    row, values = _dataset(doc, name, where, "", losses)
    if not values:
        raise ParseError("no EN 15804 value mpeil reads", **where, field="impacts")
    return row, values, losses


def _load(project: Any, where: dict) -> dict:
    if isinstance(project, dict):
        return project
    if isinstance(project, (str, Path)):
        data = Path(project).read_bytes()
        if data.startswith(b"version https://git-lfs.github.com/spec/"):
            raise ParseError("a Git LFS pointer, not the project: fetch the file itself (git lfs pull)", **where)
        try:
            return json.loads(data.decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ParseError(f"not valid JSON: {exc}", **where) from None
    if hasattr(project, "dumps"):  # an lcax.Project
        return json.loads(project.dumps())
    raise ParseError(f"cannot read an LCAx project from a {type(project).__name__}", **where)


def read_lcax(project: Any, name: str = "lcax") -> tuple[list[Building], EPDLibrary]:
    """An LCAx project (path, parsed JSON or ``lcax.Project``) → ``([building], its data sets as a library)``.

    Layers reference ``<name>:<EPD id>``; score with the library layered over the shipped one.
    What was dropped is in :func:`read_lcax_project`'s ``losses``.
    """
    where = {"file": str(project)} if isinstance(project, (str, Path)) else {}
    read = read_lcax_project(_load(project, where), file=where.get("file"), name=name)
    library = EPDLibrary(
        datasets_frame([d for d, _ in read.datasets.values()]),
        values_frame([r for _, rows in read.datasets.values() for r in rows]),
        name=name,
    )
    return [read.building], library


def lcax_buildings(doc: dict, file: str | None = None) -> list[Building]:
    """An LCAx project as a building file: one building carrying its EPDs inline (``inline:<EPD id>``).

    What was dropped is warned about (:class:`~mpeil.errors.MpeilWarning`), one line per loss.
    """
    import warnings

    from ..errors import MpeilWarning

    read = read_lcax_project(doc, file=file, inline=True)
    shown = read.losses[:_LOSSES_SHOWN]
    for loss in shown:
        warnings.warn(MpeilWarning(f"{file or 'LCAx project'}: {loss}"), stacklevel=2)
    if len(read.losses) > len(shown):
        more = len(read.losses) - len(shown)
        warnings.warn(
            MpeilWarning(f"{file or 'LCAx project'}: {more} more dropped (mpeil epd import FILE lists every one)"),
            stacklevel=2,
        )
    return [read.building]

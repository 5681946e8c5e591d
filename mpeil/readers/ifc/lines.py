"""One IFC element → one mpeil Element (its mapped material lines) plus a row per material."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ...errors import ConversionError, UnknownEPDError
from ...model import Element, Layer
from ...model.building import ElementType
from ...model.library import EPDLibrary
from .mapping import Artefacts, MappingRule, MaterialMapping, rank_candidates
from .entities import Part, Quantities, Units, geometry_quantities, is_external, material_parts, quantities, status

__all__ = [
    "Context",
    "element_lines",
    "unmapped_table",
    "shares",
    "element_label",
    "load_element_types",
    "load_existing_phases",
]

_SIDE = ("IfcWall", "IfcCurtainWall", "IfcPlate")
_OPENING = ("IfcWindow", "IfcDoor")
_UNUSABLE = ("placeholder", "hatch")
#: artefacts that only a rule of the user's mapping file maps (the default mapping cannot know)
_USER_ONLY = {*_UNUSABLE, "assembly"}


@dataclass
class Context:
    """What reading one file needs, and what it collects (warnings, one row per element × material)."""

    file: str
    units: Units
    mapping: MaterialMapping
    artefacts: Artefacts
    library: EPDLibrary
    thresholds: dict[str, float]
    element_types: list[dict[str, str]]
    boundaries: dict[int, bool] = field(default_factory=dict)  # element id → external (space boundaries)
    existing_phases: frozenset[str] = frozenset()  # Revit phase names meaning "existing", lower case
    warnings: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)


def element_label(element: Any) -> str:
    """``#123 IfcWall 'name' (GlobalId)``: how warnings name an element."""
    name = getattr(element, "Name", None)
    return f"#{element.id()} {element.is_a()}{f' {name!r}' if name else ''} ({element.GlobalId})"


def load_element_types() -> list[dict[str, str]]:
    from ...paths import data_dir

    table = pd.read_csv(data_dir() / "ifc" / "element_types.csv", comment="#", dtype=str, keep_default_na=False)
    return [{str(k): str(v) for k, v in row.items()} for row in table.to_dict("records")]


def load_existing_phases() -> frozenset[str]:
    from ...paths import data_dir

    table = pd.read_csv(data_dir() / "ifc" / "revit_phases.csv", comment="#", dtype=str, keep_default_na=False)
    return frozenset(table["phase"].str.strip().str.lower())


def _element_type(element: Any, table: list[dict[str, str]], external: bool | None) -> tuple[str, str]:
    predefined = str(getattr(element, "PredefinedType", None) or "NOTDEFINED")
    if predefined in ("USERDEFINED", "NOTDEFINED"):
        for rel in getattr(element, "IsTypedBy", None) or ():
            predefined = str(getattr(rel.RelatingType, "PredefinedType", None) or predefined)
    shape = getattr(element, "ShapeType", None)  # IFC2x3 roofs carry ShapeType, not PredefinedType
    predefined = str(shape) if shape and predefined == "NOTDEFINED" else predefined
    external_text = "unknown" if external is None else str(external).lower()
    for row in table:
        matches = row["predefined_type"] in ("*", predefined) and row["is_external"] in ("*", external_text)
        if matches and element.is_a(row["ifc_class"]):
            return row["element_type"], row["element_unit"]
    return "Other", "piece"


def _area_kind(element: Any) -> str:
    if any(element.is_a(c) for c in _SIDE):
        return "side"
    return "opening" if any(element.is_a(c) for c in _OPENING) else "plan"


def _quantities(element: Any, parts: list[Part], context: Context, geometry: bool) -> Quantities:
    kind = _area_kind(element)
    found = quantities(element, context.units, kind)
    thickness = sum(p.thickness_m for p in parts if p.kind == "layer")
    layered = any(p.kind == "layer" for p in parts)
    if layered and math.isnan(found.area) and math.isfinite(found.volume) and thickness > 0:
        found.area = found.volume / thickness
        found.sources["area"] = f"{found.sources['volume']} / layer thicknesses"
    # an element without material still gets its volume, so the unmapped list says how much is missing
    missing = math.isnan(found.area) if layered else math.isnan(found.volume)
    if missing and geometry:
        problem = geometry_quantities(element, kind, found)
        if problem:
            context.warnings.append(f"{element_label(element)}: {problem}")
    return found


def _element_quantity(unit: str, layered: bool, found: Quantities) -> tuple[float, str]:
    """(quantity, element unit) of the mpeil Element."""
    if layered:
        return found.area, "m2"
    if unit == "m" and math.isfinite(found.length):
        return found.length, "m"
    if unit == "m2" and math.isfinite(found.area):
        return found.area, "m2"
    return 1.0, "piece"


def element_lines(element: Any, context: Context, geometry: bool) -> Element | None:
    """The element with its mapped lines (None when none maps), adding a row per material."""
    parts = material_parts(element, context.units)
    external, external_source = is_external(element, context.boundaries)
    element_type, unit = _element_type(element, context.element_types, external)
    found = _quantities(element, parts, context, geometry)
    state = status(element, context.existing_phases)
    base = {
        "step_id": element.id(),
        "global_id": element.GlobalId,
        "ifc_class": element.is_a(),
        "element_name": element.Name,
        "element_type": element_type,
        "is_external": "" if external is None else f"{str(external).lower()} ({external_source})",
        "status": state,
        "area_m2": found.area,
        "length_m": found.length,
        "quantity_source": "; ".join(f"{k}: {v}" for k, v in found.sources.items()) or "none",
    }
    if not parts:
        context.warnings.append(f"{element_label(element)}: has no material")
        context.rows.append({**base, "material": "(no material)", "volume_m3": found.volume, "flags": "no_material"})
        return None
    layered = any(p.kind == "layer" for p in parts)
    quantity, unit = _element_quantity(unit, layered, found)
    if not math.isfinite(quantity) or (not layered and math.isnan(found.volume)):
        context.warnings.append(f"{element_label(element)}: has no quantity (no quantity set, no usable geometry)")
    layers, first_row = [], len(context.rows)
    for index, part in enumerate(parts, start=1):
        line = _part_line(part, index, base, found, quantity, layered, context)
        if line is not None and math.isfinite(quantity):
            layers.append(line)
    _check_mass(element, context.rows[first_row:], base["area_m2"], unit, context)
    if not layers or not math.isfinite(quantity) or quantity <= 0:
        return None
    kind = element_type if element_type in _ELEMENT_TYPES else "Other"
    fields = {"id": element.GlobalId, "name": element.Name, "element_type": kind, "quantity": quantity, "unit": unit}
    return Element.model_validate({**fields, "layers": layers})


_ELEMENT_TYPES = {t.value for t in ElementType}


def _part_volume(part: Part, found: Quantities) -> float:
    if part.kind == "layer":
        return found.area * part.thickness_m
    return found.volume * part.fraction


def _part_line(
    part: Part, index: int, base: dict, found: Quantities, quantity: float, layered: bool, context: Context
) -> Layer | None:
    flags = context.artefacts.flags(part.material) if part.material else ["no_name"]
    key = context.artefacts.strip_id(part.material)
    volume = _part_volume(part, found)
    row = {
        **base,
        "material": part.material or "(unnamed)",
        "part": part.kind,
        "layer": f"C{index}",
        "thickness_m": part.thickness_m,
        "fraction": part.fraction,
        "volume_m3": volume,
    }
    context.rows.append(row)
    if "air" in flags:
        row.update(mapping="air layer (no mass)", mass_kg=0.0, flags=";".join(flags))
        return None
    limit = context.thresholds["layer_thickness_max"]
    if part.thickness_m > limit:  # NaN (not a layer) compares False
        flags.append("implausible_thickness")
        context.warnings.append(
            f"#{row['step_id']} ({row['global_id']}) layer {row['layer']} {part.material!r}: "
            f"{part.thickness_m:g} m thick, over {limit:g} m (data/batch_limits.csv layer_thickness): "
            "a thickness in the wrong unit? Not scored"
        )
    rule = None if (set(flags) & {"no_name", "implausible_thickness"}) else context.mapping.match(key)
    row["flags"] = ";".join(flags)
    if rule is None or (rule.default and set(flags) & _USER_ONLY):
        return None  # only the user can say what a placeholder, a fill or a framing zone is made of
    return _mapped_line(rule, part, row, found, quantity, layered, context)


def _mapped_line(
    rule: MappingRule, part: Part, row: dict, found: Quantities, quantity: float, layered: bool, context: Context
) -> Layer | None:
    where = f"#{row['step_id']} ({row['global_id']}) layer {row['layer']} {part.material!r}"
    if rule.kind != "dataset":
        context.warnings.append(f"{where}: mapped to template {rule.target!r}; element templates are not read yet")
        return None
    try:
        index = context.library.resolve(rule.target)
    except UnknownEPDError:
        message = f"{rule.source} maps {part.material!r} to {rule.target!r}, which is not in the library"
        if not rule.default:  # a typo in the user's own file: fail loudly
            raise UnknownEPDError(message, file=context.file, element=row["global_id"], field="target") from None
        context.warnings.append(f"{where}: {message}")  # e.g. a user's library without the default's source
        return None
    if layered and rule.basis == "thickness":
        amount, unit, measure = part.thickness_m, "m", row["volume_m3"]
    elif rule.basis == "area":
        per_unit = found.area * (part.fraction if part.kind != "layer" else 1.0) / quantity
        amount, unit, measure = (1.0, "m2", found.area) if layered else (per_unit, "m2", found.area * part.fraction)
    else:
        amount, unit, measure = row["volume_m3"] / quantity, "m3", row["volume_m3"]
    if not (math.isfinite(amount) and amount > 0):
        context.warnings.append(f"{where}: no usable amount ({'thickness' if layered else 'volume'} missing or 0)")
        return None
    row.update(dataset_id=rule.target, basis=rule.basis, mapping=rule.source)
    row["mass_kg"] = measure * _mass_per(context.library, index, "m3" if unit != "m2" else "m2")
    return Layer.model_validate(
        {
            "product": rule.target,
            "amount": amount,
            "unit": unit,
            "layer": row["layer"],
            "name": part.material,
            "waste_category": rule.waste_category,
            "component_id": f"{row['global_id']}/{row['layer']}",
            "existing": row["status"] == "existing",
            "removed": row["status"] == "demolish",
        }
    )


def _mass_per(library: EPDLibrary, index: int, unit: str) -> float:
    """kg per m³ (or per m²) of a data set, NaN when its properties do not say."""
    try:
        return library.conversion_factor(index, unit) * library.mass_per_unit(index)
    except ConversionError:
        return math.nan


def _check_mass(element: Any, own_rows: list[dict], area: float, unit: str, context: Context) -> None:
    """Flag an m² element whose mapped mass per m² is implausible (data/ifc/thresholds.csv)."""
    rows = [r for r in own_rows if isinstance(r.get("dataset_id"), str)]
    if unit != "m2" or not rows or not (math.isfinite(area) and area > 0):
        return
    per_m2 = sum(r["mass_kg"] for r in rows if math.isfinite(r["mass_kg"])) / area
    low, high = context.thresholds["element_mass_per_m2_min"], context.thresholds["element_mass_per_m2_max"]
    if per_m2 > high or per_m2 < low:
        context.warnings.append(
            f"{element_label(element)}: implausible mass {per_m2:.1f} kg/m² of element (limits {low:g}-{high:g})"
        )
        for r in rows:
            r["flags"] = ";".join(filter(None, [r.get("flags", ""), "implausible_mass"]))


def unmapped_table(lines: pd.DataFrame, context: Context) -> pd.DataFrame:
    """One row per material that maps to nothing (air layers excluded), with quantities."""
    columns = ["material", "elements", "element_ids", "volume_m3", "area_m2", "flags", "estimated_mass_kg"]
    todo = lines[lines["dataset_id"].isna() & (lines["mapping"].fillna("") != "air layer (no mass)")]
    rows = []
    for material, group in todo.groupby("material", sort=True):
        ids = group.drop_duplicates("global_id")
        flags = sorted({f for text in group["flags"].fillna("") for f in str(text).split(";") if f})
        volume = group["volume_m3"].sum(min_count=1)
        rows.append(
            {
                "material": material,
                "elements": len(ids),
                "element_ids": ", ".join(
                    f"#{s} ({g})" for s, g in zip(ids["step_id"][:5], ids["global_id"][:5], strict=True)
                ),
                "volume_m3": volume,
                "area_m2": ids["area_m2"].sum(min_count=1),
                "flags": ";".join(flags),
                "estimated_mass_kg": _estimated_mass(str(material), flags, volume, context),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def _estimated_mass(material: str, flags: list[str], volume: float, context: Context) -> float:
    """Volume × the density of the best-ranked library candidate; NaN for artefacts and unknowns
    (a framing zone's volume × a solid density is exactly the overstatement the flag warns of)."""
    if set(flags) & {*_UNUSABLE, "assembly", "no_name", "no_material"} or not math.isfinite(volume):
        return math.nan
    key = context.artefacts.strip_id(material)
    best = rank_candidates(key, context.library.datasets, 1, context.thresholds["mass_estimate_min_score"])
    if best.empty:
        return math.nan
    return volume * _mass_per(context.library, context.library.resolve(best["dataset_id"].iloc[0]), "m3")


def shares(lines: pd.DataFrame, unmapped: pd.DataFrame) -> dict[str, float]:
    """Mapped share of the volume and of the mass of the element materials.

    Volume: mapped volume / (mapped + unmapped volume), over lines with a known volume (air
    layers excluded). Mass: mapped mass / (mapped mass + unmapped mass estimated with the
    density of each unmapped material's best-ranked candidate). When an unmapped material has
    a volume but no estimate (placeholders, hatch names, no material) the mass share is NaN
    (unknown), and that volume is reported in ``volume_without_mass_m3``.
    """
    mapped = lines[lines["dataset_id"].notna()]
    mapped_volume = mapped["volume_m3"].sum()
    unmapped_volume = unmapped["volume_m3"].sum()
    mapped_mass = mapped["mass_kg"].sum()
    estimated = unmapped["estimated_mass_kg"].sum()
    no_estimate = unmapped.loc[unmapped["estimated_mass_kg"].isna(), "volume_m3"].sum()
    total_volume = mapped_volume + unmapped_volume
    total_mass = mapped_mass + estimated
    known = total_mass > 0 and not no_estimate > 0
    return {
        "volume": float(mapped_volume / total_volume) if total_volume > 0 else math.nan,
        "mass": float(mapped_mass / total_mass) if known else math.nan,
        "mapped_volume_m3": float(mapped_volume),
        "unmapped_volume_m3": float(unmapped_volume),
        "mapped_mass_kg": float(mapped_mass),
        "unmapped_mass_estimated_kg": float(estimated),
        "volume_without_mass_m3": float(no_estimate),
    }

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
from .chain import MappingChain, Match, class_group
from .defaults import (
    Defaults,
    class_default,
    element_mass,
    framing_rule,
    load_defaults,
    reinforcement,
    template_element,
)
from .entities import (
    Part,
    Quantities,
    Units,
    all_psets,
    geometry_quantities,
    is_external,
    material_parts,
    quantities,
    status,
)
from .mapping import Artefacts, rank_candidates

__all__ = [
    "Context",
    "element_lines",
    "unmapped_table",
    "shares",
    "element_label",
    "MAPPED_BY",
    "load_element_types",
    "load_existing_phases",
]

_SIDE = ("IfcWall", "IfcCurtainWall", "IfcPlate")
_OPENING = ("IfcWindow", "IfcDoor")
_UNUSABLE = ("placeholder", "hatch")
#: artefacts that only a rule of the user's mapping file maps (the default mapping cannot know)
_USER_ONLY = {*_UNUSABLE, "assembly"}
TEMPLATE_DEFAULT = "template default"
EXCLUDED = "excluded (implausible)"
#: how a material line got its data set, in the order the coverage reports them
MAPPED_BY = ("user", "default", "search", TEMPLATE_DEFAULT, EXCLUDED, "unmapped")
_MAPPED = ("user", "default", "search", TEMPLATE_DEFAULT)


@dataclass
class Context:
    """What reading one file needs, and what it collects (warnings, one row per element × material)."""

    file: str
    units: Units
    chain: MappingChain
    artefacts: Artefacts
    library: EPDLibrary
    thresholds: dict[str, float]
    element_types: list[dict[str, str]]
    boundaries: dict[int, bool] = field(default_factory=dict)  # element id → external (space boundaries)
    existing_phases: frozenset[str] = frozenset()  # Revit phase names meaning "existing", lower case
    defaults: Defaults = field(default_factory=load_defaults)  # data/ifc class defaults, framing, reinforcement
    confirmed: frozenset[str] = frozenset()  # GlobalIds whose implausible mass the user confirmed
    use_defaults: bool = True  # False: no class templates, framing shares or reinforcement (the model only)
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


def _quantities(element: Any, parts: list[Part], context: Context, geometry: bool, psets: dict) -> Quantities:
    kind = _area_kind(element)
    found = quantities(element, context.units, kind, psets)
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
    psets = all_psets(element)
    external, external_source = is_external(element, context.boundaries, psets)
    element_type, unit = _element_type(element, context.element_types, external)
    usable = any(_usable(part, context) for part in parts)
    names = [p.material for p in parts if p.material]
    default = class_default(element, external, context.defaults, names, usable) if context.use_defaults else None
    # a template per piece needs no shape: its quantity is one piece (the volume would only be reported)
    per_piece = default is not None and default["quantity"] == "piece"
    found = _quantities(element, parts, context, geometry and not per_piece, psets)
    base = {
        "step_id": element.id(),
        "global_id": element.GlobalId,
        "ifc_class": element.is_a(),
        "class_group": class_group(element, context.chain.classes),
        "element_name": element.Name,
        "element_type": element_type,
        "is_external": "" if external is None else f"{str(external).lower()} ({external_source})",
        "status": status(element, context.existing_phases, psets),
        "area_m2": found.area,
        "length_m": found.length,
        "quantity_source": "; ".join(f"{k}: {v}" for k, v in found.sources.items()) or "none",
    }
    if default is not None or not usable:
        return _default_element(element, parts, base, found, default, context)
    layered = any(p.kind == "layer" for p in parts)
    quantity, unit = _element_quantity(unit, layered, found)
    if not math.isfinite(quantity) or (not layered and math.isnan(found.volume)):
        context.warnings.append(f"{element_label(element)}: has no quantity (no quantity set, no usable geometry)")
    layers, first_row = [], len(context.rows)
    for index, part in enumerate(parts, start=1):
        lines = _part_lines(element, part, index, base, found, quantity, layered, context)
        if math.isfinite(quantity):
            layers.extend(lines)
    if _implausible(element, context.rows[first_row:], base["area_m2"], unit, context):
        return None
    if not layers or not math.isfinite(quantity) or quantity <= 0:
        return None
    kind = element_type if element_type in _ELEMENT_TYPES else "Other"
    fields = {"id": element.GlobalId, "name": element.Name, "element_type": kind, "quantity": quantity, "unit": unit}
    return Element.model_validate({**fields, "layers": layers})


_ELEMENT_TYPES = {t.value for t in ElementType}


def _usable(part: Part, context: Context) -> bool:
    """A part that names a material (not air, not a placeholder or fill the user's file leaves unmapped)."""
    flags = set(context.artefacts.flags(part.material)) if part.material else {"no_name"}
    if "air" in flags:
        return False
    if flags & {"no_name", *_UNUSABLE}:
        found = context.chain.rule(context.artefacts.strip_id(part.material)) if part.material else None
        return found is not None and found.mapped_by == "user"
    return True


def _default_element(
    element: Any, parts: list[Part], base: dict, found: Quantities, default: dict | None, context: Context
) -> Element | None:
    """The template or data set of the element's class (class_defaults.csv): for an element without a usable
    material, or a window or door whose material chooses the template."""
    names = sorted({p.material or "(unnamed)" for p in parts}) or ["(no material)"]
    if not parts:
        context.warnings.append(f"{element_label(element)}: has no material")
    flags = sorted({f for p in parts for f in (context.artefacts.flags(p.material) if p.material else ["no_name"])})
    volume = found.volume
    if math.isnan(volume) and parts and all(p.kind == "layer" for p in parts):
        volume = found.area * sum(p.thickness_m for p in parts if "air" not in context.artefacts.flags(p.material))
    row = {**base, "material": ", ".join(names), "part": "element", "volume_m3": volume}
    row["flags"] = ";".join(flags or ["no_material"])
    context.rows.append(row)
    if default is None:
        if parts:
            context.warnings.append(f"{element_label(element)}: has no usable material and no class default")
        return None
    kind = base["element_type"] if base["element_type"] in _ELEMENT_TYPES else None
    fields = {"id": element.GlobalId, "name": f"{element.Name or element.is_a()} (default: {default['note']})"}
    if kind is not None:
        fields["element_type"] = kind
    if default["kind"] == "template":
        thickness = volume / found.area if found.area > 0 else math.nan
        built, why = template_element(
            element, default, found.area, thickness, context.units.length, fields, context.defaults.memo
        )
    else:
        built, why = _dataset_element(element, default, found, volume, fields, context)
    if built is None:
        context.warnings.append(f"{element_label(element)}: {why}")
        return None
    existing, removed = base["status"] == "existing", base["status"] == "demolish"
    for layer in built.layers:
        layer.existing, layer.removed = existing, removed
    row.update(
        dataset_id=f"{default['kind']}:{default['target']}",
        basis=default["quantity"],
        mapping=default["source"],
        mapped_by=TEMPLATE_DEFAULT,
        default_used=f"{default['kind']} {default['target']} per {default['quantity']} ({default['source']})",
        mass_kg=element_mass(built, context.library),
    )
    return built


def _dataset_element(
    element: Any, default: dict, found: Quantities, volume: float, fields: dict, context: Context
) -> tuple[Element | None, str]:
    """One piece holding the element's volume (or area) of the default data set, with reinforcement."""
    amount, unit = (found.area, "m2") if default["quantity"] == "area" else (volume, "m3")
    if not (math.isfinite(amount) and amount > 0):
        return None, f"no {default['quantity']} for the default data set {default['target']} ({default['source']})"
    layers = [{"product": default["target"], "amount": amount, "unit": unit, "layer": "C1", "name": default["note"]}]
    steel = reinforcement(element, default["target"], context.defaults) if unit == "m3" else None
    if steel is not None:
        kg = amount * float(steel["kg_per_m3"])
        layers.append(_steel_layer(steel, kg, "C1", f"{fields['id']}/C1r"))
    for layer in layers[:1]:
        layer["component_id"] = f"{fields['id']}/C1"
    return Element.model_validate({**fields, "quantity": 1.0, "unit": "piece", "layers": layers}), ""


def _steel_layer(steel: dict, kg: float, layer: str, component: str) -> dict:
    return {
        "product": steel["steel_dataset"],
        "amount": kg,
        "unit": "kg",
        "layer": f"{layer}r",  # its own layer label: the concrete's composition keeps its ratio of 1
        "name": f"reinforcement {float(steel['kg_per_m3']):g} kg/m3 (default, {steel['source']})",
        "waste_category": "Metals",
        "component_id": component,
    }


def _part_volume(part: Part, found: Quantities) -> float:
    if part.kind == "layer":
        return found.area * part.thickness_m
    return found.volume * part.fraction


def _part_lines(
    element: Any,
    part: Part,
    index: int,
    base: dict,
    found: Quantities,
    quantity: float,
    layered: bool,
    context: Context,
) -> list[Layer]:
    """The lines of one material of an element (its data set, or its framing default, plus reinforcement)."""
    flags = context.artefacts.flags(part.material) if part.material else ["no_name"]
    key = context.artefacts.strip_id(part.material)
    row = {
        **base,
        "material": part.material or "(unnamed)",
        "part": part.kind,
        "layer": f"C{index}",
        "thickness_m": part.thickness_m,
        "fraction": part.fraction,
        "volume_m3": _part_volume(part, found),
    }
    context.rows.append(row)
    if "air" in flags:
        row.update(mapping="air layer (no mass)", mass_kg=0.0, flags=";".join(flags), mapped_by="air")
        return []
    limit = context.thresholds["layer_thickness_max"]
    if part.thickness_m > limit:  # NaN (not a layer) compares False
        flags.append("implausible_thickness")
        context.warnings.append(
            f"#{row['step_id']} ({row['global_id']}) layer {row['layer']} {part.material!r}: "
            f"{part.thickness_m:g} m thick, over {limit:g} m (data/batch_limits.csv layer_thickness): "
            "a thickness in the wrong unit? Not scored"
        )
    row["flags"] = ";".join(flags)
    if set(flags) & {"no_name", "implausible_thickness"}:
        return []
    match = _match(key, flags, base["class_group"], row, context)
    if match is None and "assembly" in flags and context.use_defaults:
        framing = framing_rule(key, element, context.defaults)
        match = None if framing is None else _framing_match(framing, part, row)
    if match is None:
        return []
    line = _mapped_line(match, part, row, found, quantity, layered, context)
    if line is None:
        return []
    steel = reinforcement(element, match.target, context.defaults) if context.use_defaults else None
    return [line] if steel is None else [line, _reinforcement_line(steel, line, row, context)]


def _match(key: str, flags: list[str], group: str, row: dict, context: Context) -> Match | None:
    """User rule, else default rule (not for placeholders, fills and framing zones), else the ranked search."""
    unusable = set(flags) & _USER_ONLY
    found = context.chain.rule(key)
    if found is not None and (found.mapped_by == "user" or not unusable):
        return found
    if unusable:
        return None  # only the user (or the framing default) can say what a placeholder or framing zone is
    found = context.chain.match(key, group)
    if found is None:
        best = context.chain.candidates(key, group, 1)
        if not best.empty:
            row["candidate"] = f"{best['dataset_id'].iloc[0]} {best['name'].iloc[0]} ({best['score'].iloc[0]:.1f})"
    return found


def _framing_match(framing: dict, part: Part, row: dict) -> Match:
    share = float(framing["stud_share"])
    row["default_used"] = f"framing {framing['kind']}: stud share {share:g} of the zone ({framing['source']})"
    row["stud_share"] = share
    source = framing["source"]
    return Match(
        framing["stud_dataset"], "dataset", "thickness", framing["waste_category"], TEMPLATE_DEFAULT, source, 100.0
    )


def _reinforcement_line(steel: dict, line: Layer, row: dict, context: Context) -> Layer:
    """Reinforcing steel for a concrete line: kg/m³ (reinforcement.csv) × the concrete per element unit."""
    rate = float(steel["kg_per_m3"])
    per_unit = line.amount if line.unit in ("m", "m3") else math.nan  # thickness (m³/m²) or m³ per unit
    kg = per_unit * rate
    context.rows.append(
        {
            **{k: row[k] for k in _ELEMENT_KEYS},
            "material": f"reinforcement of {row['material']}",
            "part": "reinforcement",
            "layer": row["layer"],
            "volume_m3": 0.0,  # inside the concrete's volume, counted there
            "dataset_id": steel["steel_dataset"],
            "basis": "kg/m3",
            "mapping": steel["source"],
            "mapped_by": TEMPLATE_DEFAULT,
            "default_used": f"reinforcement {rate:g} kg/m3 of concrete ({steel['source']})",
            "mass_kg": row["volume_m3"] * rate,
            "flags": "",
        }
    )
    layer = _steel_layer(steel, kg, row["layer"], f"{row['global_id']}/{row['layer']}r")
    layer.update(existing=line.existing, removed=line.removed)
    return Layer.model_validate(layer)


_ELEMENT_KEYS = (
    "step_id",
    "global_id",
    "ifc_class",
    "class_group",
    "element_name",
    "element_type",
    "is_external",
    "status",
    "area_m2",
    "length_m",
    "quantity_source",
)


def _mapped_line(
    rule: Match, part: Part, row: dict, found: Quantities, quantity: float, layered: bool, context: Context
) -> Layer | None:
    where = f"#{row['step_id']} ({row['global_id']}) layer {row['layer']} {part.material!r}"
    if rule.kind != "dataset":
        context.warnings.append(f"{where}: mapped to template {rule.target!r}; use a data set for one material")
        return None
    try:
        index = context.library.resolve(rule.target)
    except UnknownEPDError:
        message = f"{rule.source} maps {part.material!r} to {rule.target!r}, which is not in the library"
        if rule.mapped_by == "user":  # a typo in the user's own file: fail loudly
            raise UnknownEPDError(message, file=context.file, element=row["global_id"], field="target") from None
        context.warnings.append(f"{where}: {message}")  # e.g. a user's library without the default's source
        return None
    share = row.get("stud_share", 1.0)
    if layered and rule.basis == "thickness":
        amount, unit, measure = part.thickness_m * share, "m", row["volume_m3"] * share
    elif rule.basis == "area":
        per_unit = found.area * (part.fraction if part.kind != "layer" else 1.0) / quantity
        amount, unit, measure = (1.0, "m2", found.area) if layered else (per_unit, "m2", found.area * part.fraction)
    else:
        amount, unit, measure = row["volume_m3"] * share / quantity, "m3", row["volume_m3"] * share
    if not (math.isfinite(amount) and amount > 0):
        context.warnings.append(f"{where}: no usable amount ({'thickness' if layered else 'volume'} missing or 0)")
        return None
    row.update(dataset_id=rule.target, basis=rule.basis, mapping=rule.source, mapped_by=rule.mapped_by)
    row["confidence"] = rule.confidence
    row["mass_kg"] = measure * _mass_per(context.library, index, "m3" if unit != "m2" else "m2")
    return Layer.model_validate(
        {
            "product": rule.target,
            "amount": amount,
            "unit": unit,
            "layer": row["layer"],
            # a documented default (framing share) is named on the line itself, so every output shows it
            "name": f"{part.material} ({row['default_used']})" if row.get("default_used") else part.material,
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


def _implausible(element: Any, own_rows: list[dict], area: float, unit: str, context: Context) -> bool:
    """An m² element whose mapped mass per m² is implausible (data/ifc/thresholds.csv): flagged, and kept out
    of the building unless its GlobalId is confirmed (``read_ifc(confirm=…)``, ``--confirm``)."""
    rows = [r for r in own_rows if isinstance(r.get("dataset_id"), str)]
    if unit != "m2" or not rows or not (math.isfinite(area) and area > 0):
        return False
    per_m2 = sum(r["mass_kg"] for r in rows if math.isfinite(r["mass_kg"])) / area
    low, high = context.thresholds["element_mass_per_m2_min"], context.thresholds["element_mass_per_m2_max"]
    if low <= per_m2 <= high:
        return False
    confirmed = element.GlobalId in context.confirmed
    context.warnings.append(
        f"{element_label(element)}: implausible mass {per_m2:.1f} kg/m² of element (limits {low:g}-{high:g}); "
        + (
            "confirmed by the user, scored"
            if confirmed
            else "kept out of the score (confirm it with --confirm GLOBALID)"
        )
    )
    for r in rows:
        r["flags"] = ";".join(filter(None, [r.get("flags", ""), "implausible_mass"]))
        if not confirmed:
            r["mapped_by"] = EXCLUDED
    return not confirmed


def unmapped_table(lines: pd.DataFrame, context: Context) -> pd.DataFrame:
    """One row per material that maps to nothing (air layers excluded), with quantities and the best candidate."""
    columns = [
        "material",
        "ifc_classes",
        "elements",
        "element_ids",
        "volume_m3",
        "area_m2",
        "flags",
        "candidate",
        "estimated_mass_kg",
    ]
    todo = lines[lines["mapped_by"].isna()]
    rows = []
    for material, group in todo.groupby("material", sort=True):
        ids = group.drop_duplicates("global_id")
        flags = sorted({f for text in group["flags"].fillna("") for f in str(text).split(";") if f})
        volume = group["volume_m3"].sum(min_count=1)
        candidates = group["candidate"].dropna()
        rows.append(
            {
                "material": material,
                "ifc_classes": ", ".join(sorted(set(group["ifc_class"]))),
                "elements": len(ids),
                "element_ids": ", ".join(
                    f"#{s} ({g})" for s, g in zip(ids["step_id"][:5], ids["global_id"][:5], strict=True)
                ),
                "volume_m3": volume,
                "area_m2": ids["area_m2"].sum(min_count=1),
                "flags": ";".join(flags),
                "candidate": candidates.iloc[0] if len(candidates) else "",
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
    """Mapped share of the volume and of the mass of the element materials, split by ``mapped_by``.

    Volume: mapped volume (user, default, search, template default) / all volume with a known
    value (air layers excluded; elements kept out as implausible and unmapped materials count in
    the total). Mass: mapped mass / (mapped + excluded mass + unmapped mass estimated with the
    density of each unmapped material's best-ranked candidate). When an unmapped material has a
    volume but no estimate (placeholders, hatch names) the mass share is NaN (unknown), and that
    volume is reported in ``volume_without_mass_m3``. Mapped lines whose data sets give no mass
    (template parts per piece or metre) count no kg; their volume is ``mapped_volume_without_mass_m3``.
    ``volume_<mapped_by>`` and
    ``mass_<mapped_by>`` are shares of the totals (``mapped_by`` spaces as underscores).
    """
    solid = lines[lines["mapped_by"].fillna("unmapped") != "air"]
    by = solid["mapped_by"].fillna("unmapped")
    volume = solid["volume_m3"].groupby(by).sum()
    mass = solid["mass_kg"].groupby(by).sum()
    estimated = float(unmapped["estimated_mass_kg"].sum())
    no_estimate = float(unmapped.loc[unmapped["estimated_mass_kg"].isna(), "volume_m3"].sum())
    mass["unmapped"] = estimated
    total_volume, total_mass = float(volume.sum()), float(mass.sum())
    mapped_volume = float(volume.reindex(list(_MAPPED)).sum())
    mapped_mass = float(mass.reindex(list(_MAPPED)).sum())
    mapped_rows = solid[by.isin(_MAPPED)]
    unknown_mass = mapped_rows["mass_kg"].isna() & (mapped_rows["volume_m3"] > 0)
    known = total_mass > 0 and not no_estimate > 0
    out = {
        "volume": mapped_volume / total_volume if total_volume > 0 else math.nan,
        "mass": mapped_mass / total_mass if known else math.nan,
        "mapped_volume_m3": mapped_volume,
        "unmapped_volume_m3": total_volume - mapped_volume,
        "mapped_mass_kg": mapped_mass,
        "unmapped_mass_estimated_kg": estimated,
        "volume_without_mass_m3": no_estimate,
        # mapped lines whose data sets give no mass (template parts per piece or metre): not in the mass share
        "mapped_volume_without_mass_m3": float(mapped_rows.loc[unknown_mass, "volume_m3"].sum()),
    }
    for key in MAPPED_BY:
        name = key.split(" (")[0].replace(" ", "_")
        out[f"volume_{name}"] = float(volume.get(key, 0.0)) / total_volume if total_volume > 0 else math.nan
        out[f"mass_{name}"] = float(mass.get(key, 0.0)) / total_mass if known else math.nan
    return out

"""What an IFC file says about elements: materials, quantities, status, floor area (ifcopenshell).

Everything here takes an open ``ifcopenshell.file`` and returns plain Python values in SI units
(m, m², m³): lengths are scaled by the file's length unit, areas and volumes by its area and
volume units. Each quantity carries the name of its source (``"BaseQuantities.NetSideArea"``,
``"PSet_Revit_Dimensions.Area"``, ``"geometry:side_area"``, …).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Part",
    "Quantities",
    "Units",
    "ELEMENT_CLASSES",
    "boundary_sides",
    "file_units",
    "all_psets",
    "is_external",
    "material_parts",
    "quantities",
    "status",
]

#: the IFC classes read as building elements (subtypes included)
ELEMENT_CLASSES = (
    "IfcWall",
    "IfcSlab",
    "IfcRoof",
    "IfcCovering",
    "IfcWindow",
    "IfcDoor",
    "IfcBeam",
    "IfcColumn",
    "IfcStair",
    "IfcStairFlight",
    "IfcRamp",
    "IfcRampFlight",
    "IfcRailing",
    "IfcFooting",
    "IfcPile",
    "IfcCurtainWall",
    "IfcPlate",
    "IfcMember",
)

_REVIT_DIMENSIONS = "PSet_Revit_Dimensions"  # Revit writes its dimensions as a property set, not a quantity set


@dataclass(frozen=True)
class Units:
    """Scale factors from the file's units to m, m² and m³, and the length unit's name."""

    length: float
    area: float
    volume: float
    length_name: str


@dataclass(frozen=True)
class Part:
    """One material of an element: a layer (thickness in m) or a share (fraction of the volume)."""

    material: str
    kind: str  # layer | constituent | profile | single | list
    thickness_m: float = math.nan
    fraction: float = math.nan


@dataclass
class Quantities:
    """Area (m²), volume (m³) and length (m) of one element, each with its source."""

    area: float = math.nan
    volume: float = math.nan
    length: float = math.nan
    sources: dict[str, str] = field(default_factory=dict)


def file_units(model: Any) -> Units:
    import ifcopenshell.util.unit as unit

    length = float(unit.calculate_unit_scale(model))
    area = float(unit.calculate_unit_scale(model, "AREAUNIT"))
    volume = float(unit.calculate_unit_scale(model, "VOLUMEUNIT"))
    names = {1.0: "m", 0.001: "mm", 0.01: "cm", 0.1: "dm"}
    return Units(length, area, volume, names.get(round(length, 12), f"{length:g} m"))


def _name(material: Any) -> str:
    return (getattr(material, "Name", None) or "").strip() if material is not None else ""


def material_parts(element: Any, units: Units) -> list[Part]:
    """The element's materials, from the occurrence or else its type; [] when it has none."""
    import ifcopenshell.util.element as util

    material = util.get_material(element, should_skip_usage=True)
    if material is None:
        return []
    kind = material.is_a()
    if kind == "IfcMaterialLayerSet":
        return [
            Part(_name(layer.Material), "layer", thickness_m=float(layer.LayerThickness) * units.length)
            for layer in material.MaterialLayers
        ]
    if kind == "IfcMaterialConstituentSet":
        constituents = material.MaterialConstituents or ()
        return [
            Part(_name(c.Material), "constituent", fraction=_fraction(getattr(c, "Fraction", None), len(constituents)))
            for c in constituents
        ]
    if kind == "IfcMaterialProfileSet":
        profiles = material.MaterialProfiles or ()
        return [Part(_name(p.Material), "profile", fraction=1.0 if len(profiles) == 1 else math.nan) for p in profiles]
    if kind == "IfcMaterialList":
        items = material.Materials or ()
        return [Part(_name(m), "list", fraction=1.0 if len(items) == 1 else math.nan) for m in items]
    if kind == "IfcMaterial":
        return [Part(_name(material), "single", fraction=1.0)]
    return []


def _fraction(value: Any, count: int) -> float:
    """A constituent's volume fraction; a lone constituent is the whole; unknown shares stay NaN."""
    if value is not None:
        return float(value)
    return 1.0 if count == 1 else math.nan


# quantity names by what they measure, best first (IFC4 Qto_* and IFC2x3 BaseQuantities use the same names)
_AREA_NAMES = {
    "side": ("NetSideArea", "GrossSideArea"),
    "plan": ("NetArea", "GrossArea"),
    "opening": ("Area",),
}
_VOLUME_NAMES = ("NetVolume", "GrossVolume")
_LENGTH_NAMES = ("Length",)


def all_psets(element: Any) -> dict[str, dict[str, Any]]:
    """Every property and quantity set of the element (its type's included), read once per element."""
    import ifcopenshell.util.element as util

    return util.get_psets(element)


def _quantity_sets(psets: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Quantity sets in order of trust: Qto_<Class>BaseQuantities, BaseQuantities, other Qto_*."""

    def rank(name: str) -> int:
        if name.startswith("Qto_") and name.endswith("BaseQuantities"):
            return 0
        return 1 if name == "BaseQuantities" else 2

    usable = [(name, values) for name, values in psets.items() if name.startswith("Qto_") or name == "BaseQuantities"]
    return sorted(usable, key=lambda item: rank(item[0]))


def _first(sets: list[tuple[str, dict[str, Any]]], names: tuple[str, ...], scale: float) -> tuple[float, str | None]:
    for set_name, values in sets:
        for name in names:
            value = values.get(name)
            if isinstance(value, (int, float)) and math.isfinite(value) and value > 0:
                return float(value) * scale, f"{set_name}.{name}"
    return math.nan, None


def quantities(element: Any, units: Units, area_kind: str, psets: dict | None = None) -> Quantities:
    """Area (``area_kind`` side|plan|opening), volume and length from quantity sets, then Revit's pset.

    ``psets``: the element's :func:`all_psets` when already read."""
    psets = all_psets(element) if psets is None else psets
    sets = _quantity_sets(psets)
    revit = psets.get(_REVIT_DIMENSIONS)
    if revit:
        sets.append((_REVIT_DIMENSIONS, revit))
    result = Quantities()
    for attribute, names, scale in (
        ("area", _AREA_NAMES[area_kind] + ("Area",), units.area),
        ("volume", _VOLUME_NAMES + ("Volume",), units.volume),
        ("length", _LENGTH_NAMES, units.length),
    ):
        value, source = _first(sets, names, scale)
        if source is not None:
            setattr(result, attribute, value)
            result.sources[attribute] = source
    return result


def geometry_quantities(element: Any, area_kind: str, found: Quantities) -> str | None:
    """Fill missing area and volume from the element's shape; returns an error text or None.

    ifcopenshell.geom triangulates in metres whatever the file's units. Walls take the area of
    their largest side (local Y axis, net of openings), slabs and roofs their footprint (local Z).
    """
    import ifcopenshell.geom
    import ifcopenshell.util.shape as shape

    settings = ifcopenshell.geom.settings()
    try:
        created: Any = ifcopenshell.geom.create_shape(settings, element)
        geometry = created.geometry
    except Exception as exc:  # ifcopenshell raises RuntimeError and plain Exception for bad shapes
        return f"its geometry cannot be computed ({str(exc)[:80] or type(exc).__name__})"
    if math.isnan(found.volume):
        volume = float(shape.get_volume(geometry))
        if volume > 0:
            found.volume, found.sources["volume"] = volume, "geometry:volume"
    if math.isnan(found.area) and area_kind != "opening":
        side = area_kind == "side"
        area = float(shape.get_side_area(geometry, axis="Y") if side else shape.get_footprint_area(geometry))
        if area > 0:
            found.area, found.sources["area"] = area, f"geometry:{'side_area' if side else 'footprint_area'}"
    return None


def status(element: Any, existing_phases: frozenset[str] = frozenset(), psets: dict | None = None) -> str:
    """Renovation status: new, existing, demolish or '' (unknown).

    ``Pset_*Common.Status`` first; else Revit's ``PSet_Revit_Phasing``: demolished in some phase
    → demolish, created in one of ``existing_phases`` (lower case, ``data/ifc/revit_phases.csv``)
    → existing, created in another phase → new.
    """
    psets = all_psets(element) if psets is None else psets
    for name, values in psets.items():
        if name.startswith("Pset_") and name.endswith("Common"):
            value = str(values.get("Status") or "").strip().upper()
            if value in ("EXISTING", "DEMOLISH", "NEW", "TEMPORARY"):
                return {"EXISTING": "existing", "DEMOLISH": "demolish"}.get(value, "new")
    phasing = psets.get("PSet_Revit_Phasing")
    if not phasing:
        return ""
    if str(phasing.get("Phase Demolished") or "").strip() not in ("", "None"):
        return "demolish"
    created = str(phasing.get("Phase Created") or "").strip().lower()
    return "" if not created else ("existing" if created in existing_phases else "new")


def is_external(element: Any, boundaries: dict[int, bool], psets: dict | None = None) -> tuple[bool | None, str]:
    """Whether the element is external, and where that comes from.

    ``Pset_*Common.IsExternal`` first; else the space boundaries (``boundaries``, see
    :func:`boundary_sides`); else unknown (None).
    """
    psets = all_psets(element) if psets is None else psets
    for name, values in psets.items():
        if name.startswith("Pset_") and name.endswith("Common") and isinstance(values.get("IsExternal"), bool):
            return bool(values["IsExternal"]), f"{name}.IsExternal"
    if element.id() in boundaries:
        return boundaries[element.id()], "space boundaries"
    return None, ""


def boundary_sides(model: Any) -> dict[int, bool]:
    """Element id → True when one of its space boundaries is external (EXTERNAL, EXTERNAL_EARTH, …),
    False when all of them are internal. Elements without space boundaries are absent."""
    sides: dict[int, bool] = {}
    for boundary in model.by_type("IfcRelSpaceBoundary"):
        element = boundary.RelatedBuildingElement
        if element is None:
            continue
        kind = str(boundary.InternalOrExternalBoundary or "")
        if kind.startswith("EXTERNAL") or kind == "INTERNAL":
            sides[element.id()] = sides.get(element.id(), False) or kind.startswith("EXTERNAL")
    return sides

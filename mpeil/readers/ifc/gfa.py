"""Gross floor area of an IFC model: which figure, from where, and whether the sources agree."""

from __future__ import annotations

import math
from typing import Any

from .entities import Units

__all__ = ["derive_gfa"]

_GROSS = ("GrossFloorArea",)
# space areas that are not gross: a fallback only, and said so
_NET_SPACE = ("NetFloorArea", "GSA BIM Area", "Area")


def _value(sets: dict[str, dict[str, Any]], names: tuple[str, ...], skip_psets: bool = False) -> tuple[float, str]:
    for set_name, values in sets.items():
        if skip_psets and not (set_name.startswith("Qto_") or set_name == "BaseQuantities"):
            continue
        for name in names:
            value = values.get(name)
            if isinstance(value, (int, float)) and math.isfinite(value) and value > 0:
                return float(value), f"{set_name}.{name}"
    return math.nan, ""


def _sum_over(items: list[Any], names: tuple[str, ...], scale: float, skip_psets: bool) -> tuple[float, int, str]:
    import ifcopenshell.util.element as util

    total, count, source = 0.0, 0, ""
    for item in items:
        value, where = _value(util.get_psets(item), names, skip_psets)
        if math.isfinite(value):
            total, count, source = total + value * scale, count + 1, source or where
    return total, count, source


def _candidates(model: Any, units: Units) -> tuple[dict[str, float], dict[str, float]]:
    """Gross candidates and net (fallback) candidates, by a description of their source."""
    import ifcopenshell.util.element as util

    gross: dict[str, float] = {}
    net: dict[str, float] = {}
    for building in model.by_type("IfcBuilding")[:1]:
        sets = util.get_psets(building)
        value, where = _value(sets, _GROSS, skip_psets=True)
        if math.isfinite(value):
            gross[f"IfcBuilding {where}"] = value * units.area
    storeys = model.by_type("IfcBuildingStorey")
    total, count, where = _sum_over(storeys, _GROSS, units.area, True)
    if count and count == len(storeys):
        gross[f"sum of {count} storeys' {where}"] = total
    spaces = model.by_type("IfcSpace")
    total, count, where = _sum_over(spaces, _GROSS, units.area, True)
    if count:
        gross[f"sum of {count} of {len(spaces)} spaces' {where}"] = total
    for building in model.by_type("IfcBuilding")[:1]:
        planned = util.get_psets(building, psets_only=True).get("Pset_BuildingCommon", {}).get("GrossPlannedArea")
        if isinstance(planned, (int, float)) and planned > 0:
            gross["Pset_BuildingCommon.GrossPlannedArea (a planning figure)"] = float(planned) * units.area
    total, count, where = _sum_over(spaces, _NET_SPACE, units.area, False)
    if count:
        net[f"sum of {count} of {len(spaces)} spaces' {where} (a net area: it understates the GFA)"] = total
    return gross, net


def derive_gfa(
    model: Any, units: Units, user_gfa: float | None, tolerance: float
) -> tuple[float, str, dict[str, float], list[str]]:
    """(GFA in m², how it was derived, every candidate, notes on disagreements).

    Order: the user's figure; the building's, storeys' or spaces' GrossFloorArea quantity;
    ``Pset_BuildingCommon.GrossPlannedArea``; else the spaces' net area, said to be net.
    Gross candidates more than ``tolerance`` (a share) apart are reported.
    """
    gross, net = _candidates(model, units)
    candidates = {**gross, **net}
    notes = []
    values = list(gross.values())
    if len(values) > 1 and max(values) > min(values) * (1 + tolerance):
        listed = "; ".join(f"{name} = {value:.2f} m²" for name, value in gross.items())
        notes.append(f"the file's floor areas disagree by more than {tolerance:.0%}: {listed}")
    if user_gfa is not None:
        if not (math.isfinite(user_gfa) and user_gfa > 0):
            from ...errors import InputError

            raise InputError(f"gross floor area {user_gfa} is not a positive number", field="gross_floor_area_m2")
        return float(user_gfa), "given by the user (--gfa / gfa_m2)", candidates, notes
    if gross:
        name, value = next(iter(gross.items()))
        return value, name, candidates, notes
    if net:
        name, value = next(iter(net.items()))
        notes.append(f"no gross floor area in the file; using the {name}; give the GFA with `mpeil ifc FILE --gfa M2`")
        return value, name, candidates, notes
    return math.nan, "no floor area in the file (no spaces, storey or building areas)", candidates, notes

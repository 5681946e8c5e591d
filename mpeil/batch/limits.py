"""Plausibility and safety limits of a batch (``data/batch_limits.csv``), and the plausibility check.

The check runs on one file's compiled buildings (and its flat bill of materials, for layer
thicknesses) and raises the first value beyond a limit as an :class:`~mpeil.errors.InputError`
located by file, building, element, layer and field, like every other input error.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..compile import CompiledBuildings
from ..errors import InputError, MpeilError
from ..paths import data_dir
from ..units import parse_unit, unit_registry

__all__ = ["Limits", "load_limits", "check_plausibility"]


@dataclass(frozen=True)
class Limits:
    """Every limit of a batch run; ``NaN`` = no limit on that side."""

    gross_floor_area_m2: tuple[float, float]
    reference_study_period_years: tuple[float, float]
    building_mass_per_gross_floor_area: float  # kg/m² GFA
    line_mass_per_gross_floor_area: float  # kg/m² GFA
    layer_thickness: float  # m
    element_quantity_per_gross_floor_area: float  # element units per m² GFA
    file_size: int  # bytes
    zip_compression_ratio: float
    zip_uncompressed_total: int  # bytes
    zip_members: int

    def replace(self, **changes) -> Limits:
        """A copy with some limits changed; ``None`` values are ignored."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def as_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}


@functools.lru_cache(maxsize=4)
def _read(path: str) -> Limits:
    table = pd.read_csv(path, comment="#").set_index("name")

    def low_high(name: str) -> tuple[float, float]:
        row = table.loc[name]
        return float(row["minimum"]), float(row["maximum"])

    def high(name: str) -> float:
        return float(table.loc[name, "maximum"])

    return Limits(
        gross_floor_area_m2=low_high("gross_floor_area_m2"),
        reference_study_period_years=low_high("reference_study_period_years"),
        building_mass_per_gross_floor_area=high("building_mass_per_gross_floor_area"),
        line_mass_per_gross_floor_area=high("line_mass_per_gross_floor_area"),
        layer_thickness=high("layer_thickness"),
        element_quantity_per_gross_floor_area=high("element_quantity_per_gross_floor_area"),
        file_size=int(high("file_size")),
        zip_compression_ratio=high("zip_compression_ratio"),
        zip_uncompressed_total=int(high("zip_uncompressed_total")),
        zip_members=int(high("zip_members")),
    )


def load_limits(path: Path | None = None) -> Limits:
    """The shipped limits (``data/batch_limits.csv``) or those of another file of the same shape."""
    return _read(str(path or data_dir() / "batch_limits.csv"))


def _beyond(value: float, low: float, high: float) -> bool:
    return (not math.isnan(low) and value < low) or (not math.isnan(high) and value > high)


def _layer_label(layer, line: int) -> str:
    return f"{layer} (line {int(line)})" if isinstance(layer, str) and layer else f"line {int(line)}"


@functools.lru_cache(maxsize=1024)
def _metres_per_unit(unit: str) -> float:
    """How many metres one ``unit`` is, or NaN when ``unit`` is not a length."""
    registry = unit_registry()
    try:
        quantity = registry.Quantity(1.0, parse_unit(unit))
    except MpeilError:
        return math.nan
    if quantity.dimensionality != registry.Quantity(1.0, "m").dimensionality:
        return math.nan
    return float(quantity.to("m").magnitude)


def check_plausibility(frame: pd.DataFrame, compiled: CompiledBuildings, limits: Limits, file: str | None) -> None:
    """Raise an :class:`InputError` for the first value beyond a plausibility limit.

    ``frame`` is the flat bill of materials that ``compiled`` was compiled from (one file).
    """
    gfa, rsp = compiled.gross_floor_area_m2, compiled.study_period_years
    ids = compiled.building_ids
    for b in range(compiled.n_buildings):
        low, high = limits.gross_floor_area_m2
        if _beyond(gfa[b], low, high):
            raise InputError(
                f"gross floor area {gfa[b]:g} m² is outside the plausible range [{low:g}, {high:g}] m² "
                "(data/batch_limits.csv)",
                file=file,
                building=ids[b],
                field="gross_floor_area_m2",
            )
        low, high = limits.reference_study_period_years
        if _beyond(rsp[b], low, high):
            raise InputError(
                f"study period {rsp[b]:g} years is outside the plausible range [{low:g}, {high:g}] years "
                "(data/batch_limits.csv)",
                file=file,
                building=ids[b],
                field="reference_study_period_years",
            )

    # elements: quantity per m² GFA
    per_gfa = compiled.element_quantity / gfa[compiled.element_building]
    bad = np.flatnonzero(per_gfa > limits.element_quantity_per_gross_floor_area)
    if bad.size:
        e = int(bad[0])
        raise InputError(
            f"element quantity {compiled.element_quantity[e]:g} {compiled.element_unit[e]} is "
            f"{per_gfa[e]:g} per m² gross floor area, above the plausible "
            f"{limits.element_quantity_per_gross_floor_area:g} "
            "(data/batch_limits.csv): check the unit and the gross floor area",
            file=file,
            building=ids[compiled.element_building[e]],
            element=compiled.element_ids[e],
            field="element_quantity",
        )

    # lines: thickness of a length on an area element
    if {"unit", "amount", "element_unit"} <= set(frame.columns) and len(frame):
        units = frame["unit"].astype("object")
        metres = units.map(lambda u: _metres_per_unit(u) if isinstance(u, str) else math.nan).to_numpy(dtype=np.float64)
        on_area = frame["element_unit"].fillna("m2").astype(str).to_numpy() == "m2"
        amount = pd.to_numeric(frame["amount"], errors="coerce").to_numpy(dtype=np.float64)
        thickness = amount * metres
        bad = np.flatnonzero(on_area & (thickness > limits.layer_thickness))
        if bad.size:
            row = frame.iloc[int(bad[0])]
            line = row["line"] if "line" in frame else int(bad[0]) + 1
            raise InputError(
                f"layer thickness {amount[bad[0]]:g} {row['unit']} = {thickness[bad[0]]:g} m is above the plausible "
                f"{limits.layer_thickness:g} m (data/batch_limits.csv): check the unit (mm or m?)",
                file=file,
                building=row["building_id"],
                element=row["element_id"],
                layer=_layer_label(row.get("layer"), line),
                field="amount",
            )

    _check_mass(compiled, limits, file)


def _check_mass(compiled: CompiledBuildings, limits: Limits, file: str | None) -> None:
    """Mass per m² GFA [kg/m²] of each line and each building (lines whose data set gives no mass are left out)."""
    gfa = compiled.gross_floor_area_m2
    line_building = compiled.line_building
    line_mass = compiled.mass_kg / gfa[line_building]
    bad = np.flatnonzero(line_mass > limits.line_mass_per_gross_floor_area)
    if bad.size:
        _raise_mass(
            compiled, int(bad[0]), line_mass[bad[0]], limits.line_mass_per_gross_floor_area, "this line alone", file
        )
    known = np.nan_to_num(line_mass)
    totals = np.bincount(line_building, weights=known, minlength=compiled.n_buildings)
    bad = np.flatnonzero(totals > limits.building_mass_per_gross_floor_area)
    if bad.size:
        b = int(bad[0])
        lines = np.flatnonzero(line_building == b)
        heaviest = int(lines[np.argmax(known[lines])])
        _raise_mass(
            compiled,
            heaviest,
            totals[b],
            limits.building_mass_per_gross_floor_area,
            "the building (its heaviest line is named)",
            file,
        )


def _raise_mass(compiled: CompiledBuildings, line: int, value: float, limit: float, what: str, file) -> None:
    e = compiled.line_element[line]
    raise InputError(
        f"mass of {what} is {value:,.0f} kg per m² gross floor area, above the plausible {limit:,.0f} kg/m² "
        "(data/batch_limits.csv): check the amount, its unit and the element quantity",
        file=file,
        building=compiled.building_ids[compiled.element_building[e]],
        element=compiled.element_ids[e],
        layer=_layer_label(compiled.line_layer[line], compiled.line_number[line]),
        field="amount",
    )

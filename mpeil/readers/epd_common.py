"""Shared pieces of the EPD readers (ÖKOBAUDAT CSV, ILCD+EPD JSON, BR18 Tabel 7).

Every reader returns the two frames of the storage contract in :mod:`mpeil.model.library`
(``datasets`` and ``values``). Besides the contract columns, the data-set frame carries one
extra column, ``notes``: what the reader changed or could not use, in words (empty when
nothing). The library keeps extra columns as they are.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ParseError, UnitError
from ..model.library import DATASET_COLUMNS, VALUE_COLUMNS
from ..paths import data_dir
from ..units import parse_unit, unit_registry
from .losses import Loss

__all__ = [
    "NOTES_COLUMN",
    "tidy_unit",
    "parse_number",
    "mass_per_declared_unit",
    "orient_kg_factor",
    "property_notes",
    "DeclaredUnitCorrections",
    "datasets_frame",
    "values_frame",
    "ImportedDataSet",
    "ValueRow",
]

#: one row of the value frame: (dataset_id, module, scenario, indicator, value)
ValueRow = tuple[str, str, str, str, float]


@dataclass
class ImportedDataSet:
    """One data set a reader imported from a file: its row, its values, and what it lost.

    ``losses`` are what the reader read but could not import (:class:`~mpeil.readers.losses.Loss`:
    ``what`` is ``module``, ``indicator``, ``scenario``, ``unit``, ``value`` (one cell) or
    ``property``). ``not_declared`` are the cells the *file* marks as not declared (``ND``,
    ``MND`` …), as ``Loss("declared", where, "<indicator> <module>: <marker>")``: missing in the
    library, but not lost by the reader, so kept apart.
    """

    dataset: dict
    rows: list[ValueRow] = field(default_factory=list)
    losses: list[Loss] = field(default_factory=list)
    not_declared: list[Loss] = field(default_factory=list)

    @property
    def dataset_id(self) -> str:
        return str(self.dataset["dataset_id"])


NOTES_COLUMN = "notes"

#: relative tolerance when a "conversion factor to 1 kg" is compared with the mass that the
#: other properties give (EPD editors round either one to 2–3 digits)
KG_FACTOR_RTOL = 0.05
#: a board declared per m² with a gross density but no thickness: an orientation of the
#: "conversion factor to 1 kg" is accepted only when the layer thickness it implies lies in
#: this range (metres) and the other orientation's does not
PLAUSIBLE_THICKNESS_M = (0.001, 1.0)

#: the spellings stored in ``declared_unit``; any other unit is stored as pint writes it
TIDY_UNITS = (
    "kg",
    "t",
    "g",
    "m",
    "mm",
    "cm",
    "km",
    "m2",
    "m3",
    "l",
    "piece",
    "MJ",
    "kWh",
    "year",
    "h",
    "t*km",
    "kg*km",
)


def tidy_unit(text: str) -> str:
    """One spelling per unit for ``declared_unit`` (``"qm"`` → ``"m2"``, ``"pcs."`` → ``"piece"``).

    Raises :class:`UnitError` when the text is not a unit.
    """
    unit = parse_unit(text)
    for spelling in TIDY_UNITS:
        if parse_unit(spelling) == unit:
            return spelling
    return str(unit)


def parse_number(text, *, where: dict | None = None) -> float:
    """A float from a cell: ``""``/NaN → NaN, ``"3,6"`` (decimal comma) → 3.6.

    Anything else that is not a number raises :class:`ParseError` located by ``where``.
    """
    if text is None:
        return math.nan
    if isinstance(text, (int, float, np.floating, np.integer)):
        return float(text)
    cell = str(text).strip()
    if not cell or cell.lower() in {"nan", "none"}:
        return math.nan
    if "," in cell:
        if "." in cell:
            raise ParseError(f"ambiguous number {cell!r} (both '.' and ',')", **(where or {}))
        cell = cell.replace(",", ".")
    try:
        return float(cell)
    except ValueError:
        raise ParseError(f"not a number: {cell!r}", **(where or {})) from None


def _scale(unit_text: str, to: str) -> float:
    registry = unit_registry()
    return float(registry.Quantity(1.0, parse_unit(unit_text)).to(to).magnitude)


def mass_per_declared_unit(declared_unit: str, props: dict[str, float]) -> float:
    """kg per one declared unit from the *other* properties (not the per-kg factor); NaN if unknown."""
    registry = unit_registry()
    try:
        dim = registry.Quantity(1.0, parse_unit(declared_unit)).dimensionality
    except UnitError:
        return math.nan

    def ok(name: str) -> bool:
        value = props.get(name, math.nan)
        return value is not None and not math.isnan(value) and value > 0

    if dim == registry.kg.dimensionality:
        return _scale(declared_unit, "kg")
    if dim == (registry.m**3).dimensionality:
        for name in ("gross_density_kg_m3", "bulk_density_kg_m3"):
            if ok(name):
                return props[name] * _scale(declared_unit, "m**3")
    if dim == (registry.m**2).dimensionality:
        if ok("area_weight_kg_m2"):
            return props["area_weight_kg_m2"] * _scale(declared_unit, "m**2")
        if ok("gross_density_kg_m3") and ok("layer_thickness_m"):
            return props["gross_density_kg_m3"] * props["layer_thickness_m"] * _scale(declared_unit, "m**2")
    if dim == registry.m.dimensionality and ok("linear_weight_kg_m"):
        return props["linear_weight_kg_m"] * _scale(declared_unit, "m")
    if dim == registry.piece.dimensionality and ok("mass_per_piece_kg"):
        return props["mass_per_piece_kg"] * _scale(declared_unit, "piece")
    return math.nan


def orient_kg_factor(
    factor: float, declared_amount: float, declared_unit: str, props: dict[str, float]
) -> tuple[float, str]:
    """Normalise a source's "conversion factor to 1 kg" (``Umrechungsfaktor auf 1kg``).

    Meant: ``factor × (declared amount)`` = 1 kg, i.e. declared amounts per kg (so
    ``value per declared amount × factor`` = value per kg). In the data it is filled either
    way round: checked against the densities of ÖKOBAUDAT 2020-II, 43 data sets hold
    ``1 / kg`` and 56 hold ``kg`` per declared amount (e.g. ``550`` next to a gross density
    of 550 kg/m³); in 2024-I specific 197 vs 19. So the orientation is decided per data set:

    * against the mass the other properties give (density, area weight, …), within
      :data:`KG_FACTOR_RTOL`;
    * for m² data sets with a density but no thickness, by the thickness each orientation
      implies (:data:`PLAUSIBLE_THICKNESS_M`);
    * otherwise it cannot be decided and is not used (NaN), with a note.

    Returns ``(declared units per kg for ONE declared unit, note)`` — the meaning of the
    ``conversion_factor_to_kg`` column — or ``(NaN, note)``.
    """
    if factor is None or math.isnan(factor) or factor <= 0:
        return math.nan, ""
    amount = declared_amount if declared_amount and not math.isnan(declared_amount) else math.nan
    if math.isnan(amount):
        return math.nan, f"conversion factor to 1 kg {factor:g} not used: declared amount unknown"
    as_inverse = 1.0 / (factor * amount)  # kg per declared unit if the factor is 1/kg (as named)
    as_mass = factor / amount  # kg per declared unit if the factor is kg
    mass = mass_per_declared_unit(declared_unit, props)
    if not math.isnan(mass):
        if math.isclose(as_inverse, mass, rel_tol=KG_FACTOR_RTOL):
            return 1.0 / as_inverse, ""
        if math.isclose(as_mass, mass, rel_tol=KG_FACTOR_RTOL):
            return 1.0 / as_mass, (
                f"conversion factor to 1 kg {factor:g} is given as kg per declared amount "
                "(agrees with the other properties); stored inverted"
            )
        return math.nan, (
            f"conversion factor to 1 kg {factor:g} not used: it agrees neither way with "
            f"{mass:g} kg per declared unit from the other properties"
        )
    density = props.get("gross_density_kg_m3", math.nan)
    try:
        is_area = parse_unit(declared_unit).dimensionality == unit_registry().Quantity(1, "m**2").dimensionality
    except UnitError:
        is_area = False
    if is_area and density and not math.isnan(density) and density > 0:
        low, high = PLAUSIBLE_THICKNESS_M
        scale = _scale(declared_unit, "m**2")
        thick_inverse = as_inverse / scale / density
        thick_mass = as_mass / scale / density
        inverse_ok = low <= thick_inverse <= high
        mass_ok = low <= thick_mass <= high
        if inverse_ok and not mass_ok:
            return 1.0 / as_inverse, (
                f"conversion factor to 1 kg {factor:g} read as 1/kg: with the gross density it gives "
                f"a plausible {thick_inverse * 1000:.3g} mm layer"
            )
        if mass_ok and not inverse_ok:
            return 1.0 / as_mass, (
                f"conversion factor to 1 kg {factor:g} read as kg per declared amount: with the gross "
                f"density it gives a plausible {thick_mass * 1000:.3g} mm layer; stored inverted"
            )
    return math.nan, (
        f"conversion factor to 1 kg {factor:g} not used: the source fills it both as kg and as 1/kg "
        "per declared amount, and no other property tells which"
    )


def property_notes(props: dict[str, float]) -> list[str]:
    """Notes on conversion properties that contradict each other (density × thickness ≠ area weight)."""
    density = props.get("gross_density_kg_m3", math.nan)
    thickness = props.get("layer_thickness_m", math.nan)
    area_weight = props.get("area_weight_kg_m2", math.nan)
    values = (density, thickness, area_weight)
    if any(v is None or math.isnan(v) or v <= 0 for v in values):
        return []
    if math.isclose(density * thickness, area_weight, rel_tol=KG_FACTOR_RTOL):
        return []
    return [
        f"properties disagree: gross density {density:g} kg/m3 × layer thickness {thickness:g} m = "
        f"{density * thickness:g} kg/m2, but area weight {area_weight:g} kg/m2 (m2↔m3 uses the thickness, "
        "m2↔kg the area weight)"
    ]


class DeclaredUnitCorrections:
    """Known wrong declared amounts/units (``data/epd/declared_unit_corrections.csv``).

    Each row matches a data set by ``uuid`` (``*`` = any) together with its raw amount and
    raw unit, and replaces them; the row's ``reason`` goes into the data set's notes.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.rows = [
            (
                str(r.uuid).strip(),
                float(r.raw_amount),
                str(r.raw_unit).strip().lower(),
                float(r.declared_amount),
                str(r.declared_unit).strip(),
                str(r.reason),
            )
            for r in frame.itertuples(index=False)
        ]

    @classmethod
    def shipped(cls) -> DeclaredUnitCorrections:
        return cls.from_csv(data_dir() / "epd" / "declared_unit_corrections.csv")

    @classmethod
    @functools.lru_cache(maxsize=4)
    def from_csv(cls, path: Path) -> DeclaredUnitCorrections:
        return cls(pd.read_csv(path, dtype=str, keep_default_na=False))

    @classmethod
    def none(cls) -> DeclaredUnitCorrections:
        return cls(
            pd.DataFrame(columns=["uuid", "raw_amount", "raw_unit", "declared_amount", "declared_unit", "reason"])
        )

    def apply(self, uuid: str, amount: float, unit: str) -> tuple[float, str, str]:
        """``(amount, unit, reason)``; reason is ``""`` when nothing was corrected."""
        key = (unit or "").strip().lower()
        for match_uuid, raw_amount, raw_unit, new_amount, new_unit, reason in self.rows:
            if match_uuid not in ("*", uuid) or key != raw_unit:
                continue
            if not math.isnan(amount) and math.isclose(amount, raw_amount, rel_tol=1e-6):
                return new_amount, new_unit, f"declared {amount:g} {unit} → {new_amount:g} {new_unit}: {reason}"
        return amount, unit, ""


def datasets_frame(rows: list[dict]) -> pd.DataFrame:
    """The data-set frame in contract column order (plus ``notes``), with contract dtypes."""
    frame = pd.DataFrame(rows)
    for name, dtype in DATASET_COLUMNS.items():
        if name not in frame:
            frame[name] = np.nan if dtype == "float64" else pd.NA
        frame[name] = frame[name].astype(dtype)
    if NOTES_COLUMN not in frame:
        frame[NOTES_COLUMN] = ""
    frame[NOTES_COLUMN] = frame[NOTES_COLUMN].fillna("").astype("string")
    return frame[[*DATASET_COLUMNS, NOTES_COLUMN]]


def values_frame(rows: list[tuple[str, str, str, str, float]] | pd.DataFrame) -> pd.DataFrame:
    """The value frame in contract column order and dtypes, source order kept."""
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows, columns=list(VALUE_COLUMNS))
    frame = frame[list(VALUE_COLUMNS)].copy()
    for name, dtype in VALUE_COLUMNS.items():
        frame[name] = frame[name].astype(dtype)
    frame["scenario"] = frame["scenario"].fillna("")
    return frame.reset_index(drop=True)

"""BR18 Bilag 2 Tabel 7 (Danish generic GWP data) → the EPD library.

``tabel7.csv`` (from github.com/ocni-dtu/table7) has one row per material: GWP for modules
A1-A3, C3, C4 and D in kg CO2e per ``Deklareret faktor (FU)`` × ``Deklareret enhed (FU)``,
and ``Masse faktor`` (kg per one declared unit). Tabel 7 is built on EN 15804+A1 data
(mostly ÖKOBAUDAT 2020), so every value is stored as indicator ``GWP-A1``. ``"-"`` means
not declared (no row).

``dataset_id`` = ``"br18:<Sorterings ID without #>"`` (e.g. ``br18:G0005``). ``Navn DE/ENG``
(the ÖKOBAUDAT name, mostly German) goes to ``name_de``; the Danish name ``Navn DK`` to the
extra column ``name_da``. ``Masse faktor`` becomes the property of the declared unit's
dimension (M3 → gross density, M2 → area weight, M → linear weight, STK → mass per piece,
L → gross density × 1000).
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import pandas as pd

from ..errors import ParseError, UnitError
from ..model.library import EPDLibrary
from ..units import parse_unit, unit_registry
from .epd_common import NOTES_COLUMN, datasets_frame, parse_number, tidy_unit, values_frame

__all__ = ["read_br18", "read_br18_library", "MODULE_COLUMNS", "INDICATOR"]

#: Tabel 7 column → module
MODULE_COLUMNS = {
    "Global Opvarmning, modul A1-A3": "A1-A3",
    "Global Opvarmning, modul C3": "C3",
    "Global Opvarmning, modul C4": "C4",
    "Global Opvarmning, modul D": "D",
}
INDICATOR = "GWP-A1"
#: extra data-set column with the Danish name (``Navn DK``)
NAME_DA_COLUMN = "name_da"
DATA_TYPES = {"Generisk data": "generic", "Branche data": "average"}

_REQUIRED = ("Sorterings ID", "Deklareret faktor (FU)", "Deklareret enhed (FU)", "Masse faktor", *MODULE_COLUMNS)

# dimension of the declared unit → (property column, unit that column is per)
_MASS_PROPERTY = (
    ("[length] ** 3", "gross_density_kg_m3", "m**3"),
    ("[length] ** 2", "area_weight_kg_m2", "m**2"),
    ("[length]", "linear_weight_kg_m", "m"),
    ("[piece]", "mass_per_piece_kg", "piece"),
)


def _mass_property(unit: str, kg_per_unit: float) -> dict[str, float]:
    """``Masse faktor`` (kg per one declared unit) → the property column of the unit's dimension."""
    registry = unit_registry()
    declared = registry.Quantity(1.0, parse_unit(unit))
    if declared.dimensionality == registry.Quantity(1.0, "kg").dimensionality:
        return {}  # a mass needs no mass factor
    for _dimension, column, per in _MASS_PROPERTY:
        if declared.dimensionality == registry.Quantity(1.0, per).dimensionality:
            # kg per declared unit → kg per the column's unit (e.g. per l → per m³: × 1000)
            return {column: kg_per_unit / float(declared.to(per).magnitude)}
    return {}


def read_br18(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read ``tabel7.csv`` into ``(datasets, values)`` frames."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError) as exc:
        raise ParseError(f"not a readable Tabel 7 CSV: {exc}", file=str(path)) from None
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise ParseError(f"not BR18 Tabel 7: missing column(s) {missing}", file=str(path))

    datasets, values = [], []
    for i, row in frame.iterrows():
        where = {"file": str(path), "field": f"row {i + 2}"}
        sort_id = row["Sorterings ID"].strip().lstrip("#")
        if not sort_id:
            raise ParseError("row without Sorterings ID", **where)
        dataset_id = f"br18:{sort_id}"
        raw_unit = row["Deklareret enhed (FU)"].strip()
        try:
            unit = tidy_unit(raw_unit)
        except UnitError as exc:
            raise ParseError(f"unknown declared unit {raw_unit!r}", **where) from exc
        amount = parse_number(row["Deklareret faktor (FU)"], where=where)
        if math.isnan(amount) or amount <= 0:
            raise ParseError(f"declared factor {row['Deklareret faktor (FU)']!r} is not a positive number", **where)
        mass = parse_number(row["Masse faktor"], where=where)
        props = _mass_property(unit, mass) if not math.isnan(mass) and mass > 0 else {}
        notes = []
        if unit == "kg" and not math.isnan(mass) and not math.isclose(mass, 1.0):
            notes.append(f"Masse faktor {mass:g} for a declared unit of kg not used")
        for column, module in MODULE_COLUMNS.items():
            cell = row[column].strip()
            if cell in {"", "-"}:
                continue
            values.append((dataset_id, module, "", INDICATOR, parse_number(cell, where={**where, "field": column})))
        url = row.get("Url (link)", "").strip()
        comment = row.get("Kommentar", "").strip()
        if comment:
            notes.append(f"Tabel 7 comment: {comment}")
        name_de = row.get("Navn DE/ENG", "").strip()
        datasets.append(
            {
                "dataset_id": dataset_id,
                "source": "br18",
                "source_uuid": sort_id,
                "version": "2",
                # "Navn DE/ENG" holds the ÖKOBAUDAT (German) name, sometimes an English one
                "name_de": name_de or pd.NA,
                "name_en": pd.NA,
                "category": pd.NA,
                "data_type": DATA_TYPES.get(row.get("Data type", "").strip(), row.get("Data type", "").strip())
                or pd.NA,
                "standard": "EN 15804+A1",
                "country": "DK",
                "reference_year": pd.NA,
                "valid_until": pd.NA,
                "owner": "BR18 Bilag 2 Tabel 7",
                "url": url or pd.NA,
                "declared_amount": amount,
                "declared_unit": unit,
                **props,
                NOTES_COLUMN: "; ".join(notes),
                NAME_DA_COLUMN: row.get("Navn DK", "").strip(),
            }
        )
    frame = datasets_frame(datasets)
    frame[NAME_DA_COLUMN] = pd.Series([d[NAME_DA_COLUMN] for d in datasets], dtype="string")
    return frame, values_frame(values)


def read_br18_library(path: str | Path) -> EPDLibrary:
    datasets, values = read_br18(path)
    return EPDLibrary(datasets, values, name="br18")

"""Regenerate data/units/common_units.csv: what pint says of the common unit spellings.

Run: ``python scripts/common_units.py`` (a second). Each row is one spelling as written in the
shipped data, the examples and the indicator catalogue (and a few common neighbours), with pint's
answer for it through :func:`mpeil.units.parse_unit` (pint's default registry plus
``data/units.txt``): the unit's canonical name, its dimensionality, and the magnitude of one unit in
pint's base units. ``mpeil.units`` reads the table so that scoring one building needs no pint;
``tests/test_units_table.py`` checks every row against pint, bit for bit.
"""

from __future__ import annotations

import csv
from pathlib import Path

from mpeil.units import parse_unit, unit_registry

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "data" / "units" / "common_units.csv"

#: lengths, areas, volumes, masses, pieces, energy, time and transport as the data and examples
#: spell them, and the per-area and per-volume amounts a layer or a line declares
SPELLINGS = [
    "m", "mm", "cm", "dm", "km",
    "m2", "m²", "m**2", "qm", "sqm", "cm2", "mm2",
    "m3", "m³", "m**3", "cbm", "l", "dm3", "cm3",
    "kg", "g", "t",
    "piece", "pcs", "pcs.", "stk", "Stk", "st",
    "MJ", "kWh", "year", "a",
    "t*km", "tkm", "kg*km", "kgkm",
    "m/m2", "m2/m2", "m3/m2", "m3/m3", "kg/m2", "kg/m3", "kg/m", "kg/piece", "piece/m2", "piece/m",
    "m2/piece", "m/piece", "mm/m2",
]  # fmt: skip


def indicator_units() -> list[str]:
    with open(ROOT / "data" / "indicators.csv", newline="", encoding="utf-8") as handle:
        return [row["unit"] for row in csv.DictReader(handle)]


def rows() -> list[dict[str, str]]:
    registry = unit_registry()
    out, seen = [], set()
    for spelling in [*SPELLINGS, *indicator_units()]:
        if spelling in seen:
            continue
        seen.add(spelling)
        quantity = registry.Quantity(1.0, parse_unit(spelling))
        out.append(
            {
                "unit": spelling,
                "pint_unit": str(quantity.units),
                "dimension": str(quantity.dimensionality),
                "factor_to_si": repr(float(quantity.to_base_units().magnitude)),
            }
        )
    return out


if __name__ == "__main__":
    TARGET.parent.mkdir(exist_ok=True)
    with open(TARGET, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["unit", "pint_unit", "dimension", "factor_to_si"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows())
    print(f"wrote {TARGET}")

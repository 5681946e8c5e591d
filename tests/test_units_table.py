"""The common-unit table (data/units/common_units.csv) says what pint says, bit for bit.

Scoring one building reads the table instead of importing pint; these tests hold every row, and the
answers built from it (metres per unit, the compiler's physical unit), against pint itself.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from mpeil.compile.compiler import _common_physical_unit, _pint_physical_unit
from mpeil.errors import UnitError
from mpeil.paths import data_dir
from mpeil.units import check_unit, common_unit, metres_per_unit, parse_unit, unit_registry

ROOT = Path(__file__).resolve().parents[1]


def _rows() -> list[dict[str, str]]:
    with open(data_dir() / "units" / "common_units.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


ROWS = _rows()
SPELLINGS = [row["unit"] for row in ROWS]


def test_every_row_is_what_pint_says():
    registry = unit_registry()
    for row in ROWS:
        quantity = registry.Quantity(1.0, parse_unit(row["unit"]))
        assert row["pint_unit"] == str(quantity.units), row
        assert row["dimension"] == str(quantity.dimensionality), row
        factor = float(quantity.to_base_units().magnitude)
        assert float(row["factor_to_si"]).hex() == factor.hex(), row
        known = common_unit(row["unit"])
        assert known is not None and known.factor_to_si.hex() == factor.hex()


def test_literal_rows():
    """A few rows against hand values (pint's definitions: milli = 1e-3, hour = 3600 s)."""
    assert common_unit("mm").factor_to_si == 0.001  # type: ignore[union-attr]
    assert common_unit(" m2 ").pint_unit == "meter ** 2"  # type: ignore[union-attr]
    assert common_unit("kWh").factor_to_si == 3_600_000.0  # type: ignore[union-attr]
    assert common_unit("piece").dimension == "[piece]"  # type: ignore[union-attr]
    assert common_unit("furlong") is None and common_unit(None) is None


def _shipped_units() -> set[str]:
    """Unit spellings of the examples' lines and elements and of the indicator catalogue."""
    found: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("unit", "element_unit") and isinstance(value, str):
                    found.add(value)
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in (ROOT / "scenarios" / "examples").glob("*.json"):
        walk(json.loads(path.read_text(encoding="utf-8")))
    with open(data_dir() / "indicators.csv", newline="", encoding="utf-8") as handle:
        found |= {row["unit"] for row in csv.DictReader(handle)}
    # the declared units of the shipped data sets (data/epd: m2, kg, m3, piece, m, MJ, t*km, year)
    found |= {"m2", "kg", "m3", "piece", "m", "MJ", "t*km", "year"}
    return found - {"mPt/(m²·yr)"}  # a result's unit in the examples, not a line's


def test_the_shipped_units_are_in_the_table():
    assert sorted(_shipped_units() - set(SPELLINGS)) == []


def test_metres_per_unit_is_pints():
    registry = unit_registry()
    for spelling in [*SPELLINGS, "ft", "inch", "furlong"]:
        quantity = registry.Quantity(1.0, parse_unit(spelling))
        if quantity.dimensionality == registry.Quantity(1.0, "m").dimensionality:
            assert metres_per_unit(spelling).hex() == float(quantity.to("m").magnitude).hex(), spelling
        else:
            assert math.isnan(metres_per_unit(spelling)), spelling
    assert math.isnan(metres_per_unit("no such unit")) and math.isclose(metres_per_unit("ft"), 0.3048)


def _pint_or_error(amount: str, element: str):
    try:
        return _pint_physical_unit(amount, element)
    except UnitError:
        return "error"


def test_physical_unit_from_the_table_is_pints():
    """Every pair of table spellings (amount × element unit): where the table answers, pint gives the
    same unit text and the same scale bit for bit; where it does not, pint is asked (no answer lost)."""
    answered = 0
    for amount in SPELLINGS:
        for element in SPELLINGS:
            common = _common_physical_unit(amount, element)
            if common is None:
                continue
            answered += 1
            unit, scale = common
            expected = _pint_or_error(amount, element)
            assert expected != "error", (amount, element)
            assert (unit, scale.hex()) == (expected[0], expected[1].hex()), (amount, element)
    assert answered > len(SPELLINGS) * 10  # the table answers most pairs
    assert _common_physical_unit("mm", "m2") == ("meter ** 3", 0.001)
    assert _common_physical_unit("kg/m2", "m2") == ("kilogram", 1.0)
    assert _common_physical_unit("m/m2", "m2") == ("meter", 1.0)
    assert _common_physical_unit("kg/m2", "m") is None  # pint raises the error


def test_check_unit():
    check_unit("kg_CO2_eq")
    check_unit("ft")  # not in the table: pint reads it
    with pytest.raises(UnitError):
        check_unit("kg CO2 eq ++")

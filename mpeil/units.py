"""Units: one pint registry with mpeil's indicator units, and parsing of unit spellings.

The registry is built on first use (never at import) and cached, so every part of
mpeil shares the same one and quantities stay comparable.
"""

from __future__ import annotations

import functools
import math
import re
from typing import cast

import pint

from .errors import UnitError
from .paths import data_dir

__all__ = ["unit_registry", "parse_unit", "canonical_unit", "DECLARED_UNIT_ALIASES"]

#: Unit spellings found in EPD exports (ÖKOBAUDAT, BR18 Tabel 7, ILCD) → pint strings.
DECLARED_UNIT_ALIASES: dict[str, str] = {
    "qm": "m**2",
    "m2": "m**2",
    "m²": "m**2",
    "sqm": "m**2",
    "m3": "m**3",
    "m³": "m**3",
    "cbm": "m**3",
    "pcs.": "piece",
    "pcs": "piece",
    "piece": "piece",
    "stk": "piece",
    "stk.": "piece",
    "st": "piece",
    "p": "piece",
    "l": "liter",
    "kgkm": "kg*km",
    "t*km": "t*km",
    "a": "year",
    "mj": "MJ",
    "kwh": "kWh",
    "kg": "kg",
    "t": "t",
    "m": "m",
    "mm": "mm",
    "cm": "cm",
}


@functools.lru_cache(maxsize=1)
def unit_registry() -> pint.UnitRegistry:
    """The shared registry: pint's defaults plus ``data/units.txt``."""
    registry: pint.UnitRegistry = pint.UnitRegistry(cache_folder=None)
    registry.load_definitions(str(data_dir() / "units.txt"))
    return registry


@functools.lru_cache(maxsize=4096)
def parse_unit(text: str) -> pint.Unit:
    """Parse a unit spelling (``"m2"``, ``"qm"``, ``"kg/m3"``, ``"pcs."``) into a pint unit.

    Raises :class:`~mpeil.errors.UnitError` for anything pint cannot read.
    """
    if not isinstance(text, str) or not text.strip():
        raise UnitError(f"empty or non-text unit {text!r}")
    spelled = text.strip()
    key = spelled.lower()
    if key in DECLARED_UNIT_ALIASES:
        spelled = DECLARED_UNIT_ALIASES[key]
    else:
        # "m2/m2", "kg/m2": digits glued to a unit are powers in building practice
        spelled = re.sub(r"(?<=[a-zA-Z])([23])\b", r"**\1", spelled)
    registry = unit_registry()
    try:
        quantity = registry.parse_expression(spelled)
    except Exception as exc:  # pint raises several unrelated types here
        raise UnitError(f"unknown unit {text!r}") from exc
    if not isinstance(quantity, registry.Quantity):
        raise UnitError(f"{text!r} is a number, not a unit")
    if not math.isclose(float(quantity.magnitude), 1.0):
        raise UnitError(f"unit {text!r} carries a factor {quantity.magnitude}; give the amount instead")
    return cast(pint.Unit, quantity.units)  # pint's stubs name it PlainUnit


def canonical_unit(text: str) -> str:
    """The canonical pint spelling of a unit, e.g. ``"qm"`` → ``"meter ** 2"``."""
    return str(parse_unit(text))

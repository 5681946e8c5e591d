"""Units: one pint registry with mpeil's indicator units, and parsing of unit spellings.

The registry is built on first use (never at import) and cached, so every part of
mpeil shares the same one and quantities stay comparable.
"""

from __future__ import annotations

import functools
import math
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .errors import MpeilError, UnitError
from .paths import data_dir

if TYPE_CHECKING:
    import pint

__all__ = [
    "unit_registry",
    "parse_unit",
    "canonical_unit",
    "cache_dir",
    "DECLARED_UNIT_ALIASES",
    "CommonUnit",
    "common_unit",
    "check_unit",
    "metres_per_unit",
]

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
    """The shared registry: pint's defaults plus ``data/units.txt``.

    pint keeps its parsed definition files in :func:`cache_dir` ``/pint`` (a cold start parses
    them in about 0.15 s CPU, a warm one reads them in 0.03 s); without a usable cache folder, or if
    reading the cache fails (say another process is writing it), the files are parsed as before.
    """
    folder = cache_dir("pint")
    if folder is not None:
        try:
            return _registry(folder)
        except Exception:
            pass
    return _registry(None)


def _registry(cache_folder: Path | None) -> pint.UnitRegistry:
    registry: pint.UnitRegistry = _import_pint().UnitRegistry(cache_folder=cache_folder)
    registry.load_definitions(str(data_dir() / "units.txt"))
    return registry


def _import_pint() -> Any:
    """pint, imported without its optional dask support when dask is not imported yet.

    ``pint.compat`` imports dask whenever it is installed (``dask.base``, and with it yaml,
    jinja2, toolz, psutil: 0.1–0.2 s of a cold ``mpeil score``) only so that a quantity can hold a
    dask array; mpeil never makes one. While pint is first imported, ``dask`` is marked absent
    (``sys.modules["dask"] = None``, which ``find_spec`` reads as "not installed") and then
    unmarked, so dask itself imports as usual afterwards. Where dask is already imported, or pint
    is, nothing changes.
    """
    if "pint" in sys.modules or "dask" in sys.modules:
        import pint

        return pint
    sys.modules["dask"] = None  # type: ignore[assignment]
    try:
        import pint
    finally:
        if sys.modules.get("dask", 0) is None:
            del sys.modules["dask"]
    return pint


def cache_dir(name: str) -> Path | None:
    """A private, writable cache folder ``<root>/<name>`` (created 0700), or None.

    ``<root>`` is ``MPEIL_CACHE_DIR``, else ``$XDG_CACHE_HOME/mpeil`` (``~/.cache/mpeil``);
    ``MPEIL_CACHE_DIR=none`` turns the caches off. Nothing is ever written inside the package.
    """
    root = os.environ.get("MPEIL_CACHE_DIR")
    if root is not None and root.strip().lower() in ("", "none", "off"):
        return None
    if not root:
        root = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "mpeil")
    folder = Path(root) / name
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK) else None


#: Longest unit spelling read, most factors in one unit, largest power (``m**3`` is 3): the parser
#: refuses anything beyond, so no unit string can make pint compute a huge power.
MAX_UNIT_LENGTH = 64
MAX_UNIT_FACTORS = 6
MAX_UNIT_POWER = 4

_SUPERSCRIPTS = {"²": "**2", "³": "**3", "⁻¹": "**-1"}
_UNIT_TOKEN = re.compile(
    r"\s*(?:(?P<name>[A-Za-zµμ°Ω_][A-Za-z0-9µμ°Ω_]*)|(?P<power>\*\*|\^)|(?P<op>[*/·])|(?P<number>[+-]?\d+))"
)
_GLUED_POWER = re.compile(r"^([A-Za-zµμ]+)([23])$")  # "m2", "m3": a digit glued to a unit is a power


def _unit_tokens(text: str) -> list[tuple[str, str]]:
    """(kind, text) tokens of a unit spelling; anything outside the allow-list is a UnitError."""
    tokens, position = [], 0
    while position < len(text):
        match = _UNIT_TOKEN.match(text, position)
        if not match or match.end() == position:
            if text[position:].strip() == "":
                break
            raise UnitError(f"unit {text!r}: unexpected {text[position : position + 10]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _safe_unit_expression(text: str) -> str:
    """The unit spelling as a pint expression of unit names, ``*``, ``/`` and small integer powers.

    Grammar (whitespace between names multiplies, as in pint)::

        unit   := factor ((("*" | "/" | "·") factor) | factor)*
        factor := NAME [("**" | "^") INT] | "1"          (only as the first factor, for "1/m2")

    ``|INT|`` is at most :data:`MAX_UNIT_POWER`; numbers appear nowhere else, so nothing is
    evaluated but a product of at most :data:`MAX_UNIT_FACTORS` small powers of units.
    """
    for sign, power in _SUPERSCRIPTS.items():
        text = text.replace(sign, power)
    tokens = _unit_tokens(text)
    parts: list[str] = []
    factors, expect_factor = 0, True
    i = 0
    while i < len(tokens):
        kind, value = tokens[i]
        if kind == "op":
            if expect_factor:
                raise UnitError(f"unit {text!r}: {value!r} without a unit before it")
            parts.append("/" if value == "/" else "*")
            expect_factor = True
            i += 1
            continue
        if kind == "number" and value == "1" and not parts:
            parts.append("1")
        elif kind == "name":
            if not expect_factor:
                parts.append("*")
            glued = _GLUED_POWER.match(value)
            parts.append(f"{glued.group(1)}**{glued.group(2)}" if glued else value)
            if i + 1 < len(tokens) and tokens[i + 1][0] == "power":
                if glued or i + 2 >= len(tokens) or tokens[i + 2][0] != "number":
                    raise UnitError(f"unit {text!r}: a power must be a whole number after a unit name")
                exponent = int(tokens[i + 2][1])
                if abs(exponent) > MAX_UNIT_POWER:
                    raise UnitError(f"unit {text!r}: power {exponent} is beyond ±{MAX_UNIT_POWER}")
                parts.append(f"**{exponent}")
                i += 2
                if i + 1 < len(tokens) and tokens[i + 1][0] != "op":
                    raise UnitError(f"unit {text!r}: a power must be followed by '*', '/' or the end")
        else:
            raise UnitError(f"unit {text!r}: unexpected {value!r} (numbers only as powers, e.g. m**3)")
        factors += 1
        if factors > MAX_UNIT_FACTORS:
            raise UnitError(f"unit {text!r} has more than {MAX_UNIT_FACTORS} factors")
        expect_factor = False
        i += 1
    if expect_factor:
        raise UnitError(f"unit {text!r} is incomplete")
    return "".join(parts)


@functools.lru_cache(maxsize=4096)
def parse_unit(text: str) -> pint.Unit:
    """Parse a unit spelling (``"m2"``, ``"qm"``, ``"kg/m3"``, ``"pcs."``, ``"m2/m2"``) into a pint unit.

    Only an allow-list grammar is read (unit names, ``*``, ``/``, powers up to
    ±:data:`MAX_UNIT_POWER`, see :func:`_safe_unit_expression`): pint never evaluates an arbitrary
    expression. ``"m2/m2"`` is the dimensionless unit. Raises :class:`~mpeil.errors.UnitError` for
    anything else.
    """
    if not isinstance(text, str) or not text.strip():
        raise UnitError(f"empty or non-text unit {text!r}")
    if len(text) > MAX_UNIT_LENGTH:
        raise UnitError(f"unit of {len(text)} characters; a unit is at most {MAX_UNIT_LENGTH}")
    spelled = text.strip()
    key = spelled.lower()
    spelled = DECLARED_UNIT_ALIASES.get(key, spelled)
    expression = _safe_unit_expression(spelled)
    if expression == "1":
        raise UnitError(f"{text!r} is a number, not a unit")
    registry = unit_registry()
    try:
        quantity = registry.parse_expression(expression)
    except Exception as exc:  # pint raises several unrelated types here
        raise UnitError(f"unknown unit {text!r}") from exc
    if not isinstance(quantity, registry.Quantity):
        return registry.dimensionless  # "m2/m2": the units cancel
    if not math.isclose(float(quantity.magnitude), 1.0):
        raise UnitError(f"unit {text!r} carries a factor {quantity.magnitude}; give the amount instead")
    return cast("pint.Unit", quantity.units)  # pint's stubs name it PlainUnit


def canonical_unit(text: str) -> str:
    """The canonical pint spelling of a unit, e.g. ``"qm"`` → ``"meter ** 2"``."""
    return str(parse_unit(text))


@dataclass(frozen=True)
class CommonUnit:
    """What pint says of one common unit spelling, read from ``data/units/common_units.csv``.

    ``pint_unit`` is ``str(parse_unit(spelling))`` (``"meter ** 2"``), ``dimension`` pint's
    dimensionality as text (``"[length] ** 2"``, ``"dimensionless"``) and ``factor_to_si`` the
    magnitude of one unit in pint's base units (``mm``: 0.001), exactly as pint computes it
    (``scripts/common_units.py`` writes the table, ``tests/test_units_table.py`` checks every row
    against pint bit for bit).
    """

    pint_unit: str
    dimension: str
    factor_to_si: float


@functools.lru_cache(maxsize=1)
def _common_units() -> dict[str, CommonUnit]:
    """Spelling → :class:`CommonUnit` for every row of ``data/units/common_units.csv``."""
    import csv

    with open(data_dir() / "units" / "common_units.csv", newline="", encoding="utf-8") as handle:
        return {
            row["unit"]: CommonUnit(row["pint_unit"], row["dimension"], float(row["factor_to_si"]))
            for row in csv.DictReader(handle)
        }


def common_unit(text: object) -> CommonUnit | None:
    """The table's entry for a unit spelling (surrounding spaces ignored), or None when the
    spelling is not in the table (then ask pint: :func:`parse_unit`). Never imports pint."""
    if not isinstance(text, str):
        return None
    return _common_units().get(text.strip())


def check_unit(text: str) -> None:
    """Raise :class:`~mpeil.errors.UnitError` unless :func:`parse_unit` reads ``text``; a spelling
    of the common-unit table is known to parse (its rows were written by pint) and needs no pint."""
    if common_unit(text) is None:
        parse_unit(text)


@functools.lru_cache(maxsize=1024)
def metres_per_unit(unit: str) -> float:
    """How many metres one ``unit`` is, or NaN when ``unit`` is not a length (or not a unit).

    From the common-unit table when the spelling is in it (pint's own factor), else from pint.
    """
    common = common_unit(unit)
    if common is not None:
        return common.factor_to_si if common.dimension == "[length]" else math.nan
    registry = unit_registry()
    try:
        quantity = registry.Quantity(1.0, parse_unit(unit))
    except MpeilError:
        return math.nan
    if quantity.dimensionality != registry.Quantity(1.0, "m").dimensionality:
        return math.nan
    return float(quantity.to("m").magnitude)

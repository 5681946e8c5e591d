"""One cell of an ILCD+EPD file → a float, a *not declared* marker, or a reason it is unreadable.

Module values (``epd:amount``, the JSON ``anies`` ``value``):

* a number (``3.6``, ``3,6``, ``-1.2E-3``) is read as it is;
* an empty cell, or a marker from ``data/ilcd/not_declared_markers.csv`` (``ND``, ``MND``,
  ``MNA``, ``NR``, ``-`` …), means *not declared*: NaN, with the marker kept;
* anything else (``1.83+03``, ``n/a?``) is not read: NaN and a reason, which the reader turns
  into a loss for that cell only.

Conversion properties (MatML ``Data``, flow-property ``meanValue``) may also be written as

* a range ``a - b``, ``a–b``, ``a...b``, ``a to b``, ``a bis b``: read as the midpoint
  ``(a + b) / 2``, with a note;
* an approximation ``ca. a``, ``approx. a``, ``~a``, ``≈a``: read as ``a``, with a note;
* a bound ``> a``, ``>= a``, ``≥ a``, ``< a``, ``<= a``, ``≤ a``: *not* read (a bound is not a
  value, and a density of "more than 500" would make every conversion a guess): NaN and a reason.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...errors import ParseError
from ...paths import data_dir

__all__ = ["Cell", "read_cell", "read_property", "require_number", "not_declared_markers"]

_NUMBER = r"[-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?"
_RANGE = re.compile(rf"^({_NUMBER})\s*(?:-|–|—|\.\.\.?|to|bis)\s*({_NUMBER})$", re.IGNORECASE)
_APPROXIMATE = re.compile(rf"^(?:ca\.?|approx\.?|circa|~|≈)\s*({_NUMBER})$", re.IGNORECASE)
_BOUND = re.compile(rf"^(>=|<=|>|<|≥|≤)\s*({_NUMBER})$")


@dataclass(frozen=True)
class Cell:
    """A cell as read: ``value`` (NaN unless a number), the ``marker`` of a *not declared*
    cell (``""`` for an empty one), and ``problem``: why written text was not read, or a note
    on how it was read (a range's midpoint)."""

    value: float
    marker: str = ""
    problem: str = ""
    note: str = ""

    @property
    def declared(self) -> bool:
        return not math.isnan(self.value)


@functools.lru_cache(maxsize=1)
def not_declared_markers() -> frozenset[str]:
    """The markers of ``data/ilcd/not_declared_markers.csv``, upper-cased."""
    frame = pd.read_csv(data_dir() / "ilcd" / "not_declared_markers.csv", dtype=str, keep_default_na=False)
    return frozenset(str(m).strip().upper() for m in frame["marker"])


def _number(text: str) -> float:
    if "," in text and "." in text:
        raise ValueError(text)
    return float(text.replace(",", "."))


def read_cell(text: object) -> Cell:
    """A module value: a float, a *not declared* marker, or a reason it was not read."""
    if text is None:
        return Cell(math.nan)
    if isinstance(text, (bool, np.bool_)):
        return Cell(math.nan, problem=f"not a number: {text!r}")
    if isinstance(text, (int, float, np.floating, np.integer)):
        return Cell(float(text))
    cell = str(text).strip()
    if not cell or cell.lower() in {"nan", "none", "null"}:
        return Cell(math.nan)
    if cell.upper() in not_declared_markers():
        return Cell(math.nan, marker=cell)
    try:
        return Cell(_number(cell))
    except ValueError:
        return Cell(math.nan, problem=f"not a number: {cell!r}")


def read_property(text: object) -> Cell:
    """A conversion property: a number, a range (midpoint), an approximation, or a bound (not read)."""
    cell = read_cell(text)
    if cell.declared or not cell.problem:
        return cell
    written = str(text).strip()
    if match := _RANGE.match(written):
        low, high = _number(match.group(1)), _number(match.group(2))
        return Cell((low + high) / 2, note=f"range {written!r} read as its midpoint {(low + high) / 2:g}")
    if match := _APPROXIMATE.match(written):
        return Cell(_number(match.group(1)), note=f"{written!r} read as {_number(match.group(1)):g}")
    if _BOUND.match(written):
        return Cell(math.nan, problem=f"{written!r} is a bound, not a value")
    return cell


def require_number(text: object, where: dict) -> float:
    """A number the data set cannot do without (the declared amount): NaN if empty, else raise."""
    cell = read_property(text)
    if cell.problem:
        raise ParseError(cell.problem, **where)
    return cell.value

"""Indicator and unit aliases of ILCD+EPD files (``data/indicator_aliases.csv`` + a user file).

Rows of the CSV (columns ``kind, alias, code, unit, note`` and an optional ``factor``):

* ``uuid``: the reference UUID of an LCIA method or flow data set → a catalogue code;
* ``acronym``: the acronym at the end of an indicator's name (``(GWP-total)``) → a code;
* ``unit``: a unit spelling (for one code, or every code when ``code`` is empty) → a
  catalogue unit (pint name in ``data/units.txt``);
* ``unit-exact``: as ``unit``, for this exact spelling only (not by meaning);
* ``conversion``: values of indicator ``code`` stated in unit ``alias`` (pint name) are
  multiplied by ``factor`` to give unit ``unit`` (e.g. EP-freshwater in kg PO4 eq → kg P eq).

Unit spellings are matched by *meaning*, not spelling: :func:`unit_key` folds case, spaces,
hyphens, underscores, brackets and dots, and the words for "equivalent" (``eq.``, ``eqv.``,
``Äq.``, ``-Äquiv.``, ``equivalents``), so ``kg CFC-11 eq.``, ``kg CFC 11 eqv.`` and
``kg CFC11-Äq.`` are one unit. A user file (``--aliases FILE``, the same columns) adds
spellings, acronyms, UUIDs and conversions, and wins over the shipped file.
"""

from __future__ import annotations

import functools
import math
import re
from pathlib import Path

import pandas as pd

from ...errors import ParseError, UnitError
from ...paths import data_dir
from ...units import parse_unit

__all__ = ["IndicatorAliases", "unit_key"]

_EQUIVALENT = re.compile(r"(?:äquivalente?|äquiv|äqv|äq|equivalents?|equiv|eqv|eq)(?![a-z])")
#: words that name the same thing in ILCD unit strings (German and English)
_WORDS = (
    (r"krankheitsfälle", "disease incidence"),
    (r"phosphate?", "po4"),
    (r"ethene?", "c2h4"),
    (r"welt", "world"),
    (r"entzogen|deprived", ""),
    (r"\br11\b", "cfc11"),
    (r"h\+", "h"),
)


def unit_key(text: str) -> str:
    """A unit spelling folded to its meaning: ``"kg CFC-11 eq."`` → ``"kgcfc11eq"``."""
    key = str(text).lower()
    for word, meaning in _WORDS:
        key = re.sub(word, meaning, key)
    key = _EQUIVALENT.sub("eq", key)
    key = re.sub(r"[\s\-_().^,{}\[\]]", "", key)
    return key.replace("po43", "po4").replace("h+", "h")


class IndicatorAliases:
    """ILCD reference UUIDs, acronyms, unit spellings and unit conversions (see module docs)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.by_uuid: dict[str, str] = {}
        self.by_acronym: dict[str, list[str]] = {}
        self.units: dict[tuple[str, str], str] = {}
        self.conversions: dict[tuple[str, str], tuple[str, float, str]] = {}
        self._add(frame)

    def _add(self, frame: pd.DataFrame) -> None:
        factors = frame["factor"] if "factor" in frame else [""] * len(frame)
        notes = frame["note"] if "note" in frame else [""] * len(frame)
        for kind, alias, code, unit, factor, note in zip(
            frame["kind"], frame["alias"], frame["code"], frame["unit"], factors, notes, strict=True
        ):
            kind, alias, code, unit = (str(x).strip() for x in (kind, alias, code, unit))
            if kind == "uuid":
                self.by_uuid[alias.lower()] = code
            elif kind == "acronym":
                self.by_acronym.setdefault(alias.lower(), []).insert(0, code)
            elif kind == "unit":
                self.units[(alias, code)] = unit
                self.units.setdefault((unit_key(alias), code), unit)
            elif kind == "unit-exact":
                self.units[(alias, code)] = unit
            elif kind == "conversion":
                self.conversions[(code, str(parse_unit(alias)))] = (unit, _factor(factor, alias), str(note))
            else:
                raise ParseError(f"unknown alias kind {kind!r}", field="kind")

    @classmethod
    @functools.lru_cache(maxsize=4)
    def from_csv(cls, path: Path) -> IndicatorAliases:
        return cls(pd.read_csv(path, dtype=str, keep_default_na=False))

    @classmethod
    def shipped(cls) -> IndicatorAliases:
        return cls.from_csv(data_dir() / "indicator_aliases.csv")

    @classmethod
    def with_user_file(cls, path: str | Path | None) -> IndicatorAliases:
        """The shipped aliases, with the rows of a user file (same columns) added on top."""
        if path is None:
            return cls.shipped()
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (OSError, ValueError) as exc:
            raise ParseError(f"aliases file not readable: {exc}", file=str(path)) from None
        missing = {"kind", "alias", "code", "unit"} - set(frame.columns)
        if missing:
            raise ParseError(f"aliases file lacks columns {sorted(missing)}", file=str(path))
        shipped = pd.read_csv(data_dir() / "indicator_aliases.csv", dtype=str, keep_default_na=False)
        aliases = cls(shipped)
        try:
            aliases._add(frame)
        except (ParseError, UnitError) as error:
            raise error.located(file=str(path)) from None
        return aliases

    def unit(self, text: str, code: str):
        """pint unit of an ILCD unit string (context ``code`` first), or None if unknown."""
        text = (text or "").strip()
        key = unit_key(text)
        spelled = (
            self.units.get((text, code))
            or self.units.get((text, ""))
            or self.units.get((key, code))
            or self.units.get((key, ""))
        )
        if spelled is None:
            try:
                return parse_unit(text.replace("^", "**"))
            except UnitError:
                return None
        return parse_unit(spelled)

    def conversion(self, code: str, unit) -> tuple[str, float, str] | None:
        """``(target unit, factor, source)`` when values of ``code`` in ``unit`` convert by a factor."""
        return self.conversions.get((code, str(unit)))


def _factor(text: str, alias: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ParseError(f"conversion of {alias!r} needs a positive factor, not {text!r}", field="factor")
    return value

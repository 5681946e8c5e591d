"""The mapping chain of an IFC material: user file → default mapping → glossary + ranked search.

Each step is recorded as ``mapped_by``:

- ``user``: a row of the user's mapping file (:mod:`mpeil.readers.ifc.mapping`);
- ``default``: a row of ``data/ifc/default_mapping.csv``;
- ``search``: the ranked EPD search (:func:`mpeil.search.search_epd`, the engine of ``mpeil epd
  search``, which expands Dutch, French, German and English names through ``data/glossary.csv``),
  limited to the library categories that fit the element's IFC class
  (``data/ifc/class_categories.csv``) and accepted when its score reaches ``search_accept_score``
  of ``data/ifc/thresholds.csv``; below it the material stays unmapped and its best candidate is
  listed. Words of other languages are first put into English with ``data/ifc/terms.csv``.

What the chain cannot map is left to the documented defaults (:mod:`mpeil.readers.ifc.defaults`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ...model.library import EPDLibrary
from ...paths import data_dir
from .mapping import MaterialMapping, _read_csv

__all__ = ["ClassFit", "Match", "MappingChain", "load_class_categories", "load_terms", "translate"]

#: how many ranked hits are fetched before the category filter keeps those that fit the class
_POOL = 400
_SEARCH_METHOD = "mpeil-ef31"  # the method whose preferred source ranks first (data/search.toml)


@dataclass(frozen=True)
class Match:
    """Where a material name leads: a data set (or template), how, and how sure."""

    target: str
    kind: str  # dataset | template
    basis: str  # thickness | area
    waste_category: str | None
    mapped_by: str  # user | default | search
    source: str  # "<file>:<row>" of a rule, or "search: <name> (score)"
    confidence: float  # 0-100: 100 for a rule, the search score otherwise


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", str(text))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return " ".join("".join(ch if ch.isalnum() else " " for ch in plain).split())


@dataclass(frozen=True)
class ClassFit:
    """Which data sets fit an IFC class: folded category prefixes, and names or categories never fitting."""

    prefixes: tuple[str, ...]
    excluded: re.Pattern[str] | None

    def fits(self, category: object, name: object) -> bool:
        folded = _fold(category) if isinstance(category, str) else ""
        if not folded or not any(folded.startswith(p) for p in self.prefixes):
            return False
        return self.excluded is None or not self.excluded.search(f"{name} {category}")


def load_class_categories() -> list[tuple[str, ClassFit]]:
    """``data/ifc/class_categories.csv``: (IFC class, what fits it), in file order."""
    rows = _read_csv(data_dir() / "ifc" / "class_categories.csv")
    return [
        (
            r["ifc_class"],
            ClassFit(
                tuple(_fold(p) for p in r["allowed"].split("|") if p.strip()),
                re.compile(r["excluded"], re.IGNORECASE) if (r.get("excluded") or "").strip() else None,
            ),
        )
        for r in rows
    ]


def load_terms() -> dict[str, str]:
    """``data/ifc/terms.csv``: folded term → what it is searched as ('' drops the word)."""
    return {_fold(r["term"]): _fold(r["search_as"] or "") for r in _read_csv(data_dir() / "ifc" / "terms.csv")}


def translate(name: str, terms: dict[str, str]) -> str:
    """The folded name with every known term (longest first, whole words) replaced by what it is searched as."""
    if not terms:
        return _fold(name)
    pattern = re.compile(
        r"(?<!\w)(" + "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)) + r")(?!\w)"
    )
    return " ".join(pattern.sub(lambda m: terms[m.group(1)], _fold(name)).split())


def class_group(element: Any, table: list[tuple[str, ClassFit]]) -> str:
    """The ``ifc_class`` of the first row of the class table the element is an instance of."""
    for cls, _prefixes in table:
        if element.is_a(cls):
            return cls
    return ""


@dataclass
class MappingChain:
    """User rules, default rules, then the category-limited ranked search; results cached per name and class."""

    mapping: MaterialMapping
    library: EPDLibrary
    accept_score: float
    classes: list[tuple[str, ClassFit]] = field(default_factory=load_class_categories)
    terms: dict[str, str] = field(default_factory=load_terms)
    _cache: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)

    def rule(self, name: str) -> Match | None:
        """The first user or default rule matching the name (no search)."""
        rule = self.mapping.match(name)
        if rule is None:
            return None
        by = "default" if rule.default else "user"
        return Match(rule.target, rule.kind, rule.basis, rule.waste_category, by, rule.source, 100.0)

    def match(self, name: str, group: str, search: bool = True) -> Match | None:
        """Rules first; else the best fitting search hit when its score reaches the acceptance threshold."""
        found = self.rule(name)
        if found is not None or not search:
            return found
        hits = self.candidates(name, group)
        if hits.empty or not float(hits["score"].iloc[0]) >= self.accept_score:
            return None
        best = hits.iloc[0]
        source = f"search: {best['name']} ({float(best['score']):.1f}; {best['matched']})"
        return Match(str(best["dataset_id"]), "dataset", "thickness", None, "search", source, float(best["score"]))

    def candidates(self, name: str, group: str, limit: int = 5) -> pd.DataFrame:
        """Ranked search hits whose category fits ``group`` (an ``ifc_class`` of the class table), best first.

        Columns of :func:`mpeil.search.search_epd`; ``reason`` says what matched and why it fits.
        """
        key = (name, group)
        if key not in self._cache:
            self._cache[key] = self._search(name, group)
        return self._cache[key].head(limit)

    def _search(self, name: str, group: str) -> pd.DataFrame:
        from ...search import search_epd

        query = translate(name, self.terms)
        empty = pd.DataFrame(columns=["dataset_id", "name", "category", "score", "matched", "reason"])
        if not query:
            return empty
        hits = search_epd(query, library=self.library, method=_SEARCH_METHOD, limit=_POOL)
        if hits.empty:
            return empty
        fit = dict(self.classes).get(group)
        if fit is None:
            return empty
        fits = [fit.fits(c, n) for c, n in zip(hits["category"], hits["name"], strict=True)]
        kept = hits[fits].reset_index(drop=True)
        translated = f" (searched as {query!r})" if query != _fold(name) else ""
        kept["reason"] = [
            f"{m}{translated}; category {c!r} fits {group or 'the class'}"
            for m, c in zip(kept["matched"], kept["category"], strict=True)
        ]
        return kept

"""IFC material names → EPD data sets: mapping files, artefact flags, ranked suggestions.

A mapping file is a CSV with the columns of ``data/ifc/default_mapping.csv``:
``pattern`` (regular expression, case-insensitive, searched in the material name after the
ArchiCAD numeric suffix is stripped), ``kind`` (``dataset`` or ``template``), ``target``,
``basis`` (``thickness`` or ``area``), ``waste_category`` and ``note``; other columns are
ignored. Lines starting with ``#`` are comments; a row without ``target`` is skipped (an
unconfirmed suggestion). Rows are tried in order, a user file before the shipped default.

``data/ifc/artefacts.csv`` names the modelling artefacts (placeholders, hatch patterns,
ArchiCAD ids, air layers, framing zones) and ``data/ifc/thresholds.csv`` the thresholds.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ...errors import InputError, ParseError
from ...paths import data_dir

__all__ = [
    "MappingRule",
    "MaterialMapping",
    "Artefacts",
    "load_mapping",
    "load_artefacts",
    "load_thresholds",
    "rank_candidates",
]

MAPPING_COLUMNS = ("pattern", "kind", "target", "basis", "waste_category", "note")
_KINDS = ("dataset", "template")
_BASES = ("thickness", "area")


def _read_csv(path: Path) -> list[dict[str, str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ParseError(f"cannot read the file: {exc.strerror}", file=str(path)) from None
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return list(csv.DictReader(lines))


@dataclass(frozen=True)
class MappingRule:
    """One row of a mapping file."""

    pattern: re.Pattern[str]
    kind: str
    target: str
    basis: str
    waste_category: str | None
    source: str  # "<file>:<row>", so a user sees which rule mapped a material
    default: bool = False  # a rule of the shipped default mapping


@dataclass(frozen=True)
class MaterialMapping:
    """Ordered mapping rules; :meth:`match` returns the first rule whose pattern matches."""

    rules: tuple[MappingRule, ...]

    def match(self, name: str) -> MappingRule | None:
        for rule in self.rules:
            if rule.pattern.search(name):
                return rule
        return None


def _parse_rules(path: Path, default: bool = False) -> list[MappingRule]:
    rows = _read_csv(path)
    if rows and not set(MAPPING_COLUMNS[:3]) <= set(rows[0]):
        raise ParseError(f"a mapping file needs the columns {', '.join(MAPPING_COLUMNS)}", file=str(path))
    rules = []
    for number, row in enumerate(rows, start=1):
        if not (row.get("target") or "").strip():
            continue  # a suggestion not confirmed yet (mpeil ifc --suggest writes such rows)
        where = {"file": str(path), "layer": f"row {number}"}
        kind = (row.get("kind") or "dataset").strip()
        basis = (row.get("basis") or "thickness").strip()
        if kind not in _KINDS:
            raise InputError(f"kind {kind!r} is not one of {', '.join(_KINDS)}", field="kind", **where)
        if basis not in _BASES:
            raise InputError(f"basis {basis!r} is not one of {', '.join(_BASES)}", field="basis", **where)
        try:
            pattern = re.compile(row["pattern"], re.IGNORECASE)
        except (re.error, TypeError) as exc:
            raise InputError(f"pattern is not a regular expression: {exc}", field="pattern", **where) from None
        target = (row.get("target") or "").strip()
        if not (row.get("pattern") or "").strip():
            raise InputError("pattern is empty (it would match every material)", field="pattern", **where)
        waste = (row.get("waste_category") or "").strip() or None
        rules.append(MappingRule(pattern, kind, target, basis, waste, f"{path.name}:{number}", default))
    return rules


def load_mapping(path: str | Path | None = None, use_default: bool = True) -> MaterialMapping:
    """A user mapping file (tried first) followed by the shipped default mapping."""
    rules: list[MappingRule] = []
    if path is not None:
        rules += _parse_rules(Path(path))
    if use_default:
        rules += _parse_rules(data_dir() / "ifc" / "default_mapping.csv", default=True)
    return MaterialMapping(tuple(rules))


@dataclass(frozen=True)
class Artefacts:
    """Compiled artefact patterns of ``data/ifc/artefacts.csv``, by kind."""

    patterns: dict[str, tuple[re.Pattern[str], ...]]

    def strip_id(self, name: str) -> str:
        """The name without an ArchiCAD numeric suffix ("Leichtbeton 102890359" → "Leichtbeton")."""
        for pattern in self.patterns.get("archicad_id", ()):
            name = pattern.sub("", name)
        return name.strip()

    def flags(self, name: str) -> list[str]:
        """Artefact kinds whose pattern matches the material name, raw or with its id stripped."""
        names = (name, self.strip_id(name))
        return [kind for kind, patterns in self.patterns.items() if any(p.search(n) for p in patterns for n in names)]


def load_artefacts() -> Artefacts:
    by_kind: dict[str, list[re.Pattern[str]]] = {}
    for row in _read_csv(data_dir() / "ifc" / "artefacts.csv"):
        by_kind.setdefault(row["kind"], []).append(re.compile(row["pattern"], re.IGNORECASE))
    return Artefacts({kind: tuple(patterns) for kind, patterns in by_kind.items()})


def load_thresholds() -> dict[str, float]:
    """``data/ifc/thresholds.csv`` as name → value (units in the file)."""
    return {row["name"]: float(row["value"]) for row in _read_csv(data_dir() / "ifc" / "thresholds.csv")}


def rank_candidates(name: str, datasets: pd.DataFrame, limit: int, min_score: float) -> pd.DataFrame:
    """Library data sets whose German or English name resembles ``name``, best first.

    rapidfuzz ``token_set_ratio`` (0-100: shared words count, word order does not) over
    ``name_de`` and ``name_en``; the better of the two counts; ties go to the shorter name
    (fewer extra words). Columns: dataset_id, name_en, name_de, declared_unit, score.
    """
    from rapidfuzz import fuzz, process, utils

    best: dict[int, float] = {}
    for column in ("name_de", "name_en"):
        if column not in datasets:
            continue
        choices = datasets[column].fillna("").astype(str).tolist()
        hits = process.extract(
            name,
            choices,
            scorer=fuzz.token_set_ratio,
            processor=utils.default_process,
            limit=limit * 5,
            score_cutoff=min_score,
        )
        for _choice, score, index in hits:
            best[index] = max(best.get(index, 0.0), float(score))
    lengths = datasets["name_en"].fillna("").astype(str).str.len().to_numpy() if "name_en" in datasets else None
    order = sorted(best, key=lambda i: (-best[i], 0 if lengths is None else lengths[i], i))[:limit]
    frame = datasets.iloc[order][["dataset_id", "name_en", "name_de", "declared_unit"]].reset_index(drop=True)
    frame["score"] = [best[i] for i in order]
    return frame


def finite_or_nan(value: object) -> float:
    """A float from a value that may be None or text; NaN when it is not a finite number."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan

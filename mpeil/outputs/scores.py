"""Single scores per building: a wide table (``Result.scores``) and tidy long tables beside it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import pandas as pd

__all__ = ["Scores"]


#: columns of the wide score table whose cells are lists or mappings (long tables in :class:`Scores`)
_NESTED = (
    "indicators_scored",
    "indicators_estimated",
    "estimated_datasets",
    "flags",
    "indicators_missing",
    "indicators_partial",
    "module_gaps",
    "uncovered",
    "fallback_lines",
)


@dataclass(frozen=True, eq=False)
class Scores:
    """Single scores and their coverage, per building.

    Attributes
    ----------
    table:
        The wide table of ``Result.scores`` (index ``building_id``; kept as it was for
        compatibility): score (e.g. mPt/(m²·yr)), per-area indicator totals, coverage shares, and
        list/mapping cells. The long tables below give the same lists one row per item.
    """

    table: pd.DataFrame

    @cached_property
    def buildings(self) -> pd.DataFrame:
        """Tidy per-building scalars: score, score_unit, weight shares (0-1), complete, grade, label,
        gross floor area (m²), study period (years), ``<indicator> per area`` (unit per m², per year
        if the method is). Index ``building_id``."""
        table = self.table
        nested = [
            c for c in table.columns if c in _NESTED or (table[c].dtype == object and table[c].map(_is_nested).any())
        ]
        return table.drop(columns=nested)

    @cached_property
    def flags(self) -> pd.DataFrame:
        """Flagged values driving a score: ``building_id``, ``flag`` (label with its share)."""
        return _explode(self.table, "flags", "flag")

    @cached_property
    def gaps(self) -> pd.DataFrame:
        """What a score lacks, one row per gap: ``building_id``, ``kind`` (``indicator missing``,
        ``indicator partial``, ``module``, ``uncovered``), ``indicator``, ``module``, ``share``
        (of the module's lines without data, 0-1; NaN for the other kinds)."""
        parts = [
            _explode(self.table, "indicators_missing", "indicator").assign(kind="indicator missing"),
            _explode(self.table, "indicators_partial", "indicator").assign(kind="indicator partial"),
            _explode(self.table, "uncovered", "indicator").assign(kind="uncovered"),
            _items(self.table, "module_gaps", "module", "share").assign(kind="module"),
        ]
        frame = pd.concat(parts, ignore_index=True)
        return frame.reindex(columns=["building_id", "kind", "indicator", "module", "share"])

    @cached_property
    def estimates(self) -> pd.DataFrame:
        """Peer estimates a score rests on: ``building_id``, ``indicator``, ``lines`` (lines whose
        A1-A3 value is estimated) and, one row per data set, ``dataset`` (indicator None)."""
        lines = _items(self.table, "indicators_estimated", "indicator", "lines")
        datasets = _explode(self.table, "estimated_datasets", "dataset")
        frame = pd.concat([lines, datasets], ignore_index=True)
        frame = frame.reindex(columns=["building_id", "indicator", "lines", "dataset"])
        frame["lines"] = frame["lines"].astype("Int64")  # a count; missing on the data-set rows
        return frame


def _is_nested(value) -> bool:
    return isinstance(value, (list, tuple, dict))


def _explode(table: pd.DataFrame, column: str, name: str) -> pd.DataFrame:
    """One row per item of the list cells of ``column``: ``building_id``, ``name``."""
    ids = [(b, item) for b, items in zip(table.index, table[column], strict=True) for item in items]
    return pd.DataFrame(ids, columns=["building_id", name])


def _items(table: pd.DataFrame, column: str, key: str, value: str) -> pd.DataFrame:
    """One row per entry of the mapping cells of ``column``: ``building_id``, ``key``, ``value``."""
    ids = [(b, k, v) for b, mapping in zip(table.index, table[column], strict=True) for k, v in mapping.items()]
    return pd.DataFrame(ids, columns=["building_id", key, value])

"""The labelled results of :func:`~mpeil.stages.characterise` and :func:`~mpeil.stages.weight`."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from ..compile import CompiledBuildings
from ..engine import ElementResults
from ..methods.scoring import BuildingTotals, building_totals
from ..methods.trust import LineTrust
from .read import ScoringInput

__all__ = ["Inventory", "Scores"]


@dataclass(frozen=True, eq=False)
class Inventory:
    """What the buildings emit, labelled: building/element × module × indicator.

    Attributes
    ----------
    elements:
        The engine's element results: ``values`` (float64[E, M, I], in each indicator's unit over
        the study period, NaN where nothing is declared), ``missing`` (lines without data, int[E, M, I]),
        ``contributing`` (lines in the module, int[E, M]), ``replacements`` (per line, over the
        study period) and the building sums.
    trust:
        Per building: lines whose A1-A3 value is a peer estimate, and flagged values' contributions.
    operational:
        B6/B7 lines of the model buildings (tidy; reported apart, never part of the score), or None.
    source:
        The input scored (for provenance and operational lines), or None.
    """

    elements: ElementResults
    trust: LineTrust
    operational: pd.DataFrame | None = None
    source: ScoringInput | None = field(default=None, repr=False)

    @property
    def compiled(self) -> CompiledBuildings:
        """The compiled buildings the engine ran on."""
        return self.elements.compiled

    @cached_property
    def totals(self) -> BuildingTotals:
        """Building × module × indicator sums (values in the indicator's unit over the study period)."""
        return building_totals(self.elements)

    @property
    def building_ids(self) -> list[str]:
        return list(self.compiled.building_ids)

    @property
    def modules(self) -> list[str]:
        return list(self.elements.modules)

    @property
    def indicators(self) -> list[str]:
        return list(self.elements.indicators)

    @property
    def replacements(self) -> np.ndarray:
        """Per line: replacements over the study period (count, fractional under that rule)."""
        return self.elements.replacements

    def to_frame(self, level: str = "building") -> pd.DataFrame:
        """Tidy long table: (building[, element]) × module × indicator with value, missing, contributing.

        Parameters
        ----------
        level:
            ``"building"`` (sums per building) or ``"element"``.

        Returns
        -------
        pandas.DataFrame
            Columns ``building``, (``element``,) ``module``, ``indicator``, ``value`` (the indicator's
            unit over the study period, NaN where nothing is declared), ``missing`` (lines without
            data) and ``contributing`` (lines in the module).
        """
        c = self.compiled
        if level == "building":
            values, missing, contributing = self.totals.values, self.totals.missing, self.totals.contributing
            labels = {"building": c.building_ids}
        elif level == "element":
            values, missing, contributing = self.elements.values, self.elements.missing, self.elements.contributing
            labels = {"building": c.building_ids[c.element_building], "element": c.element_ids}
        else:
            raise ValueError(f"level must be 'building' or 'element', not {level!r}")
        n, n_m, n_i = values.shape
        rows = np.repeat(np.arange(n), n_m * n_i)
        frame = pd.DataFrame({name: np.asarray(v)[rows] for name, v in labels.items()})
        frame["module"] = np.tile(np.repeat(self.modules, n_i), n)
        frame["indicator"] = np.tile(self.indicators, n * n_m)
        frame["value"] = values.reshape(-1)
        frame["missing"] = np.asarray(missing).reshape(-1)
        frame["contributing"] = np.repeat(np.asarray(contributing).reshape(-1), n_i)
        return frame


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
        return self.table.drop(columns=[c for c in _NESTED if c in self.table.columns])

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
        return frame.reindex(columns=["building_id", "indicator", "lines", "dataset"])


def _explode(table: pd.DataFrame, column: str, name: str) -> pd.DataFrame:
    """One row per item of the list cells of ``column``: ``building_id``, ``name``."""
    ids = [(b, item) for b, items in zip(table.index, table[column], strict=True) for item in items]
    return pd.DataFrame(ids, columns=["building_id", name])


def _items(table: pd.DataFrame, column: str, key: str, value: str) -> pd.DataFrame:
    """One row per entry of the mapping cells of ``column``: ``building_id``, ``key``, ``value``."""
    ids = [(b, k, v) for b, mapping in zip(table.index, table[column], strict=True) for k, v in mapping.items()]
    return pd.DataFrame(ids, columns=["building_id", key, value])

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
from ..outputs.scores import Scores
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

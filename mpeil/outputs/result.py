"""Labelled results for notebooks, reports and analysis (building × element × module × indicator)."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from ..engine import ElementResults, PreparedLines
from ..engine.modules import A1_A3, positions
from ..methods import Method
from ..methods.scoring import BuildingTotals, building_totals, score_buildings, score_weight_vector
from ..methods.trust import LineTrust
from ..model.indicators import indicator_catalogue
from ..model.library import EPDLibrary
from ..model.scenarios import ScenarioSet
from .scores import Scores

__all__ = ["Result", "STAGES"]

#: TOTEM-style stages (EN 15978 grouping); D is always apart.
STAGES: dict[str, tuple[str, ...]] = {
    "product (A1-A3)": ("A1-A3",),
    "construction (A4-A5)": ("A4", "A5"),
    "use (B1-B5)": ("B1", "B2", "B3", "B4", "B5"),
    "end of life (C1-C4)": ("C1", "C2", "C3", "C4"),
    "beyond (D)": ("D",),
}


@dataclass(frozen=True, eq=False)
class Result:
    """The outcome of scoring one or many buildings under one method.

    Values are over the study period unless a method says per m² (GFA) per year.
    ``NaN`` means *no data*, never zero; see :attr:`scores` for coverage.
    """

    elements: ElementResults
    method: Method
    provenance: dict = field(default_factory=dict)
    #: B6/B7 lines of the model (tidy: building, module, product, indicator, value, per_m2_year);
    #: reported apart, never part of the score
    operational: pd.DataFrame | None = None
    #: what the result was scored with, so exports (LCAx) need nothing else
    library: EPDLibrary | None = field(default=None, repr=False)
    scenarios: ScenarioSet | None = field(default=None, repr=False)
    #: estimated lines and flagged contributions per building (:class:`mpeil.methods.trust.LineTrust`)
    trust: LineTrust | None = field(default=None, repr=False)
    #: the scores as assessed by :func:`mpeil.stages.assess` (None: weighted here on first use)
    scored: Scores | None = field(default=None, repr=False)
    #: the lines' unit profiles as the stages prepare them (:func:`mpeil.stages.unit_profiles`), on demand
    line_profiles: Callable[[], PreparedLines] | None = field(default=None, repr=False)
    #: the building × module × indicator sums the stages already made (None: summed here on first use)
    totals: BuildingTotals | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ basics
    @cached_property
    def _totals(self) -> BuildingTotals:
        return self.totals if self.totals is not None else building_totals(self.elements)

    @cached_property
    def scores(self) -> pd.DataFrame:
        """One row per building: score, per-area indicator totals, coverage and gaps."""
        if self.scored is not None:
            return self.scored.table
        return score_buildings(self.elements, self.method, self._totals, self._trust).set_index("building_id")

    @property
    def score_tables(self) -> Scores:
        """:attr:`scores` with tidy views: per-building scalars and long tables of flags, gaps and
        estimates (one row per item instead of lists in cells)."""
        return self.scored if self.scored is not None else Scores(self.scores)

    @property
    def _trust(self) -> LineTrust | None:
        """The estimated-line and flag bookkeeping, also when this Result was rebuilt from elements."""
        return self.trust if self.trust is not None else self.elements.extra.get("trust")

    @property
    def building_ids(self) -> list[str]:
        return list(self.elements.compiled.building_ids)

    @property
    def modules(self) -> list[str]:
        return list(self.elements.modules)

    @property
    def indicators(self) -> list[str]:
        return list(self.elements.indicators)

    def units(self) -> dict[str, str]:
        catalogue = indicator_catalogue()
        return {code: catalogue[code].unit if code in catalogue else "" for code in self.indicators}

    def _scope(self, include_d: bool | None) -> list[int]:
        scoped = self.method.modules + (["D"] if (self.method.include_d if include_d is None else include_d) else [])
        return positions(scoped)

    def _denominator(self, per_year: bool = True) -> np.ndarray:
        c = self.elements.compiled
        return c.gross_floor_area_m2 * (c.study_period_years if per_year else 1.0)

    # ------------------------------------------------------------------ views
    def total(self, include_d: bool | None = None) -> pd.DataFrame:
        """Building × indicator over the study period, summed over the method's modules."""
        summed = self._total_values(include_d)
        return pd.DataFrame(summed, index=pd.Index(self.building_ids, name="building"), columns=self.indicators)

    def _total_values(self, include_d: bool | None = None) -> np.ndarray:
        """``float64[B, I]``: the values of :meth:`total`."""
        summed = _nansum_or_nan(self._totals.values[:, self._scope(include_d)], axis=1)  # nothing declared: NaN
        return np.where(self._absent, np.nan, summed)

    def _per_m2_year_values(self, include_d: bool | None = None) -> np.ndarray:
        """``float64[B, I]``: the values of :meth:`per_m2_year` (columns :attr:`indicators`), without a frame."""
        return self._total_values(include_d) / self._denominator(True)[:, None]

    @cached_property
    def _absent(self) -> np.ndarray:
        """bool[B, I]: no line declares the indicator in A1-A3, so its totals are unknown (NaN),
        even where burden-free routes or undeclared use modules add exact zeros."""
        lines = self._totals.contributing[:, A1_A3][:, None]
        return (self._totals.missing[:, A1_A3, :] == lines) & (lines > 0)

    @cached_property
    def element_values(self) -> np.ndarray:
        """``float64[E, M, I]`` over the study period, NaN for an indicator none of the element's
        lines declares in A1-A3 (the engine's exact zeros of burden-free routes and undeclared
        use modules are not data for it)."""
        e = self.elements
        lines = e.contributing[:, A1_A3][:, None]
        absent = (e.missing[:, A1_A3, :] == lines) & (lines > 0)
        return np.where(absent[:, None, :], np.nan, e.values)

    def per_m2_year(self, include_d: bool | None = None) -> pd.DataFrame:
        """Building × indicator per m² gross floor area per year (the M-peil's functional unit)."""
        return self.total(include_d).div(self._denominator(True), axis=0)

    def by_module(self, indicator: str | None = None, per_m2_year: bool = True) -> pd.DataFrame:
        """Building × module, for one indicator (default: the single score's contribution per module)."""
        values = self._totals.values
        denominator = self._denominator(True) if per_m2_year else np.ones(len(self.building_ids))
        if indicator is None:
            weights = self._score_weights()
            data = np.einsum("bmi,i->bm", np.nan_to_num(values), weights) / denominator[:, None]
            if not self.method.per_year and per_m2_year:
                data = data * self.elements.compiled.study_period_years[:, None]
        else:
            j = self.indicators.index(indicator)
            data = np.where(self._absent[:, j][:, None], np.nan, values[:, :, j] / denominator[:, None])
        return pd.DataFrame(data, index=pd.Index(self.building_ids, name="building"), columns=self.modules)

    def by_stage(self, indicator: str | None = None) -> pd.DataFrame:
        """TOTEM-style breakdown: product, construction, use, end of life, and D apart."""
        modules = self.by_module(indicator)
        return pd.DataFrame({stage: modules[list(ms)].sum(axis=1, min_count=1) for stage, ms in STAGES.items()})

    def by_element(
        self, building: str | None = None, indicator: str | None = None, indicators_scored=None
    ) -> pd.DataFrame:
        """Element rows: type, quantity, the element's result over the study period per element
        unit (TOTEM's element level), and its share of the building result.

        ``indicator=None`` gives the single-score contribution over the method's modules: the
        ``score`` column is per m² GFA (per year if the method is), so elements sum to the score.
        With an indicator, ``<indicator>`` is the element's total over the study period.
        ``indicators_scored`` limits the single score to those method indicators (like-for-like
        comparisons).
        """
        c = self.elements.compiled
        scope = self._scope(None)
        values = _nansum_or_nan(self.elements.values[:, scope], axis=1)  # [E, I] over the study period
        if indicator is None:
            total, label = np.nan_to_num(values) @ self._score_weights(indicators_scored), "score"
            shown = total / self._denominator(self.method.per_year)[c.element_building]
        else:
            total, label = values[:, self.indicators.index(indicator)], indicator
            shown = total
        frame = pd.DataFrame(
            {
                "building": c.building_ids[c.element_building],
                "element": c.element_ids,
                "name": c.element_names,
                "element_type": c.element_types,
                "quantity": c.element_quantity,
                "unit": c.element_unit,
                f"{label}_per_element_unit": total / c.element_quantity,
                label: shown,
            }
        )
        if building is not None:
            frame = frame[frame["building"] == building]
        return frame.reset_index(drop=True)

    def element_modules(self, building: str | None = None, indicators_scored=None) -> pd.DataFrame:
        """Element rows × module columns: each element's contribution to the single score, in score
        units per m² GFA (per year if the method is), for every module including D.

        No data counts as nothing here (as in the score); :attr:`scores` says what is covered.
        Summed over the method's scored modules, an element row gives its ``by_element`` score.
        ``indicators_scored`` limits the score to those method indicators (like-for-like comparisons).
        """
        c = self.elements.compiled
        weights = self._score_weights(indicators_scored)  # default: the score's own indicator set
        weighted = np.einsum("emi,i->em", np.nan_to_num(self.elements.values), weights)
        weighted = weighted / self._denominator(self.method.per_year)[c.element_building][:, None]
        frame = pd.DataFrame(
            {
                "building": c.building_ids[c.element_building],
                "element": c.element_ids,
                "name": c.element_names,
                "element_type": c.element_types,
            }
        )
        frame = pd.concat([frame, pd.DataFrame(weighted, columns=self.modules)], axis=1)
        if building is not None:
            self.check_building(building)
            frame = frame[frame["building"] == building]
        return frame.reset_index(drop=True)

    def by_indicator(self, include_d: bool | None = None) -> pd.DataFrame:
        """Building × indicator: each indicator's contribution to the single score (score units per m²
        GFA, per year if the method is); the method's indicators sum to ``scores["score"]``."""
        per_area = self.total(include_d).div(self._denominator(self.method.per_year), axis=0)
        weights = pd.Series(self._score_weights(), index=self.indicators)
        method_codes = [spec.code for spec in self.method.indicators]
        return per_area.fillna(0.0)[method_codes] * weights[method_codes]

    def check_building(self, building: str) -> None:
        """Raise :class:`~mpeil.errors.UnknownBuildingError` unless ``building`` is in this result."""
        if building not in set(self.building_ids):
            from ..errors import UnknownBuildingError

            known = ", ".join(repr(b) for b in self.building_ids[:5])
            raise UnknownBuildingError(
                f"no building {building!r} in this result (it holds {known}{', …' if len(self.building_ids) > 5 else ''})",
                building=building,
            )

    @property
    def plot(self):
        """Plots with labels and units (matplotlib, imported on first use): ``.stages()``,
        ``.elements()``, ``.indicators()``, ``.waterfall(other)``."""
        from .plots import ResultPlots

        return ResultPlots(self)

    def to_html(self, variants=None) -> str:
        """One self-contained, printable HTML report (see :func:`mpeil.outputs.report.render_report`)."""
        from .report import render_report

        return render_report(self, variants)

    def _score_weights(self, indicators_scored=None) -> np.ndarray:
        """Per output indicator: the factor that turns its value into score units (0 for an
        indicator outside ``indicators_scored``, default: the score's own indicator set)."""
        scored = self.scores["indicators_scored"].iloc[0] if len(self.scores) else []
        return score_weight_vector(
            self.method, self.indicators, scored if indicators_scored is None else indicators_scored
        )

    def to_frame(self, include_missing: bool = True) -> pd.DataFrame:
        """Tidy long table: building, element, element_type, module, indicator, value, unit, missing_lines."""
        c = self.elements.compiled
        n_el, n_m, n_i = self.elements.values.shape
        element_index = np.repeat(np.arange(n_el), n_m * n_i)
        frame = pd.DataFrame(
            {
                "building": c.building_ids[c.element_building][element_index],
                "element": c.element_ids[element_index],
                "element_type": c.element_types[element_index],
                "module": np.tile(np.repeat(self.modules, n_i), n_el),
                "indicator": np.tile(self.indicators, n_el * n_m),
                "value": self.element_values.reshape(-1),
                "missing_lines": self.elements.missing.reshape(-1),
            }
        )
        units = self.units()
        frame["unit"] = frame["indicator"].map(units)
        if not include_missing:
            frame = frame[frame["value"].notna()]
        return frame

    def to_xarray(self):
        """An ``xarray.Dataset``: element × module × indicator values and gaps, building-level totals.

        Elements can be selected by id: ``.sel(element_id="EW-1")`` (from every building) or
        ``.sel(building_of_element=b).sel(element_id="EW-1")``.
        """
        import xarray as xr

        c = self.elements.compiled
        coords_el = {
            "element": np.arange(c.n_elements),
            "element_id": ("element", c.element_ids.astype(str)),
            "element_type": ("element", c.element_types.astype(str)),
            "building_of_element": ("element", c.building_ids[c.element_building].astype(str)),
            "module": self.modules,
            "indicator": self.indicators,
        }
        dataset = xr.Dataset(
            {
                "value": (("element", "module", "indicator"), self.element_values),
                "missing_lines": (("element", "module", "indicator"), self.elements.missing),
                "building_value": (("building", "module", "indicator"), self._totals.values),
                "score": (("building",), self.scores["score"].to_numpy()),
                "weight_covered": (("building",), self.scores["weight_covered"].to_numpy()),
            },
            coords={**coords_el, "building": c.building_ids.astype(str)},
            attrs={
                "method": self.method.name,
                "score_unit": self.method.score_unit,
                **{k: str(v) for k, v in self.provenance.items()},
            },
        )
        for code, unit in self.units().items():
            dataset["value"].attrs[f"unit:{code}"] = unit
        # label indexes on the element dimension: ds.sel(element_id="EW-1") (one element per building),
        # ds.sel(building_of_element="house").sel(element_id="EW-1") (that one element); two plain
        # indexes rather than a MultiIndex, so the dataset still writes to netCDF as it is
        return dataset.set_xindex("element_id").set_xindex("building_of_element")

    def to_lcax(self, building: int | str = 0, **kwargs):
        """An ``lcax.Project`` of one building (position or id); see :func:`mpeil.outputs.lcax.to_lcax`."""
        from .lcax import to_lcax

        return to_lcax(self, building=building, **kwargs)

    def estimated_lines(self) -> pd.DataFrame:
        """Lines whose A1-A3 value of a method indicator is a peer estimate (``gap_policy =
        "estimated"``): building, element, layer, line, data set and the indicators estimated."""
        trust = self._trust
        columns = ["building", "element", "layer", "line", "dataset", "indicators"]
        mask = trust.dataset_estimated if trust is not None else None
        if trust is None or mask is None or trust.dataset_ids is None or not mask.any():
            return pd.DataFrame(columns=columns)
        c = self.elements.compiled
        lines = np.flatnonzero(mask[c.dataset].any(axis=1))
        codes = np.array(trust.indicators, dtype=object)
        return pd.DataFrame(
            {
                "building": c.building_ids[c.line_building[lines]],
                "element": c.element_ids[c.line_element[lines]],
                "layer": c.line_layer[lines],
                "line": c.line_number[lines],
                "dataset": trust.dataset_ids[c.dataset[lines]],
                "indicators": [list(codes[mask[d]]) for d in c.dataset[lines]],
            },
            columns=columns,
        )

    def compare(self, baseline: str, variant: str, indicator: str | None = None) -> pd.DataFrame:
        """Element differences of ``variant`` minus ``baseline`` (matched by element id), largest
        first: "variant B is lower because …". Both must be buildings of this result
        (:class:`~mpeil.errors.UnknownBuildingError` otherwise); an element one of them lacks counts
        as nothing there. For the element × stage table and the explanation in words, see
        :meth:`comparison` and :func:`mpeil.compare`.

        Like for like: the single score counts only the method indicators that *both* buildings
        have for every line (``attrs["indicators"]``; the others are in ``attrs["left_out"]``), so
        two variants are never compared one with and one without an indicator.
        """
        for b in (baseline, variant):
            self.check_building(b)
        rows = self.scores.loc[[baseline, variant]]
        gaps = {c for column in ("indicators_missing", "indicators_partial") for codes in rows[column] for c in codes}
        scored = [c for c in rows["indicators_scored"].iloc[0] if c not in gaps]
        frames = {}
        for b in (baseline, variant):
            el = self.by_element(b, indicator, indicators_scored=scored)
            frames[b] = el.set_index("element")[el.columns[-1]]
        joined = pd.concat(frames, axis=1).fillna(0.0)  # absent element: the building has none of it
        joined.attrs.update(indicators=scored, left_out=sorted(gaps))
        joined["difference"] = joined[variant] - joined[baseline]
        return joined.reindex(joined["difference"].abs().sort_values(ascending=False).index)

    def comparison(self, baseline: str, *variants: str):
        """A :class:`~mpeil.outputs.compare.Comparison` of buildings of this result: element × stage
        table and a plain-language explanation, ``variants`` against ``baseline``."""
        from .compare import compare_result

        return compare_result(self, [baseline, *variants])

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        s = self.scores
        lines = [f"<mpeil.Result method={self.method.name!r} buildings={len(s)} unit={s['score_unit'].iloc[0]!r}>"]
        for building, row in s.head(10).iterrows():
            flag = (
                ""
                if row["complete"]
                else f"  ({row['weight_declared']:.0%} of the weighting declared, {row['weight_estimated']:.0%} estimated, "
                f"{row['weight_missing']:.0%} missing; gaps: {', '.join(row['module_gaps']) or '-'})"
            )
            if row["indicators_missing"] and len(row["indicators_missing"]) == len(self.method.indicators):
                flag = "  (no data set declares any of the method's indicators)"
            lines.append(
                f"  {building}: {row['score']:.4g}{flag}" + "".join(f"\n    flagged: {f}" for f in row["flags"])
            )
        if len(s) > 10:
            lines.append(f"  … {len(s) - 10} more")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The report's building card (score, coverage split, stages, top contributors) per building,
        for the first ten; a score table for the rest."""
        from .report import CARD_CSS, building_card

        head = (
            f"<style>{CARD_CSS}</style><div><strong>mpeil result</strong>: method "
            f"<code>{html.escape(self.method.name)}</code> ({html.escape(self.method.title)}), "
            f"{len(self.building_ids)} building(s). <code>.to_html()</code> gives the full report.</div>"
        )
        cards = "".join(building_card(self, b) for b in self.building_ids[:10])
        rest = ""
        if len(self.building_ids) > 10:
            s = self.scores[["score", "score_unit", "weight_covered"]].iloc[10:60]
            rest = f"<div>… {len(self.building_ids) - 10} more</div>" + s.to_html(float_format=lambda v: f"{v:.4g}")
        return head + cards + rest


def _nansum_or_nan(values: np.ndarray, axis: int) -> np.ndarray:
    """``nansum`` that keeps NaN where every summed value is NaN (nothing declared is not 0)."""
    summed = np.nansum(values, axis=axis)
    return np.where(np.isnan(values).all(axis=axis), np.nan, summed)

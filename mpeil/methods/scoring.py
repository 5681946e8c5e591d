"""From element results to single scores under a method, with honest coverage.

``score = score_scale × Σ_i factor_i × Σ_{m ∈ scope} I[m, i] / (A_GFA × RSP if per_year else A_GFA)``

A single score needs all of its indicators. Coverage is reported, never hidden:

- ``weight_covered``: share of the method's weighting (or of its indicators, for methods
  without weights) whose indicator is declared in A1-A3 by every line of the building;
- ``indicators_missing``: indicators no line declares; ``indicators_partial``: some lines lack them;
- ``module_gaps``: per scored module, the share of contributing lines without data;
- ``uncovered``: indicators the method itself lists as not carried by any open data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..engine import ElementResults, EngineOptions, IndicatorSpec
from ..model.indicators import EN15804_A2_CORE_AND_ADDITIONAL
from .config import Method
from .labels import load_label_scale
from .trust import quality_grade, quality_rules

__all__ = ["BuildingTotals", "check_method", "engine_options", "indicator_specs", "building_totals", "score_buildings"]


def check_method(method: Method, library) -> None:
    """Refuse a method the library cannot serve at all.

    An indicator code unknown to the catalogue, or one that no data set of the library declares
    (under any of the codes it accepts), raises :class:`~mpeil.errors.MethodError`. Indicators
    that some data sets declare and others not are reported as coverage, not refused.
    """
    from ..errors import MethodError
    from ..model.indicators import indicator_catalogue

    catalogue = indicator_catalogue()
    for spec in method.indicators:
        unknown = [code for code in spec.sources if code not in catalogue]
        if unknown:
            raise MethodError(
                f"method {method.name!r}: unknown indicator code(s) {unknown} (see data/indicators.csv)",
                field="indicators",
            )
    absent = [spec.code for spec in method.indicators if not set(spec.sources) & library.declared_indicators]
    if absent:
        raise MethodError(
            f"method {method.name!r} needs indicator(s) {absent} that no data set of the library "
            f"{library.name!r} declares (e.g. EN 15804+A1 indicators need an +A1 source such as obd2020)",
            field="indicators",
        )


def indicator_specs(method: Method, report: tuple[str, ...] = ()) -> tuple[IndicatorSpec, ...]:
    """The method's indicators (with their accepted fallbacks), then extra report-only ones."""
    specs = [IndicatorSpec(i.code, tuple(i.sources)) for i in method.indicators]
    known = {s.code for s in specs}
    specs += [IndicatorSpec.plain(code) for code in report if code not in known]
    return tuple(specs)


def engine_options(method: Method, report_indicators: Iterable[str] = EN15804_A2_CORE_AND_ADDITIONAL) -> EngineOptions:
    """The engine options a method asks for: its indicators (plus report-only ones) and its rules."""
    return EngineOptions(
        indicators=indicator_specs(method, tuple(report_indicators)),
        replacement_rule=method.replacement_rule,
        replacement_modules=tuple(method.replacement_modules),
        loss_basis=method.loss_basis,
        allocation=method.eol_allocation,
        multicycle_split=method.multicycle_split,
    )


@dataclass(frozen=True)
class BuildingTotals:
    values: np.ndarray  # float64[B, M, I], NaN where nothing declared
    missing: np.ndarray  # int64[B, M, I]
    contributing: np.ndarray  # int64[B, M]


def building_totals(results: ElementResults) -> BuildingTotals:
    missing, contributing = results.building_missing, results.building_contributing
    if results.building_values is not None and missing is not None and contributing is not None:
        # summed from the lines by the engine
        return BuildingTotals(results.building_values, missing.astype(np.int64), contributing.astype(np.int64))
    compiled = results.compiled
    n_el, n_b = compiled.n_elements, compiled.n_buildings
    membership = sp.csr_matrix((np.ones(n_el), (compiled.element_building, np.arange(n_el))), shape=(n_b, n_el))
    flat = np.nan_to_num(results.values).reshape(n_el, -1)
    values = (membership @ flat).reshape((n_b,) + results.values.shape[1:])
    missing = np.rint(membership @ results.missing.reshape(n_el, -1).astype(np.float64)).astype(np.int64)
    missing = missing.reshape(values.shape)
    contributing = np.rint(membership @ results.contributing.astype(np.float64)).astype(np.int64)
    values[(missing > 0) & (missing == contributing[:, :, None])] = np.nan
    return BuildingTotals(values, missing, contributing)


def _sum_last(values: np.ndarray) -> np.ndarray:
    """Sum over the last axis, strictly left to right.

    ``ndarray.sum`` picks pairwise or sequential summation from the memory layout, which depends
    on how many buildings are scored together; this order does not, so a building's score has the
    same bits alone as in any batch (score receipts, ``mpeil verify``).
    """
    total = np.zeros(values.shape[:-1], dtype=np.float64)
    for k in range(values.shape[-1]):
        total = total + values[..., k]
    return total


def _weight_split(lacking, estimated, weights, uncovered: float, common: np.ndarray):
    """Per building: shares of the weighting declared, estimated and missing (they sum to 1).

    An indicator is *declared* when every line declares it in A1-A3, *estimated* when every line
    has a value and at least one is a peer estimate, *missing* otherwise (some line has none, the
    method lists it as uncovered, or ``gap_policy = "common"`` leaves it out).
    """
    covered = (lacking == 0) & common[None, :]
    declared = covered & (estimated == 0)
    if np.isnan(weights).any():  # methods without weights: each indicator counts the same
        w = np.ones(lacking.shape[1]) / (lacking.shape[1] + uncovered)
    else:
        w = weights / (weights.sum() + uncovered)
    weight_declared = _sum_last(declared * w[None, :])
    weight_estimated = _sum_last((covered & ~declared) * w[None, :])
    return weight_declared, weight_estimated, np.clip(1.0 - weight_declared - weight_estimated, 0.0, 1.0)


def _driving_flags(trust, score: np.ndarray) -> list[list[str]]:
    """Per building: flagged values contributing more than ``trust.driver_share`` of its score."""
    if trust is None or not trust.flag_labels:
        return [[] for _ in range(score.shape[0])]
    with np.errstate(all="ignore"):
        share = np.where((score > 0)[:, None], trust.flag_contributions / score[:, None], 0.0)
    named: list[list[tuple[float, str]]] = [[] for _ in range(score.shape[0])]
    rows, columns = np.nonzero(share > trust.driver_share)
    for b, f in zip(rows.tolist(), columns.tolist(), strict=True):
        named[b].append((float(share[b, f]), trust.flag_labels[f]))
    return [[f"{label} ({s:.0%} of the score)" for s, label in sorted(items, reverse=True)] for items in named]


def _unmapped_volume(coverage: dict | None) -> float:
    """Share of an IFC model's volume not mapped (0 for other buildings; 1 when the share is unknown)."""
    if not coverage:
        return 0.0
    share = coverage.get("mapped_volume_share", float("nan"))
    return 1.0 - share if np.isfinite(share) else 1.0


def _coverage_columns(coverage: dict | None) -> dict:
    """``mapped_volume_share``, ``mapped_mass_share`` and the split by ``mapped_by`` (NaN / {} when not IFC)."""
    coverage = coverage or {}
    return {
        "mapped_volume_share": float(coverage.get("mapped_volume_share", np.nan)),
        "mapped_mass_share": float(coverage.get("mapped_mass_share", np.nan)),
        "mapped_by": {k: float(v) for k, v in coverage.items() if k.startswith(("volume_", "mass_"))},
    }


def score_buildings(
    results: ElementResults,
    method: Method,
    totals: BuildingTotals | None = None,
    trust=None,
) -> pd.DataFrame:
    """One row per building: score, per-area totals, coverage, estimates and flags.

    ``trust`` (:class:`mpeil.methods.trust.LineTrust`) carries the estimated-line counts and the
    flagged contributions; without it nothing is reported as estimated or flagged.
    """
    totals = totals or building_totals(results)
    compiled = results.compiled
    modules = list(results.modules)
    scope = [modules.index(m) for m in method.scored_modules]
    position = {code: j for j, code in enumerate(results.indicators)}
    method_codes = [i.code for i in method.indicators]
    j = np.array([position[c] for c in method_codes])
    factors = np.array([i.effective_factor for i in method.indicators])
    weights = np.array([i.weight if i.weight is not None else np.nan for i in method.indicators])
    uncovered_weight = sum(u.weight or 0.0 for u in method.uncovered)
    denominator = compiled.gross_floor_area_m2 * (compiled.study_period_years if method.per_year else 1.0)

    in_scope = _sum_last(np.moveaxis(np.nan_to_num(totals.values[:, scope][:, :, j]), 1, -1))  # [B, I_method]
    a13 = modules.index("A1-A3")
    lines = totals.contributing[:, a13][:, None]
    lacking = totals.missing[:, a13][:, j]
    complete = lacking == 0
    absent = (lacking == lines) & (lines > 0)
    scope_values = totals.values[:, scope][:, :, j]
    nothing = np.isnan(scope_values).all(axis=1)  # [B, I]: no module in scope has a value
    per_area = np.where(absent | nothing, np.nan, in_scope / denominator[:, None])  # missing stays NaN
    # like for like: under "common" only the indicators every line of every building has
    common = complete.all(axis=0) if method.gap_policy == "common" else np.ones(len(j), dtype=bool)
    score = method.score_scale * _sum_last(np.nan_to_num(per_area) * (factors * common)[None, :])
    estimated = trust.estimated_lines if trust is not None else np.zeros(lacking.shape, dtype=np.int64)
    uncovered = len(method.uncovered) if np.isnan(weights).any() else uncovered_weight
    w_declared, w_estimated, w_missing = _weight_split(lacking, estimated, weights, uncovered, common)
    share = w_declared + w_estimated

    score = np.where((absent | ~common[None, :]).all(axis=1), np.nan, score)  # no indicator has data: no score
    rules = quality_rules()
    driving = _driving_flags(trust, score)
    coverage = results.extra.get("coverage") or {}  # IFC models: mapped shares by building (issue 19)
    rows = []
    for b in range(compiled.n_buildings):
        # module gaps over the indicators that have data at all (absent ones are reported apart)
        present = j[~absent[b]]
        gaps = {}
        for k in scope:
            n = totals.contributing[b, k]
            if n and present.size:
                worst = totals.missing[b, k][present].max()
                if worst:
                    gaps[modules[k]] = round(float(worst) / float(n), 4)
        rows.append(
            {
                "building_id": compiled.building_ids[b],
                "method": method.name,
                "score": float(score[b]),
                "score_unit": method.score_unit + ("/(m²·yr)" if method.per_year else "/m²"),
                "weight_covered": float(share[b]),
                "weight_declared": float(w_declared[b]),
                "weight_estimated": float(w_estimated[b]),
                "weight_missing": float(w_missing[b]),
                # permit officer's filter: nothing missing (estimates allowed, reported above), no module gaps
                "complete": bool(w_missing[b] < 1e-12 and not gaps and not method.uncovered),
                "gap_policy": method.gap_policy,
                "indicators_scored": [c for c, keep in zip(method_codes, common, strict=True) if keep],
                "indicators_estimated": {
                    method_codes[i]: int(estimated[b, i]) for i in range(len(j)) if estimated[b, i]
                },
                "estimated_datasets": list(trust.estimated_datasets[b]) if trust is not None else [],
                "flags": (flags := driving[b]),
                "quality_grade": quality_grade(
                    float(score[b]),
                    float(w_missing[b]),
                    float(w_estimated[b]),
                    len(flags),
                    bool(gaps),
                    rules,
                    _unmapped_volume(coverage.get(str(compiled.building_ids[b]))),
                ),
                **_coverage_columns(coverage.get(str(compiled.building_ids[b]))),
                "indicators_missing": [method_codes[i] for i in np.flatnonzero(absent[b])],
                "indicators_partial": [method_codes[i] for i in np.flatnonzero(~complete[b] & ~absent[b])],
                "module_gaps": gaps,
                "uncovered": [u.code for u in method.uncovered],
                "fallback_lines": {
                    method_codes[i]: int(results.fallback_lines[b, j[i]])
                    for i in range(len(j))
                    if results.fallback_lines[b, j[i]]
                },
                "gross_floor_area_m2": float(compiled.gross_floor_area_m2[b]),
                "study_period_years": float(compiled.study_period_years[b]),
                **{f"{code} per area": float(per_area[b, i]) for i, code in enumerate(method_codes)},
            }
        )
    frame = pd.DataFrame(rows)
    scale = load_label_scale(method.name)
    if scale is not None:  # the method has an A–G scale (scenarios/labels/<method>.csv)
        frame.insert(list(frame.columns).index("score_unit") + 1, "label", scale.assign(compiled.use_type, score))
    return frame

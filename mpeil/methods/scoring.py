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
from ..engine.modules import A1_A3, positions
from ..model.indicators import EN15804_A2_CORE_AND_ADDITIONAL
from .config import Method
from .labels import label_withheld, load_label_scale
from .trust import quality_grade, quality_rules
from .weights import indicator_factors, score_weight_vector

__all__ = [
    "BuildingTotals",
    "check_method",
    "engine_options",
    "indicator_specs",
    "building_totals",
    "score_buildings",
    "score_weight_vector",
    "indicator_factors",
    "Weighted",
    "weigh",
    "weigh_buildings",
    "grade_and_label",
]


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


def _driving_flags(trust, score: np.ndarray) -> tuple[list[list[str]], list[list[str]]]:
    """Per building: flagged values contributing more than ``trust.driver_share`` of its score, as
    (flags the score uses, flags replaced by their peer estimate with the declared value's share);
    data sets declaring none of the method's indicators are named among the first."""
    n_b = score.shape[0]
    unusable = (trust.unusable_datasets if trust is not None else None) or [[] for _ in range(n_b)]
    if trust is None or not trust.flag_labels:
        return [list(u) for u in unusable], [[] for _ in range(n_b)]
    replaced = trust.flag_replaced if trust.flag_replaced is not None else np.zeros(len(trust.flag_labels), bool)
    with np.errstate(all="ignore"):
        share = np.where((score > 0)[:, None], trust.flag_contributions / score[:, None], 0.0)
    named: list[list[tuple[float, str]]] = [[] for _ in range(n_b)]
    swapped: list[list[tuple[float, str]]] = [[] for _ in range(n_b)]
    rows, columns = np.nonzero(share > trust.driver_share)
    hits = zip(rows.tolist(), columns.tolist(), share[rows, columns].tolist(), replaced[columns].tolist(), strict=True)
    for b, f, value, was_replaced in hits:
        (swapped if was_replaced else named)[b].append((value, trust.flag_labels[f]))
    used = [
        [f"{label} ({s:.0%} of the score)" for s, label in sorted(items, reverse=True)] + list(unusable[b])
        if items
        else list(unusable[b])
        for b, items in enumerate(named)
    ]
    kept_out = [
        [f"{label}; peer estimate used (the declared value would add {s:.0%} of the score)" for s, label in items]
        for items in (sorted(items, reverse=True) for items in swapped)
    ]
    return used, kept_out


@dataclass(frozen=True)
class Weighted:
    """Per building × method indicator: what :func:`weigh_buildings` turns into rows.

    ``per_area`` is in the indicator's unit per m² GFA (per year if the method is), NaN where
    nothing is declared; ``score`` in the method's score unit; the ``w_*`` are shares (0-1).
    """

    codes: list[str]  # method indicator codes
    j: np.ndarray  # their positions among the output indicators
    scope: list[int]  # positions of the scored modules
    per_area: np.ndarray  # float64[B, I_method]
    score: np.ndarray  # float64[B]
    absent: np.ndarray  # bool[B, I_method]: no line declares it in A1-A3
    complete: np.ndarray  # bool[B, I_method]: every line declares it in A1-A3
    common: np.ndarray  # bool[I_method]: counted in the score (gap_policy = "common" leaves some out)
    estimated: np.ndarray  # int64[B, I_method]: lines whose A1-A3 value is an estimate
    w_declared: np.ndarray
    w_estimated: np.ndarray
    w_missing: np.ndarray


def weigh(results: ElementResults, method: Method, totals: BuildingTotals, trust=None) -> Weighted:
    """The score and its coverage per building (``score`` formula in the module docstring)."""
    compiled = results.compiled
    scope = positions(method.scored_modules)
    position = {code: j for j, code in enumerate(results.indicators)}
    codes = [i.code for i in method.indicators]
    j = np.array([position[c] for c in codes])
    factors = indicator_factors(method)
    weights = np.array([i.weight if i.weight is not None else np.nan for i in method.indicators])
    denominator = compiled.gross_floor_area_m2 * (compiled.study_period_years if method.per_year else 1.0)

    scope_values = totals.values[:, scope][:, :, j]
    in_scope = _sum_last(np.moveaxis(np.nan_to_num(scope_values), 1, -1))  # [B, I_method]
    lines = totals.contributing[:, A1_A3][:, None]
    lacking = totals.missing[:, A1_A3][:, j]
    complete = lacking == 0
    absent = (lacking == lines) & (lines > 0)
    nothing = np.isnan(scope_values).all(axis=1)  # [B, I]: no module in scope has a value
    per_area = np.where(absent | nothing, np.nan, in_scope / denominator[:, None])  # missing stays NaN
    # like for like: under "common" only the indicators every line of every building has
    common = complete.all(axis=0) if method.gap_policy == "common" else np.ones(len(j), dtype=bool)
    score = method.score_scale * _sum_last(np.nan_to_num(per_area) * (factors * common)[None, :])
    score = np.where((absent | ~common[None, :]).all(axis=1), np.nan, score)  # no indicator has data: no score
    estimated = trust.estimated_lines if trust is not None else np.zeros(lacking.shape, dtype=np.int64)
    uncovered = len(method.uncovered) if np.isnan(weights).any() else sum(u.weight or 0.0 for u in method.uncovered)
    split = _weight_split(lacking, estimated, weights, uncovered, common)
    return Weighted(codes, j, scope, per_area, score, absent, complete, common, estimated, *split)


def _module_gaps(totals: BuildingTotals, weighted: Weighted, modules: tuple[str, ...]) -> list[dict[str, float]]:
    """Per building and scored module: the worst share of lines without data, over the indicators
    that have data at all (absent ones are reported apart). All buildings at once: the worst count
    per (building, module) is one masked maximum; only the non-zero ones become dict entries."""
    n_b = totals.contributing.shape[0]
    gaps: list[dict[str, float]] = [{} for _ in range(n_b)]
    if not len(weighted.j) or not weighted.scope:
        return gaps
    scope = np.asarray(weighted.scope, dtype=np.int64)
    lacking = totals.missing[:, scope][:, :, weighted.j]  # [B, K, I_method]
    worst = np.where(weighted.absent[:, None, :], 0, lacking).max(axis=2)  # [B, K]
    lines = totals.contributing[:, scope]  # [B, K]
    rows, columns = np.nonzero((lines != 0) & (worst != 0))
    # float64 division of the counts (as float(worst) / float(lines)), then Python's decimal rounding
    shares = (worst[rows, columns].astype(np.float64) / lines[rows, columns].astype(np.float64)).tolist()
    names = [modules[k] for k in scope.tolist()]
    for b, k, share in zip(rows.tolist(), columns.tolist(), shares, strict=True):
        gaps[b][names[k]] = round(share, 4)
    return gaps


def _lines_share(trust, n_b: int) -> np.ndarray:
    """Per building: share (0-1) of its new lines lacking a method indicator in A1-A3; NaN without lines."""
    if trust is None or trust.lines_lacking is None or trust.lines_new is None:
        return np.full(n_b, np.nan)
    new = np.asarray(trust.lines_new)
    share = np.full(n_b, np.nan)
    np.divide(trust.lines_lacking, new, out=share, where=new != 0)
    return share


def _counts_by_code(codes: list[str], counts: np.ndarray) -> list[dict[str, int]]:
    """Per building row of ``counts`` [B, I]: {code: count} of its non-zero counts, in code order."""
    rows, columns = np.nonzero(counts)  # row-major: each building's entries together, in code order
    names = [codes[i] for i in columns.tolist()]
    values = [int(n) for n in counts[rows, columns].tolist()]
    bounds = np.searchsorted(rows, np.arange(counts.shape[0] + 1)).tolist()
    return [
        dict(zip(names[bounds[b] : bounds[b + 1]], values[bounds[b] : bounds[b + 1]], strict=True))
        for b in range(len(bounds) - 1)
    ]


def _codes_where(codes: list[str], mask: np.ndarray) -> list[list[str]]:
    """Per building row of ``mask`` [B, I]: the codes where it holds, in code order."""
    rows, columns = np.nonzero(mask)  # row-major: each building's codes together, in code order
    names = [codes[i] for i in columns.tolist()]
    bounds = np.searchsorted(rows, np.arange(mask.shape[0] + 1)).tolist()
    return [names[bounds[b] : bounds[b + 1]] for b in range(len(bounds) - 1)]


def _score_columns(results: ElementResults, method: Method, w: Weighted, gaps: list, flags: tuple, trust) -> dict:
    """The score table's columns (before the quality grade and label), one array or list each;
    ``flags``: (flagged values driving the score, flagged values replaced by their peer estimate)."""
    compiled, codes, j = results.compiled, w.codes, w.j
    n_b = compiled.n_buildings
    driving, replaced = flags
    scored = [c for c, keep in zip(codes, w.common, strict=True) if keep]
    uncovered = [u.code for u in method.uncovered]
    return {
        "building_id": list(compiled.building_ids),
        "method": [method.name] * n_b,
        # options changed from the method file (empty: the method as published)
        "method_options": [dict(method.overrides) for _ in range(n_b)],
        "score": np.asarray(w.score, dtype=np.float64),
        "score_unit": [method.score_unit + ("/(m²·yr)" if method.per_year else "/m²")] * n_b,
        "weight_covered": w.w_declared + w.w_estimated,
        "weight_declared": np.asarray(w.w_declared, dtype=np.float64),
        "weight_estimated": np.asarray(w.w_estimated, dtype=np.float64),
        "weight_missing": np.asarray(w.w_missing, dtype=np.float64),
        # permit officer's filter: nothing missing (estimates allowed, reported above), no module gaps
        "complete": (w.w_missing < 1e-12) & np.array([not g for g in gaps], dtype=bool) & (not method.uncovered),
        "gap_policy": [method.gap_policy] * n_b,
        "indicators_scored": [list(scored) for _ in range(n_b)],
        "indicators_estimated": _counts_by_code(codes, w.estimated),
        "estimated_datasets": [list(s) for s in trust.estimated_datasets] if trust is not None else _empties(n_b),
        "flags": driving,
        "flags_replaced": replaced,
        "indicators_missing": _codes_where(codes, w.absent),
        # a line's gap at the line's scale: the share of new lines whose data set lacks a method indicator
        "lines_missing_share": _lines_share(trust, n_b),
        "lines_missing": [list(s) for s in trust.lacking_labels]
        if trust is not None and trust.lacking_labels
        else _empties(n_b),
        "indicators_partial": _codes_where(codes, ~w.complete & ~w.absent),
        "module_gaps": gaps,
        "uncovered": [list(uncovered) for _ in range(n_b)],
        "fallback_lines": _counts_by_code(codes, results.fallback_lines[:, j]),
        "gross_floor_area_m2": np.asarray(compiled.gross_floor_area_m2, dtype=np.float64),
        "study_period_years": np.asarray(compiled.study_period_years, dtype=np.float64),
        **{f"{code} per area": w.per_area[:, i].copy() for i, code in enumerate(codes)},
    }


def _empties(n_b: int) -> list[list]:
    return [[] for _ in range(n_b)]


def weigh_buildings(
    results: ElementResults, method: Method, totals: BuildingTotals | None = None, trust=None
) -> pd.DataFrame:
    """One row per building: score, per-area totals, coverage, estimates and flags (no grade, no label).

    ``trust`` (:class:`mpeil.methods.trust.LineTrust`) carries the estimated-line counts and the
    flagged contributions; without it nothing is reported as estimated or flagged. The columns are
    built over all buildings at once (arrays, or one list per column), then one frame.
    """
    totals = totals or building_totals(results)
    weighted = weigh(results, method, totals, trust)
    n_b = results.compiled.n_buildings
    if n_b == 0:
        return pd.DataFrame([])
    gaps = _module_gaps(totals, weighted, tuple(results.modules))
    columns = _score_columns(results, method, weighted, gaps, _driving_flags(trust, weighted.score), trust)
    coverage = results.extra.get("coverage") or {}  # IFC models: mapped shares by building id (issue 19)
    if coverage:
        per_building = [_coverage_columns(coverage.get(str(i))) for i in results.compiled.building_ids]
        for name in ("mapped_volume_share", "mapped_mass_share", "mapped_by"):
            columns[name] = [c[name] for c in per_building]
    else:  # no IFC model: what _coverage_columns gives for no coverage, for every building
        columns["mapped_volume_share"] = [float(np.nan)] * n_b
        columns["mapped_mass_share"] = [float(np.nan)] * n_b
        columns["mapped_by"] = [{} for _ in range(n_b)]
    return pd.DataFrame(columns)


def _coverage_columns(coverage: dict | None) -> dict:
    """``mapped_volume_share``, ``mapped_mass_share`` (0-1) and the split by ``mapped_by`` of an IFC
    model (:func:`mpeil.readers.ifc.coverage_of`); NaN and {} for other buildings."""
    coverage = coverage or {}
    return {
        "mapped_volume_share": float(coverage.get("mapped_volume_share", np.nan)),
        "mapped_mass_share": float(coverage.get("mapped_mass_share", np.nan)),
        "mapped_by": {k: float(v) for k, v in coverage.items() if k.startswith(("volume_", "mass_"))},
    }


def grade_and_label(scores: pd.DataFrame, method: Method, use_type: np.ndarray) -> pd.DataFrame:
    """``scores`` (of :func:`weigh_buildings`) with each building's ``quality_grade`` (after
    ``flags``; ``data/quality_grades.csv``) and, for a method with an A–G scale
    (``scenarios/labels/<method>.csv``), its ``label`` (after ``score_unit``; by ``use_type``)."""
    rules = quality_rules()
    # an IFC model's unmapped share of volume caps its grade (max_unmapped_volume); 0 for other buildings
    mapped = scores["mapped_volume_share"] if "mapped_volume_share" in scores else pd.Series(np.nan, scores.index)
    unmapped = (1.0 - mapped.astype("float64")).fillna(0.0).tolist()
    grades = [
        quality_grade(score, missing, estimated, len(flags), bool(gaps), rules, unmapped_volume)
        for score, missing, estimated, flags, gaps, unmapped_volume in zip(
            scores["score"].tolist(),
            scores["weight_missing"].tolist(),
            scores["weight_estimated"].tolist(),
            scores["flags"],
            scores["module_gaps"],
            unmapped,
            strict=True,
        )
    ]
    frame = scores.copy(deep=False)  # copy-on-write: the inserts below never reach the given table
    frame.insert(
        list(frame.columns).index("flags") + 1 if "flags" in frame else len(frame.columns), "quality_grade", grades
    )
    scale = load_label_scale(method.name)
    if scale is not None:  # the method has an A–G scale (scenarios/labels/<method>.csv)
        where = list(frame.columns).index("score_unit") + 1 if "score_unit" in frame else len(frame.columns)
        labels = scale.assign(use_type, frame["score"].to_numpy(dtype=np.float64))
        # a label only for a score comparable with the bands' (scenarios/labels/comparability.csv)
        notes = [
            label_withheld(scale, missing, method.gap_policy) if label is not None else None
            for label, missing in zip(labels, frame["weight_missing"].tolist(), strict=True)
        ]
        frame.insert(where, "label", [None if note else label for label, note in zip(labels, notes, strict=True)])
        frame.insert(where + 1, "label_note", notes)
    return frame


def score_buildings(
    results: ElementResults,
    method: Method,
    totals: BuildingTotals | None = None,
    trust=None,
) -> pd.DataFrame:
    """One row per building: score, per-area totals, coverage, estimates, flags, quality grade and
    label: :func:`weigh_buildings` then :func:`grade_and_label`."""
    weighed = weigh_buildings(results, method, totals, trust)
    return grade_and_label(weighed, method, results.compiled.use_type)

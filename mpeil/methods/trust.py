"""What a score rests on: which values are estimates and which flagged values drive it.

A method's ``gap_policy`` and ``flagged_values`` choose the library the engine sees
(:func:`scoring_library`); :func:`assess_lines` then counts, per building and method indicator,
the lines whose A1-A3 value is an estimate, and names the flagged data sets that drive more than
``driver_share`` (``data/epd/screening.csv``) of a score. Both are cheap per-line masks summed per
building (``bincount``); the engine itself is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..model.library import EPDLibrary
from ..model.screening import screening_thresholds
from .config import Method
from .weights import score_weight_vector

__all__ = ["LineTrust", "scoring_library", "assess_lines", "quality_grade", "quality_rules"]


@dataclass(frozen=True)
class LineTrust:
    """Per building: estimated lines per method indicator, the data sets estimated, the flags."""

    estimated_lines: np.ndarray  # int64[B, I_method]: lines whose A1-A3 value is an estimate
    estimated_datasets: list[list[str]]  # per building, data sets with at least one estimated indicator
    #: labels naming each flagged data set used, its indicator and the reason
    flag_labels: list[str]
    #: float64[B, F]: each flagged value's A1-A3 score contribution incl. replacements, in score
    #: units per m² GFA (per year if the method is)
    flag_contributions: np.ndarray
    driver_share: float = 0.10  # a flagged value above this share of a score is named (screening.csv)
    #: bool[D, I_method]: the data set's A1-A3 value of the indicator is an estimate
    dataset_estimated: np.ndarray | None = None
    indicators: tuple[str, ...] = ()
    dataset_ids: np.ndarray | None = None  # object[D]: the library's data set ids


def scoring_library(library: EPDLibrary, method: Method) -> EPDLibrary:
    """The library the engine sees under the method's ``gap_policy`` and ``flagged_values``."""
    replace = method.flagged_values == "estimate"
    if method.gap_policy == "estimated":
        return library.with_estimates(replace_flagged=replace)
    if replace:
        return library.with_flagged_replaced()
    return library


def assess_lines(compiled, replacements: np.ndarray, library: EPDLibrary, method: Method) -> LineTrust:
    """Estimated-line counts and flag contributions per building (see the module docstring)."""
    codes = tuple(i.code for i in method.indicators)
    n_b = compiled.n_buildings
    line_building = compiled.line_building
    dataset = compiled.dataset
    estimated = library.estimated(codes, ("A1-A3",))[:, 0, :]  # [D, I]
    per_line = estimated[dataset]  # [L, I]
    counts = np.zeros((n_b, len(codes)), dtype=np.int64)
    sets: list[list[str]] = [[] for _ in range(n_b)]
    if per_line.any():
        for i in range(len(codes)):
            counts[:, i] = np.bincount(line_building, weights=per_line[:, i], minlength=n_b).astype(np.int64)
        rows = np.flatnonzero(per_line.any(axis=1))
        ids = library.datasets["dataset_id"].to_numpy(dtype=object)
        pairs = np.unique(line_building[rows].astype(np.int64) * len(ids) + dataset[rows])
        for b, d in zip((pairs // len(ids)).tolist(), (pairs % len(ids)).tolist(), strict=True):
            sets[b].append(str(ids[d]))
    labels, contributions = _flag_contributions(compiled, replacements, library, method, codes)
    return LineTrust(
        counts,
        sets,
        labels,
        contributions,
        screening_thresholds()["driver_share"],
        estimated,
        codes,
        library.datasets["dataset_id"].to_numpy(dtype=object),
    )


def _flag_contributions(compiled, replacements, library: EPDLibrary, method: Method, codes):
    """Each flagged (data set, indicator) the buildings use, as (labels, contributions[B, F]): its
    A1-A3 score contribution (including replacements) in score units per m² (and year); a share
    is taken against the score later."""
    n_b = compiled.n_buildings
    flags = library.flags
    if flags.empty or compiled.n_lines == 0:
        return [], np.zeros((n_b, 0))
    ids = library.datasets["dataset_id"]
    names = library.datasets["name_en"].fillna(library.datasets["name_de"]).fillna("")
    used_ids = set(ids.iloc[pd.unique(compiled.dataset)])
    flags = flags[flags["dataset_id"].isin(used_ids) & (flags["indicator"].isin(codes) | (flags["indicator"] == ""))]
    if flags.empty:
        return [], np.zeros((n_b, 0))
    tensor = library.tensor(codes, ("A1-A3",))[:, 0, :]
    factor = score_weight_vector(method, codes)  # score units per indicator unit, method order
    new = np.isnan(compiled.remaining_life_years) & ~compiled.removed
    amount = np.where(new, compiled.quantity * (1.0 + replacements), 0.0)
    denominator = compiled.gross_floor_area_m2 * (compiled.study_period_years if method.per_year else 1.0)
    flagged_index = np.array([library.resolve(str(i)) for i in flags["dataset_id"]], dtype=np.int64)
    candidate = np.flatnonzero(np.isin(compiled.dataset, flagged_index))  # the lines that use a flagged set
    labels, columns_out = [], []
    for row, d in zip(flags.itertuples(index=False), flagged_index, strict=True):
        columns = [codes.index(row.indicator)] if row.indicator else list(range(len(codes)))
        lines = candidate[compiled.dataset[candidate] == d]
        points = np.nan_to_num(tensor[d, columns]) @ factor[columns]
        per_building = np.bincount(compiled.line_building[lines], weights=amount[lines] * points, minlength=n_b)
        labels.append(f"{row.dataset_id!s} ({names.iloc[d]!s}) {row.indicator or 'properties'!s}: {row.reason!s}")
        columns_out.append(per_building / denominator)
    return labels, np.column_stack(columns_out)


def quality_rules(path=None) -> list[tuple[str, float, float, int, bool]]:
    """The data-quality grade rules (``data/quality_grades.csv``) in grade order: (grade, max weight
    missing, max weight estimated, max flagged values driving the score, module gaps allowed)."""
    from ..paths import data_dir

    frame = pd.read_csv(path or data_dir() / "quality_grades.csv", keep_default_na=False)
    return [
        (
            str(r["grade"]),
            float(r["max_weight_missing"]),
            float(r["max_weight_estimated"]),
            int(r["max_driving_flags"]),
            str(r["module_gaps_allowed"]).strip().lower() == "true",
        )
        for r in frame.to_dict("records")
    ]


def quality_grade(
    score: float, weight_missing: float, weight_estimated: float, driving_flags: int, module_gaps: bool, rules
) -> str:
    """The first grade whose limits the building meets (``data/quality_grades.csv``); the last one
    (E) when there is no score."""
    if not np.isfinite(score):
        return rules[-1][0]
    tolerance = 1e-9  # weights are sums of float shares
    for grade, max_missing, max_estimated, max_flags, gaps_allowed in rules:
        if (
            weight_missing <= max_missing + tolerance
            and weight_estimated <= max_estimated + tolerance
            and driving_flags <= max_flags
            and (gaps_allowed or not module_gaps)
        ):
            return grade
    return rules[-1][0]

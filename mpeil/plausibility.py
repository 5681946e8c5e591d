"""Plausibility of a *result*: no input, method file or library passes as a plausible score.

The inputs are checked before scoring (:mod:`mpeil.validation`, ``data/batch_limits.csv``); many
values each at the edge of its limit, inline data sets or a method file can still combine into a
score no building has. This module checks what comes out, on every entry point (the hook is
:func:`mpeil.validation.check_scores`):

- every indicator per m² gross floor area per year, over the scored modules without D, and GWP per
  life-cycle stage, within the bounds of ``data/result_bounds.csv`` (each with its source);
- the single score is never negative unless module D is scored or a line reuses a component
  (``reused_input``): an embodied score below zero is impossible;
- NaN never disappears: a module × indicator some line declares must be a finite number (an
  overflow ``inf − inf`` inside the engine would otherwise be dropped by the sum over modules), and
  a score is NaN only when nothing of the method's weight is covered.

Each finding is an :class:`~mpeil.errors.ImplausibleResultError` naming the building, the element
and line that drive it most and the indicator as its field.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import ImplausibleResultError, InputError
from .paths import data_dir

#: a scored :class:`mpeil.outputs.Result` (not imported: this module sits below the outputs, beside
#: mpeil.validation, and reads only the Result's public views)
Result = Any

__all__ = ["load_result_bounds", "check_result", "check_score_table"]

_SOURCE = "data/result_bounds.csv"
#: the row of data/result_bounds.csv that bounds an indicator over all scored stages
ALL_STAGES = "all"


@functools.lru_cache(maxsize=4)
def _read(path: str) -> pd.DataFrame:
    table = pd.read_csv(path, comment="#")
    table["minimum"] = table["minimum"].astype(float)
    table["maximum"] = table["maximum"].astype(float)
    return table


def load_result_bounds(path: Path | None = None) -> pd.DataFrame:
    """Bounds per indicator and stage (``indicator, stage, minimum, maximum, unit, source``), per m²·yr."""
    return _read(str(path or data_dir() / "result_bounds.csv"))


def check_score_table(scores: pd.DataFrame, file: str | None) -> None:
    """What the score table alone shows: an infinite score (an overflow), a NaN score although part
    of the method's weight is covered, and ``<indicator> per area`` outside its bound."""
    if "score" not in scores or not len(scores):
        return
    values = scores["score"].to_numpy(dtype=np.float64)
    bad = np.flatnonzero(np.isinf(values))
    if bad.size:
        raise InputError(
            "the score is not a finite number: an amount or quantity is beyond what can be computed",
            file=file,
            building=str(scores.index[int(bad[0])]),
            field="amount",
        )
    covered = scores["weight_covered"].to_numpy(dtype=np.float64) if "weight_covered" in scores else None
    if covered is not None:
        lost = np.flatnonzero(np.isnan(values) & (np.nan_to_num(covered) > 0))
        if lost.size:
            row = int(lost[0])
            raise ImplausibleResultError(
                f"the score is NaN although {covered[row]:.0%} of the method's weight is covered: "
                "a value was lost (an overflow or a non-finite data set value)",
                file=file,
                building=str(scores.index[row]),
                field="score",
            )


def check_result(result: Result, file: str | None, scores: pd.DataFrame | None = None) -> None:
    """Every check of this module on a scored :class:`~mpeil.outputs.Result` (raises the first);
    ``scores``: its score table when already computed (default ``result.scores``)."""
    scores = result.scores if scores is None else scores
    check_score_table(scores, file)
    _check_declared_values_finite(result, file)
    if result.library is not None and result.library.hand_made:
        return  # invented round numbers: real-world bounds do not apply (mpeil.testing)
    all_stages, stages = _bound_rows(str(data_dir() / "result_bounds.csv"))
    per_area = result.per_m2_year(include_d=False)
    column = {str(code): j for j, code in enumerate(per_area.columns)}
    values = per_area.to_numpy(dtype=np.float64)
    for row in all_stages:
        if row.indicator in column:
            _check_bound(result, values[:, column[row.indicator]], row, None, file)
    for row in stages:
        modules = [m for m in str(row.modules).split() if m in result.modules]
        if row.indicator in result.indicators and modules and _near_bound(result, row, modules):
            per_module = result.by_module(row.indicator)[modules]
            _check_bound(result, per_module.sum(axis=1, min_count=1).to_numpy(dtype=np.float64), row, row.stage, file)
    _check_sign(result, scores, file)


def _near_bound(result: Result, row: Any, modules: list[str]) -> bool:
    """Whether some building's stage sum (``by_module(indicator)[modules].sum(axis=1, min_count=1)``)
    may lie beyond ``row``'s bounds, judged without pandas: the sum in any order is within
    ``(k - 1) · eps · Σ|terms|`` of the exact one, so a sum farther than four times that from both
    bounds is inside them whatever order pandas adds in. Only then is the stage left unchecked."""
    j = result.indicators.index(row.indicator)
    columns = [result.modules.index(m) for m in modules]
    totals = result._totals.values[:, columns, j]
    denominator = result._denominator(True)
    absent = result._absent[:, j]
    terms = np.where(absent[:, None], np.nan, totals / denominator[:, None])  # as by_module gives them
    known = ~np.isnan(terms)
    summed = np.where(known.any(axis=1), np.where(known, terms, 0.0).sum(axis=1), np.nan)
    margin = 4.0 * len(columns) * np.finfo(np.float64).eps * np.where(known, np.abs(terms), 0.0).sum(axis=1)
    low, high = float(row.minimum), float(row.maximum)
    near = (summed < low + margin) | (summed > high - margin) | np.isinf(summed)
    return bool(near.any())


@functools.lru_cache(maxsize=4)
def _bound_rows(path: str) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The rows of the bounds file (:func:`load_result_bounds`): over all scored stages, and per stage."""
    bounds = load_result_bounds(Path(path))
    return tuple(bounds[bounds["stage"] == ALL_STAGES].itertuples()), tuple(
        bounds[bounds["stage"] != ALL_STAGES].itertuples()
    )


def _check_declared_values_finite(result: Result, file: str | None) -> None:
    totals = result._totals
    values, missing, contributing = totals.values, totals.missing, totals.contributing
    declared = missing < contributing[:, :, None]  # some line of the building declares it
    bad = declared & ~np.isfinite(values)
    if not bad.any():
        return
    b, m, i = (int(v) for v in np.unravel_index(int(np.argmax(bad)), bad.shape))  # the first in C order
    indicator = result.indicators[i]
    raise ImplausibleResultError(
        f"{indicator} in module {result.modules[m]} is {values[b, m, i]} although lines declare it: "
        "a data set value or an amount is beyond what can be computed" + _drivers(result, b, i, [m]),
        file=file,
        building=result.building_ids[b],
        field=indicator,
        **_top_line(result, b, i, [m]),
    )


def _check_bound(result: Result, array: np.ndarray, row: Any, stage: str | None, file: str | None) -> None:
    low, high = float(row.minimum), float(row.maximum)
    outside = (array < low) | (array > high)  # NaN: not declared (a lost value is found above)
    hits = np.flatnonzero(outside)
    if not hits.size:
        return
    b = int(hits[0])
    value = array[b]
    what = f"{row.indicator}" + (f" in {stage}" if stage else "")
    side = f"above the bound of {high:g}" if value > high else f"below the bound of {low:g}"
    reason = f"{what} is {value:.4g} {row.unit}/(m²·yr), {side} ({_SOURCE}: {row.source})"
    modules = _stage_modules(result, row)
    raise ImplausibleResultError(
        reason + _drivers(result, b, result.indicators.index(row.indicator), modules),
        file=file,
        building=result.building_ids[b],
        field=row.indicator,
        **_top_line(result, b, result.indicators.index(row.indicator), modules),
    )


def _check_sign(result: Result, table: pd.DataFrame, file: str | None) -> None:
    if result.method.include_d:
        return
    scores = table["score"].to_numpy(dtype=np.float64)
    compiled = result.elements.compiled
    reused_lines = np.asarray(compiled.reused_input, dtype=np.float64) > 0  # NaN: not reused
    reused = np.zeros(len(result.building_ids), dtype=bool)
    if reused_lines.any():
        owners = compiled.element_building[compiled.line_element[reused_lines]]
        reused[np.unique(owners)] = True
    hits = np.flatnonzero((scores < 0) & ~reused)
    if hits.size:
        b = int(hits[0])
        raise ImplausibleResultError(
            f"the score is {scores[b]:.4g} {result.method.score_unit}: below zero without module D or reused "
            "components, which no building can reach (a negative data set value or amount?)",
            file=file,
            building=result.building_ids[b],
            field="score",
        )


def _stage_modules(result: Result, row: Any) -> list[int]:
    """Positions of the modules a bound covers: its stage's, or the method's scored modules."""
    names = result.method.modules if row.stage == ALL_STAGES else str(row.modules).split()
    return [result.modules.index(m) for m in names if m in result.modules]


def _element_shares(result: Result, b: int, i: int, modules: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The building's elements and their values of indicator ``i`` over ``modules`` (study period)."""
    compiled = result.elements.compiled
    elements = np.flatnonzero(compiled.element_building == b)
    values = result.elements.values[elements][:, modules, i]
    declared = np.where(np.isnan(values), 0.0, np.abs(values))  # NaN: not declared by this element
    lost = np.isnan(values) & (
        result.elements.missing[elements][:, modules, i] < _contributing(result, elements, modules)
    )
    return elements, np.where(lost, np.inf, declared).sum(axis=1)


def _contributing(result: Result, elements: np.ndarray, modules: list[int]) -> np.ndarray:
    return result.elements.contributing[elements][:, modules]


def _top_line(result: Result, b: int, i: int, modules: list[int]) -> dict[str, str]:
    """``element`` and ``layer`` of the line that drives the finding most (its element's first line)."""
    elements, magnitude = _element_shares(result, b, i, modules)
    if not elements.size:
        return {}
    compiled = result.elements.compiled
    e = int(elements[int(np.argmax(magnitude))])
    lines = np.flatnonzero(compiled.line_element == e)
    where = {"element": str(compiled.element_ids[e])}
    if lines.size:
        where["layer"] = _label(compiled, int(lines[0]))
    return where


def _drivers(result: Result, b: int, i: int, modules: list[int]) -> str:
    """``; driven by element 'wall' (C1 (line 1) obd2024:…, …)`` for the largest elements."""
    elements, magnitude = _element_shares(result, b, i, modules)
    if not elements.size:
        return ""
    compiled = result.elements.compiled
    order = elements[np.argsort(-magnitude, kind="stable")][:1]
    parts = []
    for e in order:
        lines = np.flatnonzero(compiled.line_element == e)[:3]
        shown = ", ".join(f"{_label(compiled, int(line))} {_dataset(result, int(line))}" for line in lines)
        parts.append(f"element {compiled.element_ids[e]!r} ({shown})")
    return "; driven by " + "; ".join(parts)


def _dataset(result: Result, line: int) -> str:
    ids = result.library.ids if result.library is not None else None
    d = int(result.elements.compiled.dataset[line])
    return str(ids[d]) if ids is not None and 0 <= d < len(ids) else f"data set {d}"


def _label(compiled: Any, line: int) -> str:
    layer = compiled.line_layer[line]
    number = int(compiled.line_number[line])
    return f"{layer} (line {number})" if isinstance(layer, str) and layer else f"line {number}"

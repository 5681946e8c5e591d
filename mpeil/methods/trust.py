"""What a score rests on: which values are estimates and which flagged values drive it.

A method's ``gap_policy`` and ``flagged_values`` choose the library the engine sees
(:func:`scoring_library`); :func:`assess_lines` then counts, per building and method indicator,
the lines whose A1-A3 value is an estimate, and names the flagged data sets that drive more than
``driver_share`` (``data/epd/screening.csv``) of a score. Both are cheap per-line masks summed per
building (``bincount``); the engine itself is unchanged.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

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
    #: per building, a label per data set used that declares none of the method's indicators in A1-A3
    #: (an EN 15804+A1 EPD under an EF method): its lines count as missing; named in ``flags``
    unusable_datasets: list[list[str]] | None = None
    #: bool[F]: the flagged value was replaced by its peer estimate (``flagged_values = "estimate"``);
    #: its contribution is then the declared value's, the one the score does not use
    flag_replaced: np.ndarray | None = None
    #: int64[B]: new lines (A1-A3 counted) whose data set lacks a method indicator in A1-A3 after estimates
    lines_lacking: np.ndarray | None = None
    #: int64[B]: new lines (the denominator of ``lines_lacking``)
    lines_new: np.ndarray | None = None
    #: per building, one text per data set behind ``lines_lacking``: "k of n lines (id name) lack …"
    lacking_labels: list[list[str]] | None = None


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
    ids = library.datasets["dataset_id"].to_numpy(dtype=object)
    counts, sets = _estimated_by_building(line_building, dataset, estimated, ids, n_b)
    labels, contributions, replaced = _flag_contributions(compiled, replacements, library, method, codes)
    return LineTrust(
        counts,
        sets,
        labels,
        contributions,
        screening_thresholds()["driver_share"],
        estimated,
        codes,
        library.datasets["dataset_id"].to_numpy(dtype=object),
        _unusable_datasets(compiled, library, tuple(dict.fromkeys(c for i in method.indicators for c in i.sources))),
        replaced,
        *_lacking_lines(compiled, library, method),
    )


def _estimated_by_building(
    line_building: np.ndarray, dataset: np.ndarray, estimated: np.ndarray, ids: np.ndarray, n_b: int
) -> tuple[np.ndarray, list[list[str]]]:
    """Per building: its lines whose A1-A3 value is an estimate, per method indicator (int64[B, I]),
    and the ids of the data sets with at least one estimated indicator it uses (ascending index).

    Lines are counted per (building, data set) pair first, then the pairs' counts are
    spread over the data sets' estimated indicators (a sparse product of exact integer sums)."""
    counts = np.zeros((n_b, estimated.shape[1]), dtype=np.int64)
    if not estimated.any() or dataset.size == 0:
        return counts, [[] for _ in range(n_b)]
    n_sets = len(ids)
    pair_building, pair_dataset, lines = _building_dataset_pairs(line_building, dataset, n_b, n_sets)
    uses = sp.csr_matrix((lines, (pair_building, pair_dataset)), shape=(n_b, n_sets))
    counts = np.rint(uses @ estimated.astype(np.float64)).astype(np.int64)
    any_estimated: np.ndarray = np.asarray(estimated.any(axis=1), dtype=bool)  # bool[D]
    hit = any_estimated[pair_dataset]
    return counts, _ids_by_building(pair_building[hit], pair_dataset[hit], ids, n_b)


#: a (building, data set used) table up to this many cells per line is counted densely (``bincount``)
#: instead of sorting the lines: a pure performance knob
_DENSE_PAIRS_PER_LINE = 4


def _building_dataset_pairs(
    line_building: np.ndarray, dataset: np.ndarray, n_b: int, n_sets: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (building, data set) pairs of the lines, ascending by building then data set,
    and the lines of each (float64)."""
    used = np.zeros(n_sets, dtype=bool)
    used[dataset] = True
    used_sets = np.flatnonzero(used)
    if n_b * len(used_sets) <= _DENSE_PAIRS_PER_LINE * len(dataset) + 1024:
        compact = np.cumsum(used) - 1  # the data sets used, numbered in ascending order
        per_pair = np.bincount(line_building * len(used_sets) + compact[dataset], minlength=n_b * len(used_sets))
        pairs = np.flatnonzero(per_pair)
        return pairs // len(used_sets), used_sets[pairs % len(used_sets)], per_pair[pairs].astype(np.float64)
    ordered = np.sort(line_building.astype(np.int64) * n_sets + dataset)
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    pairs = ordered[starts]
    lines = np.diff(np.append(starts, ordered.size)).astype(np.float64)
    return pairs // n_sets, pairs % n_sets, lines


def _ids_by_building(buildings: np.ndarray, datasets: np.ndarray, ids: np.ndarray, n_b: int) -> list[list[str]]:
    """Per building, the ids (as text) of ``datasets``; ``buildings`` ascending, one entry per pair."""
    table = np.empty(len(ids), dtype=object)
    used = np.flatnonzero(np.bincount(datasets, minlength=len(ids)))
    table[used] = [str(ids[d]) for d in used.tolist()]  # the ids used, as text, once each
    text = table[datasets].tolist()
    bounds = np.searchsorted(buildings, np.arange(n_b + 1)).tolist()
    return [text[bounds[b] : bounds[b + 1]] for b in range(n_b)]


def _lacking_lines(compiled, library: EPDLibrary, method: Method) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
    """Per building: the new lines whose data set has no A1-A3 value (declared, or estimated where the
    scoring library holds estimates) of some method indicator (under none of its accepted codes), all
    new lines, and a text per such data set naming its lines and what they lack. A line's gap is
    shown at the line's scale: one line of 84 is 1/84 of the lines, whatever share of the weighting
    its indicators carry."""
    n_b = compiled.n_buildings
    if compiled.n_lines == 0:
        return np.zeros(n_b, dtype=np.int64), np.zeros(n_b, dtype=np.int64), [[] for _ in range(n_b)]
    sources = tuple(dict.fromkeys(c for i in method.indicators for c in i.sources))
    values = library.tensor(sources, ("A1-A3",))[:, 0, :]
    has = np.column_stack(
        [np.isfinite(values[:, [sources.index(c) for c in i.sources]]).any(axis=1) for i in method.indicators]
    )  # bool[D, I_method]
    new = np.isnan(compiled.remaining_life_years) & ~compiled.removed
    every = np.asarray(has.all(axis=1), dtype=bool)  # bool[D]: the data set has every method indicator
    lacking = new & ~every[compiled.dataset]
    counts = _lines_per_building(compiled.line_building, lacking, n_b)
    totals = _lines_per_building(compiled.line_building, new, n_b)
    if not counts.any():
        return counts, totals, [[] for _ in range(n_b)]
    names = library.datasets["name_en"].fillna(library.datasets["name_de"]).fillna("")
    ids = library.datasets["dataset_id"].to_numpy(dtype=object)
    codes = [i.code for i in method.indicators]
    groups: list[dict[tuple[str, ...], list[int]]] = [{} for _ in range(n_b)]  # what is lacked → lines' sets
    for line in np.flatnonzero(lacking).tolist():
        b, d = int(compiled.line_building[line]), int(compiled.dataset[line])
        lacks = tuple(c for c, h in zip(codes, has[d], strict=True) if not h)
        groups[b].setdefault(lacks, []).append(d)
    out: list[list[str]] = [[] for _ in range(n_b)]
    for b, by_lack in enumerate(groups):
        for lacks, sets in by_lack.items():
            unique = list(dict.fromkeys(sets))
            named = ", ".join(f"{ids[d]!s} {names.iloc[d]!s}" for d in unique[:3]) + (", …" if len(unique) > 3 else "")
            what = "declare no indicator of the method" if len(lacks) == len(codes) else "lack " + ", ".join(lacks)
            out[b].append(f"{len(sets)} of {totals[b]} lines ({named}) {what}")
    return counts, totals, out


def _lines_per_building(line_building: np.ndarray, mask: np.ndarray, n_b: int) -> np.ndarray:
    """int64[B]: the lines where ``mask`` holds, per building."""
    if mask.all():
        return np.bincount(line_building, minlength=n_b).astype(np.int64)
    return np.bincount(line_building[mask], minlength=n_b).astype(np.int64)


def _unusable_datasets(compiled, library: EPDLibrary, codes: tuple[str, ...]) -> list[list[str]]:
    """Per building, labels of the data sets its lines use that declare none of ``codes`` (the method's
    indicators and their accepted fallbacks) in A1-A3."""
    n_b = compiled.n_buildings
    if compiled.n_lines == 0:
        return [[] for _ in range(n_b)]
    values = library.tensor(codes, ("A1-A3",))[:, 0, :]
    declared = (~np.isnan(values) & ~library.estimated(codes, ("A1-A3",))[:, 0, :]).any(axis=1)  # [D]
    lines = np.flatnonzero(~declared[compiled.dataset])
    out: list[list[str]] = [[] for _ in range(n_b)]
    if not lines.size:
        return out
    datasets = library.datasets
    names = datasets["name_en"].fillna(datasets["name_de"]).fillna("")
    pairs = sorted({(int(compiled.line_building[i]), int(compiled.dataset[i])) for i in lines})
    ids = datasets["dataset_id"].to_numpy(dtype=object)
    rows = library.values[library.values["dataset_id"].isin({ids[d] for _, d in pairs})]
    rows = rows[rows["module"] == "A1-A3"]
    for b, d in pairs:
        found = sorted(set(rows.loc[rows["dataset_id"] == ids[d], "indicator"].astype(str)))
        what = (
            f"it declares {', '.join(found[:4])}{', …' if len(found) > 4 else ''}" if found else "it declares no A1-A3"
        )
        out[b].append(
            f"{ids[d]!s} ({names.iloc[d]!s}): declares none of the method's indicators in A1-A3 ({what}); "
            "its lines count as missing"
        )
    return out


def _flag_contributions(compiled, replacements, library: EPDLibrary, method: Method, codes):
    """Each flagged (data set, indicator) the buildings use, as (labels, contributions[B, F],
    replaced[F]): its A1-A3 score contribution (including replacements) in score units per m² (and
    year); a share is taken against the score later. A value replaced by its peer estimate
    (``replaced``) contributes its declared value: what the score would carry had it been kept."""
    n_b = compiled.n_buildings
    flags = library.flags
    nothing: tuple[list[str], np.ndarray, np.ndarray] = ([], np.zeros((n_b, 0)), np.zeros(0, dtype=bool))
    if flags.empty or compiled.n_lines == 0:
        return nothing
    ids = library.datasets["dataset_id"]
    used = np.flatnonzero(np.bincount(compiled.dataset, minlength=len(ids)))  # the data sets the lines use
    used_ids = set(ids.iloc[used].tolist())
    method_codes = set(codes)
    # the flags of the data sets used, on a method indicator or on properties ("") (plain lists: a
    # pandas filter costs more than the few hundred flags)
    keep = [
        d in used_ids and (i in method_codes or i == "")
        for d, i in zip(flags["dataset_id"].tolist(), flags["indicator"].tolist(), strict=True)
    ]
    if not any(keep):
        return nothing
    flags = flags[np.asarray(keep, dtype=bool)]
    declared = library._memo.get(("declared_library",), library)  # the base library: values as declared
    tensor = declared.tensor(codes, ("A1-A3",))[:, 0, :]
    replaced = _replaced(library, flags)
    factor = score_weight_vector(method, codes)  # score units per indicator unit, method order
    denominator = compiled.gross_floor_area_m2 * (compiled.study_period_years if method.per_year else 1.0)
    flagged_index = np.array([library.resolve(str(i)) for i in flags["dataset_id"]], dtype=np.int64)
    is_flagged = np.zeros(len(ids), dtype=bool)
    is_flagged[flagged_index] = True
    candidate = np.flatnonzero(is_flagged[compiled.dataset])  # the lines that use a flagged set
    # the candidates' amounts (new parts, with replacements); existing and removed parts count 0
    new = np.isnan(compiled.remaining_life_years[candidate]) & ~compiled.removed[candidate]
    amount = np.where(new, compiled.quantity[candidate] * (1.0 + replacements[candidate]), 0.0)
    candidate_dataset, candidate_building = compiled.dataset[candidate], compiled.line_building[candidate]
    labels, columns_out = [], []
    rows = zip(flags["dataset_id"].tolist(), flags["indicator"].tolist(), flags["reason"].tolist(), strict=True)
    for (dataset_id, indicator, reason), d in zip(rows, flagged_index.tolist(), strict=True):
        columns = [codes.index(indicator)] if indicator else list(range(len(codes)))
        at = np.flatnonzero(candidate_dataset == d)
        points = np.nan_to_num(tensor[d, columns]) @ factor[columns]
        per_building = np.bincount(candidate_building[at], weights=amount[at] * points, minlength=n_b)
        label = f"{dataset_id!s} ({_dataset_name(library, d)!s}) {indicator or 'properties'!s}: {reason!s}"
        labels.append(label)
        columns_out.append(per_building / denominator)
    return labels, np.column_stack(columns_out), replaced


def _dataset_name(library: EPDLibrary, d: int) -> str:
    """The English name of data set ``d``, else its German one, else "" (as ``name_en.fillna(name_de)``)."""
    for column in ("name_en", "name_de"):
        value = library.datasets[column].iat[d]
        if not pd.isna(value):
            return value
    return ""


def _replaced(library: EPDLibrary, flags: pd.DataFrame) -> np.ndarray:
    """bool per flag row: the scoring library holds the peer estimate instead of the declared value."""
    if library.override is None or library.override.empty:
        return np.zeros(len(flags), dtype=bool)
    override = library.override
    keys = set(zip(override["dataset_id"].tolist(), override["indicator"].tolist(), strict=True))
    pairs = zip(flags["dataset_id"].tolist(), flags["indicator"].tolist(), strict=True)
    return np.array([(d, i) in keys for d, i in pairs], dtype=bool)


def quality_rules(path=None) -> list[tuple[str, float, float, int, bool, float]]:
    """The data-quality grade rules (``data/quality_grades.csv``) in grade order: (grade, max weight
    missing, max weight estimated, max flagged values driving the score, module gaps allowed, max
    share of an IFC model's volume left unmapped; 1 when the file has no such column)."""
    from ..paths import data_dir

    path = Path(path or data_dir() / "quality_grades.csv")
    try:
        stat = path.stat()
    except OSError:
        return list(_read_rules(str(path), -1, -1))  # read_csv raises the error
    # read once per file version (every score table asks): keyed by path, size and modification time
    return list(_read_rules(str(path), stat.st_size, stat.st_mtime_ns))


@functools.lru_cache(maxsize=16)
def _read_rules(path: str, size: int, mtime_ns: int) -> tuple[tuple[str, float, float, int, bool, float], ...]:
    """The rules in ``path`` (``size`` and ``mtime_ns`` only key the cache), as immutable tuples."""
    frame = pd.read_csv(path, keep_default_na=False)
    return tuple(
        (
            str(r["grade"]),
            float(r["max_weight_missing"]),
            float(r["max_weight_estimated"]),
            int(r["max_driving_flags"]),
            str(r["module_gaps_allowed"]).strip().lower() == "true",
            float(r.get("max_unmapped_volume") or 1.0),
        )
        for r in frame.to_dict("records")
    )


def quality_grade(
    score: float,
    weight_missing: float,
    weight_estimated: float,
    driving_flags: int,
    module_gaps: bool,
    rules,
    unmapped_volume: float = 0.0,
) -> str:
    """The first grade whose limits the building meets (``data/quality_grades.csv``); the last one
    (E) when there is no score. ``unmapped_volume``: the share (0-1) of an IFC model's volume that
    maps to nothing (0 for a building file, whose lines all name a data set)."""
    if not math.isfinite(score):
        return rules[-1][0]
    tolerance = 1e-9  # weights are sums of float shares
    for grade, max_missing, max_estimated, max_flags, gaps_allowed, *more in rules:
        max_unmapped = more[0] if more else 1.0
        if (
            weight_missing <= max_missing + tolerance
            and weight_estimated <= max_estimated + tolerance
            and driving_flags <= max_flags
            and (gaps_allowed or not module_gaps)
            and unmapped_volume <= max_unmapped + tolerance
        ):
            return grade
    return rules[-1][0]

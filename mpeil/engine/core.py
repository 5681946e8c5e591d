"""The vectorised core: scale unit profiles by line weights and sum them per element.

For each group of modules that shares a line weight, the element result is one sparse
product ``W (elements × profiles) @ U (profiles × modules·indicators)``. ``W`` is built
straight from the line arrays in CSR form (lines are grouped by element, duplicates are
summed by the product), so there is no Python loop over lines and no sort.

Line weights (``q`` = amount in declared units, ``NR`` = replacements):

==================  ===============  ==============================  ==========================
modules             new part         part kept in a renovation       part removed in a renovation
==================  ===============  ==============================  ==========================
A1-A3, A4, A5       q                0 (already built)               0
B1-B3, B5           q                q                               0
C1-C4               q                q                               q (its end of life now)
B4                  q · NR           q · NR (from remaining life)    0
D                   q · (1 + NR)     q · (1 + NR)                    q
==================  ===============  ==============================  ==========================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .profiles import OUTPUT_MODULES

__all__ = ["WEIGHT_GROUPS", "LineWeights", "aggregate", "line_weights"]

#: which line weight scales which modules
WEIGHT_GROUPS: dict[str, tuple[str, ...]] = {
    "production": ("A1-A3", "A4", "A5"),
    "use": ("B1", "B2", "B3", "B5"),
    "end_of_life": ("C1", "C2", "C3", "C4"),
    "replacements": ("B4",),
    "installations": ("D",),
}
_MODULE_INDEX = {m: k for k, m in enumerate(OUTPUT_MODULES)}


@dataclass(frozen=True)
class LineWeights:
    production: np.ndarray
    use: np.ndarray
    end_of_life: np.ndarray
    replacements: np.ndarray
    installations: np.ndarray


def line_weights(
    quantity: np.ndarray, replacements: np.ndarray, existing: np.ndarray, removed: np.ndarray | None = None
) -> LineWeights:
    quantity = np.asarray(quantity, dtype=np.float64)
    removed = np.zeros(quantity.shape, dtype=bool) if removed is None else np.asarray(removed, dtype=bool)
    replacements = np.where(removed, 0.0, replacements)
    return LineWeights(
        production=np.where(existing | removed, 0.0, quantity),
        use=np.where(removed, 0.0, quantity),
        end_of_life=quantity,
        replacements=quantity * replacements,
        installations=quantity * (1.0 + replacements),
    )


def _csr(data: np.ndarray, columns: np.ndarray, indptr: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    return sp.csr_matrix((data, columns, indptr), shape=shape)


def aggregate(
    line_segment: np.ndarray,
    n_segments: int,
    profile: np.ndarray,
    weights: LineWeights,
    profile_values: np.ndarray,
    profile_missing: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum line results per segment (element, or line for a per-line view).

    Parameters
    ----------
    line_segment:
        int64[L], non-decreasing: the segment (element) of each line.
    profile:
        int64[L], the unit profile of each line.
    profile_values, profile_missing:
        [P, M, I] unit results (NaN at gaps) and the gap mask.

    Returns
    -------
    values : float64[S, M, I]
        Sums over the lines with data; NaN where every contributing line is a gap.
    missing : uint16[S, M, I] (int32 if a segment has 65,535 lines or more)
        Number of contributing lines without data.
    contributing : int32[S, M]
        Number of lines with a non-zero weight for the module.
    """
    n_profiles, n_modules, n_ind = profile_values.shape
    line_segment = np.asarray(line_segment)
    index = np.int32 if max(len(line_segment), n_profiles, n_segments) < 2**31 - 1 else np.int64
    indptr = np.zeros(n_segments + 1, dtype=index)
    np.cumsum(np.bincount(line_segment, minlength=n_segments), out=indptr[1:])
    columns = np.asarray(profile).astype(index, copy=False)  # one index dtype: scipy does not cast again
    filled = np.nan_to_num(profile_values, nan=0.0)
    profile_missing = np.asarray(profile_missing, dtype=bool)
    # outputs start at zero; each weight group writes the modules it weighs
    values = np.zeros((n_segments, n_modules, n_ind), dtype=np.float64)
    counts = np.bincount(line_segment, minlength=n_segments)
    # gap counts fit 16 bits unless a segment has 65,535 lines or more
    missing = np.zeros(
        (n_segments, n_modules, n_ind), dtype=np.uint16 if counts.size == 0 or counts.max() < 2**16 else np.int32
    )
    contributing = np.zeros((n_segments, n_modules), dtype=np.int32)
    groups = _merged_groups(weights, filled, profile_missing)
    rows = max(256, _BLOCK_BYTES // (8 * n_modules * n_ind))
    for first in range(0, n_segments, rows):
        last = min(first + rows, n_segments)
        lines = slice(int(indptr[first]), int(indptr[last]))
        block_indptr = indptr[first : last + 1] - indptr[first]
        block_segment = line_segment[lines] - first
        for group in groups:
            _aggregate_block(
                group,
                first,
                last,
                lines,
                block_indptr,
                block_segment,
                columns[lines],
                n_profiles,
                n_ind,
                values,
                missing,
                contributing,
            )
    return values, missing, contributing


#: segments are summed in blocks whose temporaries stay this small, so the allocator reuses them
#: (one product into a fresh 1 GB array costs more in page faults than in arithmetic)
_BLOCK_BYTES = 8 * 2**20
#: above this many distinct gap patterns in a group, count gaps with a sparse product instead
_MAX_GAP_PATTERNS = 64


@dataclass(frozen=True)
class _Group:
    """Modules that share one line weight, with their slice of the profiles and gap patterns."""

    weights: np.ndarray  # float64[L]
    modules: list[int]  # output module indices
    runs: list[tuple[int, int]]  # (first, last) positions in ``modules`` of consecutive modules
    block: np.ndarray  # float64[P, k·I], gaps as 0
    gaps: np.ndarray | None  # bool[P, k·I], None when no profile has a gap here
    pattern_of: np.ndarray | None  # [P] gap pattern (distinct gap row) of each profile; None: too many patterns
    n_patterns: int = 0
    membership: np.ndarray | None = None  # float32[G, K]: pattern g has gaps in the columns of class k
    column_class: np.ndarray | None = None  # [k·I]: class of each column (columns with the same patterns)
    class_columns: tuple = ()  # per class k: flat output columns (module·I + indicator) of its columns


def _merged_groups(weights: LineWeights, filled: np.ndarray, profile_missing: np.ndarray) -> list[_Group]:
    """WEIGHT_GROUPS, with groups of equal line weights merged (new parts: A1-A3 to C4 all weigh q)."""
    merged: list[tuple[np.ndarray, list[int]]] = []
    for group, modules in WEIGHT_GROUPS.items():
        w = np.asarray(getattr(weights, group), dtype=np.float64)
        ks = [_MODULE_INDEX[m] for m in modules]
        for other in merged:
            if other[0] is w or np.array_equal(other[0], w):
                other[1].extend(ks)
                break
        else:
            merged.append((w, ks))
    n_profiles = filled.shape[0]
    out = []
    for w, ks in merged:
        ks = sorted(ks)
        gaps = profile_missing[:, ks, :].reshape(n_profiles, -1)
        block = np.ascontiguousarray(filled[:, ks, :].reshape(n_profiles, -1))
        if not gaps.any():
            out.append(_Group(w, ks, _runs(ks), block, None, None))
            continue
        patterns, pattern_of = np.unique(gaps, axis=0, return_inverse=True)
        if len(patterns) > _MAX_GAP_PATTERNS:
            out.append(_Group(w, ks, _runs(ks), block, gaps, None))
            continue
        classes, column_class = np.unique(patterns, axis=1, return_inverse=True)
        column_class = column_class.reshape(-1)
        n_ind = filled.shape[2]
        flat = (np.repeat(ks, n_ind) * n_ind + np.tile(np.arange(n_ind), len(ks))).astype(np.intp)
        class_columns = tuple(flat[column_class == k] for k in range(classes.shape[1]))
        out.append(
            _Group(
                w,
                ks,
                _runs(ks),
                block,
                gaps,
                pattern_of.reshape(-1),
                len(patterns),
                classes.astype(np.float32),
                column_class,
                class_columns,
            )
        )
    return out


def _aggregate_block(
    group: _Group,
    first: int,
    last: int,
    lines: slice,
    indptr: np.ndarray,
    segment: np.ndarray,
    columns: np.ndarray,
    n_profiles: int,
    n_ind: int,
    values: np.ndarray,
    missing: np.ndarray,
    contributing: np.ndarray,
) -> None:
    """Segments ``first:last`` of one group: the sparse product, then the gap bookkeeping."""
    n = last - first
    w = group.weights[lines]
    block_values = _csr(w, columns, indptr, (n, n_profiles)) @ group.block  # [n, k·I], public SciPy only
    for start, stop in group.runs:  # one run of consecutive modules at a time: plain slices
        target = slice(group.modules[start], group.modules[stop] + 1)
        source = slice(start * n_ind, (stop + 1) * n_ind)
        values[first:last, target, :] = block_values[:, source].reshape(n, -1, n_ind)
    nonzero = w != 0
    lines_per_segment = np.bincount(segment, weights=nonzero, minlength=n)
    contributing[first:last, group.modules] = lines_per_segment[:, None]
    if group.gaps is None:
        return
    flat_values = values[first:last].reshape(n, -1)  # views of this block's rows
    flat_missing = missing[first:last].reshape(n, -1)
    if group.pattern_of is not None and group.membership is not None:
        # lines per (segment, gap pattern), then per class of columns that share their gap patterns;
        # only the columns of classes that have gaps are written (most columns have none)
        n_patterns = group.n_patterns
        per_pattern = np.bincount(
            segment * n_patterns + group.pattern_of[columns], weights=nonzero, minlength=n * n_patterns
        ).reshape(n, n_patterns)
        per_class = per_pattern @ group.membership.astype(np.float64)  # [n, K], exact small integers
        for k, cols in enumerate(group.class_columns):
            count = per_class[:, k]
            if not count.any():
                continue
            flat_missing[:, cols] = count.astype(flat_missing.dtype)[:, None]
            nothing = (count > 0) & (count == lines_per_segment)
            if nothing.any():
                flat_values[np.ix_(np.flatnonzero(nothing), cols)] = np.nan
        return
    # many gap patterns: count gaps per column with a sparse product
    counts = _csr(nonzero.astype(np.float64), columns, indptr, (n, n_profiles)) @ group.gaps.astype(np.float64)
    nothing_declared = (counts > 0) & (counts == lines_per_segment[:, None])
    for start, stop in group.runs:
        target = slice(group.modules[start], group.modules[stop] + 1)
        source = slice(start * n_ind, (stop + 1) * n_ind)
        missing[first:last, target, :] = counts[:, source].reshape(n, -1, n_ind)
        np.copyto(values[first:last, target, :], np.nan, where=nothing_declared[:, source].reshape(n, -1, n_ind))


def _runs(positions: list[int]) -> list[tuple[int, int]]:
    """(first, last) index pairs into ``positions`` of runs of consecutive values."""
    runs, first = [], 0
    for i in range(1, len(positions) + 1):
        if i == len(positions) or positions[i] != positions[i - 1] + 1:
            runs.append((first, i - 1))
            first = i
    return runs

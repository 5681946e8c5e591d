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

__all__ = [
    "WEIGHT_GROUPS",
    "GapCounts",
    "GroupPlan",
    "LineWeights",
    "SegmentValues",
    "aggregate",
    "aggregate_planned",
    "line_weights",
    "plan_groups",
]

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
    """Line weights per group (declared units; see the table above).

    Groups whose weights equal the quantity (no existing or removed parts) share the quantity's
    array, so the aggregation sees at a glance that they weigh the same (one product for them).
    """
    quantity = np.asarray(quantity, dtype=np.float64)
    existing = np.asarray(existing, dtype=bool)
    removed = np.zeros(quantity.shape, dtype=bool) if removed is None else np.asarray(removed, dtype=bool)
    any_removed = bool(removed.any())
    if any_removed:
        replacements = np.where(removed, 0.0, replacements)
    return LineWeights(
        production=np.where(existing | removed, 0.0, quantity) if any_removed or existing.any() else quantity,
        use=np.where(removed, 0.0, quantity) if any_removed else quantity,
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
    plan = plan_groups(weights, profile_values, profile_missing)
    values, gaps, contributing = aggregate_planned(plan, line_segment, n_segments, profile)
    return values.dense(), gaps.dense(), contributing


#: gap lines are counted in blocks of segments whose temporaries stay this small, so the allocator
#: reuses them
_BLOCK_BYTES = 8 * 2**20
#: the dense values are written this many rows at a time (rows × M × I × 8 bytes stays in the cache
#: while every group's product and the NaN cells are written; 64 to 16,384 rows measured: 256 to
#: 1,024 best)
_CHUNK_ROWS = 256


@dataclass(frozen=True, eq=False)
class GapCounts:
    """Lines without data per segment × module × indicator, stored per class of columns.

    The columns of a weight group that exactly the same profiles lack form a class: a segment's
    gap count is the same in each of them, so it is kept once per class (``counts[g][:, k]`` for
    the flat output columns ``columns[g][k]``, flat = module · I + indicator). Columns in no class
    have no gaps. :meth:`dense` gives the segment × module × indicator array.
    """

    shape: tuple[int, int, int]
    dtype: np.dtype
    counts: tuple[np.ndarray, ...]  # per weight group with gaps: [S, K] gap lines per class
    columns: tuple[tuple[np.ndarray, ...], ...]  # per weight group with gaps, per class: flat output columns

    def dense(self) -> np.ndarray:
        """uint16[S, M, I] (int32 when a segment has 65,535 lines or more): lines without data."""
        n_segments, n_modules, n_ind = self.shape
        out = np.zeros((n_segments, n_modules * n_ind), dtype=self.dtype)
        # per class with gaps: its counts and its columns as runs of consecutive columns
        classes = [
            (counts[:, k : k + 1], tuple((c[2], c[3]) for c in _copies(cols)))
            for counts, columns in zip(self.counts, self.columns, strict=True)
            for k, cols in enumerate(columns)
            if counts[:, k].any()
        ]
        for start in range(0, n_segments, _CHUNK_ROWS * 4):  # a few rows at a time, as in SegmentValues
            end = min(start + _CHUNK_ROWS * 4, n_segments)
            for count, runs in classes:
                for first, last in runs:
                    out[start:end, first:last] = count[start:end]
        return out.reshape(self.shape)


@dataclass(frozen=True, eq=False)
class SegmentValues:
    """Sums per segment × module × indicator, stored as the weight groups' products.

    Only the profile columns that are not zero in every profile are multiplied; the others are 0
    by construction (a sum starts at +0.0 and adds ``w · 0``), except where every contributing
    line lacks data, which is NaN. So the values are kept as each group's product over its
    non-zero columns (``parts``: float64[S, a] and the runs of flat output columns it fills, flat =
    module · I + indicator) and the NaN cells (``undeclared``: column runs and sorted rows);
    :meth:`dense` writes them into the segment × module × indicator array.
    """

    shape: tuple[int, int, int]
    parts: tuple[tuple[np.ndarray, tuple[tuple[int, int, int, int], ...]], ...]  # product, runs (see _copies)
    undeclared: tuple[tuple[tuple[tuple[int, int], ...], np.ndarray], ...]  # column runs, rows that are NaN

    def dense(self) -> np.ndarray:
        """float64[S, M, I]: the products in their columns, 0 in the others, NaN where nothing is declared."""
        n_segments = self.shape[0]
        flat = np.zeros((n_segments, self.shape[1] * self.shape[2]), dtype=np.float64)
        # columns NaN in every row are written with the products, the others' rows at the end
        everywhere = [runs for runs, rows in self.undeclared if len(rows) == n_segments]
        # a few rows at a time, so each output row is fetched into the cache once
        for start in range(0, n_segments, _CHUNK_ROWS):
            end = min(start + _CHUNK_ROWS, n_segments)
            for product, copies in self.parts:
                for source, source_end, target, target_end in copies:
                    flat[start:end, target:target_end] = product[start:end, source:source_end]
            for runs in everywhere:
                for first, last in runs:
                    flat[start:end, first:last] = np.nan
        for runs, rows in self.undeclared:
            if len(rows) < n_segments:
                for first, last in runs:
                    flat[rows, first:last] = np.nan
        return flat.reshape(self.shape)


@dataclass(frozen=True, eq=False)
class _Group:
    """Modules that share one line weight: the columns of their profiles that are not all zero,
    where those columns go in the output, and the classes of columns with the same gaps."""

    weights: np.ndarray  # float64[L]
    contributes: np.ndarray | None  # float64[L]: 1 where the weight is not 0; None: every line
    modules: list[int]  # output module indices
    block: np.ndarray  # float64[P, a]: the group's profile columns that are not all zero (gaps as 0)
    copies: tuple[tuple[int, int, int, int], ...]  # runs (first, end in block, first, end in flat output)
    gap_classes: np.ndarray | None  # float64[P, K]: profile p lacks the columns of class k; None: no gaps
    class_columns: tuple[np.ndarray, ...] = ()  # per class: flat output columns (module · I + indicator)

    @property
    def class_runs(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        """Per class: its flat output columns as runs (first, end) of consecutive columns."""
        return tuple(tuple((c[2], c[3]) for c in _copies(cols)) for cols in self.class_columns)


@dataclass(frozen=True, eq=False)
class GroupPlan:
    """The weight groups of one set of lines and profiles, shared by every pass over those lines."""

    groups: tuple[_Group, ...]
    shape: tuple[int, int, int]  # profiles, modules, indicators


def plan_groups(weights: LineWeights, profile_values: np.ndarray, profile_missing: np.ndarray) -> GroupPlan:
    """WEIGHT_GROUPS, with groups of equal line weights merged (new parts: A1-A3 to C4 all weigh q).

    A profile column that is zero for every profile adds ``w · 0`` to each sum, which leaves the
    sum as it is (it starts at +0.0 and never becomes −0.0); such columns are not multiplied,
    so every sum keeps its bits. With a weight that is not finite (``inf · 0`` is NaN) every
    column is multiplied.
    """
    filled = np.nan_to_num(np.asarray(profile_values, dtype=np.float64), nan=0.0)
    profile_missing = np.asarray(profile_missing, dtype=bool)
    n_profiles, n_modules, n_ind = filled.shape
    merged: list[tuple[np.ndarray, list[int]]] = []
    for group, modules in WEIGHT_GROUPS.items():
        w = np.asarray(getattr(weights, group), dtype=np.float64)
        ks = [_MODULE_INDEX[m] for m in modules]
        for other in merged:
            if other[0] is w or (np.array_equal(other[0][:4096], w[:4096]) and np.array_equal(other[0], w)):
                other[1].extend(ks)
                break
        else:
            merged.append((w, ks))
    groups = []
    for w, ks in merged:
        ks = sorted(ks)
        flat = (np.repeat(ks, n_ind) * n_ind + np.tile(np.arange(n_ind), len(ks))).astype(np.intp)
        block = filled[:, ks, :].reshape(n_profiles, len(ks) * n_ind)
        active = block.any(axis=0) if np.isfinite(w).all() else np.ones(block.shape[1], dtype=bool)
        gaps = profile_missing[:, ks, :].reshape(n_profiles, len(ks) * n_ind)
        classes, class_columns = _gap_classes(gaps, flat)
        contributes = None if (w != 0).all() else (w != 0).astype(np.float64)
        groups.append(
            _Group(
                w,
                contributes,
                ks,
                np.ascontiguousarray(block[:, active]),
                _copies(flat[active]),
                classes,
                class_columns,
            )
        )
    return GroupPlan(tuple(groups), (n_profiles, n_modules, n_ind))


def _gap_classes(gaps: np.ndarray, flat: np.ndarray) -> tuple[np.ndarray | None, tuple[np.ndarray, ...]]:
    """Classes of the columns with gaps (equal columns of ``gaps``, bool[P, k·I]): which profiles
    lack each class (float64[P, K]) and the flat output columns of each class."""
    if not gaps.any():
        return None, ()
    classes, column_class = _unique_columns(gaps)
    keep = np.flatnonzero(classes.any(axis=0))  # the class of columns without gaps is not counted
    columns = tuple(flat[column_class == k] for k in keep)
    return np.ascontiguousarray(classes[:, keep], dtype=np.float64), columns


def _unique_columns(gaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(gaps, axis=1, return_inverse=True)`` for a bool[P, C] mask, without its sort of
    P-field records (0.3 ms a call on a house's few dozen profiles): the columns' bytes sort in
    the same order (False < True, profile 0 first), so the classes and the inverse are the same."""
    columns = np.ascontiguousarray(gaps.T, dtype=bool)
    keys = [column.tobytes() for column in columns]
    distinct = sorted(set(keys))
    number = {key: k for k, key in enumerate(distinct)}
    column_class = np.fromiter((number[key] for key in keys), dtype=np.intp, count=len(keys))
    classes = np.frombuffer(b"".join(distinct), dtype=bool).reshape(len(distinct), gaps.shape[0]).T
    return classes, column_class


def _copies(flat: np.ndarray) -> tuple[tuple[int, int, int, int], ...]:
    """Runs of consecutive flat output columns: (first, end) in the product, (first, end) in the output."""
    breaks = np.flatnonzero(np.diff(flat) != 1) + 1
    starts = np.concatenate([[0], breaks]).astype(int)
    ends = np.concatenate([breaks, [len(flat)]]).astype(int)
    return tuple(
        (int(s), int(e), int(flat[s]), int(flat[e - 1]) + 1) for s, e in zip(starts, ends, strict=True) if e > s
    )


def aggregate_planned(
    plan: GroupPlan, line_segment: np.ndarray, n_segments: int, profile: np.ndarray
) -> tuple[SegmentValues, GapCounts, np.ndarray]:
    """:func:`aggregate` with the weight groups planned once (:func:`plan_groups`) for several passes.

    Returns the values (:class:`SegmentValues`, float64[S, M, I] on request), the gap counts
    (:class:`GapCounts`, dense on request) and the contributing lines (int32[S, M]).
    """
    n_profiles, n_modules, n_ind = plan.shape
    line_segment = np.asarray(line_segment)
    index = np.int32 if max(len(line_segment), n_profiles, n_segments) < 2**31 - 1 else np.int64
    counts = np.bincount(line_segment, minlength=n_segments)
    indptr = np.zeros(n_segments + 1, dtype=index)
    np.cumsum(counts, out=indptr[1:])
    columns = np.asarray(profile).astype(index, copy=False)  # one index dtype: scipy does not cast again
    # gap counts fit 16 bits unless a segment has 65,535 lines or more
    dtype = np.dtype(np.uint16 if counts.size == 0 or counts.max() < 2**16 else np.int32)
    contributing = np.zeros((n_segments, n_modules), dtype=np.int32)
    gap_counts: list[np.ndarray] = []
    undeclared: list[tuple[tuple[tuple[int, int], ...], np.ndarray]] = []  # column runs, rows to make NaN
    for group in plan.groups:
        in_module = (
            counts
            if group.contributes is None
            else np.bincount(line_segment, weights=group.contributes, minlength=n_segments)
        )
        contributing[:, group.modules] = in_module[:, None]
        if group.gap_classes is not None:
            per_class = _count_gaps(group, indptr, columns, dtype)
            gap_counts.append(per_class)
            # segments whose lines with a weight all lack a class's columns: NaN there
            nothing = (per_class > 0) & (per_class == in_module[:, None])
            undeclared.extend(
                (runs, np.flatnonzero(rows)) for runs, rows in zip(group.class_runs, nothing.T, strict=True)
            )
    shape = (n_segments, n_modules, n_ind)
    parts = tuple(
        (_csr(g.weights, columns, indptr, (n_segments, n_profiles)) @ g.block, g.copies)  # public SciPy only
        for g in plan.groups
        if g.block.shape[1]
    )
    values = SegmentValues(shape, parts, tuple((runs, rows) for runs, rows in undeclared if rows.size))
    gaps = GapCounts(
        shape,
        dtype,
        tuple(gap_counts),
        tuple(g.class_columns for g in plan.groups if g.gap_classes is not None),
    )
    return values, gaps, contributing


def _csr_block(
    indptr: np.ndarray, columns: np.ndarray, lines: slice, first: int, last: int, n_profiles: int
) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """Column indices, row pointers and shape of the lines of segments ``first:last``."""
    return columns[lines], indptr[first : last + 1] - indptr[first], (last - first, n_profiles)


def _count_gaps(group: _Group, indptr: np.ndarray, columns: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Lines with a weight but without data, per segment and class of columns ([S, K] of ``dtype``)."""
    assert group.gap_classes is not None
    n_segments = len(indptr) - 1
    n_profiles, n_classes = group.gap_classes.shape
    out = np.zeros((n_segments, n_classes), dtype=dtype)
    rows = max(256, _BLOCK_BYTES // (8 * n_classes))
    for first in range(0, n_segments, rows):
        last = min(first + rows, n_segments)
        lines = slice(int(indptr[first]), int(indptr[last]))
        block = _csr_block(indptr, columns, lines, first, last, n_profiles)
        weight = np.ones(lines.stop - lines.start) if group.contributes is None else group.contributes[lines]
        out[first:last] = _csr(weight, *block) @ group.gap_classes  # exact small integers
    return out

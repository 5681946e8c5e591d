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
    missing : int32[S, M, I]
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
    values = np.empty((n_segments, n_modules, n_ind), dtype=np.float64)
    missing = np.zeros((n_segments, n_modules, n_ind), dtype=np.int32)
    contributing = np.zeros((n_segments, n_modules), dtype=np.int32)
    covered = np.zeros(n_modules, dtype=bool)
    for group, modules in WEIGHT_GROUPS.items():
        ks = [_MODULE_INDEX[m] for m in modules]
        covered[ks] = True
        w = np.asarray(getattr(weights, group), dtype=np.float64)
        block = np.ascontiguousarray(filled[:, ks, :].reshape(n_profiles, -1))
        group_values = _csr(w, columns, indptr, (n_segments, n_profiles)) @ block  # [S, k·I], C order
        # gap bookkeeping, only for the columns where some profile has a gap
        nonzero = w != 0
        lines = np.bincount(line_segment, weights=nonzero, minlength=n_segments).astype(np.int32)
        contributing[:, ks] = lines[:, None]
        gaps = profile_missing[:, ks, :].reshape(n_profiles, -1)
        group_missing = None
        if gaps.any():
            group_missing = _gap_counts(line_segment, n_segments, columns, indptr, nonzero, gaps)
            nothing_declared = group_missing > 0
            nothing_declared &= group_missing == lines[:, None]
            np.copyto(group_values, np.nan, where=nothing_declared)
        # into the [S, M, I] outputs, one run of consecutive modules at a time (views, no fancy copies)
        for first, last in _runs(ks):
            target = slice(ks[first], ks[last] + 1)
            source = slice(first * n_ind, (last + 1) * n_ind)
            values[:, target, :] = group_values[:, source].reshape(n_segments, -1, n_ind)
            if group_missing is not None:
                missing[:, target, :] = group_missing[:, source].reshape(n_segments, -1, n_ind)
    values[:, ~covered, :] = 0.0
    return values, missing, contributing


def _runs(positions: list[int]) -> list[tuple[int, int]]:
    """(first, last) index pairs into ``positions`` of runs of consecutive values."""
    runs, first = [], 0
    for i in range(1, len(positions) + 1):
        if i == len(positions) or positions[i] != positions[i - 1] + 1:
            runs.append((first, i - 1))
            first = i
    return runs


#: above this many distinct gap patterns per segment, count gaps with a sparse product instead
_MAX_GAP_PATTERNS = 64


def _gap_counts(
    line_segment: np.ndarray,
    n_segments: int,
    columns: np.ndarray,
    indptr: np.ndarray,
    nonzero: np.ndarray,
    gaps: np.ndarray,
) -> np.ndarray:
    """int32[S, C]: per segment, the lines with a non-zero weight whose profile has a gap in column C.

    Profiles share few gap patterns (say "no mass: no transport and no end of life", "no PM
    declared"), so lines are counted per (segment, pattern) with one bincount and spread over the
    columns by a small dense product; whole-block operations only, no column gathers.
    """
    patterns, pattern_of = np.unique(gaps, axis=0, return_inverse=True)
    pattern_of = pattern_of.reshape(-1)
    n_patterns = len(patterns)
    if n_patterns <= _MAX_GAP_PATTERNS:
        per_pattern = np.bincount(
            line_segment * n_patterns + pattern_of[columns], weights=nonzero, minlength=n_segments * n_patterns
        ).reshape(n_segments, n_patterns)
        # float32 holds counts exactly up to 2**24 lines per segment
        exact = np.float32 if len(line_segment) < 2**24 else np.float64
        counts = per_pattern.astype(exact) @ patterns.astype(exact)
    else:
        present = _csr(nonzero.astype(np.float64), columns, indptr, (n_segments, len(gaps)))
        counts = present @ gaps.astype(np.float64)
    return counts.astype(np.int32)

"""The vectorised core: scale unit profiles by line weights and sum them per element.

For each group of modules that shares a line weight, the element result is one sparse
product ``W (elements × profiles) @ U (profiles × modules·indicators)``. ``W`` is built
straight from the line arrays in CSR form (lines are grouped by element, duplicates are
summed by the product), so there is no Python loop over lines and no sort.

Line weights (``q`` = amount in declared units, ``NR`` = replacements):

========================  ===========================  =========================
modules                    new part                     part kept in a renovation
========================  ===========================  =========================
A1-A3, A4, A5              q                            0 (already built)
B1-B3, B5, C1-C4           q                            q
B4                         q · NR                       q · NR (from remaining life)
D                          q · (1 + NR)                 q · (1 + NR)
========================  ===========================  =========================
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
    "once": ("B1", "B2", "B3", "B5", "C1", "C2", "C3", "C4"),
    "replacements": ("B4",),
    "installations": ("D",),
}
_MODULE_INDEX = {m: k for k, m in enumerate(OUTPUT_MODULES)}


@dataclass(frozen=True)
class LineWeights:
    production: np.ndarray
    once: np.ndarray
    replacements: np.ndarray
    installations: np.ndarray


def line_weights(quantity: np.ndarray, replacements: np.ndarray, existing: np.ndarray) -> LineWeights:
    quantity = np.asarray(quantity, dtype=np.float64)
    return LineWeights(
        production=np.where(existing, 0.0, quantity),
        once=quantity,
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
    counts = np.bincount(line_segment, minlength=n_segments)
    indptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    columns = profile.astype(np.int32, copy=False)
    filled = np.nan_to_num(profile_values, nan=0.0)
    values = np.zeros((n_segments, n_modules, n_ind), dtype=np.float64)
    missing = np.zeros((n_segments, n_modules, n_ind), dtype=np.int32)
    contributing = np.zeros((n_segments, n_modules), dtype=np.int32)
    shape = (n_segments, n_profiles)
    for group, modules in WEIGHT_GROUPS.items():
        ks = [_MODULE_INDEX[m] for m in modules]
        w = getattr(weights, group)
        matrix = _csr(w, columns, indptr, shape)
        block = filled[:, ks, :].reshape(n_profiles, -1)
        values[:, ks, :] = (matrix @ block).reshape(n_segments, len(ks), n_ind)
        # gap bookkeeping: only columns where some profile has a gap need a product
        present = _csr((w != 0).astype(np.float64), columns, indptr, shape)
        lines_per_segment = np.asarray(present.sum(axis=1)).ravel()
        contributing[:, ks] = lines_per_segment[:, None].astype(np.int32)
        gaps = profile_missing[:, ks, :].reshape(n_profiles, -1)
        any_gap, all_gap = gaps.any(axis=0), gaps.all(axis=0)
        group_missing = np.zeros((n_segments, gaps.shape[1]), dtype=np.float64)
        group_missing[:, all_gap] = lines_per_segment[:, None]
        mixed = any_gap & ~all_gap
        if mixed.any():
            group_missing[:, mixed] = present @ gaps[:, mixed].astype(np.float64)
        missing[:, ks, :] = np.rint(group_missing).astype(np.int32).reshape(n_segments, len(ks), n_ind)
    nothing_declared = (missing > 0) & (missing == contributing[:, :, None])
    values[nothing_declared] = np.nan
    return values, missing, contributing

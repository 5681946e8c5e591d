"""A–G labels as data: ``scenarios/labels/<method name>.csv`` holds the bands of a method's score.

One row per (use type, label): ``upper_bound`` is the highest score that still gets the label (a
score equal to the bound gets it), in the method's score unit; the worst label has ``inf``. Each
row names its ``derivation`` (percentile bands of a reference dataset, or a policy value) and its
``source``. A method without a file, a building whose use type has no bands, or a score that is
NaN gets no label (null), never a guessed one.

A label compares a score with the bands' reference scores, so it is given only to a comparable
score (``scenarios/labels/comparability.csv``): at most ``max_weight_missing`` of the weighting
missing, and the ``gap_policy`` the bands were derived with. :func:`label_withheld` says why not.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG

import numpy as np
import pandas as pd

from ..errors import MethodError
from ..paths import scenarios_dir

__all__ = ["LABELS", "LabelScale", "load_label_scale", "label_withheld"]

LABELS = ("A", "B", "C", "D", "E", "F", "G")
_REQUIRED = ("use_type", "label", "upper_bound", "unit", "derivation", "source")


@dataclass(frozen=True)
class LabelScale:
    """Bands per use type: ``bounds[use_type]`` = upper bounds of A … G (the last is inf)."""

    name: str
    unit: str
    bounds: dict[str, np.ndarray]
    table: pd.DataFrame
    #: a label needs weight_missing <= this (share 0-1; comparability.csv); inf when the file has no row
    max_weight_missing: float = np.inf
    #: the gap policy the bands were derived with; None: any
    gap_policy: str | None = None

    def assign(self, use_types, scores) -> list[str | None]:
        """The label of each (use type, score); None where there are no bands or no score."""
        scores = np.asarray(scores, dtype=np.float64)
        use_types = list(use_types)
        if len(use_types) != len(scores):
            raise ValueError(f"{len(use_types)} use types for {len(scores)} scores")
        out: list[str | None] = [None] * len(scores)
        finite = np.isfinite(scores)
        # one searchsorted per use type over its scores (a use type is text: str() of it names its bands)
        groups: dict[str, list[int]] = {}
        for k, use_type in enumerate(use_types):
            if use_type is not None:
                groups.setdefault(str(use_type), []).append(k)
        for use_type, members in groups.items():
            bounds = self.bounds.get(use_type)
            if bounds is None:
                continue
            rows = np.asarray(members, dtype=np.int64)
            rows = rows[finite[rows]]
            for k, band in zip(rows.tolist(), np.searchsorted(bounds, scores[rows], side="left").tolist(), strict=True):
                out[k] = LABELS[band]
        return out


def _check(table: pd.DataFrame, path: Path) -> dict[str, np.ndarray]:
    missing = [c for c in _REQUIRED if c not in table]
    if missing:
        raise MethodError(f"label scale lacks column(s) {missing}", file=str(path), field=missing[0])
    if table["source"].isna().any() or table["derivation"].isna().any():
        raise MethodError("every label band needs a derivation and a source", file=str(path), field="source")
    bounds = {}
    for use_type, rows in table.groupby("use_type", sort=False):
        labels = tuple(rows["label"].astype(str))
        values = pd.to_numeric(rows["upper_bound"], errors="coerce").to_numpy(dtype=np.float64)
        if labels != LABELS or np.isnan(values).any() or not np.all(np.diff(values) > 0) or values[-1] != np.inf:
            raise MethodError(
                f"use type {use_type!r}: bands must be A…G in order with increasing upper bounds, G = inf",
                file=str(path),
                field="upper_bound",
            )
        bounds[str(use_type)] = values
    return bounds


def load_label_scale(method_name: str, folder: str | Path | None = None) -> LabelScale | None:
    """The label scale of a method, or None when ``scenarios/labels/<method_name>.csv`` does not exist."""
    path = (Path(folder) if folder is not None else scenarios_dir() / "labels") / f"{method_name}.csv"
    try:
        stat = path.stat()
    except OSError:
        return None
    if not S_ISREG(stat.st_mode):
        return None
    # read once per file version (every Result.scores asks): keyed by path, size and modification time
    return _read_scale(method_name, str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _read_scale(method_name: str, path: str, size: int, mtime_ns: int) -> LabelScale:
    """The label scale in ``path`` (``size`` and ``mtime_ns`` only key the cache); its arrays read-only."""
    table = pd.read_csv(path, dtype={"use_type": str, "label": str})
    bounds = _check(table, Path(path))
    for values in bounds.values():
        values.setflags(write=False)
    units = table["unit"].dropna().unique()
    max_missing, gap_policy = _comparability(method_name, Path(path).with_name("comparability.csv"))
    return LabelScale(method_name, str(units[0]) if len(units) else "", bounds, table, max_missing, gap_policy)


def _comparability(method_name: str, path: Path) -> tuple[float, str | None]:
    """(max weight missing, gap policy) of the method's bands from ``comparability.csv``; (inf, None)
    when the file or the method's row is absent."""
    if not path.is_file():
        return np.inf, None
    table = pd.read_csv(path, dtype={"method": str, "gap_policy": str})
    rows = table[table["method"] == method_name]
    if rows.empty:
        return np.inf, None
    row = rows.iloc[0]
    limit = pd.to_numeric(pd.Series([row["max_weight_missing"]]), errors="coerce").iloc[0]
    if not np.isfinite(limit) or not 0.0 <= limit <= 1.0:
        raise MethodError("max_weight_missing must be a share in [0, 1]", file=str(path), field="max_weight_missing")
    policy = row["gap_policy"]
    return float(limit), (str(policy) if isinstance(policy, str) and policy else None)


def label_withheld(scale: LabelScale, weight_missing: float, gap_policy: str) -> str | None:
    """Why a score gets no label though its use type has bands (None: it is comparable).

    ``weight_missing``: the share (0-1) of the weighting the score lacks; ``gap_policy``: the
    method's. The tolerance 1e-9 absorbs float sums of shares.
    """
    if scale.gap_policy is not None and gap_policy != scale.gap_policy:
        return f"no {_label_name()}: bands are for gap_policy={scale.gap_policy}, this score is gap_policy={gap_policy}"
    if not weight_missing <= scale.max_weight_missing + 1e-9:  # NaN: not comparable either
        allowed = f"{scale.max_weight_missing:.0%}"
        return f"no {_label_name()}: {weight_missing:.1%} of the weighting missing (the bands allow {allowed})"
    return None


def _label_name() -> str:
    """The performance label's short name in English (``data/scale_names.csv``, as every output names it)."""
    from ..paths import data_dir

    names = pd.read_csv(data_dir() / "scale_names.csv", comment="#", dtype=str)
    rows = names[(names["scale"] == "label") & (names["language"] == "en")]
    return str(rows["short"].iloc[0]) if len(rows) else "label"

"""A–G labels as data: ``scenarios/labels/<method name>.csv`` holds the bands of a method's score.

One row per (use type, label): ``upper_bound`` is the highest score that still gets the label (a
score equal to the bound gets it), in the method's score unit; the worst label has ``inf``. Each
row names its ``derivation`` (percentile bands of a reference dataset, or a policy value) and its
``source``. A method without a file, a building whose use type has no bands, or a score that is
NaN gets no label (null), never a guessed one.
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

__all__ = ["LABELS", "LabelScale", "load_label_scale"]

LABELS = ("A", "B", "C", "D", "E", "F", "G")
_REQUIRED = ("use_type", "label", "upper_bound", "unit", "derivation", "source")


@dataclass(frozen=True)
class LabelScale:
    """Bands per use type: ``bounds[use_type]`` = upper bounds of A … G (the last is inf)."""

    name: str
    unit: str
    bounds: dict[str, np.ndarray]
    table: pd.DataFrame

    def assign(self, use_types, scores) -> list[str | None]:
        """The label of each (use type, score); None where there are no bands or no score."""
        scores = np.asarray(scores, dtype=np.float64)
        out: list[str | None] = [None] * len(scores)
        for k, (use_type, score) in enumerate(zip(use_types, scores, strict=True)):
            bounds = self.bounds.get(str(use_type)) if use_type is not None else None
            if bounds is None or not np.isfinite(score):
                continue
            out[k] = LABELS[int(np.searchsorted(bounds, score, side="left"))]
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
    return LabelScale(method_name, str(units[0]) if len(units) else "", bounds, table)

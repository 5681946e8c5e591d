"""Derive A–G label bands from a reference dataset, and write them as a label scale file.

The bands are percentiles of the reference dataset's scores per use type: A up to the first
percentile, …, G above the last. They describe the reference stock, nothing more: policy values
replace them by editing the file (and its ``derivation`` and ``source`` columns).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..methods.labels import LABELS

__all__ = ["DEFAULT_PERCENTILES", "derive_label_bands", "write_label_scale"]

#: upper bounds of A … F as percentiles of the reference scores (G: above the last)
DEFAULT_PERCENTILES = (10, 25, 40, 60, 75, 90)


def derive_label_bands(
    buildings: pd.DataFrame,
    reference: str,
    percentiles: tuple[float, ...] = DEFAULT_PERCENTILES,
    by: str = "archetype",
) -> pd.DataFrame:
    """Label bands per ``by`` group from the ``score`` column of a dataset's buildings table.

    ``reference`` names the dataset (name, version, seed) in the ``derivation`` column.
    """
    if len(percentiles) != len(LABELS) - 1 or not np.all(np.diff(percentiles) > 0):
        raise InputError(f"need {len(LABELS) - 1} increasing percentiles, got {percentiles}", field="percentiles")
    unit = str(buildings["score_unit"].iloc[0])
    rows = []
    for group, part in buildings.groupby(by, sort=True):
        scores = part["score"].to_numpy(dtype=np.float64)
        scores = scores[np.isfinite(scores)]
        if scores.size < 20:
            continue  # too few buildings for a percentile band
        bounds = [*np.percentile(scores, percentiles), np.inf]
        names = [f"≤ p{p:g}" for p in percentiles] + [f"> p{percentiles[-1]:g}"]
        for label, bound, name in zip(LABELS, bounds, names, strict=True):
            rows.append(
                {
                    "use_type": group,
                    "label": label,
                    "upper_bound": float(np.round(bound, 4)) if np.isfinite(bound) else np.inf,
                    "unit": unit,
                    "derivation": f"percentile band {name} of the {scores.size} {group} buildings of {reference}",
                    "source": "mpeil reference dataset (synthetic stock, not real permits); NOT a policy value",
                }
            )
    return pd.DataFrame(rows)


def write_label_scale(bands: pd.DataFrame, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    bands.to_csv(path, index=False, lineterminator="\n")
    return path

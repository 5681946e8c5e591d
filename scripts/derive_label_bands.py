"""Regenerate scenarios/labels/mpeil-ef31.csv from the reference dataset (synthetic stock, seed 1, 2,000 buildings).

Run: ``python scripts/derive_label_bands.py`` (about 10 s). The reference dataset is rebuilt, so the bands
follow the engine, the library and the archetypes; the test suite checks that the shipped file matches.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd

from mpeil.analysis.dataset import DATASET_VERSION, build_dataset
from mpeil.analysis.labels import derive_label_bands, write_label_scale

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = {"n": 2000, "seed": 1, "method": "mpeil-ef31"}


def reference_bands() -> pd.DataFrame:
    with tempfile.TemporaryDirectory() as folder:
        manifest = build_dataset(folder, **REFERENCE)
        buildings = pd.read_parquet(Path(folder) / "buildings.parquet")
    reference = f"{manifest['name']} (dataset {DATASET_VERSION}, method {REFERENCE['method']})"
    return derive_label_bands(buildings, reference)


if __name__ == "__main__":
    path = write_label_scale(reference_bands(), ROOT / "scenarios" / "labels" / f"{REFERENCE['method']}.csv")
    sys.stdout.write(f"wrote {path}\n")

"""The indicator catalogue (``data/indicators.csv``): codes, names, groups and pint units."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..paths import data_dir
from ..units import check_unit

__all__ = ["Indicator", "indicator_catalogue", "EN15804_A2_CORE_AND_ADDITIONAL"]

#: The 19 EN 15804+A2 indicators TOTEM reports (13 core + 6 additional).
EN15804_A2_CORE_AND_ADDITIONAL = (
    "GWP-total",
    "GWP-fossil",
    "GWP-biogenic",
    "GWP-luluc",
    "ODP",
    "AP",
    "EP-freshwater",
    "EP-marine",
    "EP-terrestrial",
    "POCP",
    "ADPE",
    "ADPF",
    "WDP",
    "PM",
    "IRP",
    "ETP-fw",
    "HTP-c",
    "HTP-nc",
    "SQP",
)


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    group: str
    standard: str
    unit: str
    unit_label: str


@functools.lru_cache(maxsize=4)
def _read(path: str) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    for unit in frame["unit"]:
        check_unit(unit)  # fail loudly on a catalogue typo (table spellings are known to parse)
    return frame


def indicator_catalogue(path: Path | None = None) -> dict[str, Indicator]:
    """Code → :class:`Indicator`, in catalogue order."""
    frame = _read(str(path or data_dir() / "indicators.csv"))
    return {
        row.code: Indicator(row.code, row.name, row.group, row.standard, row.unit, row.unit_label)
        for row in frame.itertuples(index=False)
    }


def obd_columns(path: Path | None = None) -> dict[str, str]:
    """ÖKOBAUDAT export column → indicator code."""
    frame = _read(str(path or data_dir() / "indicators.csv"))
    return dict(zip(frame["obd_column"], frame["code"], strict=True))

"""Plausibility and safety limits of every entry point (``data/batch_limits.csv``).

One table, read here, used by the readers (file size, JSON depth, zip containers), by
:mod:`mpeil.validation` (plausibility of compiled buildings, for ``mpeil.score``, the CLI, the
batch and the service alike) and by the batch (zip archives, time and memory per file).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .paths import data_dir

__all__ = ["Limits", "load_limits"]


@dataclass(frozen=True)
class Limits:
    """Every limit; ``NaN`` = no limit on that side. Units as in ``data/batch_limits.csv``."""

    gross_floor_area_m2: tuple[float, float]
    reference_study_period_years: tuple[float, float]
    building_mass_per_gross_floor_area: float  # kg/m² GFA
    line_mass_per_gross_floor_area: float  # kg/m² GFA
    layer_thickness: float  # m
    element_quantity_per_gross_floor_area: float  # element units per m² GFA
    file_size: int  # bytes
    zip_compression_ratio: float
    zip_uncompressed_total: int  # bytes
    zip_members: int
    service_life_years: tuple[float, float] = (1.0, 500.0)  # years
    remaining_service_life_years: float = 500.0  # years
    transport_distance_km: float = 40_000.0  # km
    loss_rate: float = 0.5  # share
    pieces_per_gross_floor_area: float = 1_000.0  # pieces per m² GFA
    line_quantity_per_gross_floor_area: float = 1e6  # declared units per m² GFA
    lines_per_element: int = 1_000
    elements_per_building: int = 100_000
    json_depth: int = 64
    json_containers: int = 400_000  # objects and arrays in one JSON file
    json_values: int = 4_000_000  # values in one JSON file
    json_string_bytes: int = 1_000_000  # bytes of the longest JSON string
    table_rows: int = 1_000_000  # rows of one CSV or XLSX bill of materials
    lines_per_file: int = 1_000_000  # layer lines of one file, templates expanded
    seconds_per_file: float = 60.0  # s
    memory_per_file: int = 4 << 30  # bytes

    def replace(self, **changes) -> Limits:
        """A copy with some limits changed; ``None`` values are ignored."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def as_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict | None) -> Limits:
        """Limits from :meth:`as_dict` (e.g. a receipt); limits it does not name keep the shipped values."""
        base = load_limits().as_dict()
        known = {f.name for f in dataclasses.fields(cls)}
        base.update({k: v for k, v in (data or {}).items() if k in known})
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in base.items()})  # type: ignore[arg-type]


_RANGES = ("gross_floor_area_m2", "reference_study_period_years", "service_life_years")
_INTEGERS = (
    "file_size",
    "zip_uncompressed_total",
    "zip_members",
    "lines_per_element",
    "elements_per_building",
    "json_depth",
    "json_containers",
    "json_values",
    "json_string_bytes",
    "table_rows",
    "lines_per_file",
    "memory_per_file",
)


@functools.lru_cache(maxsize=4)
def _read(path: str) -> Limits:
    table = pd.read_csv(path, comment="#").set_index("name")
    values: dict = {}
    for field in dataclasses.fields(Limits):
        if field.name not in table.index:
            continue  # an older table: the dataclass default
        low = float(table.at[field.name, "minimum"])
        high = float(table.at[field.name, "maximum"])
        if field.name in _RANGES:
            values[field.name] = (low, high)
        elif field.name in _INTEGERS:
            values[field.name] = int(high) if math.isfinite(high) else 2**62
        else:
            values[field.name] = high
    return Limits(**values)


def load_limits(path: Path | None = None) -> Limits:
    """The shipped limits (``data/batch_limits.csv``) or those of another file of the same shape."""
    return _read(str(path or data_dir() / "batch_limits.csv"))

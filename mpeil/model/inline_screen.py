"""Screening of the data sets a building file carries inline (``Building.datasets``).

Shipped and imported libraries are screened against their peers (:mod:`mpeil.model.screening`);
an inline data set has no peers and comes with the building, so it is held to hard bounds:
every value finite (the building model) and, per one declared unit, within the bound of its
indicator in ``data/inline_dataset_bounds.csv`` (a hundred people's whole yearly impact). A value
beyond is an :class:`~mpeil.errors.InputError` naming the data set, the module and the indicator.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

from ..errors import InputError
from ..paths import data_dir

__all__ = ["inline_bounds", "check_inline_datasets"]


@functools.lru_cache(maxsize=1)
def inline_bounds() -> dict[str, float]:
    """Indicator code → largest magnitude of a value per declared unit (``data/inline_dataset_bounds.csv``)."""
    table = pd.read_csv(data_dir() / "inline_dataset_bounds.csv", comment="#")
    return {str(code): float(bound) for code, bound in zip(table["indicator"], table["maximum_abs"], strict=True)}


def check_inline_datasets(datasets: Iterable[Any], building: str | None = None) -> None:
    """Refuse an inline data set value that is not finite or beyond its bound (raises the first)."""
    bounds = inline_bounds()
    for item in datasets:
        for module, indicators in item.values.items():
            for code, value in indicators.items():
                bound = bounds.get(code, math.inf)
                if math.isfinite(value) and abs(value) <= bound:
                    continue
                raise InputError(
                    f"inline data set {item.id!r}: {code} in {module} is {value:g} per {item.declared_unit}, "
                    f"beyond ±{bound:g} (data/inline_dataset_bounds.csv)",
                    building=building,
                    field=f"datasets.{item.id}.values.{module}.{code}",
                )

"""Operational energy and water (B6, B7): carried by the model, reported apart, never in the M-peil."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import MpeilError
from ..model import Building
from ..model.library import MODULES, EPDLibrary
from ..units import parse_unit, unit_registry

__all__ = ["operational_impacts"]


def operational_impacts(
    buildings: Sequence[Building], library: EPDLibrary, indicators: Sequence[str], study_period_years: float
) -> pd.DataFrame:
    """Tidy rows (building, module, indicator, value over the study period, per m²·yr).

    ``amount_per_year`` × study period × the data set's value per declared unit, taken from the
    module itself (B6/B7) or, for an energy data set declared under another module, its first one.
    """
    rows = []
    registry = unit_registry()
    tensor = library.tensor(tuple(indicators), MODULES)
    for building in buildings:
        rsp = building.reference_study_period_years or study_period_years
        for position, line in enumerate(building.operational, start=1):
            where = dict(building=building.id, element="operational", layer=f"{line.module} (line {position})")
            try:
                index = library.resolve(line.product)
                amount = registry.Quantity(line.amount_per_year, parse_unit(line.unit))
                factor = library.conversion_factor(index, str(amount.units)) * float(amount.magnitude)
            except MpeilError as error:
                raise error.located(**where) from None
            values = tensor[index, MODULES.index(line.module)]
            if np.isnan(values).all():
                declared = np.flatnonzero(~np.isnan(tensor[index]).all(axis=1))
                values = tensor[index, declared[0]] if declared.size else values
            for code, value in zip(indicators, values, strict=True):
                total = factor * rsp * value
                rows.append(
                    {
                        "building": building.id,
                        "module": line.module,
                        "product": line.product,
                        "indicator": code,
                        "value": total,
                        "per_m2_year": total / (building.gross_floor_area_m2 * rsp),
                    }
                )
    return pd.DataFrame(rows, columns=["building", "module", "product", "indicator", "value", "per_m2_year"])

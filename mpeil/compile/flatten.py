"""Buildings → one flat table (the bill of materials), one row per layer line.

The columns are those of the CSV/XLSX format (:mod:`mpeil.model.bom`), so a bill of
materials exported from BIM or a spreadsheet and a building written by hand meet in one
representation. Operational (B6/B7) rows are left out: the M-peil scores materials; ``line``
numbers each element's lines from 1.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from ..model import Building, Layer
from ..model.bom import BUILDING_COLUMNS, ELEMENT_COLUMNS, EOL_COLUMNS, OPERATIONAL_ELEMENT_TYPE, bom_rows

__all__ = ["BUILDING_COLUMNS", "ELEMENT_COLUMNS", "FLAT_COLUMNS", "flatten"]

#: columns of :func:`flatten`, in order (the bill of materials without metadata, plus ``line``)
FLAT_COLUMNS = (
    *BUILDING_COLUMNS,
    *ELEMENT_COLUMNS,
    "line",
    *(name for name in Layer.model_fields if name not in ("end_of_life", "scenario")),
    *EOL_COLUMNS,
    "scenario",
)


def flatten(buildings: Iterable[Building]) -> pd.DataFrame:
    """One row per layer line, with building and element columns repeated."""
    rows = [row for row in bom_rows(buildings) if row["element_type"] != OPERATIONAL_ELEMENT_TYPE]
    frame = pd.DataFrame(rows, columns=[c for c in FLAT_COLUMNS if c != "line"])
    frame.insert(
        len(BUILDING_COLUMNS) + len(ELEMENT_COLUMNS),
        "line",
        frame.groupby(["building_id", "element_id"], sort=False).cumcount() + 1,
    )
    return frame

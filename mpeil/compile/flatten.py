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
    frame.insert(len(BUILDING_COLUMNS) + len(ELEMENT_COLUMNS), "line", _line_numbers(rows, frame))
    return frame


def _line_numbers(rows: list[dict], frame: pd.DataFrame) -> pd.Series | list[int]:
    """Each element's lines numbered from 1, in order (``groupby(building, element).cumcount() + 1``).

    Model buildings always have text ids: counted in one pass over the rows (a group-by costs more
    than the rest of a small building's flattening); anything else takes the group-by."""
    keys = [(row["building_id"], row["element_id"]) for row in rows]
    if not all(type(b) is str and type(e) is str for b, e in keys):
        return frame.groupby(["building_id", "element_id"], sort=False).cumcount() + 1
    seen: dict[tuple[str, str], int] = {}
    numbers = []
    for key in keys:
        seen[key] = seen.get(key, 0) + 1
        numbers.append(seen[key])
    return numbers

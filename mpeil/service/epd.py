"""EPD search for the service: ``mpeil.search.search_epd`` when it exists, else a word match on names."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .scoring import number

__all__ = ["search"]

#: the columns the fallback search looks in (every word must occur in one of them, case-insensitive)
_COLUMNS = ("name_de", "name_en", "name_da", "category")


def _word_match(datasets: pd.DataFrame, text: str, limit: int) -> pd.DataFrame:
    columns = [c for c in _COLUMNS if c in datasets]
    haystack = datasets[columns].fillna("").astype(str).agg(" ".join, axis=1).str.lower()
    mask = np.ones(len(datasets), dtype=bool)
    for word in text.lower().split():
        mask &= haystack.str.contains(word, regex=False).to_numpy(dtype=bool)
    return datasets[mask].head(limit)


def _text(value) -> str | None:
    return None if value is None or value is pd.NA or (isinstance(value, float) and value != value) else str(value)


def search(library, query: str, limit: int) -> list[dict]:
    """Ranked data sets matching ``query``: id, name, source, declared unit, GWP A1-A3 when known."""
    try:
        from ..search import search_epd
    except ImportError:
        found = _word_match(library.datasets, query, limit)
        return [
            {
                "dataset_id": row.dataset_id,
                "name": _text(getattr(row, "name_en", None))
                or _text(getattr(row, "name_de", None))
                or _text(getattr(row, "name_da", None)),
                "source": _text(getattr(row, "source", None)),
                "declared_unit": _text(getattr(row, "declared_unit", None)),
                "declared_amount": number(getattr(row, "declared_amount", None)),
            }
            for row in found.itertuples(index=False)
        ]
    frame = search_epd(query, library=library, limit=limit)
    records = []
    for row in frame.to_dict(orient="records"):
        records.append(
            {
                k: (number(v) if isinstance(v, float) else _text(v) if not isinstance(v, list) else v)
                for k, v in row.items()
            }
        )
    return records

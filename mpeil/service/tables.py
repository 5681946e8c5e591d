"""A batch table as JSON (one page), CSV or Parquet, with uploaded names in the ``file`` column."""

from __future__ import annotations

import io
import json
import math

import pyarrow as pa
import pyarrow.parquet as pq
from fastapi.responses import JSONResponse, Response

from .jobs import display_label

__all__ = ["table_response", "checked_table"]


def checked_table(folder, name: str, key: bytes):
    """The path of a batch table whose SHA-256 is the one its manifest records, the manifest being the
    one the server signed (``signature.json``); :class:`~mpeil.service.store.StoreCorrupt` otherwise.
    Batches finished before signing existed (no ``signature.json``) are checked against the manifest only."""
    from ..hashing import file_sha256
    from .signing import check_directory
    from .store import StoreCorrupt

    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        recorded = manifest["outputs"][name]
    except (OSError, ValueError, KeyError, TypeError):
        raise StoreCorrupt(f"the batch's manifest is missing or unreadable; {name} is not served") from None
    if (folder / "signature.json").exists():
        problem = check_directory(folder, key)
        if problem:
            raise StoreCorrupt(f"{problem}; {name} is not served")
    if not (folder / name).is_file() or file_sha256(folder / name) != recorded:
        raise StoreCorrupt(f"{name} differs from the batch's manifest (changed after the batch); it is not served")
    return folder / name


def _clean(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _renamed(table: pa.Table, names: list[str]) -> pa.Table:
    if "file" not in table.column_names:
        return table
    files = [display_label(f, names) for f in table["file"].to_pylist()]
    return table.set_column(table.column_names.index("file"), "file", pa.array(files, pa.string()))


def _csv(table: pa.Table) -> str:
    """CSV with list and map cells as JSON text (one line per row); text cells pass the CLI's
    :func:`mpeil.sanitize.csv_cell`, so an id ``=HYPERLINK(…)`` is shown as text, never run as a formula."""
    from ..sanitize import csv_cell

    columns = {}
    for name in table.column_names:
        values = table[name].to_pylist()
        if pa.types.is_nested(table.schema.field(name).type):
            values = [None if v is None else json.dumps(_clean(v), ensure_ascii=False) for v in values]
        columns[name] = [csv_cell(v) for v in values]
    import pandas as pd

    return pd.DataFrame(columns, columns=table.column_names).to_csv(index=False)


def table_response(path, names: list[str], fmt: str, offset: int, limit: int, stem: str) -> Response:
    table = _renamed(pq.read_table(path), names)
    if fmt == "json":
        rows = [_clean(r) for r in table.slice(offset, limit).to_pylist()]
        body = {"total": table.num_rows, "offset": offset, "limit": limit, "rows": rows}
        return JSONResponse(json.loads(json.dumps(body, default=str)))
    disposition = {"content-disposition": f'attachment; filename="{stem}.{fmt}"'}
    if fmt == "csv":
        text = _csv(table)
        return Response(text, media_type="text/csv; charset=utf-8", headers=disposition)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return Response(sink.getvalue(), media_type="application/vnd.apache.parquet", headers=disposition)

"""The output directory of a batch: atomic part files, the chunk journal, the final tables.

Layout (see ``SCHEMAS.md``)::

    DIR/results/part-<chunk>.parquet     tidy results, one part per chunk (the final product)
    DIR/summary.parquet                  one row per building   (assembled at the end)
    DIR/errors.parquet                   one row per bad input  (assembled at the end)
    DIR/receipts/<building>-<hash>.json  one score receipt per building
    DIR/manifest.json                    the run: versions, hashes, options, counts, output hashes
    DIR/mpeil.duckdb                     with --duckdb: tables results, summary, errors
    DIR/_parts/{summary,errors}/part-<chunk>.parquet   per-chunk parts of the two tables
    DIR/_journal/run.json                what the run is (to refuse a --resume of another run)
    DIR/_journal/chunk-<chunk>.json      written last, atomically, when a chunk is complete

Every file is written to a hidden temporary name in its folder and moved into place with
``os.replace`` (atomic on POSIX and Windows), so a reader or a resumed run never sees half a
file. A chunk counts as done only when its journal entry exists, and the entry is written after
all of the chunk's files; a chunk interrupted before that is simply done again and its files
replaced, never duplicated. Folders starting with ``_`` and files starting with ``.`` are
ignored by Arrow, DuckDB and Spark dataset readers.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..hashing import file_sha256
from .schemas import ERRORS_SCHEMA, RESULTS_SCHEMA, SUMMARY_SCHEMA, to_table

__all__ = ["OutputDir", "atomic_write_bytes", "file_sha256"]

_PART = "part-{:06d}.parquet"
#: the lock file of :mod:`mpeil.batch.lock` (not part of a batch's outputs)
LOCK_NAME = ".mpeil-batch.lock"
#: how a results part is written (a pure performance knob; the columns and values do not change):
#: min/max statistics only on the columns a reader selects parts or row groups by (every row group
#: holds every element, module and indicator, so their statistics select nothing and cost a quarter
#: of the write), and dictionary pages for the repeating columns, ``missing_lines`` included
_RESULTS_PARQUET = {
    "write_statistics": ["file", "building"],
    "use_dictionary": ["file", "building", "element", "element_type", "module", "indicator", "unit", "missing_lines"],
}
_JOURNAL_ENTRY = "chunk-{:06d}.json"


def atomic_write_bytes(path: Path, data: bytes, fsync: bool = True) -> None:
    """Write ``data`` to ``path`` so that ``path`` is either the old file or the whole new one.

    ``fsync=False`` skips forcing the bytes to disk (still atomic for readers and after a killed
    process; after a power loss the caller must check the file, as resume does for receipts).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _atomic_parquet(table: pa.Table, path: Path, store_schema: bool = True, **options) -> None:
    """Write ``table`` to ``path`` atomically. ``store_schema=False`` leaves the Arrow schema out of
    the file's metadata: dictionary columns (the results' labels) then read back as plain strings.
    ``options``: more keywords of :func:`pyarrow.parquet.write_table`."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        pq.write_table(table, tmp, compression="zstd", store_schema=store_schema, **options)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _json_bytes(data) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")


class OutputDir:
    """Paths and atomic writers of one batch output directory."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.results = self.root / "results"
        self.receipts = self.root / "receipts"
        self.parts = self.root / "_parts"
        self.journal = self.root / "_journal"
        self.summary_path = self.root / "summary.parquet"
        self.errors_path = self.root / "errors.parquet"
        self.manifest_path = self.root / "manifest.json"
        self.duckdb_path = self.root / "mpeil.duckdb"
        self.run_path = self.journal / "run.json"

    # ------------------------------------------------------------------ run level
    def prepare(self) -> None:
        for folder in (self.results, self.receipts, self.parts / "summary", self.parts / "errors", self.journal):
            folder.mkdir(parents=True, exist_ok=True)
        self.remove_temporaries()

    def remove_temporaries(self) -> None:
        """Delete temporary files left by a killed run (they were never moved into place)."""
        for folder in (
            self.root,
            self.results,
            self.receipts,
            self.parts / "summary",
            self.parts / "errors",
            self.journal,
        ):
            if folder.is_dir():
                for path in folder.glob(".*.tmp-*"):
                    path.unlink(missing_ok=True)

    def is_empty(self) -> bool:
        """True when the directory is missing, empty, or holds only the empty folders of a batch."""
        if not self.root.exists():
            return True
        ours = {self.results.name, self.receipts.name, self.parts.name, self.journal.name}
        for path in self.root.iterdir():
            if path.name == LOCK_NAME:
                continue
            if path.name not in ours or any(p.is_file() for p in path.rglob("*")):
                return False
        return True

    def run_record(self) -> dict | None:
        if not self.run_path.exists():
            return None
        return json.loads(self.run_path.read_text(encoding="utf-8"))

    def write_run_record(self, record: dict) -> None:
        atomic_write_bytes(self.run_path, _json_bytes(record))

    def clear(self) -> None:
        """Remove everything a batch writes (for --overwrite); other files are left alone."""
        for folder in (self.results, self.receipts, self.parts, self.journal):
            shutil.rmtree(folder, ignore_errors=True)
        for path in (self.summary_path, self.errors_path, self.manifest_path, self.duckdb_path):
            path.unlink(missing_ok=True)

    # ------------------------------------------------------------------ chunks
    def finished_chunks(self) -> dict[int, dict]:
        done: dict[int, dict] = {}
        if self.journal.is_dir():
            for path in self.journal.glob("chunk-*.json"):
                try:
                    entry = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, json.JSONDecodeError):
                    continue  # cannot happen with atomic writes; treat as not done
                done[int(entry["chunk"])] = entry
        return done

    def write_chunk(self, chunk: int, results, summary, errors: list[dict], receipts: list[dict], entry: dict) -> None:
        """All files of one chunk, then its journal entry (last)."""
        self.write_results(chunk, results)
        self.write_rest(chunk, summary, errors, receipts, entry)

    def write_results(self, chunk: int, results) -> None:
        """The chunk's tidy results part (the large file of a chunk; :meth:`write_chunk` writes it first).

        Written from the label dictionaries, without the Arrow schema in the file (it reads back
        with ``RESULTS_SCHEMA``: plain strings, int32, float64).
        """
        table = to_table(results, RESULTS_SCHEMA)
        _atomic_parquet(table, self.results / _PART.format(chunk), store_schema=False, **_RESULTS_PARQUET)

    def write_rest(self, chunk: int, summary, errors: list[dict], receipts: list[dict], entry: dict) -> None:
        """Everything of a chunk but its results part: receipts, summary and error parts, then its journal entry."""
        for item in receipts:  # not fsynced one by one: resume checks them (chunk_complete)
            atomic_write_bytes(self.receipts / item["name"], _json_bytes(item["receipt"]), fsync=False)
        _atomic_parquet(to_table(summary, SUMMARY_SCHEMA), self.parts / "summary" / _PART.format(chunk))
        _atomic_parquet(to_table(errors, ERRORS_SCHEMA), self.parts / "errors" / _PART.format(chunk))
        atomic_write_bytes(self.journal / _JOURNAL_ENTRY.format(chunk), _json_bytes(entry))

    def chunk_complete(self, chunk: int, entry: dict) -> bool:
        """Whether every file a journal entry promises is there (after a power loss it might not be)."""
        parts = [
            self.results / _PART.format(chunk),
            self.parts / "summary" / _PART.format(chunk),
            self.parts / "errors" / _PART.format(chunk),
        ]
        try:
            return all(p.stat().st_size > 0 for p in parts) and all(
                (self.receipts / name).stat().st_size > 0 for name in entry.get("receipts", [])
            )
        except OSError:
            return False

    # ------------------------------------------------------------------ end of run
    def _assemble(self, kind: str, schema: pa.Schema, target: Path, n_chunks: int) -> None:
        """Concatenate the chunk parts in chunk order into one file, one part in memory at a time."""
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        try:
            with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
                for chunk in range(n_chunks):
                    part = self.parts / kind / _PART.format(chunk)
                    table = pq.read_table(part, schema=schema)
                    if table.num_rows:
                        writer.write_table(table)
            os.replace(tmp, target)
        finally:
            if tmp.exists():
                tmp.unlink()

    def assemble(self, n_chunks: int) -> None:
        self._assemble("summary", SUMMARY_SCHEMA, self.summary_path, n_chunks)
        self._assemble("errors", ERRORS_SCHEMA, self.errors_path, n_chunks)

    def result_parts(self, n_chunks: int) -> list[Path]:
        return [self.results / _PART.format(chunk) for chunk in range(n_chunks)]

    def write_manifest(self, manifest: dict) -> None:
        atomic_write_bytes(self.manifest_path, _json_bytes(manifest))

    def write_duckdb(self) -> None:
        """``mpeil.duckdb`` with tables ``results``, ``summary`` and ``errors`` (built aside, then moved in)."""
        import duckdb

        tmp = self.duckdb_path.with_name(f".{self.duckdb_path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        try:
            connection = duckdb.connect(str(tmp))
            try:
                pattern = str(self.results / "part-*.parquet").replace("'", "''")
                connection.execute(f"CREATE TABLE results AS SELECT * FROM read_parquet('{pattern}')")
                for name, path in (("summary", self.summary_path), ("errors", self.errors_path)):
                    quoted = str(path).replace("'", "''")
                    connection.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{quoted}')")
                connection.execute("CHECKPOINT")
            finally:
                connection.close()
            os.replace(tmp, self.duckdb_path)
        finally:
            for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
                if leftover.exists():
                    leftover.unlink()

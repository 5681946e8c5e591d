"""The service's durable store: one SQLite file (stdlib ``sqlite3``, WAL) plus one folder per batch job.

Tables: ``jobs`` (batch jobs and their state), ``receipts`` (single-building scores: the input bytes and
the receipt), ``idempotency`` (upload keys → what they created) and ``usage`` (files per key per day,
for quotas). Batch outputs live in ``<store>/jobs/<job id>/out`` as a normal ``mpeil batch`` output
directory with its chunk journal; job ids are made here (random), never taken from a request.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["Store", "StoreCorrupt", "new_id", "ID_PATTERN"]


class StoreCorrupt(Exception):
    """The store's SQLite file or one of its rows cannot be read (answered as a typed problem, not a traceback)."""


#: what a job or receipt id looks like (ids come from ``new_id``; anything else is answered 404)
ID_PATTERN = r"^[A-Za-z0-9_-]{22}$"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, status TEXT NOT NULL, created REAL NOT NULL,
    started REAL, finished REAL, method TEXT NOT NULL, options TEXT NOT NULL, as_of TEXT NOT NULL,
    files INTEGER NOT NULL, chunk_size INTEGER NOT NULL, names TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, server_pid INTEGER,
    message TEXT, buildings INTEGER, errors INTEGER
);
CREATE TABLE IF NOT EXISTS receipts (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, created REAL NOT NULL, name TEXT NOT NULL, suffix TEXT NOT NULL,
    input BLOB NOT NULL, receipt TEXT NOT NULL, summary TEXT, report BLOB
);
CREATE TABLE IF NOT EXISTS idempotency (
    owner TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, request_sha256 TEXT NOT NULL,
    target TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (owner, kind, key)
);
CREATE TABLE IF NOT EXISTS metrics (
    pid INTEGER PRIMARY KEY, data TEXT NOT NULL, updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
    owner TEXT PRIMARY KEY, last REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS usage (
    owner TEXT NOT NULL, day TEXT NOT NULL, files INTEGER NOT NULL, PRIMARY KEY (owner, day)
);
"""


def _alive(pid: int | None) -> bool:
    if not pid or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def new_id() -> str:
    """A random id (128 bits, 22 URL-safe characters): job and receipt ids cannot be guessed."""
    return secrets.token_urlsafe(16)


def _claim_key(db: sqlite3.Connection, owner: str, kind: str, key: str, digest: str, target: str) -> str | None:
    """Claim an idempotency key for ``target``; the target it already names, or None when claimed now."""
    taken = db.execute(
        "INSERT OR IGNORE INTO idempotency (owner, kind, key, request_sha256, target, created) VALUES (?, ?, ?, ?, ?, ?)",
        (owner, kind, key, digest, target, time.time()),
    ).rowcount
    if taken:
        return None
    return db.execute(
        "SELECT target FROM idempotency WHERE owner = ? AND kind = ? AND key = ?", (owner, kind, key)
    ).fetchone()["target"]


class Store:
    """The SQLite file and the jobs folder under ``root``; safe to share between threads."""

    def __init__(self, root: Path, persistent: bool = False) -> None:
        self.persistent = persistent  # one connection per thread, kept (a scoring worker: no reconnect per receipt)
        self._local = threading.local()
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.jobs_dir = self.root / "jobs"
        self.jobs_dir.mkdir(exist_ok=True)
        self.path = self.root / "mpeil-service.sqlite"
        self._lock = threading.Lock()
        with self.connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            columns = {row["name"] for row in db.execute("PRAGMA table_info(receipts)")}
            for column, kind in (("summary", "TEXT"), ("report", "BLOB")):  # stores made before these columns
                if column not in columns:
                    db.execute(f"ALTER TABLE receipts ADD COLUMN {column} {kind}")

    @contextmanager
    def connect(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One connection per operation, committed on success (SQLite serialises the writers).

        ``durable=False`` (receipts of single buildings): committed to the WAL without waiting for the
        disk; safe against a killed process, the last receipts may be lost on a power cut (a job never is).
        """
        try:
            db = getattr(self._local, "db", None) if self.persistent else None
            if db is None:
                db = sqlite3.connect(self.path, timeout=30)
                db.row_factory = sqlite3.Row
            db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        except sqlite3.DatabaseError as error:
            raise StoreCorrupt(f"the store cannot be opened: {error}") from None
        try:
            with db:
                yield db
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                raise
            raise StoreCorrupt(f"the store cannot be read: {error}") from None
        except sqlite3.DatabaseError as error:
            raise StoreCorrupt(f"the store cannot be read: {error}") from None
        finally:
            if self.persistent:
                self._local.db = db
            else:
                db.close()

    def job_dir(self, job_id: str) -> Path:
        """The folder of a job; ``job_id`` must come from the ``jobs`` table (checked by the caller)."""
        return self.jobs_dir / job_id

    # ------------------------------------------------------------------ jobs
    def add_job(self, job: dict, idempotency: tuple[str, str] | None = None) -> str:
        """Insert a job; with ``idempotency=(key, request_sha256)`` the key is claimed in the same
        transaction, and a key already used returns the job it made instead (nothing inserted)."""
        columns = ("id", "owner", "status", "created", "method", "options", "as_of", "files", "chunk_size", "names")
        values = [job[c] if c not in ("options", "names") else json.dumps(job[c]) for c in columns]
        with self.connect() as db:
            if idempotency is not None:
                existing = _claim_key(db, job["owner"], "batch", *idempotency, job["id"])
                if existing is not None:
                    return existing
            db.execute(f"INSERT INTO jobs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", values)
        return job["id"]

    def job(self, job_id: str, owner: str | None = None) -> dict | None:
        """A job, or None when it does not exist or belongs to another owner (``owner=None``: any)."""
        with self.connect() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None or (owner is not None and row["owner"] != owner):
            return None
        job = dict(row)
        try:
            job["options"], job["names"] = json.loads(job["options"]), json.loads(job["names"])
        except (TypeError, ValueError):
            raise StoreCorrupt(f"job {job_id} is corrupt in the store (options or names are not JSON)") from None
        return job

    def jobs(self, statuses: tuple[str, ...] | None = None) -> list[dict]:
        with self.connect() as db:
            if statuses:
                marks = ", ".join("?" * len(statuses))
                rows = db.execute(f"SELECT id FROM jobs WHERE status IN ({marks}) ORDER BY created", statuses)
            else:
                rows = db.execute("SELECT id FROM jobs ORDER BY created")
            ids = [r["id"] for r in rows.fetchall()]
        return [j for j in (self.job(i) for i in ids) if j is not None]

    def count_jobs(self, statuses: tuple[str, ...]) -> int:
        with self.connect() as db:
            marks = ", ".join("?" * len(statuses))
            return db.execute(f"SELECT COUNT(*) FROM jobs WHERE status IN ({marks})", statuses).fetchone()[0]

    def claim_job(self) -> dict | None:
        """Take a queued job and mark it running by this server process (one claimant wins).

        Tenants take turns: the job taken is the oldest of the owner whose last turn is the longest
        ago (round-robin over owners with waiting jobs), so one owner's many batches wait behind
        every other owner's next one."""
        with self.connect() as db:
            rows = db.execute(
                "SELECT j.id, j.owner FROM jobs j LEFT JOIN turns t ON t.owner = j.owner WHERE j.status = 'queued' "
                "ORDER BY COALESCE(t.last, 0), j.created LIMIT 4"
            ).fetchall()
            for row in rows:
                now = time.time()
                taken = db.execute(
                    "UPDATE jobs SET status = 'running', started = COALESCE(started, ?), attempts = attempts + 1, "
                    "server_pid = ? WHERE id = ? AND status = 'queued'",
                    (now, os.getpid(), row["id"]),
                ).rowcount
                if taken:
                    db.execute("INSERT OR REPLACE INTO turns (owner, last) VALUES (?, ?)", (row["owner"], now))
                    job_id = row["id"]
                    break
            else:
                return None
        return self.job(job_id)

    def others_waiting(self, owner: str) -> bool:
        """Whether another owner has a queued job (then a long-running job of ``owner`` yields its turn)."""
        with self.connect() as db:
            row = db.execute("SELECT 1 FROM jobs WHERE status = 'queued' AND owner != ? LIMIT 1", (owner,)).fetchone()
        return row is not None

    def pause_job(self, job_id: str) -> None:
        """A running job back in the queue (it resumes from its journal); the paused start is not an attempt."""
        with self.connect() as db:
            db.execute(
                "UPDATE jobs SET status = 'queued', attempts = MAX(attempts - 1, 0) WHERE id = ? AND status = 'running'",
                (job_id,),
            )

    def cancel_job(self, job_id: str) -> bool:
        """Mark a queued or running job cancelled (a running worker is stopped by its runner); whether it was."""
        with self.connect() as db:
            return bool(
                db.execute(
                    "UPDATE jobs SET status = 'cancelled', finished = ?, message = 'cancelled by its owner' "
                    "WHERE id = ? AND status IN ('queued', 'running')",
                    (time.time(), job_id),
                ).rowcount
            )

    def queue_by_owner(self) -> dict[str, tuple[int, float]]:
        """Queued jobs per owner: (count, age in seconds of the oldest)."""
        with self.connect() as db:
            rows = db.execute(
                "SELECT owner, COUNT(*) AS n, MIN(created) AS oldest FROM jobs WHERE status = 'queued' GROUP BY owner"
            ).fetchall()
        now = time.time()
        return {row["owner"]: (int(row["n"]), now - float(row["oldest"])) for row in rows}

    def requeue_orphans(self, max_attempts: int) -> int:
        """At start-up: jobs marked running by a server process that is gone are queued again (they resume
        from their journal), or failed after ``max_attempts`` starts; jobs of a live server process stay."""
        with self.connect() as db:
            rows = db.execute("SELECT id, server_pid, attempts FROM jobs WHERE status = 'running'").fetchall()
            orphans = [r for r in rows if not _alive(r["server_pid"])]
            for row in orphans:
                if row["attempts"] >= max_attempts:
                    message = f"stopped after {row['attempts']} starts: the server died each time while running it"
                    db.execute(
                        "UPDATE jobs SET status = 'failed', finished = ?, message = ? WHERE id = ?",
                        (time.time(), message, row["id"]),
                    )
                else:
                    db.execute("UPDATE jobs SET status = 'queued' WHERE id = ? AND status = 'running'", (row["id"],))
        return len(orphans)

    def finish_job(self, job_id: str, status: str, message: str | None, buildings=None, errors=None) -> None:
        with self.connect() as db:
            db.execute(
                "UPDATE jobs SET status = ?, finished = ?, message = ?, buildings = ?, errors = ? WHERE id = ?",
                (status, time.time(), message, buildings, errors, job_id),
            )

    # ------------------------------------------------------------------ receipts
    def add_receipt(
        self, receipt_id: str, owner: str, name: str, suffix: str, data: bytes, receipt: dict,
        idempotency: tuple[str, str] | None = None, summary: dict | None = None,
    ) -> str:  # fmt: skip
        """Insert a receipt (see :meth:`add_job` for ``idempotency``); returns the receipt id in effect."""
        with self.connect(durable=False) as db:
            if idempotency is not None:
                existing = _claim_key(db, owner, "score", *idempotency, receipt_id)
                if existing is not None:
                    return existing
            db.execute(
                "INSERT INTO receipts (id, owner, created, name, suffix, input, receipt, summary) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (receipt_id, owner, time.time(), name, suffix, data, json.dumps(receipt), json.dumps(summary)),
            )
        return receipt_id

    def receipt(self, receipt_id: str) -> dict | None:
        """A receipt row with ``receipt`` and ``summary`` decoded (``input`` empty once deleted)."""
        with self.connect() as db:
            row = db.execute(
                "SELECT id, owner, created, name, suffix, input, receipt, summary FROM receipts WHERE id = ?",
                (receipt_id,),
            ).fetchone()
        if row is None:
            return None
        found = dict(row)
        try:
            found["receipt"] = json.loads(found["receipt"])
            found["summary"] = json.loads(found["summary"]) if found["summary"] else None
            if not isinstance(found["receipt"], dict) or not isinstance(found["input"], bytes):
                raise TypeError
        except (TypeError, ValueError):
            raise StoreCorrupt(f"receipt {receipt_id} is corrupt in the store") from None
        return found

    def report(self, receipt_id: str) -> str | None:
        """The stored report of a receipt (rendered once), or None when not rendered yet."""
        import zlib

        with self.connect() as db:
            row = db.execute("SELECT report FROM receipts WHERE id = ?", (receipt_id,)).fetchone()
        if row is None or row["report"] is None:
            return None
        try:
            return zlib.decompress(row["report"]).decode("utf-8")
        except (zlib.error, UnicodeDecodeError, TypeError):
            raise StoreCorrupt(f"the report of receipt {receipt_id} is corrupt in the store") from None

    def add_report(self, receipt_id: str, compressed: bytes) -> None:
        with self.connect(durable=False) as db:
            db.execute("UPDATE receipts SET report = ? WHERE id = ?", (compressed, receipt_id))

    def delete_anonymous_inputs(self, older_than_seconds: float) -> int:
        """Delete the inputs of anonymous receipts older than the retention (the receipt and report stay)."""
        with self.connect() as db:
            return db.execute(
                "UPDATE receipts SET input = X'' WHERE (owner = '' OR owner LIKE 'anon:%') AND created < ? "
                "AND length(input) > 0",
                (time.time() - older_than_seconds,),
            ).rowcount

    # ------------------------------------------------------------------ idempotency and quota
    def idempotent(self, owner: str, kind: str, key: str) -> dict | None:
        with self.connect() as db:
            row = db.execute(
                "SELECT request_sha256, target FROM idempotency WHERE owner = ? AND kind = ? AND key = ?",
                (owner, kind, key),
            ).fetchone()
        return None if row is None else dict(row)

    # ------------------------------------------------------------------ metrics
    def put_metrics(self, pid: int, data: str) -> None:
        with self.connect(durable=False) as db:
            db.execute("INSERT OR REPLACE INTO metrics (pid, data, updated) VALUES (?, ?, ?)", (pid, data, time.time()))

    def all_metrics(self) -> list[str]:
        """Every HTTP process's counters (rows of processes gone are dropped at the next start)."""
        with self.connect() as db:
            return [row["data"] for row in db.execute("SELECT data FROM metrics ORDER BY pid")]

    def drop_metrics_of_dead(self) -> None:
        with self.connect() as db:
            for row in db.execute("SELECT pid FROM metrics").fetchall():
                if row["pid"] != os.getpid() and not _alive(row["pid"]):
                    db.execute("DELETE FROM metrics WHERE pid = ?", (row["pid"],))

    def batch_durations(self) -> list[float]:
        with self.connect() as db:
            rows = db.execute(
                "SELECT finished - started AS seconds FROM jobs WHERE status = 'done' AND started IS NOT NULL"
            ).fetchall()
        return [float(row["seconds"]) for row in rows if row["seconds"] is not None]

    def used_today(self, owner: str) -> int:
        day = time.strftime("%Y-%m-%d", time.gmtime())
        with self.connect() as db:
            row = db.execute("SELECT files FROM usage WHERE owner = ? AND day = ?", (owner, day)).fetchone()
        return int(row["files"]) if row else 0

    def quota_left(self, owner: str, files: int, quota: int) -> bool:
        """Whether ``files`` more fit in today's (UTC) quota (nothing is charged)."""
        return self.used_today(owner) + files <= quota

    def charge(self, owner: str, files: int) -> None:
        """Count ``files`` scored (accepted) against today's quota."""
        day = time.strftime("%Y-%m-%d", time.gmtime())
        with self.connect(durable=False) as db:
            db.execute(
                "INSERT INTO usage (owner, day, files) VALUES (?, ?, ?) "
                "ON CONFLICT(owner, day) DO UPDATE SET files = files + excluded.files",
                (owner, day, files),
            )

    def use_quota(self, owner: str, files: int, quota: int) -> bool:
        """Count ``files`` against today's (UTC) quota; False (nothing counted) when it would exceed it."""
        day = time.strftime("%Y-%m-%d", time.gmtime())
        with self._lock, self.connect() as db:
            row = db.execute("SELECT files FROM usage WHERE owner = ? AND day = ?", (owner, day)).fetchone()
            used = row["files"] if row else 0
            if used + files > quota:
                return False
            db.execute(
                "INSERT INTO usage (owner, day, files) VALUES (?, ?, ?) "
                "ON CONFLICT(owner, day) DO UPDATE SET files = files + excluded.files",
                (owner, day, files),
            )
        return True

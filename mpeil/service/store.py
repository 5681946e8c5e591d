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

__all__ = ["Store", "new_id", "ID_PATTERN"]

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
    input BLOB NOT NULL, receipt TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotency (
    owner TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, request_sha256 TEXT NOT NULL,
    target TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (owner, kind, key)
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

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.jobs_dir = self.root / "jobs"
        self.jobs_dir.mkdir(exist_ok=True)
        self.path = self.root / "mpeil-service.sqlite"
        self._lock = threading.Lock()
        with self.connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @contextmanager
    def connect(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One connection per operation, committed on success (SQLite serialises the writers).

        ``durable=False`` (receipts of single buildings): committed to the WAL without waiting for the
        disk; safe against a killed process, the last receipts may be lost on a power cut (a job never is).
        """
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        try:
            with db:
                yield db
        finally:
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
        job["options"], job["names"] = json.loads(job["options"]), json.loads(job["names"])
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
        """Take the oldest queued job and mark it running by this server process (one claimant wins)."""
        with self.connect() as db:
            for row in db.execute("SELECT id FROM jobs WHERE status = 'queued' ORDER BY created LIMIT 4").fetchall():
                taken = db.execute(
                    "UPDATE jobs SET status = 'running', started = COALESCE(started, ?), attempts = attempts + 1, "
                    "server_pid = ? WHERE id = ? AND status = 'queued'",
                    (time.time(), os.getpid(), row["id"]),
                ).rowcount
                if taken:
                    job_id = row["id"]
                    break
            else:
                return None
        return self.job(job_id)

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
        idempotency: tuple[str, str] | None = None,
    ) -> str:  # fmt: skip
        """Insert a receipt (see :meth:`add_job` for ``idempotency``); returns the receipt id in effect."""
        with self.connect(durable=False) as db:
            if idempotency is not None:
                existing = _claim_key(db, owner, "score", *idempotency, receipt_id)
                if existing is not None:
                    return existing
            db.execute(
                "INSERT INTO receipts (id, owner, created, name, suffix, input, receipt) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (receipt_id, owner, time.time(), name, suffix, data, json.dumps(receipt)),
            )
        return receipt_id

    def receipt(self, receipt_id: str) -> dict | None:
        with self.connect() as db:
            row = db.execute("SELECT * FROM receipts WHERE id = ?", (receipt_id,)).fetchone()
        if row is None:
            return None
        found = dict(row)
        found["receipt"] = json.loads(found["receipt"])
        return found

    # ------------------------------------------------------------------ idempotency and quota
    def idempotent(self, owner: str, kind: str, key: str) -> dict | None:
        with self.connect() as db:
            row = db.execute(
                "SELECT request_sha256, target FROM idempotency WHERE owner = ? AND kind = ? AND key = ?",
                (owner, kind, key),
            ).fetchone()
        return None if row is None else dict(row)

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

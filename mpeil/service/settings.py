"""Settings of ``mpeil serve``: defaults from ``data/service_defaults.csv``, overridden by environment.

Environment variables (all optional):

- ``MPEIL_STORE``: folder of the SQLite store and batch jobs (default ``./mpeil-store``).
- ``MPEIL_API_KEYS_FILE``: key file (``name,sha256,quota_files_per_day`` lines, see ``keys.py``).
- ``MPEIL_API_KEYS``: the same lines separated by ``;`` (for containers; added to the file's keys).
- ``MPEIL_CORS_ORIGINS``: comma-separated origins allowed by CORS (default: none, CORS off).
- ``MPEIL_RECEIPT_KEY_FILE``: the HMAC key receipts are signed with (default ``<store>/receipt-key``, made once).
- ``MPEIL_DASK_SCHEDULER``: a Dask scheduler address (``tcp://host:8786`` or ``local``) for batch jobs.
- the ``env`` column of ``data/service_defaults.csv`` (worker count, chunk size, default quota).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..batch.limits import Limits, load_limits
from ..errors import InputError
from ..paths import data_dir

__all__ = ["Settings", "load_defaults"]


def load_defaults(path: Path | None = None) -> dict[str, tuple[float, str]]:
    """``{name: (value, env variable)}`` from ``data/service_defaults.csv``."""
    import csv

    path = path or data_dir() / "service_defaults.csv"
    with open(path, encoding="utf-8") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        return {row["name"]: (float(row["value"]), row["env"]) for row in rows}


def _number(name: str, default: float, env: str, environ) -> int:
    text = environ.get(env)
    if text is None or text == "":
        return int(default)
    try:
        value = int(text)
    except ValueError:
        raise InputError(f"{env}={text!r} is not a whole number", field=name) from None
    least = 0 if name in _ZERO_ALLOWED else 1
    if value < least:
        raise InputError(f"{env} must be at least {least}", field=name)
    return value


#: settings where 0 means "off" (no niceness for batches, no wait for company)
_ZERO_ALLOWED = ("batch_nice", "score_batch_wait_ms")


@dataclass(frozen=True)
class Settings:
    """Everything the app needs; build with :meth:`from_env` or directly (tests)."""

    store_dir: Path
    batch_workers: int  # batches run at the same time (worker processes)
    batch_jobs: int  # processes per batch
    chunk_size: int  # files per batch chunk
    quota_files_per_day: int  # default quota of a key whose line sets none
    job_attempts: int  # starts of a job (first run and resumes) before it is marked failed
    upload_size: int  # bytes of one request body (batch uploads)
    upload_files: int  # files in one batch upload
    scoring_workers: int = 2  # processes scoring single buildings (0: in this process, no budgets; tests)
    anonymous_memory: int = 192  # MiB one anonymous scoring may add to its worker
    keyed_memory: int = 1024  # MiB, keyed callers
    anonymous_seconds: int = 10  # s of one anonymous scoring
    keyed_seconds: int = 120  # s, keyed callers
    anonymous_body_size: int = 16 * 2**20  # bytes of an anonymous request body
    anonymous_retention_hours: int = 24  # h an anonymous input is kept
    max_in_flight: int = 200  # requests at once per HTTP process; above: 503 + Retry-After
    header_timeout: int = 10  # s to send the request headers
    body_timeout: int = 30  # s between two body chunks
    keep_alive_timeout: int = 5  # s an idle keep-alive connection stays open
    header_size: int = 16384  # bytes of the request headers
    batch_slice_seconds: int = 3  # s a batch runs before another tenant's waiting batch gets its turn
    batch_nice: int = 10  # niceness of batch job processes (single-building requests first)
    score_batch_size: int = 16  # single-building uploads scored together at most (micro-batching; 1: off)
    score_batch_wait_ms: int = 2  # ms a worker waits for company when the others are busy
    score_batch_bytes: int = 1048576  # bytes of uploads scored in company, together
    receipt_key_file: Path | None = None  # HMAC key of receipts (default: <store>/receipt-key)
    limits: Limits = field(default_factory=load_limits)
    keys_file: Path | None = None
    keys_text: str = ""  # key lines, ';'-separated (MPEIL_API_KEYS)
    cors_origins: tuple[str, ...] = ()
    scheduler: str | None = None
    run_jobs: bool = True  # False: accept batches but leave them queued (tests of the API surface)

    @classmethod
    def budget(self, keyed: bool):
        """The memory and time budget of one scoring for a keyed or an anonymous caller."""
        from .workers import Budget

        if keyed:
            return Budget(self.keyed_memory * 2**20, float(self.keyed_seconds))
        return Budget(self.anonymous_memory * 2**20, float(self.anonymous_seconds))

    @classmethod
    def from_env(cls, environ=None, **overrides) -> Settings:
        environ = os.environ if environ is None else environ
        defaults = load_defaults()
        numbers: dict[str, Any] = {name: _number(name, value, env, environ) for name, (value, env) in defaults.items()}
        upload_size, upload_files = _upload_limits()
        settings = cls(
            store_dir=Path(environ.get("MPEIL_STORE") or "mpeil-store"),
            keys_file=Path(environ["MPEIL_API_KEYS_FILE"]) if environ.get("MPEIL_API_KEYS_FILE") else None,
            keys_text=environ.get("MPEIL_API_KEYS", ""),
            receipt_key_file=Path(environ["MPEIL_RECEIPT_KEY_FILE"]) if environ.get("MPEIL_RECEIPT_KEY_FILE") else None,
            cors_origins=tuple(o.strip() for o in environ.get("MPEIL_CORS_ORIGINS", "").split(",") if o.strip()),
            scheduler=environ.get("MPEIL_DASK_SCHEDULER") or None,
            upload_size=upload_size,
            upload_files=upload_files,
            **numbers,
        )
        return dataclasses.replace(settings, **{k: v for k, v in overrides.items() if v is not None})


def _upload_limits() -> tuple[int, int]:
    import pandas as pd

    table = pd.read_csv(data_dir() / "batch_limits.csv", comment="#").set_index("name")
    return int(float(str(table.loc["upload_size", "maximum"]))), int(float(str(table.loc["upload_files", "maximum"])))

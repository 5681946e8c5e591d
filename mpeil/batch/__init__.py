"""Batch scoring of many building files: ``mpeil batch`` and :func:`run_batch`.

Layers (I/O apart from scoring): :mod:`.inputs` finds and reads input files safely,
:mod:`.core` scores the buildings of a chunk (no I/O), :mod:`.store` writes the output
directory atomically, :mod:`.runner` runs the chunks (here, in processes or on Dask) and
:mod:`.receipts` verifies score receipts. See ``README.md`` and ``SCHEMAS.md`` beside this file.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "run_batch": "mpeil.batch.runner",
    "BatchSummary": "mpeil.batch.runner",
    "verify_receipt": "mpeil.batch.receipts",
    "verify_receipts": "mpeil.batch.receipts",
    "Verification": "mpeil.batch.receipts",
    "UsageError": "mpeil.batch.inputs",
    "Limits": "mpeil.batch.limits",
    "load_limits": "mpeil.batch.limits",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mpeil.batch' has no attribute {name!r}")

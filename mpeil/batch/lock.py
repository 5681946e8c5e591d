"""A lock on a batch output directory: one batch writes into a directory at a time.

The lock is an advisory ``flock`` (``msvcrt.locking`` on Windows) on ``DIR/.mpeil-batch.lock``,
held for the whole run. The operating system releases it when the process ends, however it
ends, so a killed run never leaves a stale lock and ``--resume`` works at once. A second batch
into the same directory is refused with :class:`OutputLockedError` (exit code 2); the lock file
itself stays (removing it would let a third run lock a different file).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .inputs import UsageError
from .store import LOCK_NAME

__all__ = ["LOCK_NAME", "OutputLockedError", "locked_output"]


class OutputLockedError(UsageError):
    """Another batch is writing into the output directory."""


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
            return True
        except OSError:
            return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


@contextmanager
def locked_output(root: str | os.PathLike) -> Iterator[Path]:
    """Hold the lock of output directory ``root`` (created) for the ``with`` block."""
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise UsageError(f"cannot use the output directory {str(root)!r}: {exc.strerror or exc}") from None
    try:
        if not _try_lock(fd):
            raise OutputLockedError(
                f"another batch is writing into {str(root)!r} (locked); wait for it to finish or choose another --out"
            )
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        yield root
    finally:
        os.close(fd)  # releases the lock

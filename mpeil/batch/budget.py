"""Time and memory budgets, and processes that die with their parent.

:func:`run_with_budget` runs a function in a forked child process with an address-space limit
(``RLIMIT_AS``: what it may add to the parent's size) and a wall-clock deadline; the child is
killed with ``SIGKILL`` when the deadline passes. The result comes back through a pipe. A batch
scores each chunk this way and, when a chunk goes over its budget, each of its files on its own
(:mod:`mpeil.batch.runner`), so one file that hangs or eats memory becomes one error row.

:func:`die_with_parent` makes the calling process end when its parent does (``PR_SET_PDEATHSIG``
on Linux, and a watchdog thread everywhere), so a killed ``mpeil batch`` leaves no workers that go
on writing into its output directory.

Isolation needs ``os.fork`` and runs from the main thread only (a Dask worker runs tasks in
threads): elsewhere :func:`isolation_available` is false and the caller runs in-process.
"""

from __future__ import annotations

import os
import pickle
import select
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Outcome", "run_with_budget", "isolation_available", "die_with_parent"]

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Outcome:
    """How a budgeted call ended: ``ok`` (``value``), ``error`` (``value`` is the exception),
    ``timeout``, ``memory`` (MemoryError under the limit) or ``died`` (killed by a signal)."""

    status: str
    value: Any = None
    seconds: float = 0.0


def isolation_available() -> bool:
    """Whether :func:`run_with_budget` can fork here (POSIX, main thread)."""
    return hasattr(os, "fork") and threading.current_thread() is threading.main_thread()


def _set_pdeathsig() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def die_with_parent() -> None:
    """End this process when its parent ends (pool initializer; also called in budget children)."""
    parent = os.getppid()
    _set_pdeathsig()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(70)

    if os.getppid() == 1:  # the parent is already gone
        os._exit(70)
    threading.Thread(target=watch, name="mpeil-die-with-parent", daemon=True).start()


def _address_space() -> int:
    """Bytes of address space this process uses now (0 when unknown)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _limit_memory(extra_bytes: int) -> None:
    try:
        import resource
    except ImportError:
        return
    base = _address_space()
    if not base:
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = base + extra_bytes
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _child(function: Callable, args: tuple, memory_bytes: int, write_end: int, scratch: str) -> None:
    _set_pdeathsig()
    tempfile.tempdir = scratch  # every temporary file of the call goes where the parent removes it
    os.environ["TMPDIR"] = scratch
    try:
        _limit_memory(memory_bytes)
        payload = pickle.dumps(("ok", function(*args)), protocol=pickle.HIGHEST_PROTOCOL)
    except MemoryError:
        payload = pickle.dumps(("memory", None))
    except BaseException as exc:  # travels to the parent, which decides
        try:
            payload = pickle.dumps(("error", exc), protocol=pickle.HIGHEST_PROTOCOL)
            pickle.loads(payload)  # some exceptions pickle but do not unpickle
        except Exception:
            payload = pickle.dumps(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
    with os.fdopen(write_end, "wb") as pipe:
        pipe.write(payload)


def run_with_budget(function: Callable, args: tuple, seconds: float, memory_bytes: int) -> Outcome:
    """``function(*args)`` in a forked child, killed after ``seconds``; at most ``memory_bytes`` more
    address space than this process. Its return value must pickle.

    The child's temporary files go to a folder of its own, removed when the call ends, however
    it ends: a child killed by its budget leaves no copy of its input behind.
    """
    scratch = tempfile.mkdtemp(prefix="mpeil-budget-")
    try:
        return _run_forked(function, args, seconds, memory_bytes, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run_forked(function: Callable, args: tuple, seconds: float, memory_bytes: int, scratch: str) -> Outcome:
    read_end, write_end = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's code
        code = 0
        try:
            os.close(read_end)
            _child(function, args, memory_bytes, write_end, scratch)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        chunks, timed_out = _collect(read_end, pid, started + seconds)
    except BaseException:  # Ctrl-C in the parent: the child must not outlive the call
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    _, status = os.waitpid(pid, 0)
    elapsed = time.monotonic() - started
    if timed_out:
        return Outcome("timeout", seconds=elapsed)
    if not chunks:
        return Outcome("died", os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status), elapsed)
    try:
        kind, value = pickle.loads(b"".join(chunks))
    except Exception as exc:  # a child killed while writing
        return Outcome("died", f"unreadable result: {type(exc).__name__}", elapsed)
    return Outcome(kind, value, elapsed)


def _collect(read_end: int, pid: int, deadline: float) -> tuple[list[bytes], bool]:
    """Read the child's result until it closes the pipe, or kill it at ``deadline``."""
    chunks: list[bytes] = []
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([pipe], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                return chunks, True
            block = pipe.read(1 << 20)
            if not block:
                return chunks, False
            chunks.append(block)

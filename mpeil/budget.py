"""Time and memory budgets, and processes that die with their parent (batch, ``mpeil score``, the API).

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

:func:`score_within_budget` scores one input of a :class:`~mpeil.Scorer` this way (``mpeil score``
does for every file; ``mpeil.score(..., budget=True)`` in Python): over ``seconds_per_file`` or
``memory_per_file`` (``data/batch_limits.csv``) it raises :class:`~mpeil.errors.BudgetError`.
Opt out with ``MPEIL_BUDGET=off`` in the environment (then the call runs in-process, as before).
"""

from __future__ import annotations

import functools
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

__all__ = ["Outcome", "run_with_budget", "isolation_available", "die_with_parent", "score_within_budget"]

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


def budget_enabled() -> bool:
    """Whether calls are budgeted: isolation is available and ``MPEIL_BUDGET`` is not ``off``."""
    return isolation_available() and os.environ.get("MPEIL_BUDGET", "").strip().lower() not in ("off", "0", "no")


def _score_child(scorer: Any, source: Any, file: str | None, read_options: dict | None = None) -> tuple:
    """In the child: score, keep the notes, and send the result without the library and scenarios the
    parent already holds (pickling the shipped library back would cost more than scoring)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = scorer.score(source, file, **(read_options or {}))
    shared: dict[str, Any] = {}
    for name in ("library", "scenarios"):
        value = getattr(result, name, None)
        if value is not None and value is getattr(scorer, name, None):
            shared[name] = True
            object.__setattr__(result, name, None)  # a frozen Result: rebuilt in the parent below
    profiles = getattr(result, "line_profiles", None)
    context = getattr(scorer, "context", None)
    if (
        isinstance(profiles, functools.partial)
        and profiles.args
        and context is not None
        and profiles.args[0] is context
    ):
        # the stages' partial(unit_profiles, context, …): the context (library, its derived tensors:
        # tens of MB) stays here; the parent puts its own, the same one, back in
        shared["line_profiles"] = (profiles.func, profiles.args[1:], profiles.keywords)
        object.__setattr__(result, "line_profiles", None)
    notes = [(item.message, item.category) for item in caught]
    return result, shared, notes


def score_within_budget(
    scorer: Any,
    source: Any,
    file: str | None = None,
    seconds: float | None = None,
    memory_bytes: int | None = None,
    **read_options: Any,
) -> Any:
    """``scorer.score(source, file, **read_options)`` in a forked child with a time and memory budget.

    ``seconds`` and ``memory_bytes`` default to ``seconds_per_file`` and ``memory_per_file`` of the
    scorer's limits (``data/batch_limits.csv``). Notes (warnings) of the call are raised again here.
    Where isolation is not available, or ``MPEIL_BUDGET=off``, the call runs in-process.

    Raises
    ------
    BudgetError
        The call went over its time or memory budget, or its process died.
    """
    import warnings

    from .errors import BudgetError
    from .limits import load_limits

    if not budget_enabled():
        return scorer.score(source, file, **read_options)
    limits = getattr(scorer, "limits", None) or load_limits()
    seconds = float(seconds if seconds is not None else limits.seconds_per_file)
    memory_bytes = int(memory_bytes if memory_bytes is not None else limits.memory_per_file)
    outcome = run_with_budget(_score_child, (scorer, source, file, read_options), seconds, memory_bytes)
    label = file or (str(source) if isinstance(source, (str, os.PathLike)) else None)
    if outcome.status == "error":
        raise outcome.value
    if outcome.status != "ok":
        raise BudgetError.of(outcome.status, seconds, memory_bytes, label)
    result, shared, notes = outcome.value
    for name, value in shared.items():
        if name == "line_profiles":
            func, rest, keywords = value
            value = functools.partial(func, scorer.context, *rest, **keywords)
        else:
            value = getattr(scorer, name)
        object.__setattr__(result, name, value)
    for message, category in notes:
        warnings.warn(message, category, stacklevel=2)
    return result

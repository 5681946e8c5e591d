"""Scoring in worker processes: each loads the library once, scores one upload at a time under a
memory budget, and writes its receipt to the store itself (the SQLite commit never runs on the
server's event loop).

Why processes: scoring is Python and numpy under one interpreter lock; threads of one process share
it, so concurrent requests used one core. A pool of ``scoring_workers`` processes uses them all.

Budgets (``data/service_defaults.csv``, per caller class ``anonymous`` and ``keyed``):

- memory: before each task the worker lowers its address-space limit (``RLIMIT_AS``) to what it uses
  now plus the class's budget; a task that goes over gets ``MemoryError``, answered 422, and the worker
  is replaced (its heap may be fragmented);
- time: the server waits at most the class's seconds for the answer, then kills the worker with
  ``SIGKILL`` and starts another; the request is answered 422.

Nothing from a request becomes a path: the server writes the body to a scratch file whose name it
makes, and hands the worker that path.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

__all__ = ["ScoringPool", "InProcess", "Budget", "TaskFailed", "run_task"]

log = logging.getLogger("mpeil.service")


@dataclass(frozen=True)
class Budget:
    """What one scoring may use: ``memory_bytes`` more address space, ``seconds`` of wall time."""

    memory_bytes: int
    seconds: float


class TaskFailed(Exception):
    """A task the worker refused or could not finish: ``kind`` names the error class, ``status`` the HTTP status."""

    def __init__(self, kind: str, message: str, status: int = 422, fields: dict | None = None) -> None:
        super().__init__(message)
        self.kind, self.message, self.status, self.fields = kind, message, status, fields or {}


# ============================================================================ worker side
def _address_space() -> int:
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _set_memory_limit(extra: int | None) -> None:
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if extra is None:
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
        return
    limit = _address_space() + extra
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))


class _WorkerState:
    """What a worker keeps between tasks: the engine (library loaded once) and one store per root."""

    def __init__(self, signing_key: bytes, engine=None) -> None:
        from .scoring import ScoringEngine

        self.engine = engine if engine is not None else ScoringEngine()
        self.signing_key = signing_key
        self.stores: dict[str, Any] = {}

    def store(self, root: str):
        from pathlib import Path

        from .store import Store

        if root not in self.stores:
            self.stores[root] = Store(Path(root), persistent=True)
        return self.stores[root]


def run_task(state: Any, task: dict) -> dict:
    """One task in a worker (or in-process): ``score``, ``rescore``, ``report`` or ``compare``."""
    from . import tasks

    handler = getattr(tasks, f"task_{task['kind']}")
    return handler(state, task)


def _answer(state: _WorkerState, task: dict) -> tuple[dict, bool]:
    """(reply, whether this worker should end after replying)."""
    from ..errors import MpeilError

    try:
        if task["memory_bytes"] is None:
            return {"ok": run_task(state, task)}, False
        _set_memory_limit(task["memory_bytes"])
        try:
            return {"ok": run_task(state, task)}, False
        finally:
            _set_memory_limit(None)
    except MemoryError:
        megabytes = task["memory_bytes"] // 2**20
        message = f"scoring this file needs more than the memory budget of {megabytes:,} MB per request"
        return {"error": ("BudgetExceeded", message, 422, {"field": "memory"})}, True
    except TaskFailed as error:
        return {"error": (error.kind, error.message, error.status, error.fields)}, False
    except MpeilError as error:
        fields = {k: getattr(error, k, None) for k in ("file", "field")}
        return {"error": (type(error).__name__, str(error), 422, fields)}, False
    except RecursionError:
        return {"error": ("ParseError", "the file is nested too deeply", 422, {})}, False
    except Exception as exc:  # a bug, not an input: logged here, answered as a typed 500 there
        log.exception("scoring task failed")
        return {"error": ("InternalError", f"scoring failed: {type(exc).__name__}", 500, {})}, True


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(70)


def _warm(state: _WorkerState) -> None:
    """Score the shipped example house once, so the first request does not pay for the first call's set-up."""
    from ..limits import load_limits
    from ..paths import scenarios_dir

    try:
        data = (scenarios_dir() / "examples" / "terraced_house.json").read_bytes()
        state.engine.score(data, ".json", "warm-up.json", "mpeil-ef31", {}, load_limits())
    except Exception:  # warming is an optimisation; a worker that cannot warm still answers
        log.exception("warming a scoring worker failed")


def _worker_main(connection, signing_key: bytes) -> None:
    """Worker process body: load once, then answer tasks until the pipe closes."""
    # a watchdog, not PR_SET_PDEATHSIG: that signal fires when the *thread* that started this worker
    # ends, and workers are started (and replaced) from short-lived threads
    parent = os.getppid()
    threading.Thread(target=_watch_parent, args=(parent,), name="mpeil-watch-parent", daemon=True).start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which stops its workers
    state = _WorkerState(signing_key)
    _warm(state)
    connection.send({"ready": os.getpid()})
    while True:
        try:
            task = connection.recv()
        except (EOFError, OSError):
            return
        reply, retire = _answer(state, task)
        try:
            connection.send(reply)
        except (BrokenPipeError, OSError):
            return
        if retire:
            return


# ============================================================================ server side
class _Worker:
    def __init__(self, context, signing_key: bytes) -> None:
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child, signing_key), daemon=True)
        self.process.start()
        child.close()
        self.ready = False

    def wait_ready(self, seconds: float) -> bool:
        if not self.ready and self.connection.poll(seconds):
            self.ready = "ready" in self.connection.recv()
        return self.ready

    def kill(self) -> None:
        if self.process.is_alive():
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.join(5)
        self.connection.close()


class ScoringPool:
    """``size`` worker processes; :meth:`run` sends one task to one idle worker.

    The idle workers wait in a thread-safe queue and each task is one blocking exchange in one of
    ``size`` threads, so the pool serves any event loop (the server's, or a test client's); tasks
    beyond ``size`` wait in the executor's queue (the server's in-flight limit bounds it).
    """

    def __init__(self, size: int, signing_key: bytes, start_seconds: float = 120.0) -> None:
        self.size, self.signing_key, self.start_seconds = size, signing_key, start_seconds
        self._context = multiprocessing.get_context("spawn")  # the server has threads: never fork it
        self._threads = ThreadPoolExecutor(max_workers=size, thread_name_prefix="mpeil-pool")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self.waiting = 0  # tasks sent and not yet answered (a metric)
        self.closed = False

    def pids(self) -> list[int]:
        with self._lock:
            return [w.process.pid for w in self._workers if w.process.pid and w.process.is_alive()]

    def start(self) -> ScoringPool:
        """Start every worker and wait until each has loaded the library (blocking)."""
        spawning = [threading.Thread(target=self._spawn_idle) for _ in range(self.size)]
        for thread in spawning:
            thread.start()
        for thread in spawning:
            thread.join()
        if self._idle.qsize() < self.size:
            self.close()
            raise RuntimeError("the scoring workers did not start")
        return self

    def _spawn_idle(self) -> None:
        try:
            worker = _Worker(self._context, self.signing_key)
            ready = worker.wait_ready(self.start_seconds)
        except (OSError, EOFError, ValueError):
            if not self.closed:
                log.exception("a scoring worker did not start")
            return
        if not ready or self.closed:
            worker.kill()
            if not self.closed:
                log.error("a scoring worker did not start")
            return
        with self._lock:
            self._workers.append(worker)
        self._idle.put(worker)

    def _retire(self, worker: _Worker) -> None:
        """Kill a worker (over budget, or it ended itself) and start its replacement in the background."""
        worker.kill()
        with self._lock:
            if worker in self._workers:
                self._workers.remove(worker)
        if not self.closed:
            threading.Thread(target=self._spawn_idle, name="mpeil-pool-respawn", daemon=True).start()

    def _exchange(self, task: dict, seconds: float) -> dict | None:
        """Take an idle worker, send the task, wait for the reply (None: too late or the worker died)."""
        try:
            worker = self._idle.get(timeout=self.start_seconds)  # every worker gone and none restarting
        except queue.Empty:
            return {"error": ("Busy", "no scoring worker is available; try again in a minute", 503, {})}
        reply = None
        try:
            worker.connection.send(task)
            if worker.connection.poll(seconds):
                reply = worker.connection.recv()
        except (EOFError, OSError):
            reply = None
        failed = reply is not None and "error" in reply and reply["error"][0] in ("BudgetExceeded", "InternalError")
        retire = reply is None or failed or not worker.process.is_alive()
        if retire:
            self._retire(worker)
        else:
            self._idle.put(worker)
        return reply

    async def run(self, task: dict, budget: Budget) -> dict:
        """The task's result; :class:`TaskFailed` when the worker refused it or it went over budget."""
        task = {**task, "memory_bytes": budget.memory_bytes}
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        self.waiting += 1
        try:
            reply = await loop.run_in_executor(self._threads, self._exchange, task, budget.seconds)
        finally:
            self.waiting -= 1
        if reply is None:
            late = time.monotonic() - started >= budget.seconds
            message = (
                f"scoring this file takes longer than the budget of {budget.seconds:g} s per request"
                if late
                else "the scoring worker ended while scoring this file"
            )
            raise TaskFailed("BudgetExceeded", message, 422, {"field": "seconds" if late else "memory"})
        if "error" in reply:
            kind, message, status, fields = reply["error"]
            raise TaskFailed(kind, message, status, fields)
        return reply["ok"]

    def close(self) -> None:
        self.closed = True
        with self._lock:
            workers, self._workers = list(self._workers), []
        for worker in workers:
            worker.kill()
        self._threads.shutdown(wait=False, cancel_futures=True)


class InProcess:
    """The pool's interface without processes (``scoring_workers = 0``: tests and small set-ups):
    tasks run in a thread of this process, with no memory or time budget."""

    waiting = 0

    def __init__(self, engine, signing_key: bytes) -> None:
        self.state = _WorkerState(signing_key, engine)

    def pids(self) -> list[int]:
        return []

    async def run(self, task: dict, budget: Budget) -> dict:
        from starlette.concurrency import run_in_threadpool

        reply, _ = await run_in_threadpool(_answer, self.state, {**task, "memory_bytes": None})
        if "error" in reply:
            kind, message, status, fields = reply["error"]
            raise TaskFailed(kind, message, status, fields)
        return reply["ok"]

    def close(self) -> None:
        pass

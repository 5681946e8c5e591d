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
import collections
import contextlib
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ScoringPool", "InProcess", "Budget", "TaskFailed", "run_task", "batch_key", "error_reply"]

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


def run_task(state: Any, task: dict) -> Any:
    """One task in a worker (or in-process): ``score``, ``score_many`` (a list of replies), ``rescore``,
    ``report`` or ``compare``."""
    from . import tasks

    handler = getattr(tasks, f"task_{task['kind']}")
    return handler(state, task)


def error_reply(error) -> dict:
    """The reply of a task refused with a typed :class:`~mpeil.errors.MpeilError` (answered 422)."""
    fields = {k: getattr(error, k, None) for k in ("file", "field")}
    return {"error": (type(error).__name__, str(error), 422, fields)}


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
        return error_reply(error), False
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


@dataclass(eq=False)
class _Pending:
    """A task waiting for a worker, and where its reply goes."""

    task: dict
    seconds: float
    batch: tuple | None  # tasks with the same key may be scored together; None: alone
    size: int = 0  # bytes of the upload (a batch's uploads together stay within ``batch_bytes``)
    future: Future = field(default_factory=Future)
    queued: float = field(default_factory=time.monotonic)


def _settle(item: _Pending, reply: dict | None) -> None:
    """Hand ``reply`` to the request waiting for it (unless that request was cancelled)."""
    if not item.future.done():
        with contextlib.suppress(InvalidStateError):
            item.future.set_result(reply)


def batch_key(task: dict, budget: Budget, largest: int) -> tuple[tuple | None, int]:
    """(what a ``score`` task must share with others to be scored in one frame with them: method,
    options, budget, store; the upload's bytes), the key None when it is scored alone: another kind
    of task, a file type other than JSON, or an upload above ``largest`` bytes (a large file gains
    nothing from company, and a batch's uploads together stay within ``largest``, so a batch needs
    no more memory than one upload of that size)."""
    if task.get("kind") != "score" or task.get("suffix") != ".json" or largest <= 0:
        return None, 0
    try:
        size = os.path.getsize(task["path"])
    except OSError:
        return None, 0
    if size > largest:
        return None, size
    options = tuple(sorted((str(k), repr(v)) for k, v in task["options"].items()))
    return (task["method"], options, budget.memory_bytes, budget.seconds, task["store"]), size


class ScoringPool:
    """``size`` worker processes; :meth:`run` queues a task, and ``size`` dispatcher threads each take
    an idle worker and send it the oldest task.

    **Micro-batching**: single-building ``score`` tasks (JSON uploads) that are queued while every
    worker is busy go to the next free worker together, up to ``batch_size`` at once and
    ``batch_bytes`` of uploads together, and are scored there as one frame (:meth:`ScoringEngine.score_many
    <mpeil.service.scoring.ScoringEngine.score_many>`; each gets exactly the answer it gets alone).
    A dispatcher that finds no other worker idle waits up to ``batch_wait`` seconds for company
    before sending; with a worker idle nothing waits. A batch that fails as a whole (over its
    budget, a worker that died) is sent again task by task, each under its own budget.
    The pool serves any event loop (the server's, or a test client's).
    """

    def __init__(
        self,
        size: int,
        signing_key: bytes,
        start_seconds: float = 120.0,
        batch_size: int = 1,
        batch_wait: float = 0.0,
        batch_bytes: int = 0,
    ) -> None:
        self.size, self.signing_key, self.start_seconds = size, signing_key, start_seconds
        self.batch_size, self.batch_wait, self.batch_bytes = max(1, batch_size), max(0.0, batch_wait), batch_bytes
        self._context = multiprocessing.get_context("spawn")  # the server has threads: never fork it
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._pending: collections.deque[_Pending] = collections.deque()
        self._arrived = threading.Condition()
        self.waiting = 0  # tasks sent and not yet answered (a metric)
        self.batches = 0  # tasks scored in company (a metric)
        self._busy = 0  # workers scoring now
        self.closed = False
        self._dispatchers = [
            threading.Thread(target=self._dispatch, name="mpeil-pool-dispatch", daemon=True) for _ in range(size)
        ]
        for thread in self._dispatchers:
            thread.start()

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
        if len(self._workers) < self.size:
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

    # ------------------------------------------------------------------ dispatch
    def _dispatch(self) -> None:
        """A dispatcher thread: an idle worker, then the oldest task (and its batch), until closed."""
        while not self.closed:
            try:
                worker = self._idle.get(timeout=0.25)
            except queue.Empty:
                self._refuse_stale()
                continue
            items = self._take()
            if not items:
                self._idle.put(worker)
                continue
            try:
                self._send(worker, items)
            except Exception:  # a bug here must not strand the requests: each answered as a failed task
                log.exception("scoring dispatch failed")
                for item in items:
                    _settle(item, None)

    def _refuse_stale(self) -> None:
        """Every worker gone and none restarting: tasks that waited ``start_seconds`` are answered 503."""
        busy: dict = {"error": ("Busy", "no scoring worker is available; try again in a minute", 503, {})}
        now = time.monotonic()
        with self._arrived:
            while self._pending and now - self._pending[0].queued >= self.start_seconds:
                _settle(self._pending.popleft(), busy)

    def _take(self) -> list[_Pending]:
        """The oldest task and, when it can be batched, the queued tasks with its key (waiting up to
        ``batch_wait`` for company when no other worker is idle); [] after a short wait for none."""
        with self._arrived:
            if not self._pending and not self._arrived.wait_for(lambda: self._pending or self.closed, 0.25):
                return []
            if self.closed or not self._pending:
                return []
            first = self._pending.popleft()
            if first.future.cancelled():  # its request is gone (the client left): nothing to score
                return []
            items = [first]
            if first.batch is None or self.batch_size == 1:
                return items
            # company is worth a short wait only when every other worker is scoring (else one is free now)
            others_busy = self._busy >= max(1, len(self._workers)) - 1
            deadline = time.monotonic() + (self.batch_wait if others_busy else 0.0)
            room = self.batch_bytes - first.size
            while True:
                for item in [i for i in self._pending if i.batch == first.batch and not i.future.cancelled()]:
                    if len(items) >= self.batch_size or item.size > room:
                        break
                    self._pending.remove(item)
                    items.append(item)
                    room -= item.size
                left = deadline - time.monotonic()
                if len(items) >= self.batch_size or room <= 0 or left <= 0:
                    return items
                self._arrived.wait(left)

    def _send(self, worker: _Worker, items: list[_Pending]) -> None:
        """One exchange with ``worker``: one task, or a batch (then split back, or sent again alone)."""
        if len(items) == 1:
            _settle(items[0], self._exchange(worker, items[0].task, items[0].seconds))
            return
        batch = {"kind": "score_many", "tasks": [i.task for i in items], "memory_bytes": items[0].task["memory_bytes"]}
        reply = self._exchange(worker, batch, max(i.seconds for i in items))
        replies = reply.get("ok") if reply is not None and "ok" in reply else None
        if replies is None or len(replies) != len(items):  # the batch failed as a whole: each alone, first in line
            with self._arrived:
                for item in reversed(items):
                    item.batch = None
                    self._pending.appendleft(item)
                self._arrived.notify_all()
            return
        self.batches += len(items)
        for item, one in zip(items, replies, strict=True):
            _settle(item, one)

    def _exchange(self, worker: _Worker, task: dict, seconds: float) -> dict | None:
        """Send the task to ``worker`` and wait for the reply (None: too late or the worker died)."""
        reply = None
        with self._lock:
            self._busy += 1
        try:
            worker.connection.send(task)
            if worker.connection.poll(seconds):
                reply = worker.connection.recv()
        except (EOFError, OSError):
            reply = None
        finally:
            with self._lock:
                self._busy -= 1
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
        key, size = batch_key(task, budget, self.batch_bytes) if self.batch_size > 1 else (None, 0)
        item = _Pending(task, budget.seconds, key, size)
        started = time.monotonic()
        self.waiting += 1
        try:
            with self._arrived:
                self._pending.append(item)
                self._arrived.notify()
            reply = await asyncio.wrap_future(item.future)
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
        closing: dict = {"error": ("Busy", "the scoring service is stopping; try again in a minute", 503, {})}
        with self._arrived:
            while self._pending:
                _settle(self._pending.popleft(), closing)
            self._arrived.notify_all()


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

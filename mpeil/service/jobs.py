"""Batch jobs: queued in the SQLite store, run by ``mpeil.batch.run_batch`` in a worker process.

A job is always run with ``resume=True`` on its own output folder, so a job that was running when
the server died (even by SIGKILL) is queued again at start-up and continues from its chunk journal:
finished chunks are kept, unfinished ones redone, nothing is lost or duplicated. A worker holds an
exclusive lock on its job folder and exits when the server that started it is gone, so two workers
never write one job.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .store import Store

__all__ = ["JobRunner", "job_progress", "display_label", "run_job"]


def _watch_parent(parent: int) -> None:
    """Exit this worker as soon as the server that started it is gone (killed or crashed)."""
    while True:
        if os.getppid() != parent:
            os._exit(3)
        time.sleep(0.2)


def run_job(store_root: str, job_id: str, jobs: int, scheduler: str | None, limits: dict, parent: int) -> None:
    """Worker process body: run (or resume) one job's batch and record how it ended."""
    from ..batch import run_batch
    from ..batch.inputs import UsageError
    from ..errors import MpeilError

    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    store = Store(Path(store_root))
    job = store.job(job_id)
    if job is None:
        return
    folder = store.job_dir(job_id)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # waits for a worker of an earlier server still finishing
        try:
            summary = run_batch(
                [str(folder / "inputs")],
                str(folder / "out"),
                job["method"],
                jobs=jobs,
                scheduler=scheduler,
                chunk_size=job["chunk_size"],
                resume=True,
                method_options=job["options"],
                as_of=job["as_of"],
                limits=_limits(limits),
            )
        except (MpeilError, UsageError, OSError) as error:
            store.finish_job(job_id, "failed", f"{type(error).__name__}: {error}")
            return
        store.finish_job(job_id, "done", None, summary.buildings, summary.errors)


def _limits(values: dict[str, Any]):
    from ..batch.limits import Limits

    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return Limits(**fields)


class JobRunner:
    """Threads that take queued jobs from the store and run each in a fresh worker process."""

    def __init__(self, store: Store, settings) -> None:
        self.store, self.settings = store, settings
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self.store.requeue_orphans(self.settings.job_attempts)
        for number in range(self.settings.batch_workers):
            thread = threading.Thread(target=self._loop, name=f"mpeil-jobs-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            job = self.store.claim_job()
            if job is None:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            process = self._spawn(job["id"])
            while process.poll() is None and not self._stop.is_set():
                time.sleep(0.25)
            if self._stop.is_set() and process.poll() is None:
                process.terminate()  # shutdown: the job stays 'running' and resumes at the next start
                process.wait()
                return
            after = self.store.job(job["id"])
            if after is not None and after["status"] == "running":
                self.store.finish_job(job["id"], "failed", f"the worker process ended with code {process.returncode}")

    def _spawn(self, job_id: str) -> subprocess.Popen:
        """A fresh interpreter per job (``python -m mpeil.service.jobs``), so a batch never shares the server's memory."""
        settings = self.settings
        arguments = [
            sys.executable,
            "-m",
            "mpeil.service.jobs",
            str(self.store.root),
            job_id,
            str(settings.batch_jobs),
            settings.scheduler or "",
            json.dumps(settings.limits.as_dict()),
            str(os.getpid()),
        ]
        return subprocess.Popen(arguments, stdin=subprocess.DEVNULL)


def job_progress(store: Store, job: dict) -> dict:
    """Files and chunks done so far, from the batch's own journal (the truth after a restart)."""
    out = store.job_dir(job["id"]) / "out"
    run, done_files, done_chunks = {}, 0, 0
    run_path = out / "_journal" / "run.json"
    if run_path.exists():
        run = json.loads(run_path.read_text(encoding="utf-8"))
        for path in (out / "_journal").glob("chunk-*.json"):
            entry = json.loads(path.read_text(encoding="utf-8"))
            done_files += int(entry["files"])
            done_chunks += 1
    files = int(run.get("files", job["files"]))
    return {
        "files": files,
        "files_done": files if job["status"] == "done" else done_files,
        "chunks": run.get("chunks"),
        "chunks_done": done_chunks,
        "fraction": 1.0 if job["status"] == "done" else (done_files / files if files else 0.0),
    }


_INPUT = re.compile(r"^.*?[/\\]inputs[/\\](\d{5})(\.[a-z]+)")


def display_label(label: str | None, names: list[str]) -> str | None:
    """A batch table's ``file`` column with the server's input path replaced by the uploaded name."""
    if not label:
        return label
    match = _INPUT.match(label)
    if not match or int(match.group(1)) >= len(names):
        return label
    return names[int(match.group(1))] + label[match.end() :]


def main(argv: list[str]) -> None:
    """``python -m mpeil.service.jobs STORE JOB_ID JOBS SCHEDULER LIMITS_JSON PARENT_PID`` (the runner's worker)."""
    store_root, job_id, jobs, scheduler, limits, parent = argv
    run_job(store_root, job_id, int(jobs), scheduler or None, json.loads(limits), int(parent))


if __name__ == "__main__":
    main(sys.argv[1:])

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

__all__ = ["JobRunner", "job_progress", "display_label", "run_job", "verify_job"]


def _watch_parent(parent: int) -> None:
    """Exit this worker as soon as the server that started it is gone (killed or crashed)."""
    while True:
        if os.getppid() != parent:
            os._exit(3)
        time.sleep(0.2)


def run_job(
    store_root: str, job_id: str, jobs: int, scheduler: str | None, limits: dict, parent: int, key_file: str = ""
) -> None:
    """Worker process body: run (or resume) one job's batch, sign its outputs and record how it ended."""
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
        if key_file:
            from .signing import load_key, sign_directory

            sign_directory(folder / "out", load_key(Path(key_file), Path(store_root)))
        if (store.job(job_id) or {}).get("status") == "running":  # not cancelled meanwhile
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
            started = time.monotonic()
            process = self._spawn(job["id"])
            ended = self._watch(job, process, started)
            if ended == "stop":
                return
            after = self.store.job(job["id"])
            if after is not None and after["status"] == "running" and ended == "exited":
                self.store.finish_job(job["id"], "failed", f"the worker process ended with code {process.returncode}")

    def _watch(self, job: dict, process: subprocess.Popen, started: float) -> str:
        """Wait for a job's worker: ``exited``, ``paused`` (another tenant's turn), ``cancelled`` or ``stop``."""
        checked = time.monotonic()
        while process.poll() is None:
            if self._stop.is_set():
                _end(process)  # shutdown: the job stays 'running' and resumes at the next start
                return "stop"
            time.sleep(0.1)
            if time.monotonic() - checked < 0.5:
                continue
            checked = time.monotonic()
            status = (self.store.job(job["id"]) or {}).get("status")
            if status == "cancelled":
                _end(process)
                return "cancelled"
            slice_over = time.monotonic() - started >= self.settings.batch_slice_seconds
            if slice_over and self.store.others_waiting(job["owner"]):
                _end(process)  # resumes from its chunk journal when its owner's turn comes again
                self.store.pause_job(job["id"])
                return "paused"
        return "exited"

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
            str(settings.receipt_key_file or self.store.root / "receipt-key"),
            str(settings.batch_nice),
        ]
        return subprocess.Popen(arguments, stdin=subprocess.DEVNULL)


def _end(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def verify_job(store: Store, job: dict, key: bytes) -> dict:
    """A finished batch checked: tables against the manifest and receipts, and the server's signature."""
    from ..batch.outputs_check import check_outputs
    from .signing import check_directory

    out = store.job_dir(job["id"]) / "out"
    problems = check_outputs(out)
    signature = check_directory(out, key)
    if signature:
        problems.insert(0, signature)
    return {"job_id": job["id"], "ok": not problems, "problems": problems, "signature": "bad" if signature else "ok"}


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
    """``python -m mpeil.service.jobs STORE JOB_ID JOBS SCHEDULER LIMITS_JSON PARENT_PID KEY_FILE [NICE]`` (the
    runner's worker). ``NICE``: niceness added to this process (and the chunk processes it starts), so the
    single-building requests a person waits for get the CPU first and the batch takes what they leave."""
    store_root, job_id, jobs, scheduler, limits, parent, key_file = argv[:7]
    if len(argv) > 7 and int(argv[7]) > 0:
        os.nice(int(argv[7]))
    run_job(store_root, job_id, int(jobs), scheduler or None, json.loads(limits), int(parent), key_file)


if __name__ == "__main__":
    main(sys.argv[1:])

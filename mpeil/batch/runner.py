"""Run a batch: find inputs, cut them into chunks, score the chunks (here, in processes or on Dask),
write each chunk's outputs atomically, and assemble the final tables.

The driver never holds results: workers read, score and write their chunk themselves and
return a few counts. Memory is bounded by the chunk size times the number of chunks in flight
(two per worker), whatever the number of buildings.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .. import __version__
from ..engine.profiles import keep_route_burdens, route_burdens
from ..errors import InputError, MpeilError
from ..limits import Limits, load_limits
from ..model.indicators import EN15804_A2_CORE_AND_ADDITIONAL
from ..model.library import EPDLibrary
from ..model.scenarios import ScenarioSet
from .budget import Outcome, die_with_parent, isolation_available, run_with_budget
from .core import (
    ChunkTables,
    ScoringOptions,
    build_context,
    error_row,
    freeze_options,
    score_inputs,
    scoring_context,
)
from .inputs import InputItem, ReadInput, UsageError, discover, read_item
from .lock import locked_output
from .store import OutputDir, file_sha256

__all__ = [
    "BatchSummary",
    "ChunkTask",
    "ChunkReport",
    "run_batch",
    "run_chunk",
    "DEFAULT_CHUNK_SIZE",
    "CHUNK_MULTIPLE",
    "CHUNK_MULTIPLE_MIN_FILES",
    "default_chunk_size",
    "TEST_DELAY_VARIABLE",
]

#: largest chunk when none is given: 200 one-building files are about 1.3 s of one worker's CPU and
#: 50 MB of its memory (a pure performance knob; ``--chunk-size`` sets it)
DEFAULT_CHUNK_SIZE = 200
#: without a chunk size given, a batch is cut into a multiple of this many chunks of equal size (at
#: most DEFAULT_CHUNK_SIZE files), so 1, 2 or 4 workers finish together: 600 files were 3 chunks of
#: 200, and with ``--jobs 2`` the third ran alone (a third of the run on one core); they are now 4
#: of 150. It depends only on the number of files, never on the workers, so every executor writes
#: the same chunks. A pure performance knob.
CHUNK_MULTIPLE = 4
#: ... but no chunk of fewer files than this for that (each chunk costs a fork, an engine set-up and
#: three fsynced parts: a few hundredths of a second); 10 files stay one chunk
CHUNK_MULTIPLE_MIN_FILES = 50
#: seconds to sleep before each chunk, read only in the driver's chunk loop (tests use it to kill a run midway)
TEST_DELAY_VARIABLE = "MPEIL_BATCH_TEST_DELAY"


@dataclass(frozen=True)
class ChunkTask:
    chunk: int
    items: tuple[InputItem, ...]
    options: ScoringOptions
    out_dir: str
    library: EPDLibrary | None = None  # None = shipped library (loaded once per worker)
    scenarios: ScenarioSet | None = None
    #: building id → file of an earlier chunk that has it (set when a chunk is run again for duplicates)
    claimed: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ChunkReport:
    chunk: int
    files: int
    files_failed: int
    buildings: int
    errors: int


@dataclass
class BatchSummary:
    """What a batch did. ``exit_code``: 0 every input scored, 1 some inputs could not be scored."""

    out_dir: Path
    files: int = 0
    files_scored: int = 0
    files_failed: int = 0
    buildings: int = 0
    errors: int = 0
    chunks: int = 0
    chunks_resumed: int = 0
    files_processed: int = 0  # in this run (not in chunks finished by an earlier, interrupted one)
    seconds: float = 0.0
    executor: str = "serial"
    manifest: dict = field(default_factory=dict, repr=False)

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0

    @property
    def files_per_second(self) -> float:
        """Input files read and scored per second in this run."""
        return self.files_processed / self.seconds if self.seconds > 0 else float("nan")


# ============================================================================ one chunk (runs on a worker)
def labels_sha256(items: Iterable[InputItem]) -> str:
    digest = hashlib.sha256()
    for item in items:
        digest.update(item.label.encode("utf-8") + b"\n")
    return digest.hexdigest()


def run_chunk(task: ChunkTask) -> ChunkReport:
    """Read, score and write one chunk; returns its counts. Bad inputs are error rows, never exceptions.

    The chunk is scored in a child process with a time and memory budget (:func:`_chunk_seconds`,
    ``memory_per_file`` in ``data/batch_limits.csv``); when it goes over, each file is scored on its
    own budget (``seconds_per_file``) and a file that still goes over becomes an error row.
    """
    if task.library is None and task.scenarios is None:
        context = scoring_context(task.options)
    else:
        context = build_context(task.options, task.library, task.scenarios)
    tables, read_errors = score_within_budget(task.items, context, task.chunk, dict(task.claimed), task.out_dir)
    by_label = {**read_errors, **{row["file"]: row for row in tables.errors}}
    errors = [by_label[item.label] for item in task.items if item.label in by_label]
    entry = {
        "chunk": task.chunk,
        "labels_sha256": labels_sha256(task.items),
        "files": len(task.items),
        "files_failed": len(errors),
        "buildings": len(tables.summary),
        "errors": len(errors),
        "receipts": [item["name"] for item in tables.receipts],
    }
    store = OutputDir(task.out_dir)
    if not tables.results_written:
        store.write_results(task.chunk, tables.results)
    store.write_rest(task.chunk, tables.summary, errors, tables.receipts, entry)
    return ChunkReport(task.chunk, len(task.items), len(errors), len(tables.summary), len(errors))


def _read_and_score(
    items: Sequence[InputItem], context, chunk: int, claimed: dict[str, str]
) -> tuple[ChunkTables, dict[str, dict]]:
    """Read and score some inputs in this process: the tables and the read errors by label."""
    limits = context.options.limits
    reads, read_errors = [], {}
    archives: dict = {}
    try:
        with tempfile.TemporaryDirectory(prefix="mpeil-batch-") as scratch:
            for item in items:
                try:
                    reads.append(read_item(item, limits, archives, scratch))
                except MpeilError as error:
                    sha256 = getattr(error, "input_sha256", None)
                    read_errors[item.label] = error_row(error, item.label, sha256, chunk)
    finally:
        for archive in archives.values():
            archive.close()
    return score_inputs(reads, context, chunk, claimed), read_errors


#: young-generation threshold of the cyclic garbage collector in a budgeted child (Python's default:
#: 700 allocations). Reading a chunk allocates millions of small objects that live until the chunk
#: is written, so collecting every 700 allocations is wasted work (about 7 % of a chunk's CPU). A
#: pure performance knob: the child ends with its chunk, and its memory budget still applies.
_CHILD_GC_THRESHOLD = 10_000


def _child_gc() -> None:
    """In a budgeted child: leave the inherited objects (library, context) out of every collection
    (``gc.freeze``: they outlive the child) and collect the young generation less often."""
    gc.freeze()
    gc.set_threshold(_CHILD_GC_THRESHOLD, *gc.get_threshold()[1:])


def _read_and_score_in_child(
    items: Sequence[InputItem], context, chunk: int, claimed: dict[str, str]
) -> tuple[ChunkTables, dict[str, dict]]:
    """:func:`_read_and_score` in a budgeted child (one file scored on its own after its chunk went over)."""
    _child_gc()
    return _read_and_score(items, context, chunk, claimed)


def _score_and_write_results(
    items: Sequence[InputItem], context, chunk: int, claimed: dict[str, str], out_dir: str
) -> tuple[ChunkTables, dict[str, dict], list]:
    """:func:`_read_and_score`, then write the chunk's results part here (in the budgeted child).

    The tidy results are most of a chunk's bytes (about 10,000 rows per building): sending them
    back through the pipe cost more than scoring. The parent gets the rest (one summary row and
    one receipt per building, the error rows) and the route burdens the child derived
    (:func:`_learned`); a chunk scored again file by file after this child
    went over its budget has its part written anew, so a part left by a killed child is replaced.
    """
    _child_gc()
    known = [set(route_burdens(library)) for library in _libraries(context)]
    tables, read_errors = _read_and_score(items, context, chunk, claimed)
    OutputDir(out_dir).write_results(chunk, tables.results)
    return dataclasses.replace(tables, results=None, results_written=True), read_errors, _learned(context, known)


# ============================================================================ what a chunk's child learned
# The end-of-life route burdens (``mpeil.engine.profiles.route_burden``: per route, module and waste
# category, memoised on the library) a chunk needs beyond those the stored library holds cost its
# child about 0.15 s CPU, and died with it: every chunk derived them again (0.75 ms per file in
# chunks of 200). The child hands back the ones it derived and the parent (the driver, or a pool
# worker) keeps them on its library, so the chunks it forks later start with them; the engine
# owns the keys (``route_burdens``, ``keep_route_burdens``), so keeping them changes no number.


def _libraries(context) -> list[EPDLibrary]:
    """The distinct libraries the batch context's engine runs score with, in run order."""
    found: dict[int, EPDLibrary] = {}
    for run in context.runs:
        found.setdefault(id(run.context.library), run.context.library)
    return list(found.values())


def _learned(context, known: list[set]) -> list[dict[tuple, np.ndarray]]:
    """Per library (in :func:`_libraries` order), the route burdens derived in this process since
    ``known`` (each library's :func:`route_burdens` keys then)."""
    learned = []
    for library, before in zip(_libraries(context), known, strict=True):
        burdens = route_burdens(library)
        learned.append({key: burden for key, burden in burdens.items() if key not in before})
    return learned


def _keep_learned(context, learned: list[dict[tuple, np.ndarray]]) -> None:
    """Keep the route burdens a child derived on this process's libraries (read-only, as derived)."""
    for library, burdens in zip(_libraries(context), learned, strict=True):
        keep_route_burdens(library, burdens)


def score_within_budget(
    items: Sequence[InputItem],
    context,
    chunk: int,
    claimed: dict[str, str] | None = None,
    out_dir: str | None = None,
) -> tuple[ChunkTables, dict[str, dict]]:
    """:func:`_read_and_score` under the chunk's budget, then file by file when it goes over.

    ``claimed``: building id → file of earlier chunks (a later file repeating an id is an error row).
    ``out_dir``: the batch's output directory; given, a chunk scored whole in its child has its
    results part written there, and its tables come back without them (``results_written``).
    """
    claimed = dict(claimed or {})
    if not isolation_available() or not items:
        return _read_and_score(items, context, chunk, claimed)
    context.library.memo(("mpeil.batch.warm", id(context)), lambda: _warm_up(context))
    limits = context.options.limits
    seconds, memory = limits.seconds_per_file, limits.memory_per_file
    deadline = _chunk_seconds(seconds, len(items))
    if out_dir is None:
        outcome = run_with_budget(_read_and_score_in_child, (items, context, chunk, claimed), deadline, memory)
    else:
        outcome = run_with_budget(_score_and_write_results, (items, context, chunk, claimed, out_dir), deadline, memory)
    if outcome.status == "ok" and out_dir is not None:
        tables, read_errors, learned = outcome.value
        _keep_learned(context, learned)
        return tables, read_errors
    if outcome.status == "ok":
        return outcome.value
    if len(items) == 1:
        return ChunkTables(None, pd.DataFrame(), [], []), {items[0].label: _budget_error(items[0], outcome, chunk)}
    parts, read_errors = [], {}
    for item in items:
        one = run_with_budget(_read_and_score_in_child, ((item,), context, chunk, claimed), seconds, memory)
        if one.status == "ok":
            parts.append(one.value[0])
            read_errors.update(one.value[1])
            for building in one.value[0].summary.get("building", []):  # file by file: ids claimed in order
                claimed.setdefault(building, item.label)
        else:
            read_errors[item.label] = _budget_error(item, one, chunk)
    return _merge(parts), read_errors


def _warm_up(context) -> bool:
    """Score one tiny building of our own in this process, once per context.

    The library's indicator tensors are built on first use and cached in the process; children
    forked afterwards inherit them instead of each building them again (about 1.5 s per chunk).
    """
    from ..model import Building

    kinds = context.library.datasets["declared_unit"].astype("object")
    per_kg = context.library.datasets["dataset_id"][kinds == "kg"]
    if per_kg.empty:
        return False
    layer = {"product": str(per_kg.iloc[0]), "amount": 1.0, "unit": "kg", "service_life_years": 50}
    building = Building.model_validate(
        {"id": "warm-up", "gross_floor_area_m2": 100, "elements": [{"id": "e", "quantity": 1, "layers": [layer]}]}
    )
    try:
        score_inputs([ReadInput("warm-up", "", [building])], context, 0, {})
    except Exception:  # a warm-up only: a library it cannot score still scores real files (in the children)
        return False
    return True


def _resume_collection() -> None:
    """When the caller turned cyclic garbage collection off for the start-up (``mpeil batch`` does:
    the imports and the library are ~200,000 long-lived objects the collector would walk again and
    again), freeze what the start-up made (``gc.freeze``: never collected, shared with the forked
    workers) and turn collection back on for the chunks. Does nothing when collection is on."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def _chunk_seconds(seconds_per_file: float, files: int) -> float:
    """The deadline of a whole chunk: one file's budget plus a fiftieth of it per file.

    Real files score in well under a second, so a chunk of 200 gets 5 × 60 s; a chunk holding a
    file that hangs is stopped after that, not after 200 × 60 s, and its files are then scored
    one by one, each with the full budget of one file.
    """
    return seconds_per_file * (1 + files / 50)


def _budget_error(item: InputItem, outcome: Outcome, chunk: int) -> dict:
    """The error row of a file that went over its budget (or crashed its process)."""
    limits_field = {"timeout": "seconds_per_file", "memory": "memory_per_file"}.get(outcome.status)
    if outcome.status == "timeout":
        message = f"scoring the file took longer than its budget of {outcome.seconds:,.0f} s (data/batch_limits.csv)"
    elif outcome.status == "memory":
        message = "scoring the file needed more memory than its budget (memory_per_file, data/batch_limits.csv)"
    elif outcome.status == "error":
        error = outcome.value
        row = error_row(error, item.label, getattr(error, "input_sha256", None), chunk)
        if not isinstance(error, MpeilError):
            row["error_type"] = f"InternalError:{type(error).__name__}"
        return row
    else:
        message = f"the process scoring the file ended abnormally (signal or exit code {outcome.value})"
    return error_row(InputError(message, field=limits_field), item.label, None, chunk)


def _merge(parts: list[ChunkTables]) -> ChunkTables:
    scored = [p for p in parts if len(p.summary)]
    return ChunkTables(
        pa.concat_tables([p.results for p in scored]) if scored else None,
        pd.concat([p.summary for p in scored], ignore_index=True) if scored else pd.DataFrame(),
        [row for p in parts for row in p.errors],
        [r for p in scored for r in p.receipts],
    )


# ============================================================================ executors
def _test_delay() -> float:
    try:
        return float(os.environ.get(TEST_DELAY_VARIABLE, "0") or 0)
    except ValueError:
        return 0.0


def _serial(tasks: Iterable[ChunkTask], on_done: Callable[[ChunkReport], None]) -> None:
    delay = _test_delay()
    for task in tasks:
        if delay:
            time.sleep(delay)
        on_done(run_chunk(task))


def _bounded(submit, collect, tasks: Iterable[ChunkTask], window: int, on_done) -> None:
    """Keep at most ``window`` chunks in flight; report each as it finishes."""
    delay = _test_delay()
    pending: set = set()
    iterator = iter(tasks)
    exhausted = False
    while True:
        while not exhausted and len(pending) < window:
            task = next(iterator, None)
            if task is None:
                exhausted = True
                break
            if delay:
                time.sleep(delay)
            pending.add(submit(task))
        if not pending:
            return
        for future in collect(pending):
            pending.discard(future)
            on_done(future.result())


def _start_method() -> str:
    """``fork`` on Linux when this process runs no other thread, else ``spawn``.

    Forked workers start with the driver's modules, library and warmed scoring context (a spawned
    worker imports mpeil and loads the library again: about 2 s of each worker's CPU before its
    first chunk). A process with other threads (a service, a progress bar already drawing) spawns:
    a thread holding a lock at the fork would leave the lock held in the worker for ever.
    """
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return "fork"
    return "spawn"


def _start_pool(jobs: int) -> ProcessPoolExecutor:
    """A pool of ``jobs`` workers, started now (forked ones before any thread of the driver starts)."""
    method = _start_method()
    pool = ProcessPoolExecutor(
        max_workers=jobs, mp_context=multiprocessing.get_context(method), initializer=die_with_parent
    )
    if method == "fork":
        pool.submit(int).result()  # forks every worker here (Python forks them all at the first task)
    return pool


def _process_pool(tasks, pool: ProcessPoolExecutor, jobs: int, on_done) -> None:
    with pool:
        try:
            _bounded(
                lambda t: pool.submit(run_chunk, t),
                lambda pending: wait(pending, return_when=FIRST_COMPLETED).done,
                tasks,
                2 * jobs,
                on_done,
            )
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _dask(tasks, scheduler: str, on_done, run_id: str) -> None:
    from dask.distributed import Client, LocalCluster
    from dask.distributed import wait as dask_wait

    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        workers = max(1, sum(client.nthreads().values()))
        _bounded(
            lambda t: client.submit(run_chunk, t, key=f"mpeil-chunk-{run_id}-{t.chunk}", retries=1),
            lambda pending: dask_wait(list(pending), return_when="FIRST_COMPLETED").done,
            tasks,
            2 * workers,
            on_done,
        )
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# ============================================================================ progress
class _Progress:
    def __init__(self, total_files: int, already: int, errors: int, enabled: bool) -> None:
        self.total, self.done, self.errors = total_files, already, errors
        self.start, self.in_run = time.perf_counter(), 0
        self.progress = None
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(
                TextColumn("[bold]scoring"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("files"),
                TextColumn("{task.fields[rate]} files/s"),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                TextColumn("elapsed"),
                TimeElapsedColumn(),
                TextColumn("[red]{task.fields[errors]} errors"),
                console=Console(stderr=True),
                transient=False,
                refresh_per_second=4,
            )
            self.task = self.progress.add_task("batch", total=total_files, completed=already, rate="-", errors=errors)

    def __enter__(self):
        if self.progress:
            self.progress.start()
        return self

    def __exit__(self, *exc):
        if self.progress:
            self.progress.stop()
        return False

    def advance(self, report: ChunkReport) -> None:
        self.done += report.files
        self.in_run += report.files
        self.errors += report.errors
        if self.progress:
            elapsed = time.perf_counter() - self.start
            rate = f"{self.in_run / elapsed:,.1f}" if elapsed > 0 else "-"
            self.progress.update(self.task, advance=report.files, rate=rate, errors=self.errors)


# ============================================================================ the batch
def default_chunk_size(files: int) -> int:
    """Files per chunk when none is given: ``files`` spread evenly over the fewest chunks of at most
    :data:`DEFAULT_CHUNK_SIZE` files, their number rounded up to a multiple of :data:`CHUNK_MULTIPLE`
    unless that makes chunks of fewer than :data:`CHUNK_MULTIPLE_MIN_FILES` files.

    600 files → 150 (4 chunks); 1,000,000 → 200 (5,000 chunks); 650 → 163 (4); 120 → 60 (2);
    10 → 10 (1).
    """
    least = -(-files // DEFAULT_CHUNK_SIZE)
    chunks = max(least, min(-(-least // CHUNK_MULTIPLE) * CHUNK_MULTIPLE, files // CHUNK_MULTIPLE_MIN_FILES))
    return max(1, -(-files // max(chunks, 1)))


def _chunks(items: Sequence[InputItem], size: int) -> list[tuple[InputItem, ...]]:
    return [tuple(items[i : i + size]) for i in range(0, len(items), size)]


def _method_reference(method: str | os.PathLike) -> str:
    """A shipped method's name as it is; a method file as an absolute path (workers may run elsewhere)."""
    text = os.fspath(method)
    return os.path.abspath(text) if text.endswith(".toml") and os.path.isfile(text) else text


def _limits(limits: Limits | None, max_file_size, max_zip_ratio, max_zip_total) -> Limits:
    base = limits if limits is not None else load_limits()
    return base.replace(
        file_size=max_file_size, zip_compression_ratio=max_zip_ratio, zip_uncompressed_total=max_zip_total
    )


def run_batch(
    inputs: Sequence[str | os.PathLike] | str | os.PathLike, out_dir: str | os.PathLike, *args, **kwargs
) -> BatchSummary:
    """Score every building file named by ``inputs`` into ``out_dir``, holding the directory's lock.

    Arguments as :func:`_run_batch`. A second batch into the same ``out_dir`` while this one runs
    is refused with :class:`~mpeil.batch.lock.OutputLockedError` (a :class:`UsageError`).
    """
    with locked_output(out_dir):
        return _run_batch(inputs, out_dir, *args, **kwargs)


def _run_batch(
    inputs: Sequence[str | os.PathLike] | str | os.PathLike,
    out_dir: str | os.PathLike,
    method: str | os.PathLike = "mpeil-ef31",
    *,
    jobs: int = 1,
    scheduler: str | None = None,
    chunk_size: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    duckdb: bool = False,
    gwp_method: str | None = "gwp",
    method_options: dict | None = None,
    library_sources: Sequence[str] | None = None,
    report_indicators: Sequence[str] = EN15804_A2_CORE_AND_ADDITIONAL,
    as_of: str | None = None,
    limits: Limits | None = None,
    max_file_size: int | None = None,
    max_zip_ratio: float | None = None,
    max_zip_total: int | None = None,
    progress: bool = False,
    library: EPDLibrary | None = None,
    scenarios: ScenarioSet | None = None,
) -> BatchSummary:
    """Score every building file named by ``inputs`` into ``out_dir``; see ``mpeil/batch/README.md``.

    Parameters
    ----------
    inputs:
        Files, folders (recursive), globs and ``.zip`` archives of JSON, CSV and XLSX building files.
    out_dir:
        Output directory (created). It must be empty or hold an earlier run of this batch
        (``resume=True`` continues it, ``overwrite=True`` replaces it).
    method, method_options, gwp_method:
        Scoring method (name or TOML file) and option overrides; ``gwp_method`` scores the
        ``gwp_per_m2_yr`` column (``None`` leaves it empty).
    jobs, scheduler:
        ``jobs > 1``: a pool of ``jobs`` processes. ``scheduler``: a Dask scheduler address
        (``tcp://host:port``) or ``"local"`` (a LocalCluster of two worker processes). The
        numbers are the same bit for bit whichever runs the chunks.
    chunk_size:
        Input files per chunk (the unit of work, of atomic output and of resume). ``None``:
        :func:`default_chunk_size` of the number of files (at most 200, in a multiple of 4 chunks
        of equal size).
    as_of:
        ISO date EPD validity is judged at (default: today; recorded in every receipt).
    limits, max_file_size, max_zip_ratio, max_zip_total:
        Plausibility and safety limits (default ``data/batch_limits.csv``) and overrides.
    library, scenarios:
        Custom EPD library / scenarios (default: the shipped ones, loaded on each worker).

    Raises :class:`~mpeil.batch.inputs.UsageError` for inputs that name nothing or an output
    directory that holds something else; every problem with an input file is an error row.
    """
    started = time.perf_counter()
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    if chunk_size is not None and chunk_size < 1:
        raise UsageError("chunk size must be at least 1")
    if jobs < 1:
        raise UsageError("jobs must be at least 1")
    limits = _limits(limits, max_file_size, max_zip_ratio, max_zip_total)
    method, gwp_method = _method_reference(method), None if gwp_method is None else _method_reference(gwp_method)
    options = ScoringOptions(
        method=method,
        method_options=freeze_options(method_options),
        gwp_method=gwp_method,
        library_sources=None if library_sources is None else tuple(library_sources),
        report_indicators=tuple(report_indicators),
        **({"as_of": as_of} if as_of else {}),
        limits=limits,
    )
    items = discover(list(inputs), limits)
    chunk_size = default_chunk_size(len(items)) if chunk_size is None else chunk_size
    chunks = _chunks(items, chunk_size)
    store = OutputDir(out_dir)
    run_fingerprint = _run_fingerprint(items, chunk_size, options, library, scenarios)
    _claim(store, run_fingerprint, resume, overwrite)
    try:
        custom = library is not None or scenarios is not None
        context = build_context(options, library, scenarios) if custom else scoring_context(options)
    except MpeilError as error:
        raise UsageError(str(error)) from None
    store.prepare()
    if store.run_record() is None:
        record = {"run_fingerprint": run_fingerprint, "engine_version": __version__, "chunk_size": chunk_size}
        record |= {"chunks": len(chunks), "files": len(items), "options": options.as_dict(), "started_at": started_at}
        store.write_run_record(record)
    finished = {
        k: e
        for k, e in store.finished_chunks().items()
        if k < len(chunks) and e.get("labels_sha256") == labels_sha256(chunks[k]) and store.chunk_complete(k, e)
    }
    todo = [
        ChunkTask(k, chunk, options, str(store.root), library, scenarios)
        for k, chunk in enumerate(chunks)
        if k not in finished
    ]
    reports = {
        k: ChunkReport(k, e["files"], e["files_failed"], e["buildings"], e["errors"]) for k, e in finished.items()
    }
    executor = "dask" if scheduler else (f"processes:{jobs}" if jobs > 1 else "serial")
    if todo and not scheduler and not custom:  # forked workers (and budget children) inherit warm tensors
        context.library.memo(("mpeil.batch.warm", id(context)), lambda: _warm_up(context))
    _resume_collection()
    _run_chunks(todo, reports, len(items), jobs, scheduler, progress, run_fingerprint[:12])
    tasks = [ChunkTask(k, c, options, str(store.root), library, scenarios) for k, c in enumerate(chunks)]
    _cross_chunk_duplicates(store, tasks, reports)
    store.assemble(len(chunks))
    summary = _batch_summary(store, len(items), len(chunks), reports, set(finished), executor)
    summary.seconds = time.perf_counter() - started
    manifest = _manifest(
        store, context, options, items, chunks, summary, run_fingerprint, started_at, chunk_size, jobs, scheduler
    )
    store.write_manifest(manifest)
    if duckdb:
        store.write_duckdb()
    summary.manifest = manifest
    return summary


def _batch_summary(
    store: OutputDir, n_files: int, n_chunks: int, reports: dict[int, ChunkReport], resumed: set[int], executor: str
) -> BatchSummary:
    """Counts over every chunk; ``files_processed`` only over the chunks this run scored."""
    summary = BatchSummary(
        out_dir=store.root,
        files=n_files,
        files_failed=sum(r.files_failed for r in reports.values()),
        buildings=sum(r.buildings for r in reports.values()),
        errors=sum(r.errors for r in reports.values()),
        chunks=n_chunks,
        chunks_resumed=len(resumed),
        executor=executor,
    )
    summary.files_scored = summary.files - summary.files_failed
    summary.files_processed = sum(r.files for k, r in reports.items() if k not in resumed)
    return summary


def _run_fingerprint(
    items: Sequence[InputItem],
    chunk_size: int,
    options: ScoringOptions,
    library: EPDLibrary | None,
    scenarios: ScenarioSet | None,
) -> str:
    """What a resumed batch must share with the run it continues: inputs, chunking, options, data."""
    return hashlib.sha256(
        json.dumps(
            {
                "inputs": labels_sha256(items),
                "chunk_size": chunk_size,
                "options": options.as_dict(),
                "library": None if library is None else library.fingerprint(),
                "scenarios": None if scenarios is None else scenarios.fingerprint(),
            },
            sort_keys=True,
            default=str,
        ).encode("utf-8")
    ).hexdigest()


def _claim(store: OutputDir, run_fingerprint: str, resume: bool, overwrite: bool) -> None:
    """Make sure the output directory is new, empty, or this batch's own (resume) or to replace."""
    record = store.run_record()
    if record is not None:
        if overwrite:
            store.clear()
        elif not resume:
            raise UsageError(
                f"{store.root} holds an earlier batch; use --resume to continue it or --overwrite to replace it"
            )
        elif record.get("run_fingerprint") != run_fingerprint:
            raise UsageError(
                f"{store.root} holds a batch of other inputs or options; --resume needs the same "
                "inputs, chunk size and options (or use --overwrite)"
            )
    elif not store.is_empty() and not overwrite:
        raise UsageError(f"{store.root} is not empty and holds no batch; choose an empty or new directory")


def _run_chunks(
    todo: list[ChunkTask],
    reports: dict[int, ChunkReport],
    n_files: int,
    jobs: int,
    scheduler: str | None,
    progress: bool,
    name: str,
) -> None:
    """Score the chunks still to do (serially, in a process pool or on Dask); reports by chunk."""

    def on_done(report: ChunkReport) -> None:
        reports[report.chunk] = report
        bar.advance(report)

    already = sum(r.files for r in reports.values())
    pooled = not scheduler and jobs > 1 and len(todo) > 1
    pool = _start_pool(min(jobs, len(todo))) if pooled else None  # before the progress bar's thread
    with _Progress(n_files, already, sum(r.errors for r in reports.values()), progress) as bar:
        if not todo:
            pass
        elif scheduler:
            _dask(todo, scheduler, on_done, name)
        elif pool is not None:
            _process_pool(todo, pool, min(jobs, len(todo)), on_done)
        else:
            _serial(todo, on_done)


def _cross_chunk_duplicates(store: OutputDir, tasks: list[ChunkTask], reports: dict[int, ChunkReport]) -> None:
    """A building id scored in an earlier chunk makes the later file an error row, whichever executor ran
    the chunks: walk the chunks in order and run again (in this process) any chunk that repeats an id.
    Duplicates are rare, so this is a read of each chunk's summary part and almost never a rerun."""
    claimed: dict[str, str] = {}
    for task in tasks:
        part = store.parts / "summary" / f"part-{task.chunk:06d}.parquet"
        frame = pq.read_table(part, columns=["building", "file"]).to_pandas()
        clash = [(b, f) for b, f in zip(frame["building"], frame["file"], strict=True) if claimed.get(b, f) != f]
        if clash:
            before = set(store.finished_chunks().get(task.chunk, {}).get("receipts", []))
            rerun = dataclasses.replace(task, claimed=tuple(claimed.items()))
            reports[task.chunk] = run_chunk(rerun)
            after = set(store.finished_chunks().get(task.chunk, {}).get("receipts", []))
            for name in before - after:  # the receipt of a file that is now an error row
                (store.receipts / name).unlink(missing_ok=True)
            frame = pq.read_table(part, columns=["building", "file"]).to_pandas()
        for building, file in zip(frame["building"], frame["file"], strict=True):
            claimed.setdefault(building, file)


def _manifest(
    store: OutputDir,
    context,
    options: ScoringOptions,
    items,
    chunks,
    summary: BatchSummary,
    run_fingerprint: str,
    started_at: str,
    chunk_size: int,
    jobs: int,
    scheduler: str | None,
) -> dict:
    scores = pq.read_table(store.summary_path, columns=["file", "input_sha256", "score", "gwp_per_m2_yr"])
    errors = pq.read_table(store.errors_path, columns=["file", "input_sha256"])
    pairs = sorted(
        set(zip(scores["file"].to_pylist(), scores["input_sha256"].to_pylist(), strict=True))
        | set(zip(errors["file"].to_pylist(), [s or "" for s in errors["input_sha256"].to_pylist()], strict=True))
    )
    inputs_digest = hashlib.sha256("".join(f"{f}\t{s}\n" for f, s in pairs).encode("utf-8")).hexdigest()

    def stats(values: list) -> dict | None:
        values = [v for v in values if v is not None and v == v]
        if not values:
            return None
        return {"count": len(values), "min": min(values), "median": statistics.median(values), "max": max(values)}

    return {
        "manifest_version": 1,
        **context.provenance,
        "inputs": {
            "files": len(items),
            "list_sha256": labels_sha256(items),
            "files_and_sha256_sha256": inputs_digest,
            "note": "per-input SHA-256 in summary.parquet / errors.parquet (input_sha256) and in each receipt",
        },
        "batch_options": {
            "chunk_size": chunk_size,
            "chunks": len(chunks),
            "jobs": jobs,
            "scheduler": scheduler,
            "executor": summary.executor,
        },
        "run_fingerprint": run_fingerprint,
        "counts": {
            "files": summary.files,
            "files_scored": summary.files_scored,
            "files_failed": summary.files_failed,
            "buildings": summary.buildings,
            "errors": summary.errors,
            "chunks_resumed": summary.chunks_resumed,
        },
        "scores": {
            "method": {"name": context.method.name, **(stats(scores["score"].to_pylist()) or {})},
            "gwp_per_m2_yr": stats(scores["gwp_per_m2_yr"].to_pylist()),
        },
        "outputs": {
            "summary.parquet": file_sha256(store.summary_path),
            "errors.parquet": file_sha256(store.errors_path),
            "results": {path.name: file_sha256(path) for path in store.result_parts(len(chunks))},
        },
        "exit_code": summary.exit_code,
        "started_at": started_at,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seconds": round(summary.seconds, 3),
    }

"""``mpeil batch INPUT… --out DIR`` and ``mpeil verify RECEIPT…``.

Exit codes of ``mpeil batch``: 0 every input was scored; 1 the batch completed but some inputs
could not be scored (see ``DIR/errors.parquet``); 2 usage error (bad option, input that names
nothing, output directory holding something else), nothing was scored; 3 the batch stopped for a
reason that is not an input (disk full, a worker process killed, the Dask cluster gone): finished
chunks are kept, continue with ``--resume``; 130 interrupted (Ctrl-C): the same.

Exit codes of ``mpeil verify``: 0 every receipt verified bit for bit; 1 some did not; 2 usage error.
"""

from __future__ import annotations

import gc
import json
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from .output import OPTION_HELP, library_references, method_options, require_extra

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)i?[bB]?\s*$")
_SCALE = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def _size(text: str | None) -> int | None:
    if text is None:
        return None
    match = _SIZE.match(text)
    if not match:
        raise typer.BadParameter(f"{text!r} is not a size (e.g. 64MB, 2GB, 1000000)")
    return int(float(match.group(1)) * _SCALE[match.group(2).lower()])


@contextmanager
def one_line_notes(console) -> Iterator[None]:
    """While inside: mpeil's own warnings print as one yellow ``note`` line; others as usual."""
    from rich.markup import escape

    from ..errors import MpeilWarning

    with warnings.catch_warnings():
        shown = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None) -> None:
            if isinstance(message, MpeilWarning):
                console.print(f"[yellow]note[/yellow] {escape(str(message))}", highlight=False, soft_wrap=True)
            else:
                shown(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield


def _print_summary(summary, console) -> None:
    from rich.table import Table

    table = Table(title="mpeil batch", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    failed = f"{summary.files_failed:,}" + (" (see errors.parquet)" if summary.files_failed else "")
    chunks = f"{summary.chunks:,}" + (
        f" ({summary.chunks_resumed:,} done before, skipped)" if summary.chunks_resumed else ""
    )
    rows = [
        ("input files", f"{summary.files:,}"),
        ("scored", f"{summary.files_scored:,} files, {summary.buildings:,} buildings"),
        ("could not be scored", failed),
        ("chunks", chunks),
        ("executor", summary.executor),
        ("time", f"{summary.seconds:,.1f} s ({summary.files_per_second:,.1f} files/s)"),
        ("output", str(summary.out_dir)),
    ]
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)
    if summary.errors:
        import pyarrow.parquet as pq

        errors = pq.read_table(summary.out_dir / "errors.parquet", columns=["file", "error_type", "message"])
        counts: dict[str, int] = {}
        for kind in errors.column("error_type").to_pylist():
            counts[kind] = counts.get(kind, 0) + 1
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])
        console.print("errors by type: " + ", ".join(f"{k} {v:,}" for k, v in ranked), highlight=False)
        _print_failures(errors.to_pylist(), console)


#: failed inputs listed on screen after a batch (the rest are in errors.parquet)
_FAILURES_SHOWN = 10


def _print_failures(rows: list[dict], console) -> None:
    """The first failed inputs, each ``file: ErrorType: message`` (the error on a line of its own
    when both do not fit), cut to the console's width (80 when piped), then ``… and N more``; the
    full messages are in errors.parquet."""
    from ..sanitize import terminal_text

    width = max(console.width, 40)

    def cut(text: str, indent: int) -> str:
        text = " ".join(terminal_text(text, limit=2000).split())
        return " " * indent + (text if indent + len(text) <= width else text[: width - indent - 1] + "…")

    for row in rows[:_FAILURES_SHOWN]:
        name, error = _relative(str(row["file"])), f"{row['error_type']}: {row['message']}"
        if 2 + len(name) + 2 + len(error) <= width:
            lines = [cut(f"{name}: {error}", 2)]
        else:
            lines = [cut(name + ":", 2), cut(error, 4)]
        for line in lines:
            console.print(line, highlight=False, markup=False, soft_wrap=True)
    if len(rows) > _FAILURES_SHOWN:
        console.print(f"  … and {len(rows) - _FAILURES_SHOWN:,} more (see errors.parquet)", highlight=False)


def _relative(file: str) -> str:
    """``file`` relative to the working folder when it lies inside it (shorter on screen)."""
    import os

    try:
        relative = os.path.relpath(file)
    except ValueError:  # another drive (Windows)
        return file
    return file if relative.startswith("..") else relative


_INPUTS_HELP = "Building files (JSON, CSV, XLSX), folders, globs ('permits/**/*.json'), .zip archives"
_SCHEDULER_HELP = "Dask scheduler tcp://host:port, or 'local' (a local cluster of 2 workers)"
_INDICATORS_HELP = "Indicators of results/: 'all' (19 EN 15804+A2), 'method', or codes with commas"
_LIBRARY_HELP = "Shipped EPD source or user library folder; repeatable or with commas (e.g. obd2024,mylib/)"
_LIMIT = "(default: batch_limits.csv)"
_CHUNK_HELP = "Input files per chunk (default: at most 200, a multiple of 4 chunks of equal size)"


def batch(
    inputs: Annotated[list[str], typer.Argument(help=_INPUTS_HELP)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory")],
    method: Annotated[str, typer.Option("--method", "-m", help="Method name or TOML file")] = "mpeil-ef31",
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Worker processes on this machine")] = 1,
    scheduler: Annotated[str | None, typer.Option(help=_SCHEDULER_HELP)] = None,
    chunk_size: Annotated[int | None, typer.Option("--chunk-size", min=1, help=_CHUNK_HELP)] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run in --out")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an earlier run in --out")] = False,
    duckdb: Annotated[bool, typer.Option("--duckdb", help="Also write DIR/mpeil.duckdb")] = False,
    gwp_method: Annotated[str, typer.Option(help="Method of the gwp_per_m2_yr column ('none': empty)")] = "gwp",
    option: Annotated[list[str] | None, typer.Option("--option", help=OPTION_HELP)] = None,
    indicators: Annotated[str, typer.Option(help=_INDICATORS_HELP)] = "all",
    as_of: Annotated[str | None, typer.Option(help="Date EPD validity is judged at (default today)")] = None,
    library: Annotated[list[str] | None, typer.Option("--library", "-l", help=_LIBRARY_HELP)] = None,
    max_file_size: Annotated[str | None, typer.Option(help=f"Largest input file, e.g. 64MB {_LIMIT}")] = None,
    max_zip_ratio: Annotated[float | None, typer.Option(help=f"Largest zip compression ratio {_LIMIT}")] = None,
    max_zip_total: Annotated[str | None, typer.Option(help=f"Largest archive, uncompressed {_LIMIT}")] = None,
    progress: Annotated[
        bool | None, typer.Option("--progress/--no-progress", help="Progress bar (default: on a terminal)")
    ] = None,
) -> None:
    """Score many building files into DIR: results, summary, errors, receipts, manifest.

    Exit code 0: every input scored; 1: some inputs could not be scored (DIR/errors.parquet);
    2: usage error; 3: stopped by a system problem, 130: interrupted (both: continue with --resume).
    """
    from rich.console import Console

    console = Console(stderr=True)
    _check_date(as_of)
    _check_out(out)
    if scheduler is not None and jobs > 1:
        raise typer.BadParameter("use either --jobs (processes here) or --scheduler (Dask), not both")
    if scheduler is not None:
        require_extra("dask.distributed", "--scheduler", "batch")
    if duckdb:
        require_extra("duckdb", "--duckdb", "batch")
    settings = {
        "jobs": jobs,
        "scheduler": scheduler,
        "chunk_size": chunk_size,
        "resume": resume,
        "overwrite": overwrite,
        "duckdb": duckdb,
        "gwp_method": None if gwp_method.lower() == "none" else gwp_method,
        "method_options": method_options(option),
        "report_indicators": _report_indicators(indicators),
        "as_of": as_of,
        "library_sources": library_references(library),
        "max_file_size": _size(max_file_size),
        "max_zip_ratio": max_zip_ratio,
        "max_zip_total": _size(max_zip_total),
        "progress": sys.stderr.isatty() if progress is None else progress,
    }
    if _run_as_mpeil_batch():
        gc.disable()  # while the batch starts; run_batch turns it back on before the chunks (_resume_collection)
    summary = _run_batch(inputs, out, method, settings, console)
    _print_summary(summary, console)
    _exit_now(summary.exit_code)


def _exit_now(code: int) -> None:
    """End a finished batch with ``code`` without the interpreter's tear-down (about 0.1 s CPU:
    numpy, pandas, pyarrow and the library freed object by object), as ``mpeil score`` does
    (:func:`mpeil.cli._exit_now`: exit handlers run, output flushed, then ``os._exit``).

    Safe here: every output file was written, closed and (parts, journal, manifest) fsynced by
    ``run_batch`` before it returned, the pool is shut down and the output lock released. Only
    under the ``mpeil`` script: inside another program (``CliRunner`` in tests, an embedding
    application) it raises ``typer.Exit`` as before. Any other end (usage error, interruption,
    a stopped batch) takes the ordinary exit.
    """
    from . import _exit_now as exit_process

    if _run_as_mpeil_batch():
        exit_process(code)
    raise typer.Exit(code=code)


def _run_as_mpeil_batch() -> bool:
    """Whether this process is ``mpeil batch …`` (the script, or ``python -m mpeil batch …``), not a
    program that calls the command (tests' ``CliRunner``), whose collector and exit are its own."""
    script = Path(sys.argv[0]) if sys.argv else Path()
    named = script.stem == "mpeil" or (script.name == "__main__.py" and script.parent.name == "mpeil")
    return named and sys.argv[1:2] == ["batch"]


def _check_out(out: Path) -> None:
    """``-o gap_policy=declared`` meant ``--option``: a usage error (2), not a folder of that name."""
    from ..errors import OutputError
    from .files import check_not_option

    try:
        check_not_option(out, "--out")
    except OutputError as error:
        sys.stderr.write(f"usage error: {error}\n")
        raise typer.Exit(code=2) from None


def _check_date(as_of: str | None) -> None:
    import datetime

    if as_of is not None:
        try:
            datetime.date.fromisoformat(as_of)
        except ValueError:
            raise typer.BadParameter(f"--as-of {as_of!r} is not a date YYYY-MM-DD") from None


def _report_indicators(indicators: str) -> tuple[str, ...]:
    """``--indicators``: all 19 EN 15804+A2 indicators, the method's own (empty), or given codes."""
    from ..model.indicators import EN15804_A2_CORE_AND_ADDITIONAL, indicator_catalogue

    if indicators == "all":
        return EN15804_A2_CORE_AND_ADDITIONAL
    if indicators == "method":
        return ()
    report = tuple(code.strip() for code in indicators.split(",") if code.strip())
    unknown = [code for code in report if code not in indicator_catalogue()]
    if unknown:
        raise typer.BadParameter(f"unknown indicator code(s) {unknown} (see data/indicators.csv)")
    return report


def _run_batch(inputs: list[str], out: Path, method: str, settings: dict, console):
    """``run_batch`` with its failures as exit codes: 2 usage, 130 interrupted, 3 stopped."""
    from ..batch.inputs import UsageError
    from ..batch.runner import run_batch
    from ..sanitize import terminal_text

    with one_line_notes(console):  # an IFC reader note names the input, without a source line
        try:
            return run_batch(inputs, out, method, **settings)
        except UsageError as error:
            console.print(
                f"[red]usage error[/red]: {terminal_text(error, limit=2000)}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(code=2) from None
        except KeyboardInterrupt:
            console.print(
                f"\n[yellow]interrupted[/yellow]: finished chunks are kept in {out}; "
                "run the same command with --resume to continue",
                highlight=False,
            )
            raise typer.Exit(code=130) from None
        except Exception as exc:
            console.print(
                f"[red]the batch stopped[/red]: {type(exc).__name__}: {terminal_text(exc, limit=2000)}\n"
                f"finished chunks are kept in {out}; fix the cause and run the same command with --resume",
                highlight=False,
            )
            raise typer.Exit(code=3) from None


def verify(
    receipts: Annotated[
        list[Path], typer.Argument(help="Score receipts (DIR/receipts/*.json) or batch output directories")
    ],
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Worker processes re-scoring receipts")] = 1,
    receipt_key: Annotated[
        Path | None, typer.Option(help="The service's receipt key file: check service receipts' signatures")
    ] = None,
    library: Annotated[
        list[str] | None,
        typer.Option("--library", "-l", help="Library to re-score with (its hash must be the receipt's); repeatable"),
    ] = None,
) -> None:
    """Re-score the input named in each receipt and confirm bit-identical numbers.

    For a batch output directory, also check summary.parquet, errors.parquet and results/
    against the manifest's hashes and the receipts. Prints a total line. Exit code 0: all
    verified; 1: some did not; 2: usage error.
    """
    from rich.console import Console

    from ..batch.receipts import verify_receipts

    console = Console(stderr=True)
    receipts, failed = _check_signatures(receipts, receipt_key)  # the service's signatures (--receipt-key)
    paths, tables_failed, tables = _receipt_paths(receipts, console)
    checks = verify_receipts(paths, jobs=jobs, library_sources=library_references(library))
    for path, check in zip(paths, checks, strict=True):
        if check.ok:
            typer.echo(f"OK       {path} (building {check.building!r}, {check.numbers_compared} numbers bit-identical)")
            for note in check.notes:
                typer.echo(f"         note: {note}")
        else:
            failed += 1
            typer.echo(f"FAILED   {path} (building {check.building!r})")
            for problem in check.problems:
                typer.echo(f"         - {problem}")
    total = f"{len(paths) - failed} of {len(paths)} receipts verified"
    if tables:
        total += f", {tables - tables_failed} of {tables} batch directories' tables"
    typer.echo(f"{'TOTAL':8s} {total}" + (f"; {failed + tables_failed} FAILED" if failed + tables_failed else ""))
    raise typer.Exit(code=1 if failed or tables_failed else 0)


def _receipt_paths(receipts: list[Path], console) -> tuple[list[Path], int, int]:
    """The receipt files named or inside the folders given, the number of batch directories whose
    tables failed their check (each printed), and the number of batch directories checked."""
    from ..batch.outputs_check import check_outputs
    from ..sanitize import terminal_text

    paths: list[Path] = []
    failed = checked = 0
    for path in receipts:
        if path.is_dir():
            folder = path / "receipts" if (path / "receipts").is_dir() else path
            paths.extend(sorted(folder.glob("*.json")))
            if (path / "manifest.json").is_file():
                problems = check_outputs(path)
                checked += 1
                failed += bool(problems)
                typer.echo(f"{'FAILED' if problems else 'OK':8s} {path} (tables against the manifest and receipts)")
                for problem in problems:
                    typer.echo(f"         - {problem}")
        elif path.is_file():
            paths.append(path)
        else:
            console.print(f"[red]usage error[/red]: no such receipt {terminal_text(str(path))!r}", highlight=False)
            raise typer.Exit(code=2)
    if not paths:
        console.print("[red]usage error[/red]: no receipts found", highlight=False)
        raise typer.Exit(code=2)
    return paths, failed, checked


def register(app: typer.Typer) -> None:
    """Add ``batch`` and ``verify`` to the ``mpeil`` app."""
    app.command()(batch)
    app.command()(verify)


def _check_signatures(paths: list[Path], key_file: Path | None) -> tuple[list[Path], int]:
    """The service's HMAC signatures: a service receipt (``GET /v1/receipts/{id}``) is checked here (its
    input stays in the service: ``POST /v1/verify`` re-scores it); a batch output directory's
    ``signature.json`` too, then it is verified as usual. Returns what is left to verify and the failures."""

    from ..service.signing import check, check_directory, load_key

    if key_file is None:
        return paths, 0
    key = load_key(key_file, key_file.parent)
    left, failed = [], 0
    for path in paths:
        if path.is_dir():
            problem = check_directory(path, key)
            typer.echo(f"{'FAILED' if problem else 'OK':8s} {path} (signature of the batch outputs)")
            left.append(path)
        else:
            try:
                receipt = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                receipt = None
            if not isinstance(receipt, dict) or "signature" not in receipt:
                left.append(path)  # a batch receipt: verified by re-scoring below
                continue
            problem = check(receipt, key)
            typer.echo(f"{'FAILED' if problem else 'OK':8s} {path} (signature of a service receipt)")
        if problem:
            failed += 1
            typer.echo(f"         - {problem}")
    if not left:  # only service receipts: nothing to re-score here
        raise typer.Exit(code=1 if failed else 0)
    return left, failed

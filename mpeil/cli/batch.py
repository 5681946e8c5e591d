"""``mpeil batch INPUT… --out DIR`` and ``mpeil verify RECEIPT…``.

Exit codes of ``mpeil batch``: 0 every input was scored; 1 the batch completed but some inputs
could not be scored (see ``DIR/errors.parquet``); 2 usage error (bad option, input that names
nothing, output directory holding something else), nothing was scored; 3 the batch stopped for a
reason that is not an input (disk full, a worker process killed, the Dask cluster gone): finished
chunks are kept, continue with ``--resume``; 130 interrupted (Ctrl-C): the same.

Exit codes of ``mpeil verify``: 0 every receipt verified bit for bit; 1 some did not; 2 usage error.
"""

from __future__ import annotations

import json
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)i?[bB]?\s*$")
_SCALE = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def _size(text: str | None) -> int | None:
    if text is None:
        return None
    match = _SIZE.match(text)
    if not match:
        raise typer.BadParameter(f"{text!r} is not a size (e.g. 64MB, 2GB, 1000000)")
    return int(float(match.group(1)) * _SCALE[match.group(2).lower()])


def _option_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


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

        errors = pq.read_table(summary.out_dir / "errors.parquet", columns=["error_type"]).column(0).to_pylist()
        counts: dict[str, int] = {}
        for kind in errors:
            counts[kind] = counts.get(kind, 0) + 1
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])
        console.print("errors by type: " + ", ".join(f"{k} {v:,}" for k, v in ranked), highlight=False)


def register(app: typer.Typer) -> None:
    @app.command()
    def batch(
        inputs: Annotated[
            list[str],
            typer.Argument(
                help="Building files (JSON, CSV, XLSX), folders (recursive), globs ('permits/**/*.json') "
                "and .zip archives"
            ),
        ],
        out: Annotated[Path, typer.Option("--out", "-o", help="Output directory")],
        method: Annotated[str, typer.Option("--method", "-m", help="Method name or TOML file")] = "mpeil-ef31",
        jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Worker processes on this machine")] = 1,
        scheduler: Annotated[
            str | None,
            typer.Option(help="Dask scheduler address tcp://host:port, or 'local' for a local cluster of 2 workers"),
        ] = None,
        chunk_size: Annotated[int, typer.Option("--chunk-size", min=1, help="Input files per chunk")] = 200,
        resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run in --out")] = False,
        overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an earlier run in --out")] = False,
        duckdb: Annotated[
            bool, typer.Option("--duckdb", help="Also write DIR/mpeil.duckdb (tables results, summary, errors)")
        ] = False,
        gwp_method: Annotated[
            str, typer.Option(help="Method of the gwp_per_m2_yr column ('none': leave it empty)")
        ] = "gwp",
        option: Annotated[
            list[str] | None,
            typer.Option("--option", help="Method option KEY=VALUE, repeatable (e.g. replacement_rule=fractional)"),
        ] = None,
        indicators: Annotated[
            str,
            typer.Option(
                help="Indicators of results/: 'all' (the 19 EN 15804+A2 core and additional), 'method' (the "
                "method's), or codes separated by commas"
            ),
        ] = "all",
        as_of: Annotated[
            str | None, typer.Option(help="Date EPD validity is judged at (YYYY-MM-DD; default today)")
        ] = None,
        library: Annotated[
            str | None,
            typer.Option(
                help="Shipped EPD sources and/or user library folders (mpeil epd import), separated by commas, "
                "e.g. obd2024,mylib/ (default: all shipped sources)"
            ),
        ] = None,
        max_file_size: Annotated[
            str | None, typer.Option(help="Largest input file, e.g. 64MB (default: data/batch_limits.csv)")
        ] = None,
        max_zip_ratio: Annotated[
            float | None,
            typer.Option(help="Largest compression ratio of a zip member (default: data/batch_limits.csv)"),
        ] = None,
        max_zip_total: Annotated[
            str | None,
            typer.Option(
                help="Largest declared uncompressed size of an archive, e.g. 16GB (default: data/batch_limits.csv)"
            ),
        ] = None,
        progress: Annotated[
            bool | None,
            typer.Option(
                "--progress/--no-progress", help="Progress bar on stderr (default: when stderr is a terminal)"
            ),
        ] = None,
    ) -> None:
        """Score many building files into DIR: results, summary, errors, receipts, manifest.

        Exit code 0: every input scored; 1: some inputs could not be scored (DIR/errors.parquet);
        2: usage error; 3: stopped by a system problem, 130: interrupted (both: continue with --resume).
        """
        import datetime

        from rich.console import Console

        from ..batch.inputs import UsageError
        from ..batch.runner import run_batch
        from ..sanitize import terminal_text
        from .output import library_references

        console = Console(stderr=True)
        method_options = {}
        for text in option or []:
            if "=" not in text:
                raise typer.BadParameter(f"--option {text!r} is not KEY=VALUE")
            key, value = text.split("=", 1)
            method_options[key.strip()] = _option_value(value.strip())
        if as_of is not None:
            try:
                datetime.date.fromisoformat(as_of)
            except ValueError:
                raise typer.BadParameter(f"--as-of {as_of!r} is not a date YYYY-MM-DD") from None
        from ..model.indicators import EN15804_A2_CORE_AND_ADDITIONAL

        report: tuple[str, ...]
        if indicators == "all":
            report = EN15804_A2_CORE_AND_ADDITIONAL
        elif indicators == "method":
            report = ()
        else:
            from ..model.indicators import indicator_catalogue

            report = tuple(code.strip() for code in indicators.split(",") if code.strip())
            unknown = [code for code in report if code not in indicator_catalogue()]
            if unknown:
                raise typer.BadParameter(f"unknown indicator code(s) {unknown} (see data/indicators.csv)")
        if scheduler is not None and jobs > 1:
            raise typer.BadParameter("use either --jobs (processes here) or --scheduler (Dask), not both")
        with one_line_notes(console):  # an IFC reader note names the input, without a source line
            try:
                summary = run_batch(
                    inputs,
                    out,
                    method,
                    jobs=jobs,
                    scheduler=scheduler,
                    chunk_size=chunk_size,
                    resume=resume,
                    overwrite=overwrite,
                    duckdb=duckdb,
                    gwp_method=None if gwp_method.lower() == "none" else gwp_method,
                    method_options=method_options,
                    report_indicators=report,
                    as_of=as_of,
                    library_sources=library_references([library] if library else None),
                    max_file_size=_size(max_file_size),
                    max_zip_ratio=max_zip_ratio,
                    max_zip_total=_size(max_zip_total),
                    progress=sys.stderr.isatty() if progress is None else progress,
                )
            except UsageError as error:
                from ..sanitize import terminal_text

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
                    f"finished chunks are kept in {out}; fix the cause and run the same command with "
                    "--resume",
                    highlight=False,
                )
                raise typer.Exit(code=3) from None
        _print_summary(summary, console)
        raise typer.Exit(code=summary.exit_code)

    @app.command()
    def verify(
        receipts: Annotated[
            list[Path],
            typer.Argument(
                help="Score receipts (DIR/receipts/*.json), or batch output directories (their tables and every receipt)"
            ),
        ],
        jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Worker processes re-scoring receipts")] = 1,
        receipt_key: Annotated[
            Path | None,
            typer.Option(
                help="The service's receipt key file: check the HMAC signature of service receipts and batches"
            ),
        ] = None,
    ) -> None:
        """Re-score the input named in each receipt and confirm bit-identical numbers.

        For a batch output directory, also check summary.parquet, errors.parquet and results/
        against the manifest's hashes and the receipts. Exit code 0: all verified; 1: some did
        not; 2: usage error.
        """
        from rich.console import Console

        from ..batch.outputs_check import check_outputs
        from ..batch.receipts import verify_receipts
        from ..sanitize import terminal_text

        console = Console(stderr=True)
        paths: list[Path] = []
        failed = 0
        receipts, failed = _check_signatures(receipts, receipt_key)  # the service's signatures (--receipt-key)
        for path in receipts:
            if path.is_dir():
                folder = path / "receipts" if (path / "receipts").is_dir() else path
                paths.extend(sorted(folder.glob("*.json")))
                if (path / "manifest.json").is_file():
                    problems = check_outputs(path)
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
        for path, check in zip(paths, verify_receipts(paths, jobs=jobs), strict=True):
            if check.ok:
                typer.echo(
                    f"OK       {path} (building {check.building!r}, {check.numbers_compared} numbers bit-identical)"
                )
            else:
                failed += 1
                typer.echo(f"FAILED   {path} (building {check.building!r})")
                for problem in check.problems:
                    typer.echo(f"         - {problem}")
        raise typer.Exit(code=1 if failed else 0)


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

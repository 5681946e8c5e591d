"""``mpeil serve`` (the web service and page) and ``mpeil serve-key`` (make an API key)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (behind a reverse proxy: 127.0.0.1)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    store: Annotated[Path | None, typer.Option(help="Store folder (SQLite + batch jobs); env MPEIL_STORE")] = None,
    keys: Annotated[Path | None, typer.Option(help="API key file (hashed keys); env MPEIL_API_KEYS_FILE")] = None,
    workers: Annotated[
        int, typer.Option(help="HTTP worker processes (each starts its own scoring workers: keep 1)")
    ] = 1,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler for batch jobs; env MPEIL_DASK_SCHEDULER")
    ] = None,
) -> None:
    """Start the web service and its page (FastAPI on uvicorn); see docs/deployment.md."""
    import os

    from ..errors import MpeilError
    from .output import require_extra

    for module in ("uvicorn", "fastapi", "multipart"):
        require_extra(module, "serving", "service")

    if store is not None:
        os.environ["MPEIL_STORE"] = str(store)
    if keys is not None:
        os.environ["MPEIL_API_KEYS_FILE"] = str(keys)
    if scheduler is not None:
        os.environ["MPEIL_DASK_SCHEDULER"] = scheduler
    try:
        from ..service.settings import Settings
        from ..service.signing import load_key

        settings = Settings.from_env()  # a bad setting is one line here, not a traceback in a worker
        load_key(settings.receipt_key_file, settings.store_dir)  # made at the first start
    except MpeilError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from None
    from ..service.server import run

    run(host, port, workers)  # connection limits (header size and timeouts, concurrency): service/server.py


def serve_key(
    name: Annotated[str, typer.Argument(help="Who the key is for, e.g. gent-omgeving")],
    quota: Annotated[int | None, typer.Option(help="Files per day (default: data/service_defaults.csv)")] = None,
    role: Annotated[str, typer.Option(help="authority | admin")] = "authority",
) -> None:
    """Make an API key: prints the key (give it to its holder) and the line for the key file."""
    from ..service.keys import ROLES, hash_key, new_key

    if role not in ROLES or "," in name or not name.strip():
        typer.echo(f"error: role must be one of {', '.join(ROLES)} and the name must not hold a comma", err=True)
        raise typer.Exit(code=2)
    key = new_key()
    typer.echo(f"key:  {key}")
    typer.echo(f"line: {name},{hash_key(key)},{'' if quota is None else quota},{role}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``mpeil`` app."""
    app.command()(serve)
    app.command("serve-key")(serve_key)

"""``mpeil epd search`` and ``mpeil epd show`` (owned by the EPD-data work)."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)

"""``mpeil schema`` and building-file commands (owned by the building I/O work)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass

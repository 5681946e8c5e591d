"""Checks of the files a command is asked to write, made before any slow work."""

from __future__ import annotations

from pathlib import Path

from ..errors import OutputError


def check_output_file(path: Path | None, option: str) -> None:
    """An :class:`OutputError` if ``path`` (given with ``option``) cannot be a new or replaced file."""
    if path is None:
        return
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder; give a file name", field=option)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"cannot write {path}: the folder {folder} does not exist; create it first", field=option)


def output_error(path: Path, option: str, error: OSError) -> OutputError:
    """An OSError met while writing ``path``, as one typed line."""
    reason = error.strerror or str(error)
    return OutputError(f"cannot write {path}: {reason}", field=option)

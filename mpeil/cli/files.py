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


def check_not_option(path: Path | None, option: str, suffixes: tuple[str, ...] = ()) -> None:
    """An :class:`OutputError` if ``path`` reads as a mistyped ``--option KEY=VALUE`` (``-o
    gap_policy=declared``): a name holding ``=`` without one of the expected ``suffixes`` (for a
    folder, ``suffixes`` is empty: a new name holding ``=`` and no ``/``)."""
    if path is None or "=" not in path.name:
        return
    if suffixes and path.suffix.lower() in suffixes:
        return
    if not suffixes and (path.exists() or len(path.parts) > 1):
        return
    raise OutputError(f"{path.name!r} is not an output name; did you mean --option {path.name}?", field=option)


def output_error(path: Path, option: str, error: OSError) -> OutputError:
    """An OSError met while writing ``path``, as one typed line."""
    reason = error.strerror or str(error)
    return OutputError(f"cannot write {path}: {reason}", field=option)

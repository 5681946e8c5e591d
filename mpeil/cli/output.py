"""Printing errors on the command line: one line per error, never a traceback, never a crash."""

from __future__ import annotations

import sys

from ..sanitize import terminal_text

__all__ = ["print_error"]


def print_error(error: BaseException, console=None, prefix: str = "error") -> None:
    """``error TypeName: file …, building …: message`` on stderr (one line; wrapped by words on a terminal).

    Text from the input (ids, file names) is shown, never interpreted: Rich markup is escaped and
    control characters (ANSI escapes) are written as ``\\x1b``. Should the console fail anyway,
    a plain ASCII line is written instead.
    """
    kind = type(error).__name__
    try:
        if console is None:
            from rich.console import Console

            console = Console(stderr=True)
        # location first (mpeil.sanitize.error_text); on a terminal wrapped at its width by words
        console.print(
            f"[red]{prefix}[/red] {kind}: {terminal_text(error, limit=2000)}",
            highlight=False,
            soft_wrap=not console.is_terminal,
        )
    except Exception:  # the last resort must not raise
        text = f"{prefix} {kind}: {error!s}".encode("ascii", "backslashreplace").decode("ascii")
        sys.stderr.write(text.replace("\n", " ")[:2000] + "\n")


def library_references(values: list[str] | None) -> list[str] | None:
    """``--library`` values: shipped source names as given, existing folders as absolute paths
    (so worker processes and ``mpeil verify`` find them again); None when none are given."""
    import os

    if not values:
        return None
    out = []
    for value in values:
        for part in (p.strip() for p in value.split(",")):
            if part:
                out.append(os.path.abspath(part) if os.path.isdir(part) else part)
    return out

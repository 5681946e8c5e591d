"""Shared by the command line's commands: error lines, option help, and (from
:mod:`mpeil.notes`, which the web service uses too) a building's notes and the JSON float
precision; errors are one line each, never a traceback, never a crash."""

from __future__ import annotations

import sys

from ..notes import JSON_DOUBLE_PRECISION, building_notes
from ..sanitize import terminal_text

__all__ = [
    "print_error",
    "building_notes",
    "JSON_DOUBLE_PRECISION",
    "library_references",
    "method_options",
    "require_extra",
    "OPTION_HELP",
]

#: the ``--option`` help text, one for every command that takes method options
OPTION_HELP = "Method option KEY=VALUE, repeatable: any option of the method file"


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


def require_extra(module: str, feature: str, extra: str) -> None:
    """End the command with one line (exit 1) when ``module`` of the optional ``extra`` is missing:
    ``error: serving needs the service extra: pip install 'mpeil[service]'`` instead of a traceback."""
    import importlib

    import typer

    try:
        importlib.import_module(module)
    except ImportError:
        sys.stderr.write(f"error: {feature} needs the {extra} extra: pip install 'mpeil[{extra}]'\n")
        raise typer.Exit(code=1) from None


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


def method_options(values: list[str] | None) -> dict:
    """``--option KEY=VALUE`` values as method options; a VALUE that reads as JSON (``true``,
    ``0.5``, ``["A1-A3"]``) is that value, anything else the text itself.

    Raises
    ------
    typer.BadParameter
        A value without ``=``.
    """
    import json

    import typer

    options: dict = {}
    for text in values or []:
        if "=" not in text:
            raise typer.BadParameter(f"--option {text!r} is not KEY=VALUE")
        key, value = (part.strip() for part in text.split("=", 1))
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def table_console():
    """The console tables print to: the terminal's width, or, when piped, ``COLUMNS`` if set and
    80 columns if not (Rich reads ``COLUMNS`` itself; a pipe has no width of its own)."""
    from rich.console import Console

    return Console()


def fixed_table(headers: list[tuple[str, ...]], rows: list[tuple[str, list[str]]], width: int) -> list[str]:
    """Plain lines of a right-aligned table whose first column names the row (building, data set).

    Compact, never truncated: when the names do not fit beside the numbers within ``width``
    columns, each name gets a line (or, longer than ``width``, lines) of its own above its numbers. ``headers`` holds each number
    column's heading lines (bottom-aligned).

    Parameters
    ----------
    headers:
        One tuple of heading lines per number column.
    rows:
        (name, cells) per row, cells as text, one per number column.
    width:
        The console width in characters.
    """
    depth = max(len(h) for h in headers)
    heads = [("",) * (depth - len(h)) + tuple(h) for h in headers]
    widths = [max([len(line) for line in h] + [len(r[1][i]) for r in rows]) for i, h in enumerate(heads)]
    numbers = 2 * (len(widths) - 1) + sum(widths)
    name_width = max([len(name) for name, _ in rows] + [0])
    stacked = name_width + 2 + numbers > width
    lead = "" if stacked else " " * (name_width + 2)
    lines = [lead + "  ".join(h[k].rjust(w) for h, w in zip(heads, widths, strict=True)) for k in range(depth)]
    lines.append("─" * min(width, len(lead) + numbers))
    for name, cells in rows:
        text = "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True))
        # a name longer than the width is wrapped by words (never cut): lines stay within ``width``
        lines.extend([*_wrap(name, width), text] if stacked else [name.ljust(name_width) + "  " + text])
    return lines


def _wrap(name: str, width: int) -> list[str]:
    """``name`` in lines of at most ``width`` characters, broken between words (a word longer than
    the width is split)."""
    import textwrap

    return textwrap.wrap(name, width, break_on_hyphens=False) or [name]

"""Text made safe for each sink: terminal, CSV (spreadsheets) and Arrow/Parquet (file names: receipt_name).

Ids, names and file labels come from input files; any of them may hold Rich markup (``[/x]``),
ANSI escape sequences, a spreadsheet formula (``=cmd|' /C calc'!A0``), a lone surrogate or an
undecodable file-name byte. Each output path passes its text through one of these functions.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import MpeilError, safe_text

__all__ = ["unicode_text", "terminal_text", "error_text", "csv_cell"]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|")


def unicode_text(value: Any) -> str:
    """Valid UTF-8 text (Arrow, Parquet, JSON): lone surrogates become backslash escapes."""
    text = str(value)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def terminal_text(value: Any, limit: int = 300) -> str:
    """Text for a Rich console: valid Unicode, control characters (ANSI escapes) shown as ``\\x1b``,
    Rich markup escaped, at most ``limit`` characters. An :class:`~mpeil.errors.MpeilError` is
    written location first (:func:`error_text`): a long message is cut, never its location."""
    from rich.markup import escape

    if isinstance(value, MpeilError):
        return escape(_visible(error_text(value, limit)))
    text = safe_text(value) if limit else unicode_text(value)
    if limit and len(text) > limit:
        text = text[: limit - 1] + "…"
    return escape(_visible(text))


def _visible(text: str) -> str:
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def error_text(error: MpeilError, limit: int = 300) -> str:
    """``file 'x.json', building 'b', layer 'C1 (line 1)', field 'amount': <reason>`` in one line.

    Where first, then why: the location (each part at most 300 characters, :func:`safe_text`) is
    always kept whole; the reason is cut to what ``limit`` leaves (at least 120 characters).
    """
    where = ", ".join(f"{key} {value!r}" for key, value in error.location().items() if value is not None)
    reason = " ".join(unicode_text(error.message).split())  # one line: no newline from a parser's message
    room = max(120, limit - len(where) - 2) if limit else len(reason)
    if len(reason) > room:
        reason = reason[: room - 1] + "…"
    return f"{where}: {reason}" if where else reason


def csv_cell(value: Any) -> Any:
    """A text cell a spreadsheet shows as text, never runs as a formula (OWASP CSV injection)."""
    if isinstance(value, str):
        value = unicode_text(value)
        if value.startswith(_FORMULA_START):
            return "'" + value
    return value

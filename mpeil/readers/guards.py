"""File guards: what every building reader checks before a parser sees the bytes.

- the file's type: only a regular file is read; a named pipe, a device or a socket is refused by
  type (opened without blocking, checked on the open descriptor, so no race and no hang);
- the file size (``file_size`` in ``data/batch_limits.csv``), from ``fstat`` and again while reading;
- an XLSX workbook is a zip archive: its unpacked size and per-part compression ratio
  (``file_size``, ``zip_compression_ratio``), so a 3 MB workbook cannot inflate to 3 GB;
- JSON, in one streaming pass (:class:`JsonGuard`, bytes or text chunks in): the nesting depth
  (``json_depth``) before :func:`json.loads` recurses, the number of objects and arrays
  (``json_containers``: a million empty ``{}`` in 3 MB would take gigabytes in the building model),
  of values (``json_values``) and the length of the longest string (``json_string_bytes``);
  integers of at most :data:`~mpeil.model.validators.MAX_INTEGER_DIGITS` digits (:func:`json_integer`).

The JSON scan is linear in the input and holds one block of at most :data:`BLOCK` bytes at a time
(numpy over the block; the state carried between blocks is a handful of integers), whatever the
input: deep nesting, unterminated strings or runs of escaped quotes cost the same per byte.

Every refusal is an :class:`~mpeil.errors.InputError` (a limit) or :class:`~mpeil.errors.ParseError`
(a malformed or special file) naming the file and the limit as its field.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

import numpy as np

from ..errors import InputError, ParseError
from ..limits import Limits
from ..model.validators import MAX_INTEGER_DIGITS

__all__ = [
    "BLOCK",
    "JsonGuard",
    "read_bytes",
    "read_regular",
    "special_kind",
    "check_zip_container",
    "check_json",
    "check_json_depth",
    "json_integer",
]

#: bytes the JSON guard scans at once (its memory is a few times this, whatever the input)
BLOCK = 1 << 18

_QUOTE, _BACKSLASH, _COMMA = ord('"'), ord("\\"), ord(",")
_OPENS = (ord("["), ord("{"))
_CLOSES = (ord("]"), ord("}"))
_KINDS = {
    stat.S_IFIFO: "a named pipe",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a folder",
}


def special_kind(path: Path | str) -> str:
    """What a file that is not a regular file is (``"a named pipe"``, ``"a character device"``, …)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "not a readable file"
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def read_regular(path: Path, max_bytes: int, file: str | None = None, field: str = "file_size") -> bytes:
    """The bytes of the regular file ``path``, at most ``max_bytes`` of them.

    The file is opened without blocking and checked on the open descriptor: a named pipe, a device,
    a socket or a folder is a :class:`ParseError` naming its kind (a pipe called ``x.json`` would
    otherwise block the reader for ever); a larger file an :class:`InputError` with ``field``.
    """
    file = str(path) if file is None else file
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ParseError("no such file", file=file) from None
    except IsADirectoryError:
        raise ParseError("a folder, not a file", file=file) from None
    except OSError as exc:
        raise ParseError(f"cannot read the file: {exc.strerror or type(exc).__name__}", file=file) from None
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            kind = _KINDS.get(stat.S_IFMT(status.st_mode), "not a regular file")
            raise ParseError(f"{kind}, not a regular file: refused", file=file, field="file_type")
        if status.st_size > max_bytes:
            raise InputError(
                f"the file is {status.st_size:,} bytes, above the file-size limit of {max_bytes:,}",
                file=file,
                field=field,
            )
        try:
            data = handle.read(max_bytes + 1)
        except OSError as exc:
            raise ParseError(f"cannot read the file: {exc.strerror or type(exc).__name__}", file=file) from None
    if len(data) > max_bytes:
        raise InputError(f"the file grew above the file-size limit of {max_bytes:,} bytes", file=file, field=field)
    return data


def read_bytes(path: Path, limits: Limits) -> bytes:
    """The bytes of a regular file of at most ``limits.file_size`` bytes (:func:`read_regular`)."""
    return read_regular(Path(path), limits.file_size)


def check_zip_container(data: bytes, limits: Limits, file: str | None = None, what: str = "XLSX workbook") -> None:
    """Refuse a zip container (an XLSX workbook) that would blow up when it is unpacked."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            infos = book.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError, OSError):
        return  # not a zip: the reader reports a malformed file
    total = sum(info.file_size for info in infos)
    if total > limits.file_size:
        raise InputError(
            f"the {what} unpacks to {total:,} bytes, above the file-size limit of {limits.file_size:,}",
            file=file,
            field="file_size",
        )
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > limits.zip_compression_ratio:
            raise InputError(
                f"part {info.filename!r} of the {what} compresses {ratio:,.0f} times, above the "
                f"limit of {limits.zip_compression_ratio:g} (zip bomb?)",
                file=file,
                field="zip_compression_ratio",
            )


class JsonGuard:
    """A streaming, single-pass check of JSON text against the limits, before any parser runs.

    Feed it the input in chunks (``bytes`` or ``str``, any sizes) with :meth:`feed`, then call
    :meth:`close`. It raises as soon as a limit is passed, so a hostile request can be refused
    while it is still arriving. Time is linear in the input; memory is one block (:data:`BLOCK`).

    What it counts, outside strings: the nesting depth of ``[``/``{`` (``json_depth``), the
    objects and arrays (``json_containers``) and the values, one per comma plus one per container
    (``json_values``); inside strings, the bytes of the longest one (``json_string_bytes``). A
    quote preceded by an odd run of backslashes is escaped. Malformed JSON is left to the parser:
    up to the first byte the parser refuses, its view and the guard's agree.
    """

    def __init__(self, limits: Limits, file: str | None = None) -> None:
        self.limits, self.file = limits, file
        self.depth = 0  # current nesting depth
        self.max_depth = 0
        self.containers = 0  # objects and arrays opened
        self.values = 0  # commas and containers outside strings
        self.longest_string = 0  # bytes
        self.bytes = 0  # scanned so far
        self._in_string = False
        self._string_bytes = 0  # bytes of the open string so far
        self._backslashes = 0  # run of backslashes that ended the previous block

    def feed(self, chunk: bytes | bytearray | memoryview | str) -> None:
        """Scan one more piece of the input (raises the first limit it passes)."""
        data = chunk.encode("utf-8", "surrogatepass") if isinstance(chunk, str) else bytes(chunk)
        for start in range(0, len(data), BLOCK):
            self._scan(np.frombuffer(data, dtype=np.uint8, count=min(BLOCK, len(data) - start), offset=start))
            self._check()

    def close(self) -> JsonGuard:
        """The end of the input (an unterminated string is left to the parser to report)."""
        self._check()
        return self

    def _scan(self, block: np.ndarray) -> None:
        n = len(block)
        quotes = self._unescaped_quotes(block)
        folded = block | 0x20  # "[" → "{" and "]" → "}"; no other byte folds onto either
        structural = np.flatnonzero((folded == _OPENS[1]) | (folded == _CLOSES[1]) | (block == _COMMA))
        # a structural byte is outside strings when the quotes before it toggled the state an even number of times
        toggles_before = np.searchsorted(quotes, structural)
        outside = structural[(toggles_before % 2 == 1) == self._in_string]
        kinds = block[outside]
        opens = (kinds == _OPENS[0]) | (kinds == _OPENS[1])
        closes = (kinds == _CLOSES[0]) | (kinds == _CLOSES[1])
        if opens.any() or closes.any():
            steps = opens.astype(np.int64) - closes.astype(np.int64)
            path = self.depth + np.cumsum(steps)
            self.max_depth = max(self.max_depth, int(path.max(initial=self.depth)))
            self.depth = int(path[-1])
        count_opens = int(opens.sum())
        self.containers += count_opens
        self.values += count_opens + int((kinds == _COMMA).sum())
        self._strings(quotes, n)
        self.bytes += n

    def _unescaped_quotes(self, block: np.ndarray) -> np.ndarray:
        """Positions of the quotes of ``block`` that an odd run of backslashes does not escape."""
        n = len(block)
        backslash = block == _BACKSLASH
        quotes = np.flatnonzero(block == _QUOTE)
        if n == 0:
            return quotes
        if not self._backslashes and not backslash.any():  # nothing escaped (most files): every quote counts
            return quotes
        index = np.arange(n, dtype=np.int64)
        last_other = np.maximum.accumulate(np.where(backslash, -1, index))  # last non-backslash at or before i
        if quotes.size:
            before = quotes - 1
            run = np.where(before >= 0, before - last_other[np.maximum(before, 0)], 0)
            from_start = (before < 0) | (last_other[np.maximum(before, 0)] < 0)
            run = run + np.where(from_start, self._backslashes, 0)
            quotes = quotes[run % 2 == 0]
        trailing = n - 1 - int(last_other[-1])
        self._backslashes = trailing + (self._backslashes if trailing == n else 0)
        return quotes

    def _strings(self, quotes: np.ndarray, n: int) -> None:
        """Lengths of the strings the block's quotes close, and of the one still open at its end."""
        if self._in_string:
            if not quotes.size:
                self._string_bytes += n
                self.longest_string = max(self.longest_string, self._string_bytes)
                return
            self.longest_string = max(self.longest_string, self._string_bytes + int(quotes[0]))
            quotes = quotes[1:]
        pairs = quotes[: len(quotes) // 2 * 2].reshape(-1, 2)
        if len(pairs):
            self.longest_string = max(self.longest_string, int((pairs[:, 1] - pairs[:, 0] - 1).max()))
        if len(quotes) % 2:  # a string opens and runs to the end of the block
            self._in_string = True
            self._string_bytes = n - int(quotes[-1]) - 1
            self.longest_string = max(self.longest_string, self._string_bytes)
        else:
            self._in_string = False
            self._string_bytes = 0

    def _check(self) -> None:
        limits, file = self.limits, self.file
        if self.max_depth > limits.json_depth:
            raise ParseError(
                f"malformed JSON: nested {self.max_depth} levels deep, above the limit of {limits.json_depth} "
                "(a building file is about 6 levels deep)",
                file=file,
                field="json_depth",
            )
        for name, value, what in (
            ("json_containers", self.containers, "objects and arrays"),
            ("json_values", self.values, "values"),
            ("json_string_bytes", self.longest_string, "bytes in one string"),
        ):
            limit = getattr(limits, name)
            if value > limit:
                raise InputError(
                    f"the JSON holds more than {limit:,} {what} (at least {value:,}), above the limit "
                    "(data/batch_limits.csv)",
                    file=file,
                    field=name,
                )


def check_json(data: bytes | str, limits: Limits, file: str | None = None) -> JsonGuard:
    """Run :class:`JsonGuard` over a whole input; returns it (with its counts)."""
    guard = JsonGuard(limits, file)
    guard.feed(data)
    return guard.close()


def check_json_depth(data: bytes | str, limits: Limits, file: str | None = None) -> None:
    """Refuse JSON nested deeper than ``limits.json_depth`` or beyond the other JSON limits
    (:func:`check_json`; kept under its old name)."""
    check_json(data, limits, file)


def json_integer(text: str) -> int:
    """``parse_int`` of :func:`json.loads`: integers of at most MAX_INTEGER_DIGITS digits."""
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _LongInteger(len(text.lstrip("-")))
    return int(text)


class _LongInteger(ValueError):
    def __init__(self, digits: int) -> None:
        super().__init__(f"an integer of {digits:,} digits (at most {MAX_INTEGER_DIGITS})")

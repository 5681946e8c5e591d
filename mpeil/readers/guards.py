"""File guards: what every building reader checks before a parser sees the bytes.

- the file size (``file_size`` in ``data/batch_limits.csv``), from ``stat`` and again while reading;
- an XLSX workbook is a zip archive: its unpacked size and per-part compression ratio
  (``file_size``, ``zip_compression_ratio``), so a 3 MB workbook cannot inflate to 3 GB;
- JSON: the nesting depth (``json_depth``) before :func:`json.loads` recurses, and integers of at
  most :data:`~mpeil.model.validators.MAX_INTEGER_DIGITS` digits.

Every refusal is an :class:`~mpeil.errors.InputError` (a limit) or :class:`~mpeil.errors.ParseError`
(a malformed file) naming the file and the limit as its field.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np

from ..errors import InputError, ParseError
from ..limits import Limits
from ..model.validators import MAX_INTEGER_DIGITS

__all__ = ["read_bytes", "check_zip_container", "check_json_depth", "json_integer"]

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def read_bytes(path: Path, limits: Limits) -> bytes:
    """The bytes of a file of at most ``limits.file_size`` bytes."""
    file = str(path)
    try:
        size = path.stat().st_size
        if size > limits.file_size:
            raise InputError(
                f"the file is {size:,} bytes, above the file-size limit of {limits.file_size:,}",
                file=file,
                field="file_size",
            )
        with open(path, "rb") as handle:
            data = handle.read(limits.file_size + 1)
    except FileNotFoundError:
        raise ParseError("no such file", file=file) from None
    except OSError as exc:
        raise ParseError(f"cannot read the file: {exc.strerror or exc}", file=file) from None
    if len(data) > limits.file_size:
        raise InputError(
            f"the file grew above the file-size limit of {limits.file_size:,} bytes", file=file, field="file_size"
        )
    return data


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


def check_json_depth(data: bytes, limits: Limits, file: str | None = None) -> None:
    """Refuse JSON nested deeper than ``limits.json_depth`` (before the parser recurses)."""
    if data.count(b"[") + data.count(b"{") <= limits.json_depth:
        return
    skeleton = np.frombuffer(_JSON_STRING.sub(b'""', data), dtype=np.uint8)
    step = np.zeros(len(skeleton), dtype=np.int64)
    step[(skeleton == ord("[")) | (skeleton == ord("{"))] = 1
    step[(skeleton == ord("]")) | (skeleton == ord("}"))] = -1
    depth = int(np.cumsum(step).max(initial=0))
    if depth > limits.json_depth:
        raise ParseError(
            f"malformed JSON: nested {depth} levels deep, above the limit of {limits.json_depth} "
            "(a building file is about 6 levels deep)",
            file=file,
            field="json_depth",
        )


def json_integer(text: str) -> int:
    """``parse_int`` of :func:`json.loads`: integers of at most MAX_INTEGER_DIGITS digits."""
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _LongInteger(len(text.lstrip("-")))
    return int(text)


class _LongInteger(ValueError):
    def __init__(self, digits: int) -> None:
        super().__init__(f"an integer of {digits:,} digits (at most {MAX_INTEGER_DIGITS})")

"""The shipped library *as prepared*, stored in the user cache so a fresh process need not derive it.

A fresh ``mpeil score one.json`` used to read the four shipped sources (parquet), apply their
corrections, look up the estimates and screening flags, and derive the tensors, conversions and
end-of-life route burdens of the whole library before it could score one house: most of a second
of a cold start. :func:`store_library` writes the library object with everything it memoised
(:meth:`~mpeil.model.library.EPDLibrary.memo`: the library with its estimates, the tensors, the
route burdens) to one file; :func:`read_stored_library` gives that object back in a few
hundredths of a second.

The file lives in :func:`mpeil.units.cache_dir` ``/library`` (``MPEIL_CACHE_DIR``, default
``~/.cache/mpeil``; ``MPEIL_CACHE_DIR=none`` turns it off) and is named by :func:`stored_key`, a
SHA-256 over the mpeil version, the versions of the libraries that pickle it (Python, numpy,
pandas, pyarrow), the content of every shipped data file, and the size and modification time of
every mpeil source file. Any change of data or code gives a new name, so a stale file is never
read (and is removed when the new one is written). A file that does not read back as a library
of that key (truncated, corrupt, written by something else) is removed and rebuilt.

Every memo entry is keyed by content (indicator codes, module tuples, the scenarios' hash), so a
stored library gives exactly the values deriving them again would: ``tests/test_stored_library.py``
compares them bit for bit. The cache folder is private (0700) and the files 0600; a file (or
folder) another user owns, or others may write, is never unpickled.
"""

from __future__ import annotations

import contextlib
import hashlib
import mmap
import os
import pickle
import struct
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .. import __version__
from ..paths import data_dir
from ..units import cache_dir
from .library import EPDLibrary

__all__ = ["stored_sources", "stored_key", "stored_path", "read_stored_library", "store_library"]

#: first bytes of a stored library file (format version 3: every array out of band, memory-mapped;
#: the writable ones copy-on-write)
_MAGIC = b"mpeil-library-3\n"
#: out-of-band arrays start at multiples of this many bytes (a cache line, and every dtype's alignment)
_ALIGN = 64


def _package_folder() -> Path:
    return Path(__file__).resolve().parent.parent


def stored_sources(sources: Sequence[str] | None) -> list[str] | None:
    """The shipped source names a :func:`~mpeil.model.library.load_library` call of ``sources``
    reads (None: every shipped source), or None when it names a library folder (not stored)."""
    if sources is None:
        root = data_dir() / "epd"
        return sorted(p.name for p in root.iterdir() if (p / "datasets.parquet").exists())
    if any(isinstance(s, Path) or "/" in str(s) or "\\" in str(s) for s in sources):
        return None
    return [str(s) for s in sources]


def stored_key(sources: Sequence[str]) -> str:
    """SHA-256 (hex) naming the stored library of the shipped ``sources`` under this data and code.

    Content of every file under :func:`mpeil.paths.data_dir` (about 3 MB: a few milliseconds),
    size and modification time of every ``mpeil/**/*.py``, the versions of mpeil, Python, numpy,
    pandas and pyarrow, and the source names.
    """
    import numpy
    import pandas
    import pyarrow

    digest = hashlib.sha256()
    head = (__version__, sys.version, numpy.__version__, pandas.__version__, pyarrow.__version__, *sources)
    digest.update(repr(head).encode())
    data = str(data_dir().resolve())
    for path in _files(data, ""):
        digest.update(os.path.relpath(path, data).encode() + b"\0")
        with open(path, "rb") as handle:
            digest.update(hashlib.sha256(handle.read()).digest())
    code = str(_package_folder())
    for path in _files(code, ".py"):
        stat = os.stat(path)
        digest.update(f"{os.path.relpath(path, code)}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def _files(root: str, suffix: str) -> list[str]:
    """Every file under ``root`` whose name ends with ``suffix``, sorted (os.walk: pathlib's rglob
    costs several times as much here, and this runs on every cold start)."""
    found: list[str] = []
    for folder, _dirs, names in os.walk(root):
        found.extend(os.path.join(folder, name) for name in names if name.endswith(suffix))
    return sorted(found)


def stored_path(sources: Sequence[str]) -> Path | None:
    """Where the stored library of ``sources`` lives (it may not exist yet); None when the cache is off."""
    folder = cache_dir("library")
    if folder is None:
        return None
    return folder / f"{_family(sources)}-{stored_key(sources)}.pickle"


def _family(sources: Sequence[str]) -> str:
    """The part of a stored file's name that says which sources it holds (12 hex digits)."""
    return hashlib.sha256("+".join(sources).encode()).hexdigest()[:12]


def read_stored_library(path: Path) -> EPDLibrary | None:
    """The library stored at ``path``, or None when there is none.

    The file is memory-mapped: the arrays are views of the file, read from disk only where a score
    touches them; the read-only ones (the tensors and route burdens, which the library marks
    read-only when it derives them) of a read-only mapping, the writable ones (the frames' columns)
    of a private copy-on-write one; everything else is unpickled. A file that is not a stored library of this
    key (truncated, corrupt, of another format) is removed, so the next run rebuilds it.
    """
    try:
        with open(path, "rb") as handle:
            if not _private(os.fstat(handle.fileno())) or not _private(os.stat(path.parent)):
                return None  # not this user's, or others may write it: never unpickled (rebuilt over it)
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            # the writable arrays: a private copy-on-write mapping (a page is copied if written to)
            private = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_COPY)
        library = _unpack(memoryview(mapped), path.stem.rsplit("-", 1)[-1], memoryview(private))
        if not isinstance(library, EPDLibrary):
            raise TypeError(f"a stored {type(library).__name__}, not a library")
        return library
    except FileNotFoundError:
        return None
    except Exception:  # corrupt: rebuilt by the caller
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        return None


def _private(stat: os.stat_result) -> bool:
    """Owned by this user and writable by no one else (where the platform has owners)."""
    if not hasattr(os, "getuid"):
        return True
    return stat.st_uid == os.getuid() and not stat.st_mode & 0o022


def _unpack(view: memoryview, key: str, private: memoryview | None = None) -> object:
    """The object of a stored file: ``_MAGIC``, key, (pickle length, buffer count), the buffers'
    (offset, length, writable), the pickle (protocol 5), then the out-of-band buffers, each 64-byte
    aligned. A writable buffer is a view of ``private`` (the same file, mapped copy-on-write)."""
    head = _MAGIC + key.encode("ascii")
    if bytes(view[: len(head)]) != head:
        raise ValueError("not a stored library of this key")
    size, count = struct.unpack_from("<QQ", view, len(head))
    table = struct.unpack_from(f"<{3 * count}Q", view, len(head) + 16)
    start = len(head) + 16 + 24 * count
    spans = [(table[3 * i], table[3 * i + 1], table[3 * i + 2]) for i in range(count)]
    if start + size > len(view) or any(offset + length > len(view) for offset, length, _ in spans):
        raise ValueError("a truncated stored library")
    writable = private if private is not None else view
    buffers = [(writable if flag else view)[offset : offset + length] for offset, length, flag in spans]
    return pickle.loads(view[start : start + size], buffers=buffers)


def _pack(library: EPDLibrary, key: str) -> list[bytes | memoryview]:
    """The pieces of a stored file (see :func:`_unpack`), in order: every array out of band."""
    out_of_band: list[memoryview] = []

    def keep_apart(buffer: pickle.PickleBuffer) -> bool:
        out_of_band.append(buffer.raw())  # read back as a view of the file (writable: copy-on-write)
        return False

    data = pickle.dumps(library, protocol=5, buffer_callback=keep_apart)
    head = _MAGIC + key.encode("ascii")
    position = len(head) + 16 + 24 * len(out_of_band) + len(data)
    spans: list[int] = []
    pieces: list[bytes | memoryview] = []
    for raw in out_of_band:
        pad = -position % _ALIGN
        pieces += [b"\0" * pad, raw]
        spans += [position + pad, raw.nbytes, 0 if raw.readonly else 1]
        position += pad + raw.nbytes
    table = struct.pack(f"<QQ{len(spans)}Q", len(data), len(out_of_band), *spans)
    return [head, table, data, *pieces]


def store_library(library: EPDLibrary, path: Path) -> None:
    """Write ``library`` with what it memoised to ``path`` (atomically, mode 0600); the files of
    the same sources under another key (stale: older data or code) are removed. A folder that
    cannot be written is skipped (the next run derives the library again)."""
    family, key = path.stem.rsplit("-", 1)
    pieces = _pack(library, key)
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".library-", suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(handle, "wb") as out:
            for piece in pieces:
                out.write(piece)
        os.replace(temporary, path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
        return
    for other in path.parent.glob(f"{family}-*.pickle"):
        if other != path:
            with contextlib.suppress(OSError):  # still mapped by a process, where that forbids it
                other.unlink(missing_ok=True)

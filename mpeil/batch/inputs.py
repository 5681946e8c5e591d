"""Batch inputs: find building files (files, folders, globs, zip archives) and read them safely.

Finding (:func:`discover`) is cheap and runs once, in the driver: it lists paths and zip
members, never reads a building. Anything that is already known to be unsafe (a member whose
path escapes its archive, a declared compression ratio of a zip bomb, a file over the size
limit, a corrupt archive) becomes an :class:`InputItem` that carries its problem, so it flows
through the chunks and lands in the error table like any other bad input.

Reading (:func:`read_item`) runs in the workers: it hashes the bytes it parses (for the
receipts), decompresses zip members with a hard cap whatever the archive headers claim, and
turns every failure into a located :class:`~mpeil.errors.MpeilError`.
"""

from __future__ import annotations

import glob
import hashlib
import io
import os
import posixpath
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, MpeilError, ParseError
from ..limits import Limits
from ..model import Building
from ..readers.guards import check_zip_container, read_regular, special_kind
from ..sanitize import unicode_text

__all__ = ["BUILDING_SUFFIXES", "InputItem", "ReadInput", "UsageError", "discover", "read_item", "item_label"]

#: suffixes of building files (the readers in mpeil.readers.buildings)
BUILDING_SUFFIXES = (".json", ".csv", ".xlsx", ".xlsm", ".ifc")
ARCHIVE_SUFFIXES = (".zip",)
#: separator between an archive's path and a member's path in a file label
MEMBER_SEPARATOR = "!/"
_BLOCK = 1 << 20


class UsageError(Exception):
    """A command-line usage problem (no such input, nothing matched): exit code 2, nothing is run."""


@dataclass(frozen=True, slots=True)
class InputItem:
    """One building file to read: a file, or a member of a zip archive, maybe with a known problem."""

    path: str  # absolute path of the file or of the archive
    member: str | None = None  # member name inside the archive
    problem: tuple[str, str, str | None] | None = None  # (error type, message, field)

    @property
    def label(self) -> str:
        return item_label(self.path, self.member)

    @property
    def suffix(self) -> str:
        return posixpath.splitext((self.member or self.path).lower())[1]


def item_label(path: str, member: str | None) -> str:
    """The ``file`` column of every table: the path, or ``archive.zip!/member/path.json``.

    Valid UTF-8 whatever the file name: a byte that does not decode (``os`` gives it as a lone
    surrogate) is written as a backslash escape, so every table and receipt can hold the label.
    """
    return unicode_text(path if member is None else f"{path}{MEMBER_SEPARATOR}{member}")


@dataclass(frozen=True)
class ReadInput:
    """A building file read and validated: its label, the SHA-256 of its bytes, its buildings."""

    label: str
    sha256: str
    buildings: list[Building]
    path: str = ""  # the file, or the archive of a member
    member: str | None = None


# ============================================================================ finding
def _is_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def discover(inputs: Sequence[str | os.PathLike], limits: Limits) -> list[InputItem]:
    """Every building file named by ``inputs``, in a deterministic order, each once.

    - a file: itself (a ``.zip`` is opened and its members listed);
    - a folder: every building file and archive under it, recursively (hidden files and files of
      other types are ignored), in sorted path order;
    - a glob (``*``, ``?``, ``[``; ``**`` recurses): every match, sorted.

    Raises :class:`UsageError` for an input that names nothing.
    """
    items: list[InputItem] = []
    seen: set[str] = set()

    def add(item: InputItem) -> None:
        if item.label not in seen:
            seen.add(item.label)
            items.append(item)

    for raw in inputs:
        text = os.fspath(raw)
        if os.path.exists(text):
            candidates = [Path(text)]
            explicit = True
        elif _is_glob(text):
            candidates = [Path(p) for p in sorted(glob.glob(text, recursive=True))]
            explicit = False
            if not candidates:
                raise UsageError(f"no file matches {text!r}")
        else:
            raise UsageError(f"no such file or folder: {text!r}")
        for candidate in candidates:
            if candidate.is_dir():
                for item in _items_of_folder(candidate, limits):
                    add(item)
            elif candidate.is_file() and (explicit or candidate.suffix.lower() in BUILDING_SUFFIXES + ARCHIVE_SUFFIXES):
                for item in _items_of_file(candidate, limits):
                    add(item)
            elif candidate.exists() and (explicit or candidate.suffix.lower() in BUILDING_SUFFIXES):
                add(InputItem(os.path.abspath(candidate), problem=_special_problem(candidate)))
    return items


def _items_of_folder(root: Path, limits: Limits) -> Iterable[InputItem]:
    """Every building file and archive under ``root`` (hidden ones and other types left out), sorted;
    a named pipe, device or socket, or a link leading outside ``root``, is an item with its problem."""
    for path in sorted(p for p in root.rglob("*") if not p.is_dir() and not _hidden(p, root)):
        if path.suffix.lower() not in BUILDING_SUFFIXES + ARCHIVE_SUFFIXES:
            continue
        if not path.is_file():  # recorded, never opened
            yield InputItem(os.path.abspath(path), problem=_special_problem(path))
        elif _outside(path, root):
            yield InputItem(os.path.abspath(path), problem=_OUTSIDE_PROBLEM)
        else:
            yield from _items_of_file(path, limits)


def _special_problem(path: Path) -> tuple[str, str, str | None]:
    """The error of a named pipe, device or socket found among the inputs (never skipped silently)."""
    return ("ParseError", f"{special_kind(path)}, not a regular file: refused", "file_type")


_OUTSIDE_PROBLEM = (
    "InputError",
    "a symbolic link that leads outside the input folder; not followed",
    "symlink",
)


def _outside(path: Path, root: Path) -> bool:
    """Whether ``path`` (found under ``root``) resolves, through symbolic links, outside ``root``."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return os.path.commonpath([real_root, real]) != real_root


def _items_of_file(path: Path, limits: Limits) -> Iterable[InputItem]:
    absolute = os.path.abspath(path)
    suffix = path.suffix.lower()
    if suffix in ARCHIVE_SUFFIXES:
        yield from _items_of_archive(absolute, limits)
    elif suffix in BUILDING_SUFFIXES:
        yield InputItem(absolute)
    else:
        yield InputItem(
            absolute,
            problem=(
                "ParseError",
                f"unsupported file type {suffix or '(none)'!r}; building files are "
                f"{', '.join(BUILDING_SUFFIXES)} or .zip archives of them",
                None,
            ),
        )


def unsafe_member_name(name: str) -> str | None:
    """Why a member name must not be used, or None."""
    normal = name.replace("\\", "/")
    if normal.startswith("/") or (len(normal) > 1 and normal[1] == ":"):
        return "an absolute path"
    if ".." in normal.split("/"):
        return "a path that escapes the archive ('..')"
    if "\x00" in normal:
        return "a NUL byte in the name"
    return None


def _items_of_archive(path: str, limits: Limits) -> Iterable[InputItem]:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        yield InputItem(path, problem=("ParseError", f"not a readable zip archive: {exc}", None))
        return
    if len(infos) > limits.zip_members:
        yield InputItem(
            path,
            problem=(
                "InputError",
                f"the archive has {len(infos):,} members, above the limit of {limits.zip_members:,}",
                "zip_members",
            ),
        )
        return
    total = sum(info.file_size for info in infos)
    if total > limits.zip_uncompressed_total:
        yield InputItem(
            path,
            problem=(
                "InputError",
                f"the archive declares {total:,} bytes uncompressed, above the limit of "
                f"{limits.zip_uncompressed_total:,} (zip bomb?)",
                "zip_uncompressed_total",
            ),
        )
        return
    counts: dict[str, int] = {}
    for info in infos:
        counts[info.filename] = counts.get(info.filename, 0) + 1
    for info in sorted(infos, key=lambda i: i.filename):
        name = info.filename
        if info.is_dir() or counts[name] == 0:
            continue
        if counts[name] > 1:
            duplicate = f"the archive holds {counts[name]} members named {name!r}; none is read (which one is meant?)"
            counts[name] = 0  # one error row for the name
            yield InputItem(path, name, problem=("InputError", duplicate, "member_path"))
            continue
        base = posixpath.basename(name.replace("\\", "/"))
        if name.startswith("__MACOSX/") or base.startswith("."):
            continue
        suffix = posixpath.splitext(base.lower())[1]
        why = unsafe_member_name(name)
        if why:
            yield InputItem(
                path, name, problem=("InputError", f"archive member has {why}; not extracted", "member_path")
            )
            continue
        if suffix in ARCHIVE_SUFFIXES:
            yield InputItem(path, name, problem=("ParseError", "archives inside archives are not read", None))
            continue
        if suffix not in BUILDING_SUFFIXES:
            continue
        problem = _member_size_problem(info, limits)
        yield InputItem(path, name, problem=problem)


def _member_size_problem(info: zipfile.ZipInfo, limits: Limits) -> tuple[str, str, str | None] | None:
    if info.file_size > limits.file_size:
        return (
            "InputError",
            f"the member is {info.file_size:,} bytes uncompressed, above the file-size limit of {limits.file_size:,}",
            "file_size",
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if ratio > limits.zip_compression_ratio:
        return (
            "InputError",
            f"the member compresses {ratio:,.0f} times, above the limit of "
            f"{limits.zip_compression_ratio:g} (zip bomb?)",
            "zip_compression_ratio",
        )
    return None


# ============================================================================ reading
def _read_file_bytes(path: str, limits: Limits) -> bytes:
    """A regular file's bytes (a named pipe or a device is refused by type: mpeil.readers.guards)."""
    try:
        return read_regular(Path(path), limits.file_size)
    except ParseError as error:
        if error.message == "no such file":
            error.message = "no such file (it was there when the batch started)"
        raise


def _read_member_bytes(archive: zipfile.ZipFile, member: str, limits: Limits) -> bytes:
    try:
        info = archive.getinfo(member)
    except KeyError:
        raise ParseError("the member is no longer in the archive") from None
    problem = _member_size_problem(info, limits)
    if problem:
        raise InputError(problem[1], field=problem[2])
    if info.flag_bits & 0x1:
        raise ParseError("the member is encrypted")
    out = io.BytesIO()
    try:
        with archive.open(info) as handle:
            while True:
                block = handle.read(_BLOCK)
                if not block:
                    break
                out.write(block)
                if out.tell() > limits.file_size:
                    raise InputError(
                        f"the member decompresses to more than the file-size limit of {limits.file_size:,} bytes "
                        "although its header says less (zip bomb?)",
                        field="file_size",
                    )
                if out.tell() > max(info.compress_size, 1) * limits.zip_compression_ratio:
                    raise InputError(
                        f"the member decompresses more than {limits.zip_compression_ratio:g} times although its "
                        "header says less (zip bomb?)",
                        field="zip_compression_ratio",
                    )
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise ParseError(f"cannot decompress the member: {exc}") from None
    return out.getvalue()


def _parse(data: bytes, suffix: str, scratch: str, label: str, limits: Limits | None = None) -> list[Building]:
    """The buildings in ``data``, read from a scratch copy; mpeil's notes name ``label``, not the copy."""
    import warnings

    from ..errors import MpeilWarning
    from ..readers import read_buildings

    if not data.strip():
        raise ParseError("empty file" if not data else "the file holds only white space")
    fd, path = tempfile.mkstemp(suffix=suffix, dir=scratch)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", MpeilWarning)
            buildings = read_buildings(path, limits)
    finally:
        os.unlink(path)
    for item in caught:
        note = item.message
        if isinstance(note, MpeilWarning) and note.file == path:
            note = type(note)(note.message, file=label)
        warnings.warn_explicit(note, item.category, item.filename, item.lineno)
    return buildings


def read_item(item: InputItem, limits: Limits, archives: dict | None = None, scratch: str | None = None) -> ReadInput:
    """Read one input: its bytes (hashed), then its buildings.

    ``archives`` caches open :class:`zipfile.ZipFile` objects by path for the caller (one chunk);
    the caller closes them. Every failure is an :class:`MpeilError` whose ``file`` is the item's
    label; anything unexpected becomes a :class:`ParseError` naming the exception.
    """
    label = item.label
    sha256 = None
    try:
        if item.problem is not None:
            kind, message, field = item.problem
            error_class = {"ParseError": ParseError}.get(kind, InputError)
            raise error_class(message, field=field)
        if item.member is None:
            data = _read_file_bytes(item.path, limits)
        else:
            cache = archives if archives is not None else {}
            archive = cache.get(item.path)
            if archive is None:
                try:
                    archive = cache[item.path] = zipfile.ZipFile(item.path)
                except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
                    raise ParseError(f"not a readable zip archive: {exc}") from None
            try:
                data = _read_member_bytes(archive, item.member, limits)
            finally:
                if archives is None:
                    archive.close()
        sha256 = hashlib.sha256(data).hexdigest()
        if item.suffix in (".xlsx", ".xlsm"):
            check_zip_container(data, limits)
        with tempfile.TemporaryDirectory(prefix="mpeil-batch-") if scratch is None else nullcontext(scratch) as folder:
            buildings = _parse(data, item.suffix, folder, label, limits)
        _no_own_libraries(buildings)
        return ReadInput(label, sha256, buildings, unicode_text(item.path), item.member)
    except MpeilError as error:
        error.file = label  # the reader saw a scratch copy; the user knows the label
        error.input_sha256 = sha256  # of the bytes read, when they were read
        raise
    except RecursionError:
        nested = ParseError("the file is nested too deeply to be a building file", file=label)
        nested.input_sha256 = sha256
        raise nested from None
    except Exception as exc:
        unreadable = ParseError(f"cannot read the file: {type(exc).__name__}: {exc}", file=label)
        unreadable.input_sha256 = sha256
        raise unreadable from None


def _no_own_libraries(buildings: list[Building]) -> None:
    """A batch scores every file with one library (receipts name it): a file that brings its own
    libraries or inline data sets is refused with a row that says what to do instead."""
    for building in buildings:
        if building.libraries or building.datasets:
            raise InputError(
                "this building file names its own EPD libraries or carries inline data sets; a batch uses one "
                "library for every file: import them (mpeil epd import) and pass --library, or use mpeil score",
                building=building.id,
                field="libraries" if building.libraries else "datasets",
            )

"""Reading uploads safely: content types, sizes, zip archives and workbooks are checked before
anything is stored or parsed. Every refusal is an :class:`UploadRefused` with an HTTP status (4xx)."""

from __future__ import annotations

import io
import posixpath
import re
import zipfile

from ..batch.inputs import unsafe_member_name
from ..batch.limits import Limits
from .scoring import SUFFIXES, check_xlsx

__all__ = [
    "UploadRefused",
    "suffix_of",
    "content_suffix",
    "check_zip",
    "check_batch_file",
    "clean_name",
    "BATCH_SUFFIXES",
]

BATCH_SUFFIXES = (*SUFFIXES, ".zip")
#: raw-body content types of ``POST /v1/score`` and the file type each means
CONTENT_TYPES = {
    "application/json": ".json",
    "text/csv": ".csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/x-step": ".ifc",
    "model/ifc": ".ifc",
}


class UploadRefused(Exception):
    """An upload the service will not take; ``status`` is the HTTP status (413, 415, 400, 422)."""

    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message
        super().__init__(message)


def clean_name(name: str | None, fallback: str) -> str:
    """An uploaded file's name for display only (messages, tables): base name, printable, short."""
    base = posixpath.basename((name or "").replace("\\", "/"))
    base = re.sub(r"[^\w.\- ()+]", "_", base)[:120]
    return base or fallback


def suffix_of(name: str, allowed: tuple[str, ...]) -> str:
    suffix = posixpath.splitext(name.lower())[1]
    if suffix not in allowed:
        raise UploadRefused(415, f"{name!r}: unsupported file type; send {', '.join(allowed)}")
    return suffix


def content_suffix(content_type: str) -> str:
    kind = content_type.split(";")[0].strip().lower()
    if kind not in CONTENT_TYPES:
        raise UploadRefused(
            415,
            f"unsupported content type {kind or '(none)'!r}; send multipart/form-data or {', '.join(CONTENT_TYPES)}",
        )
    return CONTENT_TYPES[kind]


def check_zip(data: bytes | str, name: str, limits: Limits) -> int:
    """Refuse an archive with escaping paths, nested archives, too many members or zip-bomb ratios;
    the number of building files in it (what a batch scores, and what its quota counts).
    ``data``: the archive's bytes or the path of a file holding them (listed from disk)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError, OSError):
        raise UploadRefused(400, f"{name!r} is not a readable zip archive") from None
    if len(infos) > limits.zip_members:
        raise UploadRefused(413, f"{name!r} has {len(infos):,} members, above the limit of {limits.zip_members:,}")
    if sum(i.file_size for i in infos) > limits.zip_uncompressed_total:
        raise UploadRefused(413, f"{name!r} declares more than {limits.zip_uncompressed_total:,} bytes unpacked")
    for info in infos:
        why = unsafe_member_name(info.filename)
        if why:
            raise UploadRefused(400, f"{name!r}: member {info.filename[:80]!r} has {why}")
        if posixpath.splitext(info.filename.lower())[1] == ".zip":
            raise UploadRefused(400, f"{name!r}: archives inside archives are not read")
        if info.file_size > limits.file_size:
            raise UploadRefused(413, f"{name!r}: member {info.filename[:80]!r} unpacks above the file-size limit")
        if info.file_size / max(info.compress_size, 1) > limits.zip_compression_ratio:
            raise UploadRefused(
                413,
                f"{name!r}: member {info.filename[:80]!r} compresses more than {limits.zip_compression_ratio:g} times (zip bomb?)",
            )
    return sum(1 for info in infos if not info.is_dir() and posixpath.splitext(info.filename.lower())[1] in SUFFIXES)


def check_batch_file(data: bytes | str, name: str, limits: Limits) -> tuple[str, int]:
    """The file type of one batch upload after its checks, and the building files it holds (a zip's
    members; 1 for a file). ``data``: bytes, or the path of a scratch file holding them."""
    import os

    suffix = suffix_of(name, BATCH_SUFFIXES)
    if suffix == ".zip":
        return suffix, check_zip(data, name, limits)
    size = len(data) if isinstance(data, bytes) else os.path.getsize(data)
    if size > limits.file_size:
        raise UploadRefused(413, f"{name!r} is above the file-size limit of {limits.file_size:,} bytes")
    if suffix == ".xlsx":
        if not isinstance(data, bytes):
            with open(data, "rb") as handle:
                data = handle.read()
        from ..errors import MpeilError

        try:
            check_xlsx(data, limits)
        except MpeilError as error:
            raise UploadRefused(422, f"{name!r}: {error}") from None
    return suffix, 1

"""``mpeil epd import``: a user EPD library from ILCD+EPD (JSON or XML) and openEPD files.

Inputs are files, folders (searched recursively) and zip archives, mixed freely:

* ``*.json``: an ILCD+EPD process data set in the soda4LCA JSON view, or an openEPD document
  (told apart by their keys);
* ``*.xml``: ILCD process data sets (root ``processDataSet``); the flow, flow-property and
  unit-group data sets they reference are read from the same archive or folder tree, the way
  an ILCD export lays them out (``processes/``, ``flows/``, ``flowproperties/``, ``unitgroups/``).

Every data set gets the id ``<name>:<id in its file>``; ``name`` is the library's name. The
result is written as a library folder (the storage contract of :mod:`mpeil.model.library`) with
a ``manifest.json`` recording each input file's SHA-256, so a score computed with the library
can be traced to the files it came from. Size limits come from ``data/batch_limits.csv``.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .. import __version__
from ..errors import MpeilError, ParseError
from ..model.library import EPDLibrary
from ..paths import data_dir
from .epd_common import Loss, datasets_frame, values_frame
from .ilcd import ILCDTree, IndicatorAliases, read_ilcd_file
from .openepd import is_openepd, parse_openepd_document

__all__ = ["import_epd", "write_library", "EPDFile", "NAME_PATTERN"]

#: a library name becomes the prefix of its data-set ids: letters, digits, '-' and '_'
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class EPDFile:
    """One input file: where it came from (for errors and the manifest) and its bytes."""

    label: str  # path on disk, or "<archive>!<member>"
    archive_path: str  # path inside its tree (relative, posix), used to resolve ILCD references
    data: bytes


def _size_limits() -> tuple[int, float]:
    frame = pd.read_csv(data_dir() / "batch_limits.csv", comment="#", dtype=str).set_index("name")["maximum"]
    return int(str(frame["file_size"])), float(str(frame["zip_compression_ratio"]))


def _from_zip(path: Path, max_bytes: int, max_ratio: float) -> list[EPDFile]:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ParseError(f"not a zip archive: {exc}", file=str(path)) from None
    files = []
    with archive:
        for info in archive.infolist():
            if info.is_dir() or not info.filename.lower().endswith((".json", ".xml")):
                continue
            label = f"{path}!{info.filename}"
            if info.file_size > max_bytes or info.file_size > max_ratio * max(info.compress_size, 1):
                raise ParseError("member too large or too compressed (data/batch_limits.csv)", file=label)
            with archive.open(info) as handle:
                data = handle.read(max_bytes + 1)
            if len(data) > max_bytes:
                raise ParseError("member larger than the file-size limit", file=label)
            files.append(EPDFile(label, posixpath.normpath(info.filename), data))
    return files


def collect_files(paths: Iterable[str | Path]) -> list[EPDFile]:
    """Every JSON and XML file under ``paths`` (files, folders, zip archives), in a stable order."""
    max_bytes, max_ratio = _size_limits()
    files: list[EPDFile] = []
    for path in map(Path, paths):
        if path.is_dir():
            for member in sorted(p for p in path.rglob("*") if p.suffix.lower() in (".json", ".xml")):
                if member.is_symlink() or not member.resolve().is_relative_to(path.resolve()):
                    raise ParseError("link out of the input folder", file=str(member))
                files.append(_read_file(member, max_bytes, member.relative_to(path).as_posix()))
        elif path.suffix.lower() == ".zip":
            files.extend(_from_zip(path, max_bytes, max_ratio))
        elif path.exists():
            files.append(_read_file(path, max_bytes, path.name))
        else:
            raise ParseError("no such file or folder", file=str(path))
    return files


def _read_file(path: Path, max_bytes: int, archive_path: str) -> EPDFile:
    if path.stat().st_size > max_bytes:
        raise ParseError("file larger than the file-size limit (data/batch_limits.csv)", file=str(path))
    return EPDFile(str(path), archive_path, path.read_bytes())


def _parse_file(
    item: EPDFile, tree: ILCDTree, name: str, aliases: IndicatorAliases, losses: list[Loss] | None
) -> tuple[dict, list] | None:
    where = {"file": item.label}
    if not item.archive_path.lower().endswith(".xml"):
        try:
            doc = json.loads(item.data.decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ParseError(f"not valid JSON: {exc}", **where) from None
        if is_openepd(doc):
            return parse_openepd_document(doc, where, prefix=name)
        if not (isinstance(doc, dict) and "processInformation" in doc):
            raise ParseError("neither an ILCD+EPD process data set nor an openEPD document", **where)
    # ILCD+EPD (JSON or XML): None for flows, flow properties … (read when a process refers to them)
    imported = read_ilcd_file(item.label, item.archive_path, item.data, tree, aliases, prefix=name)
    if imported is None:
        return None
    if losses is not None:
        losses.extend(imported.losses)
    return imported.dataset, imported.rows


def import_epd(
    paths: Iterable[str | Path],
    name: str = "user",
    *,
    aliases: str | Path | IndicatorAliases | None = None,
    errors: list[MpeilError] | None = None,
    losses: list[Loss] | None = None,
) -> tuple[EPDLibrary, list[EPDFile]]:
    """Read EPD files into a library named ``name`` (ids ``<name>:<id>``); also return the files read.

    ``aliases``: a user aliases CSV (``--aliases``, see :mod:`mpeil.readers.ilcd.aliases`) or
    an :class:`IndicatorAliases`. When ``errors`` is a list, a file that is refused is
    appended to it (a typed error naming file and element) and the others are still read;
    otherwise the first refusal raises. ``losses`` collects what imported data sets lost
    (modules, indicators, units, cells: :class:`~mpeil.readers.epd_common.Loss`).
    """
    if not NAME_PATTERN.match(name):
        raise ParseError(f"library name {name!r} must match {NAME_PATTERN.pattern}", field="name")
    files = collect_files(paths)
    tree = ILCDTree({f.archive_path: f.data for f in files})
    if not isinstance(aliases, IndicatorAliases):
        aliases = IndicatorAliases.with_user_file(aliases)
    datasets: list[dict] = []
    values: list[tuple] = []
    seen: dict[str, str] = {}
    for item in files:
        try:
            parsed = _parse_file(item, tree, name, aliases, losses)
            if parsed is not None and parsed[0]["dataset_id"] in seen:
                raise ParseError(
                    f"data set {parsed[0]['dataset_id']} also in {seen[parsed[0]['dataset_id']]}", file=item.label
                )
        except MpeilError as error:
            if errors is None:
                raise
            errors.append(error)
            continue
        if parsed is None:
            continue
        dataset, rows = parsed
        seen[dataset["dataset_id"]] = item.label
        datasets.append(dataset)
        values.extend(rows)
    if not datasets:
        raise ParseError(
            "no EPD data set found (ILCD process XML/JSON or openEPD JSON)", file=", ".join(map(str, paths))
        )
    return EPDLibrary(datasets_frame(datasets), values_frame(values), name=name), files


def write_library(library: EPDLibrary, files: list[EPDFile], folder: str | Path) -> Path:
    """Write ``library`` as a library folder with ``manifest.json`` (inputs and their hashes)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    library.datasets.to_parquet(folder / "datasets.parquet", index=False)
    library.values.to_parquet(folder / "values.parquet", index=False)
    manifest = {
        "name": library.name,
        "created_by": f"mpeil {__version__} (mpeil epd import)",
        "datasets": len(library),
        "values": len(library.values),
        "library_hash": library.fingerprint(),
        "inputs": [
            {"file": f.label, "sha256": hashlib.sha256(f.data).hexdigest(), "bytes": len(f.data)} for f in files
        ],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return folder

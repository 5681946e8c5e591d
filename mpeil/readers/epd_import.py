"""``mpeil epd import``: a user EPD library from ILCD+EPD (JSON or XML), openEPD and LCAx files.

Inputs are files, folders (searched recursively) and zip archives, mixed freely:

* ``*.json``: an ILCD+EPD process data set in the soda4LCA JSON view, an openEPD document, an
  LCAx project (its embedded EPDs) or an LCAx EPD (told apart by their keys);
* ``*.xml``: ILCD process data sets (root ``processDataSet``); the flow, flow-property and
  unit-group data sets they reference are read from the same archive or folder tree, the way
  an ILCD export lays them out (``processes/``, ``flows/``, ``flowproperties/``, ``unitgroups/``).

Every data set gets the id ``<name>:<id in its file>``; ``name`` is the library's name. The
result is written as a library folder (the storage contract of :mod:`mpeil.model.library`) with
a ``manifest.json`` recording each input file's SHA-256, so a score computed with the library
can be traced to the files it came from. Size limits come from ``data/batch_limits.csv``.

Each file gets an :class:`ImportOutcome` (:func:`import_report`): imported, imported with losses
(:class:`~mpeil.readers.losses.Loss`: what was dropped, where, why) or refused (the typed error,
naming the file and the element or JSON path). A refused file never stops the others. A reader
plugs in through :func:`_parse_file`, returning ``(data sets, losses)`` for a file or raising a
:class:`~mpeil.errors.MpeilError`.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import __version__
from ..errors import MpeilError, ParseError
from ..model.library import EPDLibrary
from ..paths import data_dir
from .epd_common import datasets_frame, values_frame
from .ilcd import ILCDTree, IndicatorAliases, read_ilcd_file
from .losses import Loss
from .openepd import is_openepd, parse_openepd

__all__ = [
    "import_epd",
    "import_report",
    "write_library",
    "EPDFile",
    "ImportOutcome",
    "ImportReport",
    "Loss",
    "NAME_PATTERN",
]

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


def _from_zip(path: Path, max_bytes: int, max_ratio: float, refused: list) -> list[EPDFile]:
    """The JSON and XML members of a zip archive; a member over the limits is refused, the rest read."""
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
                error = ParseError("member too large or too compressed (data/batch_limits.csv)", file=label)
                refused.append(ImportOutcome(label, "refused", error=error))
                continue
            with archive.open(info) as handle:
                data = handle.read(max_bytes + 1)
            if len(data) > max_bytes:
                refused.append(
                    ImportOutcome(
                        label, "refused", error=ParseError("member larger than the file-size limit", file=label)
                    )
                )
                continue
            files.append(EPDFile(label, posixpath.normpath(info.filename), data))
    return files


def collect_inputs(paths: Iterable[str | Path]) -> tuple[list[EPDFile], list[ImportOutcome]]:
    """Every JSON and XML file under ``paths`` (files, folders, zip archives), in a stable order, and
    a refusal for each path or member that cannot be read (missing, a link out of its folder, too large)."""
    max_bytes, max_ratio = _size_limits()
    files: list[EPDFile] = []
    refused: list[ImportOutcome] = []
    for path in map(Path, paths):
        try:
            if path.is_dir():
                for member in sorted(p for p in path.rglob("*") if p.suffix.lower() in (".json", ".xml")):
                    try:
                        if member.is_symlink() or not member.resolve().is_relative_to(path.resolve()):
                            raise ParseError("link out of the input folder", file=str(member))
                        files.append(_read_file(member, max_bytes, member.relative_to(path).as_posix()))
                    except ParseError as error:
                        refused.append(ImportOutcome(str(member), "refused", error=error))
            elif path.suffix.lower() == ".zip":
                files.extend(_from_zip(path, max_bytes, max_ratio, refused))
            elif path.exists():
                files.append(_read_file(path, max_bytes, path.name))
            else:
                raise ParseError("no such file or folder", file=str(path))
        except ParseError as error:
            refused.append(ImportOutcome(str(path), "refused", error=error))
    return files, refused


def collect_files(paths: Iterable[str | Path]) -> list[EPDFile]:
    """Every JSON and XML file under ``paths``; raises the first path or member that cannot be read."""
    files, refused = collect_inputs(paths)
    if refused and refused[0].error is not None:
        raise refused[0].error
    return files


def _read_file(path: Path, max_bytes: int, archive_path: str) -> EPDFile:
    if path.stat().st_size > max_bytes:
        raise ParseError("file larger than the file-size limit (data/batch_limits.csv)", file=str(path))
    return EPDFile(str(path), archive_path, path.read_bytes())


#: what a reader returns for one file: its data sets as ``(data-set row, value rows)`` and its losses
Parsed = tuple[list[tuple[dict, list[tuple]]], list[Loss]]


@dataclass
class ImportOutcome:
    """What became of one input file.

    ``status``: ``imported`` (nothing dropped), ``imported_with_losses`` (see ``losses``),
    ``refused`` (``error`` says why, naming the file and the element or JSON path) or ``skipped``
    (a file read only through references: ILCD flows, flow properties, unit groups, sources).
    """

    file: str
    status: str
    datasets: list[tuple[dict, list[tuple]]] = field(default_factory=list)
    losses: list[Loss] = field(default_factory=list)
    error: MpeilError | None = None
    notes: list[str] = field(default_factory=list)  # what is worth knowing but lost nothing

    @property
    def dataset_ids(self) -> list[str]:
        return [str(row["dataset_id"]) for row, _ in self.datasets]

    def line(self) -> str:
        """One line for a report: ``refused  FILE: reason (where)``."""
        if self.status == "refused":
            return f"refused: {self.error}"
        ids = ", ".join(self.dataset_ids)
        if self.status == "imported_with_losses":
            return f"imported with {len(self.losses)} loss(es): {self.file} ({ids})"
        return f"{self.status}: {self.file}" + (f" ({ids})" if ids else "")


@dataclass
class ImportReport:
    """Every input file's :class:`ImportOutcome`, the files read, and the library of what was imported."""

    outcomes: list[ImportOutcome]
    files: list[EPDFile]
    library: EPDLibrary | None
    flags: pd.DataFrame | None = None  # screening flags of the imported data sets (model/screening.py)

    @property
    def refused(self) -> list[ImportOutcome]:
        return [o for o in self.outcomes if o.status == "refused"]

    def counts(self) -> dict[str, int]:
        statuses = ("imported", "imported_with_losses", "refused", "skipped")
        return {s: sum(o.status == s for o in self.outcomes) for s in statuses}


def _ilcd(item: EPDFile, tree: ILCDTree, name: str, aliases: IndicatorAliases) -> Parsed | None:
    """An ILCD+EPD file (XML in its export tree, or JSON) through :mod:`mpeil.readers.ilcd`."""
    imported = read_ilcd_file(item.label, item.archive_path, item.data, tree, aliases, prefix=name)
    if imported is None:
        return None  # flows, flow properties, unit groups: read when a process references them
    return [(imported.dataset, imported.rows)], imported.losses


def _parse_file(item: EPDFile, tree: ILCDTree, name: str, aliases: IndicatorAliases) -> Parsed | None:
    """One file's data sets and losses; None for a file read only through references."""
    where = {"file": item.label}
    if item.data.startswith(b"version https://git-lfs.github.com/spec/"):
        raise ParseError("a Git LFS pointer, not the data: fetch the file itself (git lfs pull)", **where)
    if item.archive_path.lower().endswith(".xml"):
        return _ilcd(item, tree, name, aliases)
    try:
        doc = json.loads(item.data.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ParseError(f"not valid JSON: {exc}", **where) from None
    if is_openepd(doc):
        dataset, rows, losses = parse_openepd(doc, where, prefix=name)
        return [(dataset, rows)], losses
    if isinstance(doc, dict) and "processInformation" in doc:
        return _ilcd(item, tree, name, aliases)
    from .lcax import is_lcax_epd, is_lcax_project, read_lcax_epd, read_lcax_project

    if is_lcax_epd(doc):
        row, rows, losses = read_lcax_epd(doc, file=item.label, name=name)
        return [(row, rows)], losses
    if is_lcax_project(doc):
        read = read_lcax_project(doc, file=item.label, name=name)
        return list(read.datasets.values()), read.losses
    raise ParseError("neither an ILCD+EPD process data set, an openEPD document nor an LCAx project or EPD", **where)


def _outcome(
    item: EPDFile, tree: ILCDTree, name: str, aliases: IndicatorAliases, seen: dict[str, tuple[str, list]]
) -> ImportOutcome:
    """Read one file; any :class:`MpeilError` becomes a refusal naming the file (the import goes on)."""
    try:
        parsed = _parse_file(item, tree, name, aliases)
        if parsed is None:
            return ImportOutcome(item.label, "skipped")
        datasets, losses = parsed
        kept, notes = [], []
        for row, values in datasets:
            key = str(row["dataset_id"])
            if key not in seen:
                kept.append((row, values))
            elif seen[key][1] == sorted(values):  # the same EPD carried by another file (LCAx projects do)
                notes.append(f"{key}: the same values as in {seen[key][0]}, imported once")
            else:
                raise ParseError(f"data set {key} also in {seen[key][0]}, with other values", file=item.label)
    except MpeilError as error:
        return ImportOutcome(item.label, "refused", error=error.located(file=item.label))
    except Exception as error:  # a reader's bug, not the file's fault alone: still one line, and the next file
        message = f"could not be read (an internal error, please report it): {type(error).__name__}: {error}"
        return ImportOutcome(item.label, "refused", error=ParseError(message, file=item.label))
    for row, values in kept:
        seen[str(row["dataset_id"])] = (item.label, sorted(values))
    return ImportOutcome(item.label, "imported_with_losses" if losses else "imported", kept, losses, None, notes)


def import_report(
    paths: Iterable[str | Path],
    name: str = "user",
    *,
    screen: bool = True,
    aliases: str | Path | IndicatorAliases | None = None,
) -> ImportReport:
    """Read every EPD file under ``paths``; a bad file is refused and the others still import.

    ``screen``: run the library screen (:mod:`mpeil.model.screening`: outliers per kg against the
    shipped category peers, property contradictions) on the imported data sets. ``aliases``: a
    user aliases CSV (``--aliases``, see :mod:`mpeil.readers.ilcd.aliases`) or an
    :class:`IndicatorAliases`, for ILCD+EPD indicator and unit spellings.
    """
    if not NAME_PATTERN.match(name):
        raise ParseError(f"library name {name!r} must match {NAME_PATTERN.pattern}", field="name")
    files, outcomes = collect_inputs(paths)
    tree = ILCDTree({f.archive_path: f.data for f in files})
    if not isinstance(aliases, IndicatorAliases):
        aliases = IndicatorAliases.with_user_file(aliases)
    seen: dict[str, tuple[str, list]] = {}  # data set id → (file, its value rows)
    outcomes += [_outcome(item, tree, name, aliases, seen) for item in files]
    found = [pair for o in outcomes for pair in o.datasets]
    if not found:
        return ImportReport(outcomes, files, None)
    library = EPDLibrary(
        datasets_frame([d for d, _ in found]), values_frame([r for _, rows in found for r in rows]), name=name
    )
    return ImportReport(outcomes, files, library, screen_user_library(library) if screen else None)


def screen_user_library(library: EPDLibrary) -> pd.DataFrame:
    """Screening flags of ``library``'s data sets, screened among the shipped peers (same indicator,
    category path and standard): a user library of three data sets has no peers of its own."""
    from ..model.screening import screen_with_shipped_peers

    return screen_with_shipped_peers(library)


def import_epd(
    paths: Iterable[str | Path], name: str = "user", *, aliases: str | Path | IndicatorAliases | None = None
) -> tuple[EPDLibrary, list[EPDFile]]:
    """Read EPD files into a library named ``name`` (ids ``<name>:<id>``); also return the files read.

    Files that are refused are left out (see :func:`import_report` for the per-file report); when
    nothing imports, the (first) refusal is raised.
    """
    report = import_report(paths, name, screen=False, aliases=aliases)
    if report.library is None:
        refused = report.refused
        if refused and refused[0].error is not None:
            raise refused[0].error
        raise ParseError(
            "no EPD data set found (ILCD process XML/JSON, openEPD JSON or LCAx project)",
            file=", ".join(map(str, paths)),
        )
    return report.library, report.files


def write_library(
    library: EPDLibrary, files: list[EPDFile], folder: str | Path, report: ImportReport | None = None
) -> Path:
    """Write ``library`` as a library folder with ``manifest.json`` (inputs and their hashes; with
    ``report``, each file's import status and losses, and the screening flags)."""
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
    if report is not None:
        manifest["import"] = [
            {"file": o.file, "status": o.status, "datasets": o.dataset_ids, "losses": [str(x) for x in o.losses],
             "error": None if o.error is None else str(o.error), "notes": o.notes}
            for o in report.outcomes if o.status != "skipped"
        ]  # fmt: skip
        if report.flags is not None:
            manifest["flags"] = report.flags.astype(object).where(report.flags.notna(), None).to_dict("records")
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return folder

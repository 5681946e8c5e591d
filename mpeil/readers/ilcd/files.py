"""ILCD+EPD files → imported data sets: JSON documents, XML process data sets in their tree.

:func:`read_ilcd_file` reads one file and is what :mod:`mpeil.readers.epd_import` calls per
input file; :func:`read_ilcd_tree` reads every process data set of a set of files (an export
archive, a folder) and never stops at a bad one: each file gets an :class:`ILCDFileResult`
(its data sets with their losses, or the typed error that refused it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ...errors import MpeilError, ParseError
from ...model.library import EPDLibrary
from ..epd_common import ImportedDataSet, datasets_frame, values_frame
from .aliases import IndicatorAliases
from .document import read_ilcd_document
from .reference import ILCDTree
from .xmlfiles import ilcd_xml_document, is_process_xml

__all__ = [
    "ILCDFileResult",
    "read_ilcd_file",
    "read_ilcd_tree",
    "read_ilcd",
    "read_ilcd_frames",
    "ilcd_files",
]


@dataclass
class ILCDFileResult:
    """What one file gave: ``imported`` data sets (with losses), or the ``error`` that refused it."""

    label: str
    imported: list[ImportedDataSet] = field(default_factory=list)
    error: MpeilError | None = None


def read_ilcd_file(
    label: str,
    archive_path: str,
    data: bytes,
    tree: ILCDTree,
    aliases: IndicatorAliases,
    prefix: str = "ilcd",
) -> ImportedDataSet | None:
    """One ILCD+EPD file → its data set; None for an XML file that is not a process data set
    (flows, flow properties … are read when a process refers to them), or that an export holds
    in a later version too (``<uuid>_<version>.xml``: only the latest is imported).

    ``label`` names the file in errors; ``archive_path`` is its path inside the export (posix),
    used with ``tree`` to resolve references. Raises a typed :class:`~mpeil.errors.ParseError`
    naming the file and the element when the file is refused.
    """
    where = {"file": label}
    try:
        if archive_path.lower().endswith(".xml"):
            if not is_process_xml(data) or tree.superseded(archive_path):
                return None  # an older version of a process in the same export is not imported
            doc = ilcd_xml_document(data, archive_path, tree)
        else:
            doc = _json(data, where)
        return read_ilcd_document(doc, aliases, where, prefix=prefix)
    except MpeilError as error:
        if error.file not in (label, archive_path):  # a referenced file failed: name it too
            error.message = f"{error.message} (in {error.file})" if error.file else error.message
        error.file = label
        raise
    except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
        # a member of another type than ILCD+EPD defines (a string where an object belongs …)
        raise ParseError(f"not the ILCD+EPD structure expected ({type(exc).__name__}: {exc})", file=label) from None


def _json(data: bytes, where: dict) -> dict:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ParseError(f"not valid JSON: {exc}", **where) from None
    if not isinstance(doc, dict) or "processInformation" not in doc:
        raise ParseError("not an ILCD+EPD process data set (no processInformation)", **where, field="$")
    return doc


def read_ilcd_tree(
    files: Mapping[str, bytes],
    aliases: IndicatorAliases | None = None,
    prefix: str = "ilcd",
    labels: Mapping[str, str] | None = None,
) -> list[ILCDFileResult]:
    """Every process data set among ``files`` (archive path → bytes); one result per process file.

    A file that is refused is recorded with its error and the others are still read.
    """
    aliases = aliases or IndicatorAliases.shipped()
    tree = ILCDTree(files)
    results = []
    for path, data in files.items():
        label = (labels or {}).get(path, path)
        try:
            imported = read_ilcd_file(label, path, data, tree, aliases, prefix)
        except MpeilError as error:
            results.append(ILCDFileResult(label, error=error))
            continue
        if imported is not None:
            results.append(ILCDFileResult(label, [imported]))
    return results


def ilcd_files(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    """Expand files and folders (``*.json`` inside, sorted) into a list of files."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(path.glob("*.json")))
        elif path.exists():
            files.append(path)
        else:
            raise ParseError("no such ILCD file or folder", file=str(path))
    return files


def read_ilcd_frames(
    paths: str | Path | Iterable[str | Path], aliases: IndicatorAliases | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read ILCD+EPD JSON files (or folders of them) into ``(datasets, values)`` frames."""
    aliases = aliases or IndicatorAliases.shipped()
    datasets, values = [], []
    empty = ILCDTree({})
    for path in ilcd_files(paths):
        imported = read_ilcd_file(str(path), path.name, path.read_bytes(), empty, aliases)
        if imported is not None:
            datasets.append(imported.dataset)
            values.extend(imported.rows)
    return datasets_frame(datasets), values_frame(values)


def read_ilcd(paths: str | Path | Iterable[str | Path], aliases: IndicatorAliases | None = None) -> EPDLibrary:
    """Read ILCD+EPD JSON files (or folders of them) into an :class:`EPDLibrary` (ids ``ilcd:<uuid>``)."""
    datasets, values = read_ilcd_frames(paths, aliases)
    return EPDLibrary(datasets, values, name="ilcd")

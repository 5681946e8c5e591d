"""Find the data sets an ILCD process refers to: in its archive or folder, else in the shipped
ILCD+EPD reference data.

soda4LCA and the EPD programmes export one data set per file, ``<folder>/<uuid>.xml`` or
``<folder>/<uuid>_<version>.xml`` (``processes/``, ``flows/``, ``flowproperties/``,
``unitgroups/``, ``lciamethods/`` …), and refer to each other by ``refObjectId`` (UUID), an
optional ``version`` and an optional ``uri`` (``../flows/<uuid>``, with or without ``.xml``
and version, or an http address). :class:`ILCDTree` indexes the files by folder and UUID and
resolves a reference to the referenced version, else the latest one, preferring the files of
the same export (same root folder) over other inputs.

Exports often leave out the standard flow properties and unit groups (Mass, Area, Volume …).
Their reference units are shipped in ``data/ilcd/flow_properties.csv`` and
``data/ilcd/unit_groups.csv`` (from the ILCD+EPD reference data, see ``data/ilcd/SOURCE.md``).
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from ...paths import data_dir

__all__ = ["ILCDTree", "ReferenceData", "FOLDER_OF_TYPE"]

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_MEMBER = re.compile(r"^(.+?)(?:_(\d+(?:\.\d+)+))?\.xml$", re.IGNORECASE)


def _member_key(name: str) -> tuple[str, str | None] | None:
    """``(uuid or stem, version)`` of a member name: ``<uuid>_<version>.xml``, ``<uuid>.xml``, or a
    name that carries the UUID (``Heizkoerper_300mm_<uuid>.xml``); None when not an XML file."""
    match = _MEMBER.match(name)
    if match is None:
        return None
    found = _UUID.search(match.group(1))
    return (found.group(0) if found else match.group(1)).lower(), match.group(2)


#: the ILCD ``type`` attribute of a reference → the folder of an export
FOLDER_OF_TYPE = {
    "flow data set": "flows",
    "flow property data set": "flowproperties",
    "unit group data set": "unitgroups",
    "LCIA method data set": "lciamethods",
    "process data set": "processes",
    "source data set": "sources",
    "contact data set": "contacts",
}


def _version(text: str | None) -> tuple[int, ...]:
    if not text:
        return ()
    return tuple(int(part) for part in re.findall(r"\d+", text))


@dataclass(frozen=True)
class _Member:
    path: str
    root: str
    version: tuple[int, ...]


class ILCDTree:
    """The XML files of one import, indexed by ``(folder, uuid)`` with their versions.

    Parameters
    ----------
    files:
        Archive path (posix, relative to the input) → bytes, for every XML file of the import.
    """

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self.files = files
        self._index: dict[tuple[str, str], list[_Member]] = {}
        for path in files:
            parsed = _member_key(posixpath.basename(path))
            if parsed is None:
                continue
            folder_path = posixpath.dirname(path)
            key = (posixpath.basename(folder_path).lower(), parsed[0])
            member = _Member(path, posixpath.dirname(folder_path), _version(parsed[1]))
            self._index.setdefault(key, []).append(member)

    def superseded(self, path: str) -> bool:
        """True when the same export holds a later version of the data set in file ``path``."""
        parsed = _member_key(posixpath.basename(path))
        if parsed is None:
            return False
        folder_path = posixpath.dirname(path)
        members = self._index.get((posixpath.basename(folder_path).lower(), parsed[0]), [])
        root = posixpath.dirname(folder_path)
        return any(m.root == root and m.version > _version(parsed[1]) for m in members)

    def find(self, near: str, reference: Mapping[str, str], folder: str) -> str | None:
        """Archive path of the data set ``reference`` points to, seen from file ``near``; None if absent.

        ``reference`` holds ``refObjectId``, and optionally ``version`` and ``uri``; ``folder``
        is the export folder to look in when the ``uri`` names none.
        """
        uri = str(reference.get("uri") or "")
        uuid = str(reference.get("refObjectId") or "").strip().lower()
        if not uuid and (found := _UUID.search(uri)):
            uuid = found.group(0).lower()
        exact = posixpath.normpath(posixpath.join(posixpath.dirname(near), uri)) if uri else ""
        if exact and not uri.startswith(("http:", "https:", "/")) and exact in self.files:
            return exact
        uri_folder = posixpath.basename(posixpath.dirname(uri.split("?")[0])) if "/" in uri else ""
        candidates = self._index.get(((uri_folder or folder).lower(), uuid)) or self._index.get((folder.lower(), uuid))
        if not candidates:
            return None
        return _choose(candidates, _version(reference.get("version")), _root(near)).path


def _root(path: str) -> str:
    return posixpath.dirname(posixpath.dirname(path))


def _choose(candidates: list[_Member], wanted: tuple[int, ...], root: str) -> _Member:
    """The referenced version if present, else the latest; files of the same export first."""
    local = [m for m in candidates if m.root == root] or candidates
    if wanted:
        exact = [m for m in local if m.version == wanted]
        if exact:
            return exact[0]
    return max(local, key=lambda m: m.version)


class ReferenceData:
    """The shipped ILCD+EPD reference units: flow property and unit group UUID → reference unit."""

    def __init__(self, flow_properties: pd.DataFrame, unit_groups: pd.DataFrame) -> None:
        self.flow_property_unit = dict(
            zip(flow_properties["uuid"].str.lower(), flow_properties["reference_unit"], strict=True)
        )
        self.flow_property_name = dict(zip(flow_properties["uuid"].str.lower(), flow_properties["name"], strict=True))
        self.unit_group_unit = dict(zip(unit_groups["uuid"].str.lower(), unit_groups["reference_unit"], strict=True))

    @classmethod
    @functools.lru_cache(maxsize=1)
    def shipped(cls) -> ReferenceData:
        folder = data_dir() / "ilcd"
        read = functools.partial(pd.read_csv, dtype=str, keep_default_na=False)
        return cls(read(folder / "flow_properties.csv"), read(folder / "unit_groups.csv"))

"""Stage 0, :func:`read`: what :meth:`mpeil.Scorer.score` accepts, as one flat frame plus buildings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..compile import flatten
from ..errors import DuplicateBuildingError, InputError
from ..hashing import file_sha256
from ..model import Building

__all__ = ["ScoringInput", "read", "IdRegister"]


@dataclass(frozen=True, eq=False)
class ScoringInput:
    """Buildings ready to compile: one flat frame (the compiler's format) and where it came from.

    Attributes
    ----------
    frame:
        The flat bill of materials, one row per layer line (see :func:`mpeil.compile.flatten`).
    buildings:
        The model objects read or given (their operational B6/B7 lines are reported apart; the
        libraries and inline data sets they name are layered over the scoring library).
    file:
        Label of the input in error messages and provenance (``None``: given in memory).
    files:
        Each file read → its SHA-256.
    """

    frame: pd.DataFrame
    buildings: tuple[Building, ...] = ()
    file: str | None = None
    files: Mapping[str, str] = field(default_factory=dict)


@dataclass
class IdRegister:
    """Building ids seen in one call and where each came from: the one duplicate-id check.

    Two inputs with one building id would be summed as one building, so :meth:`add` refuses the
    second, naming both places.
    """

    origin: dict[str, str | None] = field(default_factory=dict)  # building id → file (None: in memory)

    def add(self, ids: Iterable[Any], file: str | None) -> None:
        """Register ``ids`` (read from ``file``); raise :class:`~mpeil.errors.DuplicateBuildingError`
        on an id seen before (in this call or earlier in ``ids``)."""
        ids = list(dict.fromkeys(str(i) for i in ids))
        for building_id in ids:
            if building_id in self.origin:
                first = self.origin[building_id]
                raise DuplicateBuildingError(
                    f"building id {building_id!r} appears twice in one call"
                    + (f" (first in {first})" if first else "")
                    + "; give each building its own id",
                    file=file,
                    building=building_id,
                    field="id",
                )
        self.origin.update(dict.fromkeys(ids, file))


@dataclass
class _Gathered:
    """Inputs being read: frames to concatenate, model buildings, files read, the ids seen."""

    frames: list[pd.DataFrame] = field(default_factory=list)
    buildings: list[Building] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    ids: IdRegister = field(default_factory=IdRegister)


def _collect(source: Any, into: _Gathered) -> None:
    """Append one input (or each item of an iterable of inputs) to the frames to concatenate."""
    if isinstance(source, Building):
        into.ids.add([source.id], None)
        into.buildings.append(source)
        into.frames.append(flatten([source]))
    elif isinstance(source, pd.DataFrame):
        if "building_id" in source:
            into.ids.add(source["building_id"].dropna().unique(), None)
        into.frames.append(source)
    elif isinstance(source, (str, Path)):
        from ..readers import read_buildings

        read_in = read_buildings(source)
        into.ids.add([b.id for b in read_in], str(source))
        into.files[str(source)] = file_sha256(source)
        into.buildings.extend(read_in)
        into.frames.append(flatten(read_in))
    elif isinstance(source, Iterable):
        for item in source:
            _collect(item, into)
    else:
        raise InputError(f"cannot score a {type(source).__name__}: give a Building, a path or a DataFrame")


def read(source: Any, file: str | None = None) -> ScoringInput:
    """Read and flatten what :meth:`mpeil.Scorer.score` accepts into one :class:`ScoringInput`.

    Parameters
    ----------
    source:
        A :class:`~mpeil.model.Building`, a path to a building file (JSON, CSV, XLSX), a flat
        bill-of-materials DataFrame, a :class:`ScoringInput` (returned as is), or an iterable of those.
    file:
        Label of the input in error messages and provenance (default: the path read).

    Returns
    -------
    ScoringInput
        One flat frame (frames concatenated in order) and the model buildings read.

    Raises
    ------
    DuplicateBuildingError
        Two inputs give one building id.
    InputError
        Nothing to score, or an object that is none of the above.
    """
    if isinstance(source, ScoringInput):
        return source
    gathered = _Gathered()
    _collect(source, gathered)
    frames = gathered.frames
    if not frames:
        raise InputError("no buildings to score", file=file)
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    if file is None and isinstance(source, (str, Path)):
        file = str(source)
    return ScoringInput(frame, tuple(gathered.buildings), file, gathered.files)

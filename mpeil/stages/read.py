"""Stage 0, :func:`read`: what :meth:`mpeil.Scorer.score` accepts, as one flat frame plus buildings."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..compile import flatten
from ..errors import InputError
from ..hashing import file_sha256
from ..ids import IdRegister
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
    sources:
        Per input gathered, in order: its building ids and the file it was read from (None: given
        in memory); :func:`~mpeil.stages.compile` refuses an id given by two of them.
    from_model:
        Every row of ``frame`` was flattened from model buildings (read or given), which met the
        building model's type rules: :func:`~mpeil.stages.compile` does not check them again on the
        frame (:func:`mpeil.validation.check_frame_types`, for a frame given as is).
    """

    frame: pd.DataFrame
    buildings: tuple[Building, ...] = ()
    file: str | None = None
    files: Mapping[str, str] = field(default_factory=dict)
    sources: tuple[tuple[tuple[str, ...], str | None], ...] = ()
    from_model: bool = False

    def check_unique_ids(self) -> None:
        """Raise :class:`~mpeil.errors.DuplicateBuildingError` when two inputs give one building id
        (they would be summed as one building), naming the file of the first."""
        register = IdRegister()
        for ids, file in self.sources:
            register.add(ids, file)


@dataclass
class _Gathered:
    """Inputs being read: frames to concatenate, model buildings, files read, each input's ids."""

    frames: list[pd.DataFrame] = field(default_factory=list)
    buildings: list[Building] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    sources: list[tuple[tuple[str, ...], str | None]] = field(default_factory=list)
    given_frame: bool = False  # a DataFrame was given as is (its types never met the building model)

    def add_ids(self, ids: Iterable[Any], file: str | None) -> None:
        self.sources.append((tuple(dict.fromkeys(str(i) for i in ids)), file))


def _is_passport_object(source: Any) -> bool:
    """Whether ``source`` is a :class:`mpeil.model.passport.Passport`; there is none unless that
    module is imported, so reading a building file does not import it (its models: ~3 ms)."""
    module = sys.modules.get("mpeil.model.passport")
    return module is not None and isinstance(source, module.Passport)


def _is_passport_document(source: Mapping) -> bool:
    from ..model.passport import is_passport

    return is_passport(source)


def _collect(source: Any, into: _Gathered, ifc: Mapping[str, Any] | None = None) -> None:
    """Append one input (or each item of an iterable of inputs) to the frames to concatenate.

    ``ifc``: ``gfa_m2`` and ``mapping`` for the IFC models among the paths (issue 19)."""
    if isinstance(source, Building):
        into.add_ids([source.id], None)
        into.buildings.append(source)
        into.frames.append(flatten([source]))
    elif _is_passport_object(source):  # a building passport scores as the building it describes
        from ..model.passport import passport_to_building

        _collect(passport_to_building(source), into)
    elif isinstance(source, Mapping) and "passport_version" in source and _is_passport_document(source):
        from ..model.passport import passport_buildings  # a parsed passport document, any version

        _collect(passport_buildings(dict(source)), into)
    elif isinstance(source, pd.DataFrame):
        if "building_id" in source:
            into.add_ids(source["building_id"].dropna().unique(), None)
        into.frames.append(source)
        into.given_frame = True
    elif isinstance(source, (str, Path)):
        from ..readers import read_buildings

        is_ifc = Path(source).suffix.lower() == ".ifc"
        read_in = read_buildings(source, **(ifc or {})) if is_ifc else read_buildings(source)
        into.add_ids([b.id for b in read_in], str(source))
        into.files[str(source)] = file_sha256(source)
        into.buildings.extend(read_in)
        into.frames.append(flatten(read_in))
    elif isinstance(source, Iterable):
        for item in source:
            _collect(item, into, ifc)
    else:
        raise InputError(f"cannot score a {type(source).__name__}: give a Building, a path or a DataFrame")


def read(
    source: Any, file: str | None = None, *, gfa_m2: float | None = None, mapping: str | Path | None = None
) -> ScoringInput:
    """Read and flatten what :meth:`mpeil.Scorer.score` accepts into one :class:`ScoringInput`.

    Parameters
    ----------
    source:
        A :class:`~mpeil.model.Building`, a path to a building file (JSON, CSV, XLSX), a flat
        bill-of-materials DataFrame, a :class:`ScoringInput` (returned as is), or an iterable of those.
    file:
        Label of the input in error messages and provenance (default: the path read).
    gfa_m2, mapping:
        For IFC models read from a path: the gross floor area in m² (over what the model says) and a
        material mapping CSV tried before the default (:func:`mpeil.readers.ifc.read_ifc`).

    Returns
    -------
    ScoringInput
        One flat frame (frames concatenated in order) and the model buildings read.

    Raises
    ------
    InputError
        Nothing to score, or an object that is none of the above. (Two inputs giving one building
        id are refused by :func:`~mpeil.stages.compile`, the one duplicate-id check.)
    """
    if isinstance(source, ScoringInput):
        return source
    gathered = _Gathered()
    _collect(source, gathered, {k: v for k, v in (("gfa_m2", gfa_m2), ("mapping", mapping)) if v is not None})
    frames = gathered.frames
    if not frames:
        raise InputError("no buildings to score", file=file)
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    if file is None and isinstance(source, (str, Path)):
        file = str(source)
    return ScoringInput(
        frame, tuple(gathered.buildings), file, gathered.files, tuple(gathered.sources), not gathered.given_frame
    )

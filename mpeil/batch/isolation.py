"""Score a chunk's files together, isolating each bad file as one error row.

:func:`score_inputs` flattens the chunk's files once and compiles them as a whole (the fast
path). When that raises, the error names a building, hence a file: that file is compiled on its
own for its error row (the same row :func:`compile_input` gives, whatever else is in the chunk),
left out, and the rest compiled again; after a few bad files the remaining files are compiled
one by one. Should the engine fail on the whole chunk (a bug, not an input error), each file is
scored on its own, so only the file that triggers it becomes an error row.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pyarrow as pa

from ..errors import MpeilError
from ..ids import IdRegister
from .context import ScoringContext, compilers
from .inputs import ReadInput
from .tables import ChunkFrame, ChunkTables, KeyedFrame, error_row, score_keyed

__all__ = ["compile_input", "score_inputs"]

#: after this many bad files found by compiling a chunk as a whole, the rest are compiled file by file
_WHOLE_CHUNK_RETRIES = 4


def compile_input(read: ReadInput, context: ScoringContext, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """One file's flat bill of materials, compiled and checked on its own (raises a located MpeilError).

    This is the reference for what is wrong with a file: its error row is exactly what this raises.
    ``frame`` is the file's flat frame when already flattened (default: flatten its buildings).
    """
    if frame is None:
        frame = ChunkFrame.of([read]).file_frame(0)
    for scorer in compilers(context).values():
        scorer.compile_frame(frame, read.label)  # references and plausibility checked there (mpeil.validation)
    return frame


def _compile_chunk(flat: KeyedFrame, context: ScoringContext) -> dict:
    """Compile and check the whole chunk: (study period, transport) → CompiledBuildings."""
    compiled_for = {}
    for key, scorer in compilers(context).items():
        compiled_for[key] = scorer.compile_frame(flat.frame, None)  # checked there (mpeil.validation)
    return compiled_for


class _Chunk:
    """The chunk's files, flattened once, and the error rows found so far (by position)."""

    def __init__(self, inputs: Sequence[ReadInput], context: ScoringContext, chunk: int) -> None:
        self.inputs, self.context, self.chunk = inputs, context, chunk
        self.errors: dict[int, dict] = {}
        try:
            self.whole: ChunkFrame | None = ChunkFrame.of(inputs)
        except Exception:  # flattened file by file below, so the file that fails is the one reported
            self.whole = None

    def keyed(self, positions: Sequence[int]) -> KeyedFrame:
        if self.whole is None:
            raise RuntimeError("the chunk could not be flattened as a whole")
        return self.whole.keyed(positions)

    def file_error(self, position: int) -> dict | None:
        """The error row of one file compiled on its own, or None when it compiles."""
        read = self.inputs[position]
        try:
            frame = self.whole.file_frame(position) if self.whole is not None else None
            compile_input(read, self.context, frame)
        except MpeilError as error:
            return error_row(error.located(file=read.label), read.label, read.sha256, self.chunk)
        except Exception as exc:
            return _internal_error(exc, read, self.chunk)
        return None

    def error_rows(self) -> list[dict]:
        return [self.errors[i] for i in sorted(self.errors)]


def score_inputs(
    inputs: Sequence[ReadInput], context: ScoringContext, chunk: int = 0, claimed: dict[str, str] | None = None
) -> ChunkTables:
    """Score the buildings of many files together; errors per file, one engine pass per run.

    A file that repeats a building id of an earlier file (of this chunk, or in ``claimed``:
    building id → file of an earlier chunk) is a ``DuplicateBuildingError`` row.
    """
    state = _Chunk(inputs, context, chunk)
    pending, flat, compiled_for = _compile_whole(state)
    if compiled_for is None and pending:  # the slow path: every file on its own
        pending = [position for position in pending if not _record(state, position)]
    still = _without_duplicates(state, pending, claimed or {})
    if len(still) < len(pending):  # the first good file keeps the id; compile again without the others
        pending, flat, compiled_for = still, None, None
    if not pending:
        return ChunkTables(None, pd.DataFrame(), state.error_rows(), [])
    try:
        if flat is None or compiled_for is None:
            flat = state.keyed(pending)
            compiled_for = _compile_chunk(flat, context)
        tables = score_keyed(flat, compiled_for, context, chunk)
    except Exception:
        tables = _score_each(state, pending)
    tables.errors = state.error_rows()
    return tables


def _record(state: _Chunk, position: int) -> bool:
    """Record the error row of a file that does not compile on its own; whether it had one."""
    row = state.file_error(position)
    if row is not None:
        state.errors[position] = row
    return row is not None


def _compile_whole(state: _Chunk) -> tuple[list[int], KeyedFrame | None, dict | None]:
    """Compile the chunk as a whole, leaving out each file an error names (a few times at most).

    Returns the files still to score and, when the rest compiled, their keyed frame and compiled runs.
    """
    pending = list(range(len(state.inputs)))
    for _ in range(_WHOLE_CHUNK_RETRIES + 1):
        if not pending:
            break
        flat = None
        try:
            flat = state.keyed(pending)
            return pending, flat, _compile_chunk(flat, state.context)
        except MpeilError as error:
            key = str(error.building) if error.building is not None else ""
            if flat is None or not key.isdigit() or int(key) >= len(flat.owners):
                break
            position = int(flat.file_of_key[int(key)])
            if not _record(state, position):  # compiles alone: do not guess, compile file by file
                break
            pending.remove(position)
        except Exception:
            break
    return pending, None, None


def _score_each(state: _Chunk, pending: Sequence[int]) -> ChunkTables:
    """Score each file on its own (after the engine failed on the chunk): a failure is that file's row."""
    parts = []
    for position in pending:
        read = state.inputs[position]
        one = None
        try:
            one = ChunkFrame.of([read]).keyed([0])
            parts.append(score_keyed(one, _compile_chunk(one, state.context), state.context, state.chunk))
        except MpeilError as error:  # an implausible result (mpeil.plausibility): the file's error row
            state.errors[position] = error_row(_by_building_id(error, one), read.label, read.sha256, state.chunk)
        except Exception as exc:
            state.errors[position] = _internal_error(exc, read, state.chunk)
    parts = [p for p in parts if len(p.summary)]
    return ChunkTables(
        pa.concat_tables([p.results for p in parts if p.results is not None]) if parts else None,
        pd.concat([p.summary for p in parts], ignore_index=True) if parts else pd.DataFrame(),
        [],
        [r for p in parts for r in p.receipts],
    )


def _by_building_id(error: MpeilError, keyed: KeyedFrame | None) -> MpeilError:
    """The error with the building's own id where it names a chunk key (``"000000003"``)."""
    key = str(error.building) if error.building is not None else ""
    if keyed is not None and key.isdigit() and int(key) < len(keyed.owners):
        error.building = str(keyed.owners[int(key)].building)
    return error


def _without_duplicates(state: _Chunk, pending: list[int], claimed: dict[str, str]) -> list[int]:
    """``pending`` without the files that repeat a building id of an earlier one (their error rows
    go into the chunk's errors): the same id twice would be one building to a reader of the summary."""
    register = IdRegister("in one batch", dict(claimed))
    still = []
    for position in pending:
        read = state.inputs[position]
        ids = list(dict.fromkeys(str(building.id) for building in read.buildings))
        clash = next((b for b in ids if b in register.origin), None)
        if clash is None:
            register.add(ids, read.label)
            still.append(position)
            continue
        error = register.error(clash, read.label)
        state.errors[position] = error_row(error, read.label, read.sha256, state.chunk)
    return still


def _internal_error(exc: Exception, read: ReadInput, chunk: int) -> dict:
    row = error_row(exc, read.label, read.sha256, chunk)
    row["error_type"] = f"InternalError:{type(exc).__name__}"
    return row

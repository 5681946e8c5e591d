"""The scoring core of a batch: read buildings in, tables out. No file or directory I/O here.

Three concerns, three modules:

- :mod:`.context`: the batch's options, its scorers (one :class:`~mpeil.api.Scorer` for the
  method, one for the GWP companion) and the engine runs they plan;
- :mod:`.isolation`: :func:`score_inputs` compiles a chunk's files together (flattened once),
  isolates a bad file as one error row (never the end of its chunk), then runs the engine
  **once** per planned run on the chunk's good buildings;
- :mod:`.tables`: the tidy results (Arrow), one summary row and one receipt per building.

Every number of one building depends only on that building's lines (the engine sums per
element and per building), so a building scores bit for bit the same alone (``mpeil verify``)
as in any chunk, on any worker.
"""

from __future__ import annotations

from .context import (
    AVERAGE_TYPES,
    GENERIC_TYPES,
    SPECIFIC_TYPES,
    ScoringContext,
    ScoringOptions,
    build_context,
    freeze_options,
    scoring_context,
)
from .isolation import compile_input, score_inputs
from .tables import ChunkTables, error_row, receipt_name

__all__ = [
    "AVERAGE_TYPES",
    "GENERIC_TYPES",
    "SPECIFIC_TYPES",
    "ChunkTables",
    "ScoringContext",
    "ScoringOptions",
    "build_context",
    "compile_input",
    "error_row",
    "freeze_options",
    "receipt_name",
    "score_inputs",
    "scoring_context",
]

"""What a reader dropped from a file it still imported (the ``losses`` of an import report).

Kept apart from :mod:`mpeil.readers.epd_import` so that every reader (ILCD, openEPD, LCAx) can
record losses without importing the importer; :mod:`~mpeil.readers.epd_import` re-exports it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Loss"]


@dataclass(frozen=True)
class Loss:
    """Something a reader dropped: which kind of thing, where in the file, and why.

    ``what`` is one of ``module``, ``indicator``, ``scenario``, ``unit``, ``product``, ``assembly``,
    ``impact data``, ``property``; ``where`` names the element or JSON path in the file.
    """

    what: str
    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.what} {self.where}: {self.reason}"

"""The one duplicate building-id check of every entry point (API, compare, CLI, batch)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .errors import DuplicateBuildingError

__all__ = ["IdRegister"]


@dataclass
class IdRegister:
    """Building ids seen so far and where each came from: the one duplicate-id check of every entry
    point (API, compare, CLI, batch). Two inputs with one building id would be summed, compared or
    summarised as one building, so the second is refused, naming both places.

    ``scope`` says what "twice" is within (``"in one call"``, ``"in one comparison"``, …).
    """

    scope: str = "in one call"
    origin: dict[str, str | None] = dataclasses.field(default_factory=dict)  # building id → file (None: in memory)

    def clash(self, ids: Iterable[Any]) -> str | None:
        """The first of ``ids`` seen before (earlier in ``ids`` too), or None."""
        seen = set()
        for building_id in map(str, ids):
            if building_id in self.origin or building_id in seen:
                return building_id
            seen.add(building_id)
        return None

    def error(self, building_id: str, file: str | None) -> DuplicateBuildingError:
        """The error for ``building_id`` given again (by ``file``)."""
        first = self.origin.get(building_id)
        return DuplicateBuildingError(
            f"building id {building_id!r} appears twice {self.scope}"
            + (f" (first in {first})" if first else "")
            + "; give each building its own id",
            file=file,
            building=building_id,
            field="id",
        )

    def add(self, ids: Iterable[Any], file: str | None) -> None:
        """Register ``ids`` (read from ``file``); raise :class:`~mpeil.errors.DuplicateBuildingError`
        on an id seen before. Repeats within ``ids`` count once (one file's own repeats are its
        reader's to refuse; a frame holds one row per line)."""
        ids = list(dict.fromkeys(str(i) for i in ids))
        clash = self.clash(ids)
        if clash is not None:
            raise self.error(clash, file)
        self.origin.update(dict.fromkeys(ids, file))

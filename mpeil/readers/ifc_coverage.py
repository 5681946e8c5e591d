"""What scoring needs of the IFC reader, without importing it: the mapped shares a reading wrote into
a building (:func:`coverage_of`) and the error of a model without a floor area
(:class:`MissingFloorAreaError`).

Every score asks for both (the shares travel to the grade, issue 19; the CLI and the API turn the
error into advice), but only an IFC model has them: this module imports nothing heavy, so scoring a
JSON file does not import the IFC reader (pandas frames, mapping tables; 0.035 s of a cold start).
Both are re-exported from :mod:`mpeil.readers.ifc`, where they were first defined.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import InputError

if TYPE_CHECKING:
    from ..model import Building

__all__ = ["MissingFloorAreaError", "coverage_of"]


class MissingFloorAreaError(InputError):
    """The IFC model states no gross floor area and none was given; the message says how to give it."""

    def __init__(self, derivation: str, how: str = "read_ifc(path, gfa_m2=M2)", **where: Any) -> None:
        self.derivation = derivation
        super().__init__(f"the IFC model states no gross floor area ({derivation}); give it with {how}", **where)

    def how(self, how: str) -> MissingFloorAreaError:
        """The same error, telling how to give the area on another interface (``--gfa M2``, a form field)."""
        return MissingFloorAreaError(self.derivation, how, file=self.file, field=self.field)


def coverage_of(building: Building) -> dict[str, float]:
    """The mapped shares an IFC reading wrote into ``building.metadata``.

    Parameters
    ----------
    building:
        Any building; only one read from an IFC model (or written from such a reading) has them.

    Returns
    -------
    dict
        ``mapped_volume_share``, ``mapped_mass_share`` and ``volume_<mapped_by>`` /
        ``mass_<mapped_by>``, each a share (0-1); a share the reading could not know is left out;
        empty for other buildings.
    """
    out: dict[str, float] = {}
    for key, value in (building.metadata or {}).items():
        if key in ("mapped_volume_share", "mapped_mass_share") or key.startswith("share_"):
            try:
                out[key.removeprefix("share_")] = float(value)
            except (TypeError, ValueError):
                continue
    return out

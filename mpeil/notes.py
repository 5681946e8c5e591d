"""The notes of a scored building and the JSON float precision, in the words every output uses
(the command line's score table and JSON, the web service): one place, below both. A module of
its own, with no imports, so that importing the command line stays light (the ``outputs``
package imports the whole scoring stack)."""

from __future__ import annotations

__all__ = ["JSON_DOUBLE_PRECISION", "building_notes"]

#: decimals of a float in ``mpeil score -f json`` (pandas' ``to_json`` default, kept explicit): the
#: web service rounds its shares (weights, gap shares) the same way, so both say 0.6309, not 0.6309000000000001
JSON_DOUBLE_PRECISION = 10


def building_notes(row) -> list[str]:
    """One building's notes, in the words of every output (the score table, the web service):
    label note, missing lines, flags, replaced flags, estimates, missing indicators, gaps, IFC coverage.

    Parameters
    ----------
    row:
        The building's row of :attr:`mpeil.outputs.Result.scores` (a pandas Series).
    """
    note = row.get("label_note")
    notes = [note] if isinstance(note, str) and note else []
    notes += list(row.get("lines_missing", []))  # the lines behind missing data, at the lines' scale
    notes += [f"flagged: {flag}" for flag in row["flags"]]
    notes += [f"flagged, replaced: {flag}" for flag in row.get("flags_replaced", [])]
    gaps = set(row["indicators_missing"]) | set(row.get("indicators_partial", []))
    # estimated for the building: every line has a value and some are estimates; the rest is named below
    if estimated := [code for code in row["indicators_estimated"] if code not in gaps]:
        notes.append(f"estimated from peers: {', '.join(estimated)}")
    if row["indicators_missing"]:
        notes.append(f"no data set declares {', '.join(row['indicators_missing'])}")
    if row.get("indicators_partial"):
        notes.append(f"some lines lack {', '.join(row['indicators_partial'])}")
    if row["module_gaps"]:
        notes.append(
            "data gaps (share of lines): " + ", ".join(f"{m} {share:.0%}" for m, share in row["module_gaps"].items())
        )
    if row["uncovered"]:
        notes.append(f"not in any open data: {', '.join(row['uncovered'])}")
    if row.get("mapped_volume_share", float("nan")) == row.get("mapped_volume_share"):  # an IFC model
        notes.append(_ifc_coverage(row))
    return notes


def _ifc_coverage(row) -> str:
    """``IFC model: 97.7% of the volume mapped (default 56.2%, template default 41.5%, unmapped 2.3%)``."""
    split = ", ".join(
        f"{key.removeprefix('volume_').replace('_', ' ')} {share:.1%}"
        for key, share in row["mapped_by"].items()
        if key.startswith("volume_") and share > 0
    )
    mass = row["mapped_mass_share"]
    mass_text = f"{mass:.1%}" if mass == mass else "unknown"
    return f"IFC model: {row['mapped_volume_share']:.1%} of the volume mapped ({split}), mass {mass_text}"

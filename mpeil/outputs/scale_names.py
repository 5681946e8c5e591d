"""The words for the two A-letter scales of a score (``data/scale_names.csv``): the performance
label (``label``) and the data-quality grade (``quality_grade``), in en, nl and fr, so that every
output names them the same way and never one as the other."""

from __future__ import annotations

from functools import cache

from ..paths import data_dir

__all__ = ["scale_name", "SCALES", "LANGUAGES"]

SCALES = ("label", "quality_grade")
LANGUAGES = ("en", "nl", "fr")


@cache
def _names() -> dict[tuple[str, str], tuple[str, str]]:
    import csv

    with (data_dir() / "scale_names.csv").open(encoding="utf-8") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        return {(r["scale"], r["language"]): (r["short"], r["long"]) for r in rows}


def scale_name(scale: str, language: str = "en", long: bool = False) -> str:
    """The column heading (``long=False``) or the one-sentence explanation of a scale.

    Parameters
    ----------
    scale:
        ``"label"`` (performance label) or ``"quality_grade"`` (data-quality grade).
    language:
        ``"en"``, ``"nl"`` or ``"fr"``; another language falls back to English.
    """
    names = _names()
    short, text = names.get((scale, language)) or names[(scale, "en")]
    return text if long else short

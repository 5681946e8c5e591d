"""ÖKOBAUDAT CSV exports → the EPD library frames.

Two flavours are read (detected from the header line):

* the official export (``exportCSV`` of a data stock, e.g. ``OBD_2020_II.csv``):
  ``;``-separated, latin-1 (UTF-8 is tried first), one row per (data set, module, scenario);
* processed files with the same columns, ``,``-separated and UTF-8 (e.g. the 2024-I
  ``generic_data.csv`` / ``specific_data.csv``).

Numbers may carry a decimal comma (``Bezugsgroesse`` ``"3,6"``). ``dataset_id`` is
``"<source>:<UUID>"``. Values are stored per ``Bezugsgroesse`` × ``Bezugseinheit`` as the
export states them, one row per declared (non-empty) indicator cell; zeros are kept.

Conversions and corrections (each one also written into the data set's ``notes``):

* the declared unit goes through :func:`mpeil.units.parse_unit` (``qm``, ``m3``, ``pcs.``,
  ``kg``, ``m``, ``MJ``, ``a``, ``t*km``, ``kgkm``) and is stored in one spelling;
* known wrong declared amounts/units are replaced from
  ``data/epd/declared_unit_corrections.csv`` — notably the transport data sets, which declare
  ``1000 t*km`` (2024) / ``1000 kgkm`` (2020) although their values are per 1 t·km;
  they are stored as ``1 t*km``;
* ``Bezugsgroesse`` ``"not available"`` (3 data sets in 2020-II) leaves the declared amount
  and unit empty: their values are kept, but :meth:`EPDLibrary.tensor` gives NaN for them;
* ``Umrechungsfaktor auf 1kg`` is filled both ways round in the exports; see
  :func:`mpeil.readers.epd_common.orient_kg_factor`.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from ..errors import ParseError, UnitError
from ..model.indicators import obd_columns
from ..model.library import MODULES, EPDLibrary
from .epd_common import (
    NOTES_COLUMN,
    DeclaredUnitCorrections,
    datasets_frame,
    orient_kg_factor,
    parse_number,
    property_notes,
    tidy_unit,
    values_frame,
)

__all__ = ["read_oekobaudat", "read_oekobaudat_library", "PROPERTY_MAP", "DATA_TYPES"]

#: ÖKOBAUDAT export column → property column of the library
PROPERTY_MAP = {
    "Rohdichte (kg/m3)": "gross_density_kg_m3",
    "Schuettdichte (kg/m3)": "bulk_density_kg_m3",
    "Flaechengewicht (kg/m2)": "area_weight_kg_m2",
    "Schichtdicke (m)": "layer_thickness_m",
    "Ergiebigkeit (m2)": "yield_m2",
    "Laengengewicht (kg/m)": "linear_weight_kg_m",
    "Stueckgewicht (kg)": "mass_per_piece_kg",
    "biogener Kohlenstoffgehalt in kg": "biogenic_carbon_kg",
    "biogener Kohlenstoffgehalt (Verpackung) in kg": "biogenic_carbon_packaging_kg",
}
KG_FACTOR_COLUMN = "Umrechungsfaktor auf 1kg"

#: ``Typ`` → ``data_type``
DATA_TYPES = {
    "generic dataset": "generic",
    "specific dataset": "specific",
    "average dataset": "average",
    "representative dataset": "representative",
    "template dataset": "template",
}

_REQUIRED = ("UUID", "Bezugsgroesse", "Bezugseinheit", "Modul")
_ALLOWED_MODULES = set(MODULES) | {"A1", "A2", "A3"}


def _read_table(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    header = text.split("\n", 1)[0]
    separator = ";" if header.count(";") > header.count(",") else ","
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=separator, dtype=str, keep_default_na=False, quoting=csv.QUOTE_MINIMAL
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise ParseError(f"not a readable ÖKOBAUDAT CSV: {exc}", file=str(path)) from None
    frame = frame.loc[:, [c for c in frame.columns if not str(c).startswith("Unnamed:")]]
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise ParseError(f"not an ÖKOBAUDAT export: missing column(s) {missing}", file=str(path))
    return frame


def _category(row: pd.Series) -> str:
    english = row.get("Kategorie (en)", "")
    original = row.get("Kategorie (original)", "")
    chosen = english if english and "missing translation" not in english else original
    return " / ".join(part.strip().strip("'") for part in chosen.split(" / ")) if chosen else ""


def _standard(conformity: str, declared: set[str], catalogue_standard: dict[str, str]) -> str:
    if "15804+A2" in conformity.replace(" ", ""):
        return "EN 15804+A2"
    sets = {catalogue_standard[c] for c in declared if catalogue_standard.get(c) in ("EN 15804+A1", "EN 15804+A2")}
    if len(sets) == 1:
        return sets.pop()
    if "15804" in conformity:
        return "EN 15804+A1"
    return ""


def read_oekobaudat(
    path: str | Path,
    source: str = "obd",
    corrections: DeclaredUnitCorrections | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read one ÖKOBAUDAT CSV export into ``(datasets, values)`` frames.

    ``source`` prefixes the ids (``"obd2024"`` → ``"obd2024:<UUID>"``). ``corrections``
    defaults to the shipped ``data/epd/declared_unit_corrections.csv``; pass
    :meth:`DeclaredUnitCorrections.none` to read the declared units exactly as given.
    """
    from ..model.indicators import indicator_catalogue

    path = Path(path)
    corrections = DeclaredUnitCorrections.shipped() if corrections is None else corrections
    frame = _read_table(path)
    catalogue_standard = {code: ind.standard for code, ind in indicator_catalogue().items()}

    value_rows, first_row, declared_codes = _value_rows(frame, path, source)
    dataset_rows = [
        _dataset_row(frame.iloc[i], i, uuid, source, path, corrections, declared_codes[uuid], catalogue_standard)
        for uuid, i in first_row.items()
    ]
    return datasets_frame(dataset_rows), values_frame(value_rows)


def _value_rows(frame: pd.DataFrame, path: Path, source: str):
    """The export's value rows ``(dataset_id, module, scenario, indicator, value)``, the first row of
    each UUID and the indicator codes each UUID declares."""
    indicator_of = {col: code for col, code in obd_columns().items() if col in frame.columns}
    value_rows: list[tuple[str, str, str, str, float]] = []
    first_row: dict[str, int] = {}
    declared_codes: dict[str, set[str]] = {}
    for i, row in enumerate(frame.itertuples(index=False, name=None)):
        record = dict(zip(frame.columns, row, strict=True))
        uuid = record["UUID"].strip()
        if not uuid:
            raise ParseError("row without UUID", file=str(path), field=f"row {i + 2}")
        dataset_id = f"{source}:{uuid}"
        first_row.setdefault(uuid, i)
        module = record["Modul"].strip()
        if module not in _ALLOWED_MODULES:
            raise ParseError(f"unknown module {module!r}", file=str(path), field=f"row {i + 2}, Modul")
        scenario = record.get("Szenario", "").strip()
        codes = declared_codes.setdefault(uuid, set())
        for column, code in indicator_of.items():
            value = parse_number(record[column], where={"file": str(path), "field": f"row {i + 2}, {column}"})
            if not math.isnan(value):
                value_rows.append((dataset_id, module, scenario, code, value))
                codes.add(code)
    return value_rows, first_row, declared_codes


def _dataset_row(
    record: pd.Series,
    i: int,
    uuid: str,
    source: str,
    path: Path,
    corrections: DeclaredUnitCorrections,
    declared: set[str],
    catalogue_standard: dict[str, str],
) -> dict:
    """One data set's row (declared unit, properties, conversion factor and notes) from its first
    row ``record`` (row ``i`` of the export)."""
    where = {"file": str(path), "field": f"row {i + 2}"}
    notes: list[str] = []
    raw_amount_text = record["Bezugsgroesse"].strip()
    raw_unit = record["Bezugseinheit"].strip()
    try:
        amount = parse_number(raw_amount_text, where=where)
    except ParseError:
        amount = math.nan
    amount, unit_text, reason = corrections.apply(uuid, amount, raw_unit)
    if reason:
        notes.append(reason)
    unit = ""
    if math.isnan(amount) or not unit_text:
        notes.append(
            f"declared unit not available in the source (Bezugsgroesse {raw_amount_text!r}, "
            f"Bezugseinheit {raw_unit!r}, reference flow {record.get('Referenzfluss-Name', '')!r}); "
            "values kept but not usable per unit"
        )
        amount = math.nan
    else:
        try:
            unit = tidy_unit(unit_text)
        except UnitError as exc:
            raise ParseError(f"unknown declared unit {unit_text!r}", **where) from exc
    props = {
        name: parse_number(record.get(column, ""), where={**where, "field": f"row {i + 2}, {column}"})
        for column, name in PROPERTY_MAP.items()
    }
    raw_factor = parse_number(record.get(KG_FACTOR_COLUMN, ""), where=where)
    factor, factor_note = (math.nan, "")
    if unit:
        factor, factor_note = orient_kg_factor(raw_factor, amount, unit, props)
    elif not math.isnan(raw_factor):
        factor_note = f"conversion factor to 1 kg {raw_factor:g} not used: declared unit not available"
    if factor_note:
        notes.append(factor_note)
    notes.extend(property_notes(props))
    type_text = record.get("Typ", "").strip()
    return {
        "dataset_id": f"{source}:{uuid}",
        "source": source,
        "source_uuid": uuid,
        "version": record.get("Version", "").strip() or pd.NA,
        "name_de": record.get("Name (de)", "").strip() or pd.NA,
        "name_en": record.get("Name (en)", "").strip() or pd.NA,
        "category": _category(record) or pd.NA,
        "data_type": DATA_TYPES.get(type_text, type_text) or pd.NA,
        "standard": _standard(record.get("Konformität", ""), declared, catalogue_standard) or pd.NA,
        "country": record.get("Laenderkennung", "").strip() or pd.NA,
        "reference_year": record.get("Referenzjahr", "").strip() or pd.NA,
        "valid_until": record.get("Gueltig bis", "").strip() or pd.NA,
        "owner": record.get("Declaration owner", "").strip() or pd.NA,
        "url": record.get("URL", "").strip() or pd.NA,
        "declared_amount": amount,
        "declared_unit": unit or pd.NA,
        **props,
        "conversion_factor_to_kg": factor,
        NOTES_COLUMN: "; ".join(notes),
    }


def read_oekobaudat_library(
    paths: str | Path | Iterable[str | Path],
    source: str = "obd",
    corrections: DeclaredUnitCorrections | None = None,
) -> EPDLibrary:
    """Read one or more exports of the same release into an :class:`EPDLibrary`."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    frames = [read_oekobaudat(p, source, corrections) for p in paths]
    return EPDLibrary(
        pd.concat([f[0] for f in frames], ignore_index=True),
        pd.concat([f[1] for f in frames], ignore_index=True),
        name=source,
    )

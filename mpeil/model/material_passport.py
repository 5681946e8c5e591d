"""Material passports: one record per product (a library data set or an imported EPD).

A material passport says what a product is (identity: ILCD UUID, version, programme, validity),
who makes it, where it comes from, what it is made of, its technical properties with units, its
declared unit and its EPD values per module and indicator, with what is known of its reuse and
recycling. It also carries the library row and values exactly as the library holds them
(``library_record``), so a folder of material passports is a user library with the same values
(:func:`library_frames`, read by :meth:`mpeil.model.library.EPDLibrary.from_folder`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ParseError
from .indicators import indicator_catalogue
from .passport import content_sha256

__all__ = [
    "MATERIAL_PASSPORT_VERSION",
    "material_passport_json_schema",
    "MaterialPassport",
    "is_material_passport_folder",
    "library_frames",
    "material_passport",
    "read_composition",
    "read_material_passport",
]

MATERIAL_PASSPORT_VERSION = "1.0"

# library column → (technical property, unit); the column names carry their unit
TECHNICAL_PROPERTIES = {
    "gross_density_kg_m3": ("gross density", "kg/m³"),
    "bulk_density_kg_m3": ("bulk density", "kg/m³"),
    "area_weight_kg_m2": ("area weight", "kg/m²"),
    "layer_thickness_m": ("layer thickness", "m"),
    "yield_m2": ("yield", "m²"),
    "linear_weight_kg_m": ("linear weight", "kg/m"),
    "mass_per_piece_kg": ("mass per piece", "kg"),
    "conversion_factor_to_kg": ("conversion factor to mass", "kg per declared unit"),
    "biogenic_carbon_kg": ("biogenic carbon content", "kg C"),
    "biogenic_carbon_packaging_kg": ("biogenic carbon content of the packaging", "kg C"),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Property(_Strict):
    name: str
    value: float
    unit: str


class EPDValue(_Strict):
    module: str = Field(description="EN 15804 module, e.g. 'A1-A3'")
    scenario: str | None = Field(None, description="EPD scenario of the module, if several")
    indicator: str
    value: float | None = Field(description="Per declared unit; null where not declared (never 0)")
    unit: str | None = Field(description="Unit of the indicator (per declared unit)")


class MaterialPassport(_Strict):
    """One product's material passport (schema ``data/passport/material-passport-1.schema.json``)."""

    material_passport_version: str = MATERIAL_PASSPORT_VERSION
    content_sha256: str = Field(description="SHA-256 of the canonical JSON without this field")
    identity: dict[str, str | None] = Field(
        description="dataset_id, ilcd_uuid, version, programme (library/source), data_type, standard, "
        "reference_year, valid_until, url"
    )
    name: dict[str, str | None] = Field(description="Product name per language (en, de) and category")
    manufacturer: str | None = Field(description="Owner of the data set (ILCD 'owner'); null if not declared")
    origin: str | None = Field(description="Country or region of production (ISO code as declared)")
    composition: list[dict[str, Any]] | None = Field(
        None, description="Materials and mass shares, where the manufacturer gives them (often confidential)"
    )
    technical_properties: list[Property] = Field(description="Declared properties with their units")
    declared_unit: dict[str, Any] = Field(description="amount and unit the EPD values are declared for")
    epd: list[EPDValue] = Field(description="EPD values per module, scenario and indicator")
    reuse_recycling: dict[str, Any] = Field(
        description="What the data set says about reuse and recycling: modules C3/D declared, notes"
    )
    library_record: dict[str, Any] = Field(
        description="The library row ('dataset'), its column types ('dtypes') and its values ('values'), "
        "exactly as the library holds them"
    )


def material_passport_json_schema() -> dict:
    """The JSON Schema of the material passport (``data/passport/material-passport-<major>.schema.json``)."""
    schema = MaterialPassport.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://mpeil.example/material-passport-{MATERIAL_PASSPORT_VERSION.split('.')[0]}.schema.json"
    return schema


def _plain(value: Any) -> Any:
    """A library cell as JSON: missing (NaN, NA, None) → null."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _epd_values(values: pd.DataFrame) -> list[EPDValue]:
    catalogue = indicator_catalogue()
    return [
        EPDValue(
            module=str(row["module"]),
            scenario=_plain(row["scenario"]) or None,
            indicator=str(row["indicator"]),
            value=_plain(row["value"]),
            unit=catalogue[row["indicator"]].unit_label if row["indicator"] in catalogue else None,
        )
        for _, row in values.iterrows()
    ]


def read_composition(path: str | Path) -> dict[str, list[dict[str, Any]]]:
    """Compositions a manufacturer gives: a CSV with ``dataset_id,material,mass_share`` (share 0-1,
    one row per material) → data-set id → ``[{"material", "mass_share"}]``.

    Raises
    ------
    ParseError
        A column is missing, or a share is not a number in [0, 1] (naming file and row).
    """
    import csv

    out: dict[str, list[dict[str, Any]]] = {}
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"dataset_id", "material", "mass_share"} - set(reader.fieldnames or [])
        if missing:
            raise ParseError(f"composition file lacks the column(s) {', '.join(sorted(missing))}", file=str(path))
        for number, row in enumerate(reader, start=2):
            try:
                share = float(row["mass_share"])
            except ValueError:
                share = math.nan
            if not 0.0 <= share <= 1.0:
                raise ParseError(
                    f"row {number}: mass_share {row['mass_share']!r} is not a share in [0, 1]",
                    file=str(path),
                    field="mass_share",
                )
            out.setdefault(row["dataset_id"], []).append({"material": row["material"], "mass_share": share})
    return out


def material_passport(
    dataset: pd.Series,
    values: pd.DataFrame,
    dtypes: dict[str, str],
    composition: list[dict[str, Any]] | None = None,
) -> MaterialPassport:
    """The material passport of one library data set (its row, its values, the library's column
    types), with the manufacturer's ``composition`` where given (a confidential field)."""
    row = {k: _plain(v) for k, v in dataset.items()}
    modules = set(values["module"].astype(str))
    fields = {
        "material_passport_version": MATERIAL_PASSPORT_VERSION,
        "identity": {
            "dataset_id": row["dataset_id"],
            "ilcd_uuid": row.get("source_uuid"),
            "version": row.get("version"),
            "programme": row.get("source"),
            "data_type": row.get("data_type"),
            "standard": row.get("standard"),
            "reference_year": row.get("reference_year"),
            "valid_until": row.get("valid_until"),
            "url": row.get("url"),
        },
        "name": {"en": row.get("name_en"), "de": row.get("name_de"), "category": row.get("category")},
        "manufacturer": row.get("owner"),
        "origin": row.get("country"),
        "composition": composition,
        "technical_properties": [
            {"name": name, "value": row[column], "unit": unit}
            for column, (name, unit) in TECHNICAL_PROPERTIES.items()
            if row.get(column) is not None
        ],
        "declared_unit": {"amount": row.get("declared_amount"), "unit": row.get("declared_unit")},
        "epd": [v.model_dump(mode="json") for v in _epd_values(values)],
        "reuse_recycling": {
            "module_C3_declared": any(m.startswith("C3") for m in modules),
            "module_D_declared": any(m.startswith("D") for m in modules),
            "notes": row.get("notes"),
        },
        "library_record": {
            "dataset": row,
            "dtypes": dtypes,
            "values": [{k: _plain(v) for k, v in r.items()} for r in values.to_dict("records")],
            "values_dtypes": {k: str(v) for k, v in values.dtypes.items()},
        },
    }
    return MaterialPassport.model_validate({**fields, "content_sha256": content_sha256(fields)})


def read_material_passport(document: Any, file: str | None = None) -> MaterialPassport:
    """A material passport from its parsed JSON, its version and content hash checked.

    Raises
    ------
    ParseError
        Not a material passport, a newer major version, or content not matching its hash.
    """
    if not isinstance(document, dict) or "material_passport_version" not in document:
        raise ParseError("not a material passport (no material_passport_version)", file=file)
    if "view" in document:
        role = document["view"].get("role") if isinstance(document["view"], dict) else None
        raise ParseError(f"this is the {role!r} view of a material passport, not the full one", file=file)
    major = str(document["material_passport_version"]).split(".")[0]
    if major != MATERIAL_PASSPORT_VERSION.split(".")[0]:
        raise ParseError(f"material passport version {document['material_passport_version']} is not read", file=file)
    try:
        passport = MaterialPassport.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ParseError(f"not a valid material passport: {first['loc']}: {first['msg']}", file=file) from None
    if passport.content_sha256 != content_sha256(document):
        raise ParseError("material passport content does not match its content_sha256 (altered?)", file=file)
    shown = [(v.module, v.indicator, v.value) for v in passport.epd]
    kept = [(v["module"], v["indicator"], v["value"]) for v in passport.library_record["values"]]
    if shown != kept:
        raise ParseError("material passport: its EPD values differ from its library record", file=file)
    return passport


def is_material_passport_folder(folder: Path) -> bool:
    """A folder with material passports (``*.json`` with ``material_passport_version``) and no parquet library."""
    return not (folder / "datasets.parquet").exists() and any(
        '"material_passport_version"' in p.read_text(encoding="utf-8")[:200] for p in sorted(folder.glob("*.json"))
    )


def _frame(records: list[dict], dtypes: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records, columns=list(dtypes))
    return frame.astype(dtypes)


def library_frames(passports: Sequence[MaterialPassport]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``datasets`` and ``values`` tables of the library the passports come from (in their order)."""
    if not passports:
        raise ParseError("no material passports to read as a library")
    first = passports[0].library_record
    datasets = _frame([p.library_record["dataset"] for p in passports], first["dtypes"])
    values = _frame([v for p in passports for v in p.library_record["values"]], first["values_dtypes"])
    return datasets, values


def read_material_passport_folder(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``datasets`` and ``values`` of a folder of material passports (files in name order)."""
    passports = []
    for path in sorted(folder.glob("*.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ParseError(f"malformed JSON: {exc.msg} at line {exc.lineno}", file=str(path)) from None
        passports.append(read_material_passport(document, str(path)))
    return library_frames(passports)

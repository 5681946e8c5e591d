"""Building files: JSON (the model as it is) and a flat bill of materials (CSV, XLSX).

JSON
    One building object, or a list of them, exactly as :class:`~mpeil.model.Building`
    (see ``data/building.schema.json``, or ``mpeil schema``).

CSV / XLSX (the flat bill of materials)
    One row per layer line, columns :data:`BOM_COLUMNS`. The building columns
    (``building_id`` … ``project_type``, and ``building_metadata``) and the element columns
    (``element_id`` … ``element_unit``) repeat on every row; rows are grouped into
    buildings by ``building_id`` and into elements by ``element_id``, in the order they
    first appear. A repeated value may be left blank, but two different values for one
    building or element are an error. Every :class:`~mpeil.model.Layer` field is a column;
    ``end_of_life`` is spread over ``eol_landfill`` … ``eol_sorted_on_site`` (all blank =
    no override) and ``scenario`` is written ``"D=stofflich;C3=S1"``.

    B6/B7 lines (``Building.operational``) are rows with ``element_type`` ``"operational"``:
    ``layer`` holds the module (``B6``/``B7``), ``product``, ``amount`` (per year) and
    ``unit`` the rest; every other element and layer column stays blank.
    ``building_metadata`` holds ``Building.metadata`` as a JSON object (blank when empty).
    A ``line`` column (as written by :func:`mpeil.compile.flatten`) is accepted and ignored.
    Only the columns in :data:`REQUIRED_COLUMNS` must be present; a missing optional column
    means its default. A blank cell and empty text are the same (no value). Scenario module
    names cannot hold ``=`` or ``;``, names cannot hold ``;`` (refused when writing).

    CSV: UTF-8 (a BOM is fine), ``,``-separated; a ``;``-separated file (European
    spreadsheets) is detected from its header and may then use decimal commas.
    XLSX: the sheet ``bill_of_materials``, else the first sheet; header in row 1.

Every problem is raised as :class:`~mpeil.errors.ParseError` (the file or its structure)
or :class:`~mpeil.errors.InputError` (a value), with ``file``, ``building``, ``element``,
``layer`` (its label and the row or line number) and ``field`` set where known.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..errors import InputError, MpeilError, ParseError
from ..limits import Limits, load_limits
from ..model import Building, Element, Layer, OperationalEnergy
from ..model.bom import (
    _EOL_FIELD,
    _SCENARIO_PART,
    BOM_COLUMNS,
    BUILDING_COLUMNS,
    ELEMENT_COLUMNS,
    EOL_COLUMNS,
    LAYER_COLUMNS,
    METADATA_COLUMN,
    NUMERIC_COLUMNS,
    OPERATIONAL_ELEMENT_TYPE,
    bom_rows,
)
from ..model.inline_screen import check_inline_datasets
from .guards import check_json, check_zip_container, json_integer, read_bytes

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BOM_COLUMNS",
    "BUILDING_COLUMNS",
    "ELEMENT_COLUMNS",
    "EOL_COLUMNS",
    "LAYER_COLUMNS",
    "REQUIRED_COLUMNS",
    "OPERATIONAL_ELEMENT_TYPE",
    "SHEET_NAME",
    "read_building",
    "read_buildings",
    "write_building",
    "bom_rows",
]

REQUIRED_COLUMNS = ("building_id", "gross_floor_area_m2", "element_id", "element_quantity", "product", "amount", "unit")
#: columns that may be present and are ignored
IGNORED_COLUMNS = ("line",)
#: optional columns of a row that stands for a whole element built from a template (scenarios/elements)
TEMPLATE_COLUMNS = ("template", "params")
_LINE_COLUMNS = ("product", "amount", "unit")
#: sheet name written to (and preferred when reading) an XLSX file
SHEET_NAME = "bill_of_materials"

_BUILDING_FIELD = {"building_id": "id", "building_name": "name", METADATA_COLUMN: "metadata"}
_ELEMENT_FIELD = {"element_id": "id", "element_name": "name", "element_quantity": "quantity", "element_unit": "unit"}
_NUMERIC_COLUMNS = frozenset(NUMERIC_COLUMNS)
_OPERATIONAL_COLUMNS = frozenset({"element_type", "layer", "product", "amount", "unit"})
#: a ``libraries`` entry is a folder path: PATH_MAX and NAME_MAX of Linux file systems
MAX_LIBRARY_PATH = 4096
MAX_PATH_PART = 255
_FORMATS = {".json": "json", ".csv": "csv", ".xlsx": "xlsx"}


# ============================================================================ public API
def read_buildings(
    path: str | Path,
    limits: Limits | None = None,
    *,
    gfa_m2: float | None = None,
    mapping: str | Path | None = None,
) -> list[Building]:
    """All buildings in a ``.json``, ``.csv``, ``.xlsx`` or ``.ifc`` file, in file order.

    An IFC file is read with :func:`mpeil.readers.ifc.read_ifc` and the shipped default
    mapping (``mapping``: a user mapping file tried first; ``gfa_m2``: the gross floor area in m²,
    over what the model says); its unmapped materials and warnings are in ``read_ifc``'s result.
    For the other formats ``limits`` (default ``data/batch_limits.csv``) bound the file size, an
    XLSX workbook's unpacked size and JSON nesting before anything is parsed
    (:mod:`mpeil.readers.guards`).
    """
    path = Path(path)
    if path.suffix.lower() == ".ifc":
        return [_read_ifc_building(path, gfa_m2, mapping)]
    kind = _format_of(path)
    limits = limits if limits is not None else load_limits()
    if kind == "json":
        return _read_json(path, limits)
    rows = _read_csv_rows(path, limits) if kind == "csv" else _read_xlsx_rows(path, limits)
    _check_row_counts(rows, limits, str(path))
    return _buildings_from_rows(rows, str(path))


def _read_ifc_building(path: Path, gfa_m2: float | None = None, mapping: str | Path | None = None) -> Building:
    from .ifc import read_ifc

    reading = read_ifc(path, mapping=mapping, gfa_m2=gfa_m2)
    if not reading.unmapped.empty:
        import warnings

        from ..errors import UnmappedMaterialWarning

        note = UnmappedMaterialWarning(unmapped_note(reading.unmapped, reading.mapped_share), file=str(path))
        warnings.warn(note, stacklevel=3)
    if reading.building is None:
        from .ifc_coverage import MissingFloorAreaError

        if isinstance(reading.problem, MissingFloorAreaError):
            raise reading.problem.how("read_buildings(path, gfa_m2=M2)")
        raise reading.problem or InputError("the IFC model gives no building", file=str(path))
    return reading.building


def unmapped_note(unmapped: pd.DataFrame, share: dict[str, float]) -> str:
    """``42.2 % of the volume is mapped to no data set (Solid 57 m³, …); see mpeil ifc --suggest``.

    ``unmapped``: one row per material with ``volume_m3``; ``share``: the mapped shares of the reading.
    """
    rows = unmapped.sort_values("volume_m3", ascending=False, na_position="last")
    top = rows.head(3)
    shown = [
        f"{material} {volume:.3g} m³" if math.isfinite(volume) else str(material)
        for material, volume in zip(top["material"], top["volume_m3"].astype(float).tolist(), strict=True)
    ]
    names = ", ".join(shown) + (", …" if len(rows) > 3 else "")
    volume = 1.0 - share["volume"]
    amount = f"{volume:.1%} of the volume is" if math.isfinite(volume) else f"{len(rows)} materials are"
    return f"{amount} mapped to no data set ({names}); see mpeil ifc --suggest"


def read_building(path: str | Path) -> Building:
    """The one building in a file; a :class:`ParseError` if it holds none or several."""
    buildings = read_buildings(path)
    if len(buildings) != 1:
        ids = ", ".join(repr(b.id) for b in buildings[:5])
        raise ParseError(
            f"the file holds {len(buildings)} buildings ({ids}{', …' if len(buildings) > 5 else ''}); "
            "use read_buildings() to read several",
            file=str(path),
        )
    return buildings[0]


def write_building(buildings: Building | Iterable[Building], path: str | Path) -> Path:
    """Write one building or several to ``.json``, ``.csv`` or ``.xlsx``; returns the path.

    JSON keeps one building as an object and several as a list, and leaves out fields
    that hold their default. CSV and XLSX write the flat bill of materials.
    """
    path = Path(path)
    kind = _format_of(path)
    single = isinstance(buildings, Building)
    given: list[object] = [buildings] if single else list(buildings)
    items: list[Building] = []
    for item in given:
        if not isinstance(item, Building):
            raise TypeError(f"write_building takes Building objects, got {type(item).__name__}")
        items.append(item)
    if not items:
        raise InputError("no buildings to write", file=str(path))
    _check_unique_ids(items, str(path))
    if kind == "json":
        data = [b.model_dump(mode="json", exclude_defaults=True) for b in items]
        text = json.dumps(data[0] if single else data, indent=2, ensure_ascii=False) + "\n"
        path.write_text(text, encoding="utf-8")
    elif kind == "csv":
        _write_csv(bom_rows(items), path)
    else:
        _write_xlsx(bom_rows(items), path)
    return path


def _read_json(path: Path, limits: Limits) -> list[Building]:
    file = str(path)
    text = _read_text(path, limits, json_depth=True)
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_int=json_integer)
    except RecursionError:
        raise ParseError("malformed JSON: nested too deeply to be a building file", file=file) from None
    except json.JSONDecodeError as exc:
        # json's "Unterminated string starting at" already ends in "at": no "starting at at line"
        reason = exc.msg.removesuffix(" at")
        raise ParseError(f"malformed JSON: {reason} at line {exc.lineno}, column {exc.colno}", file=file) from None
    except _DuplicateKey as exc:
        raise ParseError(
            f"malformed JSON: key {exc.key!r} appears twice in one object", file=file, field=exc.key
        ) from None
    except ValueError as exc:  # an integer beyond the digit limit
        raise ParseError(f"malformed JSON: {exc}", file=file) from None
    if isinstance(data, dict) and "assemblies" in data:  # an LCAx project, known by its content
        from .lcax import is_lcax_project, lcax_buildings

        if is_lcax_project(data):
            return lcax_buildings(data, file)
    first = data[0] if isinstance(data, list) and data else data
    if isinstance(first, dict) and "passport_version" in first:  # maybe a passport: its module decides
        from ..model.passport import is_passport, passport_buildings

        if is_passport(data):  # a building passport (issue 24), known by its content
            from_passports = passport_buildings(data, file)
            _check_unique_ids(from_passports, file)
            return from_passports
    items = data if isinstance(data, list) else [data]
    if not items:
        raise ParseError("the JSON file holds an empty list: no buildings", file=file)
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            where = f"item {position + 1} of the list" if isinstance(data, list) else "the file"
            raise ParseError(f"{where} is a JSON {_json_type(item)}, not a building object", file=file)
    _check_json_counts(items, limits, file)
    buildings: list[Building] = []
    for item in items:
        item = _expand_json_templates(item, file)
        try:
            buildings.append(Building.model_validate(item))
        except ValidationError as exc:
            raise _json_error(exc, item, file) from None
        try:
            check_inline_datasets(buildings[-1].datasets, buildings[-1].id)
        except MpeilError as error:
            raise error.located(file=file) from None
    _check_unique_ids(buildings, file)
    return [_with_library_paths(b, path) for b in buildings]


def _check_json_counts(items: list[dict], limits: Limits, file: str) -> None:
    """Elements per building and lines per element and per file, templates counted before they
    are expanded (a template element counts its template's lines), so nothing large is built."""
    counter = _LineCounter(limits, file)
    for item in items:
        elements = item.get("elements")
        if not isinstance(elements, list):
            continue  # the building model reports it
        building = _text(item.get("id")) if isinstance(item.get("id"), (str, int, float)) else None
        if len(elements) > limits.elements_per_building:
            raise InputError(
                f"{len(elements):,} elements, above the limit of {limits.elements_per_building:,} per building",
                file=file,
                building=building,
                field="elements",
            )
        for position, element in enumerate(elements):
            if not isinstance(element, dict):
                continue
            own = element.get("layers")
            where = {"building": building, "element": _text(element.get("id")) or f"elements[{position}]"}
            counter.add(element.get("template"), len(own) if isinstance(own, list) else 0, where)


class _LineCounter:
    """Layer lines of a file as they will be once templates are expanded (each template read once)."""

    def __init__(self, limits: Limits, file: str) -> None:
        self.limits, self.file = limits, file
        self.total = 0
        self.template_lines: dict[str, int] = {}

    def add(self, template: Any, own_lines: int, where: dict) -> None:
        lines = own_lines
        if template is not None:
            name = str(template)
            if name not in self.template_lines:
                from ..model.templates import load_template  # only files with templates need them

                try:
                    self.template_lines[name] = len(load_template(name).layers)
                except MpeilError as error:
                    raise error.located(file=self.file, **where) from None
            lines += self.template_lines[name]
        if lines > self.limits.lines_per_element:
            raise InputError(
                f"{lines:,} lines, above the limit of {self.limits.lines_per_element:,} per element",
                file=self.file,
                **where,
                field="layers",
            )
        self.total += lines
        if self.total > self.limits.lines_per_file:
            raise InputError(
                f"more than {self.limits.lines_per_file:,} lines in one file (templates expanded), above the limit",
                file=self.file,
                **where,
                field="layers",
            )


def _expand_json_templates(item: dict, file: str) -> dict:
    """Elements written ``{"template": NAME, "params": {...}, "id": ..., "quantity": ...}`` → plain elements."""
    elements = item.get("elements")
    if not isinstance(elements, list) or not any(isinstance(e, dict) and "template" in e for e in elements):
        return item
    building = _text(item.get("id")) if isinstance(item.get("id"), (str, int, float)) else None
    expanded = []
    for position, element in enumerate(elements):
        if not isinstance(element, dict) or "template" not in element:
            expanded.append(element)
            continue
        where = {"file": file, "building": building, "element": _text(element.get("id")) or f"elements[{position}]"}
        params = element.get("params") or {}
        if not isinstance(params, dict):
            raise InputError("params must be an object of parameter → value", **where, field="params")
        expanded.append(_template_element(str(element["template"]), params, element, where))
    return {**item, "elements": expanded}


def _template_element(name: str, params: dict, element: dict, where: dict) -> dict:
    from ..model.templates import element_data  # only files with templates need them

    try:
        return element_data(name, params, element)
    except MpeilError as error:
        raise error.located(**{k: v for k, v in where.items() if v is not None}) from None


def _json_type(value: Any) -> str:
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array"}.get(type(value), "null")


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _json_error(exc: ValidationError, raw: dict, file: str) -> InputError:
    """A pydantic error on a JSON building → InputError located by building, element, layer, field."""
    error = exc.errors()[0]
    loc = list(error["loc"])
    building = _text(raw.get("id")) if isinstance(raw.get("id"), (str, int, float)) else None
    element = layer = None
    rest = loc
    if len(loc) >= 2 and loc[0] == "elements" and isinstance(loc[1], int):
        element_raw = _item(raw.get("elements"), loc[1])
        element = _text(element_raw.get("id")) if isinstance(element_raw.get("id"), (str, int, float)) else None
        element = element or f"elements[{loc[1]}]"
        rest = loc[2:]
        if len(rest) >= 2 and rest[0] == "layers" and isinstance(rest[1], int):
            layer_raw = _item(element_raw.get("layers"), rest[1])
            label = layer_raw.get("layer")
            line = f"line {rest[1] + 1}"
            layer = f"{label} ({line})" if isinstance(label, str) and label else line
            rest = rest[2:]
    field = _loc_text(rest)
    context = error.get("ctx") or {}
    if error["type"] == "ratio_sum":
        layer, field = str(context.get("layer")), "ratio"
    elif error["type"] == "duplicate_element_id":
        element, field = str(context.get("element")), "id"
    elif error["type"] == "eol_shares_sum":
        field = field or "end_of_life"
    message = _message(error, field, missing="is missing")
    return InputError(message, file=file, building=building, element=element, layer=layer, field=field)


def _item(container: Any, index: int) -> dict:
    if isinstance(container, list) and 0 <= index < len(container) and isinstance(container[index], dict):
        return container[index]
    return {}


def _loc_text(parts: Sequence[Any]) -> str | None:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or None


def _message(error: Mapping[str, Any], field: str | None, missing: str) -> str:
    if error["type"] == "missing":
        return f"{field} {missing}" if field else "a required value is missing"
    text = error["msg"]
    if field:
        text = f"{field}: {text}"
    value = error.get("input")
    if error.get("loc") and (value is None or isinstance(value, (str, int, float, bool))):
        shown = repr(value) if not isinstance(value, str) or len(value) <= 80 else repr(value[:77]) + "…"
        text += f" (got {shown})"
    return text


# ============================================================================ tabular files → rows
@dataclass
class _Row:
    number: int  # row number in the file (the header is row 1)
    cells: dict[str, Any]  # column → value; None = blank


@dataclass
class _Rows:
    rows: list[_Row]
    decimal_comma: bool = False


def _read_text(path: Path, limits: Limits, json_depth: bool = False) -> str:
    data = read_bytes(path, limits)
    if json_depth:
        check_json(data, limits, str(path))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 text (byte {exc.start}): save the file as UTF-8", file=str(path)) from None


def _read_csv_rows(path: Path, limits: Limits) -> _Rows:
    file = str(path)
    text = _read_text(path, limits)
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    if first_line.count(delimiter) == 0:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        records = _bounded(((reader.line_num, record) for record in reader), limits.table_rows)
    except _TooManyRows:
        raise _too_many_rows(limits, file) from None
    except csv.Error as exc:
        raise ParseError(f"malformed CSV near line {reader.line_num}: {exc}", file=file) from None
    if "\x00" in text:
        raise ParseError("malformed CSV: the file holds NUL bytes (is it a binary file?)", file=file)
    return _Rows(_rows_from_records(records, file, "CSV"), decimal_comma=delimiter == ";")


def _read_xlsx_rows(path: Path, limits: Limits) -> _Rows:
    file = str(path)
    data = read_bytes(path, limits)
    check_zip_container(data, limits, file)
    try:
        import openpyxl

        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError, InvalidFileException, …
        raise ParseError(f"malformed XLSX: {type(exc).__name__}: {exc}", file=file) from None
    try:
        sheet = workbook[SHEET_NAME] if SHEET_NAME in workbook.sheetnames else workbook.worksheets[0]
        _note_hidden_sheets(workbook, sheet, file)
        records = _bounded(
            ((number, list(values)) for number, values in enumerate(sheet.iter_rows(values_only=True), 1)),
            limits.table_rows,
        )
    except _TooManyRows:
        raise _too_many_rows(limits, file) from None
    except Exception as exc:
        raise ParseError(f"malformed XLSX: {type(exc).__name__}: {exc}", file=file) from None
    finally:
        workbook.close()
    if _has_formulas(data):
        _check_formulas(data, records, file, limits)
    return _Rows(_rows_from_records(records, file, "XLSX"))


def _note_hidden_sheets(workbook: Any, sheet: Any, file: str) -> None:
    """A note when the sheet read is hidden or veryHidden (Excel does not show it), or when hidden
    sheets are left unread: what is scored is never out of the user's sight without a word."""
    import warnings

    from ..errors import MpeilWarning

    state = getattr(sheet, "sheet_state", "visible")
    if state != "visible":
        warnings.warn(
            MpeilWarning(f"the bill of materials is read from sheet {sheet.title!r}, which is {state} in the workbook "
                         "(Excel does not show it)", file=file),
            stacklevel=4,
        )  # fmt: skip
    others = [
        s.title for s in workbook.worksheets if s is not sheet and getattr(s, "sheet_state", "visible") != "visible"
    ]
    if others:
        names = ", ".join(repr(name) for name in others[:3]) + (", …" if len(others) > 3 else "")
        warnings.warn(MpeilWarning(f"hidden sheet(s) {names} are not read", file=file), stacklevel=4)


def _has_formulas(data: bytes) -> bool:
    """Whether a worksheet of the workbook holds a formula (``<f>`` elements), without parsing it."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            return any(
                b"<f>" in book.read(name) or b"<f " in book.read(name)
                for name in book.namelist()
                if name.startswith("xl/worksheets/") and name.endswith(".xml")
            )
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, ValueError):
        return False


_CONSTANT_FORMULA = re.compile(r"=[\d\s.+\-*/()eE]+")


def _check_formulas(data: bytes, records: list[tuple[int, list[Any]]], file: str, limits: Limits) -> None:
    """Formula cells are scored on the values the spreadsheet saved (mpeil does not recompute):
    a formula without a saved value, or a constant formula (``=0.2*1000``) whose saved value
    disagrees, is a ParseError naming the cell; any other formula is a note."""
    import warnings

    import openpyxl
    from openpyxl.utils import get_column_letter

    from ..errors import MpeilWarning

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        sheet = workbook[SHEET_NAME] if SHEET_NAME in workbook.sheetnames else workbook.worksheets[0]
        formulas = _bounded(
            (
                (number, [cell.value if getattr(cell, "data_type", None) == "f" else None for cell in row])
                for number, row in enumerate(sheet.iter_rows(), 1)
            ),
            limits.table_rows,
        )  # a text cell that starts with "=" is text (data type "s"), not a formula
    finally:
        workbook.close()
    saved = dict(records)
    count, first = 0, None
    for number, cells in formulas:
        for column, formula in enumerate(cells, 1):
            if not (isinstance(formula, str) and formula.startswith("=")):
                continue
            count += 1
            cell = f"{get_column_letter(column)}{number}"
            first = first or cell
            row = saved.get(number, [])
            value = row[column - 1] if column - 1 < len(row) else None
            _check_formula(formula, value, cell, file)
    if count:
        warnings.warn(
            MpeilWarning(f"{count} cell(s) hold formulas (first {first}); the values the spreadsheet saved are "
                         "scored, mpeil does not recompute them", file=file),
            stacklevel=4,
        )  # fmt: skip


def _check_formula(formula: str, value: Any, cell: str, file: str) -> None:
    if value is None:
        raise ParseError(
            f"cell {cell} holds the formula {formula[:60]!r} without a saved value: open and save the workbook "
            "in a spreadsheet so its values are computed",
            file=file,
            layer=f"cell {cell}",
        )
    if not _CONSTANT_FORMULA.fullmatch(formula) or len(formula) > 200:
        return
    from ..model.templates import evaluate_arithmetic

    try:
        expected = evaluate_arithmetic(formula[1:])
        given = float(value)
    except (InputError, TypeError, ValueError):
        return
    if not math.isclose(expected, given, rel_tol=1e-9, abs_tol=1e-12):
        raise ParseError(
            f"cell {cell}: the formula {formula[:60]!r} gives {expected:g} but the workbook saved {given:g}; "
            "open and save it in a spreadsheet (the saved values are what is scored)",
            file=file,
            layer=f"cell {cell}",
        )


class _TooManyRows(Exception):
    """More rows than ``table_rows``: raised while reading, so the rest is never held."""


def _bounded(records: Iterable[tuple[int, list[Any]]], limit: int) -> list[tuple[int, list[Any]]]:
    """The records, refusing more than ``limit`` of them (plus the header) as soon as they come."""
    kept: list[tuple[int, list[Any]]] = []
    for record in records:
        kept.append(record)
        if len(kept) > limit + 1:
            raise _TooManyRows
    return kept


def _too_many_rows(limits: Limits, file: str) -> InputError:
    return InputError(
        f"more than {limits.table_rows:,} rows, above the limit of one bill of materials",
        file=file,
        field="table_rows",
    )


def _rows_from_records(records: list[tuple[int, list[Any]]], file: str, kind: str) -> list[_Row]:
    records = [(n, [_blank_to_none(v) for v in values]) for n, values in records]
    records = [(n, values) for n, values in records if any(v is not None for v in values)]
    if not records:
        raise ParseError(f"empty {kind} file: no header row", file=file)
    _header_number, header_cells = records[0]
    header: list[str | None] = []
    for value in header_cells:
        name = None if value is None else str(value).strip().lower()
        if name and name in header:
            raise ParseError(f"column {name!r} appears twice in the header", file=file, field=name)
        header.append(name or None)
    names = [name for name in header if name]
    unknown = [
        name
        for name in names
        if name not in BOM_COLUMNS and name not in IGNORED_COLUMNS and name not in TEMPLATE_COLUMNS
    ]
    if unknown:
        raise ParseError(
            f"unknown column(s) {unknown}; the bill of materials has the columns {list(BOM_COLUMNS)}",
            file=file,
            field=unknown[0],
        )
    optional = _LINE_COLUMNS if "template" in names else ()
    missing = [name for name in REQUIRED_COLUMNS if name not in names and name not in optional]
    if missing:
        raise ParseError(f"missing required column(s) {missing}", file=file, field=missing[0])
    rows: list[_Row] = []
    for number, values in records[1:]:
        if len(values) > len(header) and any(v is not None for v in values[len(header) :]):
            raise ParseError(
                f"malformed {kind}: row {number} has {len(values)} values but the header has {len(header)} columns",
                file=file,
                layer=f"row {number}",
            )
        cells: dict[str, Any] = {}
        for name, value in zip(header, values, strict=False):  # short rows: missing cells are blank
            if name is None:
                if value is not None:
                    raise ParseError(
                        f"row {number} has a value ({value!r}) in a column without a header",
                        file=file,
                        layer=f"row {number}",
                    )
            elif name not in IGNORED_COLUMNS:
                cells[name] = value
        rows.append(_Row(number, cells))
    if not rows:
        raise ParseError(f"the {kind} file has a header but no rows", file=file)
    return rows


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


# ============================================================================ rows → buildings
def _check_row_counts(table: _Rows, limits: Limits, file: str) -> None:
    """Lines per file with templates counted before they are expanded (:class:`_LineCounter`)."""
    counter = _LineCounter(limits, file)
    for row in table.rows:
        template = row.cells.get("template")
        where = {"building": _text(row.cells.get("building_id")), "element": _text(row.cells.get("element_id"))}
        counter.add(None if template is None else _text(template), 0 if template is not None else 1, where)


def _buildings_from_rows(table: _Rows, file: str) -> list[Building]:
    by_building: dict[str, list[_Row]] = {}
    for row in table.rows:
        building_id = _text(row.cells.get("building_id"))
        if building_id is None:
            raise ParseError(
                f"row {row.number}: building_id is empty", file=file, layer=f"row {row.number}", field="building_id"
            )
        by_building.setdefault(building_id, []).append(row)
    return [_building(building_id, rows, table, file) for building_id, rows in by_building.items()]


def _building(building_id: str, rows: list[_Row], table: _Rows, file: str) -> Building:
    where = {"file": file, "building": building_id}
    data: dict[str, Any] = {}
    for column in BUILDING_COLUMNS[1:] + (METADATA_COLUMN,):
        value = _constant(rows, column, table, where)
        if value is None:
            continue
        if column == METADATA_COLUMN:
            value = _metadata(value, where)
        elif column in _NUMERIC_COLUMNS:
            value = _number(value, table)
        else:
            value = _text(value)
        data[_BUILDING_FIELD.get(column, column)] = value
    by_element: dict[str, list[_Row]] = {}
    operational_rows: list[_Row] = []
    for row in rows:
        element_type = _text(row.cells.get("element_type"))
        if element_type is not None and element_type.lower() == OPERATIONAL_ELEMENT_TYPE:
            operational_rows.append(row)
            continue
        element_id = _text(row.cells.get("element_id"))
        if element_id is None:
            raise ParseError(
                f"row {row.number}: element_id is empty", **where, layer=_layer_label(row), field="element_id"
            )
        by_element.setdefault(element_id, []).append(row)
    if not by_element:
        raise InputError(f"building {building_id!r} has no element rows", **where, field="element_id")
    data["elements"] = [_element(element_id, erows, table, where) for element_id, erows in by_element.items()]
    data["operational"] = [_operational(row, table, where) for row in operational_rows]
    data["id"] = building_id
    try:
        return Building.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = _column_of_building_loc(error["loc"])
        raise InputError(_message(error, field, missing="is empty"), **where, field=field) from None


def _element(element_id: str, rows: list[_Row], table: _Rows, where: dict) -> Element:
    where = {**where, "element": element_id}
    data: dict[str, Any] = {"id": element_id}
    for column in ELEMENT_COLUMNS[1:]:
        value = _constant(rows, column, table, where)
        if value is not None:
            data[_ELEMENT_FIELD.get(column, column)] = (
                _number(value, table) if column in _NUMERIC_COLUMNS else _text(value)
            )
    template_rows = [row for row in rows if row.cells.get("template") is not None]
    line_rows = [row for row in rows if row.cells.get("template") is None]
    data["layers"] = [_layer(row, table, where) for row in line_rows]
    if template_rows:
        data = _csv_template_element(template_rows, data, where)
    try:
        return Element.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        context = error.get("ctx") or {}
        if error["type"] == "ratio_sum":
            label = str(context.get("layer"))
            numbers = [r.number for r, line in zip(rows, data["layers"], strict=False) if line.layer == label]
            rows_text = f" (rows {', '.join(map(str, numbers))})" if numbers else ""
            raise InputError(f"{error['msg']}{rows_text}", **where, layer=label, field="ratio") from None
        loc = error["loc"]
        named = next((c for c, f in _ELEMENT_FIELD.items() if loc and f == loc[0]), None)
        error_column = named or (str(loc[0]) if loc else None)
        raise InputError(_message(error, error_column, missing="is empty"), **where, field=error_column) from None


def _layer(row: _Row, table: _Rows, where: dict) -> Layer:
    cells = row.cells
    data: dict[str, Any] = {}
    for column in LAYER_COLUMNS:
        value = cells.get(column)
        if value is None or column in _EOL_FIELD or column == "scenario":
            continue
        data[column] = (
            _number(value, table)
            if column in _NUMERIC_COLUMNS
            else (value if column in ("existing", "removed") else _text(value))
        )
    shares = {
        route: _number(cells[column], table) for column, route in _EOL_FIELD.items() if cells.get(column) is not None
    }
    if shares:
        data["end_of_life"] = shares
    layer = _layer_label(row)
    if cells.get("scenario") is not None:
        data["scenario"] = _scenario(_text(cells["scenario"]), {**where, "layer": layer})
    try:
        return Layer.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = list(error["loc"])
        error_column: str | None
        if loc[:1] == ["end_of_life"]:
            error_column = f"eol_{loc[1]}" if len(loc) > 1 and isinstance(loc[1], str) else "end_of_life"
        else:
            error_column = str(loc[0]) if loc else None
        message = f"row {row.number}: {_message(error, error_column, missing='is empty')}"
        raise InputError(message, **where, layer=layer, field=error_column) from None


def _csv_template_element(rows: list[_Row], data: dict, where: dict) -> dict:
    """An element row with ``template`` (and ``params`` "name=value;…"): the template's layers, then the element's own rows."""
    row = rows[0]
    at = {**where, "layer": f"row {row.number}"}
    if len(rows) > 1:
        raise ParseError(
            f"element {where['element']!r} names a template on rows {', '.join(str(r.number) for r in rows)}; one row per template",
            **at,
            field="template",
        )
    filled = [column for column in LAYER_COLUMNS if row.cells.get(column) is not None]
    if filled:  # a layer value on a template row would be silently lost: the template makes the layers
        raise ParseError(
            f"row {row.number} names a template, so its layer columns {filled} must stay blank "
            "(add a row without a template for an extra layer)",
            **at,
            field=filled[0],
        )
    params = _params(_text(row.cells.get("params")), at)
    return _template_element(str(_text(row.cells["template"])), params, data, at)


def _params(text: str | None, where: dict) -> dict[str, str]:
    """``"insulation=pur; insulation_thickness_m=0.16"`` → {"insulation": "pur", …} (values checked by the template)."""
    params: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(";"))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise InputError(f"params part {part!r} is not NAME=VALUE (e.g. 'insulation=pur')", **where, field="params")
        params[key.strip()] = value.strip()
    return params


def _operational(row: _Row, table: _Rows, where: dict) -> OperationalEnergy:
    layer = f"row {row.number}"
    where = {**where, "element": OPERATIONAL_ELEMENT_TYPE, "layer": layer}
    extra = [
        c
        for c, v in row.cells.items()
        if v is not None and c not in _OPERATIONAL_COLUMNS and c not in BUILDING_COLUMNS and c != METADATA_COLUMN
    ]
    if extra:
        raise ParseError(
            f"row {row.number} is an operational (B6/B7) row: it takes only product, amount, unit and "
            f"layer (the module), but also has {extra}",
            **where,
            field=extra[0],
        )
    data: dict[str, Any] = {}
    for column, key in (("product", "product"), ("amount", "amount_per_year"), ("unit", "unit"), ("layer", "module")):
        value = row.cells.get(column)
        if value is not None:
            data[key] = _number(value, table) if column == "amount" else _text(value)
    try:
        return OperationalEnergy.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = (
            {"amount_per_year": "amount", "module": "layer"}.get(str(error["loc"][0]), str(error["loc"][0]))
            if error["loc"]
            else None
        )
        raise InputError(
            f"row {row.number}: {_message(error, field, missing='is empty')}", **where, field=field
        ) from None


def _column_of_building_loc(loc: Sequence[Any]) -> str | None:
    if not loc:
        return None
    name = str(loc[0])
    reverse = {field: column for column, field in _BUILDING_FIELD.items()}
    return reverse.get(name, name)


def _constant(rows: list[_Row], column: str, table: _Rows, where: dict) -> Any:
    """The one value a building- or element-level column has over its rows (blanks ignored)."""
    first: tuple[Any, Any, _Row] | None = None
    for row in rows:
        value = row.cells.get(column)
        if value is None:
            continue
        key = _compare_key(value, column, table)
        if first is None:
            first = (key, value, row)
        elif key != first[0]:
            owner = f"element {where['element']!r}" if "element" in where else f"building {where['building']!r}"
            raise ParseError(
                f"{column} must be the same on every row of {owner}, but is {first[1]!r} on row "
                f"{first[2].number} and {value!r} on row {row.number}",
                **where,
                field=column,
            )
    return None if first is None else first[1]


def _compare_key(value: Any, column: str, table: _Rows) -> Any:
    if column in _NUMERIC_COLUMNS:
        number = _number(value, table)
        try:
            return float(number)
        except (TypeError, ValueError):
            return str(number)
    return _text(value)


def _metadata(value: Any, where: dict) -> dict:
    try:
        data = json.loads(str(value))
    except json.JSONDecodeError as exc:
        raise ParseError(f"building_metadata is not a JSON object: {exc.msg}", **where, field=METADATA_COLUMN) from None
    if not isinstance(data, dict):
        raise ParseError('building_metadata must be a JSON object ({"key": "text"})', **where, field=METADATA_COLUMN)
    return data


def _scenario(text: str | None, where: dict) -> dict[str, str] | None:
    if not text:
        return None
    choice: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        match = _SCENARIO_PART.match(part)
        if not match or not match.group(2):
            raise InputError(
                f"scenario part {part!r} is not MODULE=NAME (e.g. 'D=stofflich;C3=S1')", **where, field="scenario"
            )
        module, name = match.groups()
        if module in choice:
            raise InputError(f"scenario names module {module!r} twice", **where, field="scenario")
        choice[module] = name
    return choice or None


_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+(?:[eE][+-]?\d+)?$")


def _number(value: Any, table: _Rows) -> Any:
    """A numeric cell as pydantic should see it: numbers as they are, text with '.' decimals."""
    if isinstance(value, str) and table.decimal_comma and _DECIMAL_COMMA.match(value):
        return value.replace(",", ".")
    return value


def _text(value: Any) -> str | None:
    """A cell as text: integral numbers without '.0' (an id typed as 12 in a spreadsheet is '12')."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value).strip()
    return text or None


def _layer_label(row: _Row) -> str:
    label = _text(row.cells.get("layer"))
    return f"{label} (row {row.number})" if label else f"row {row.number}"


# ============================================================================ writing
def _write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(BOM_COLUMNS)
    for row in rows:
        writer.writerow([_csv_cell(row[column]) for column in BOM_COLUMNS])
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # shortest text that reads back to the same float64
    return str(value)


def _write_xlsx(rows: list[dict[str, Any]], path: Path) -> None:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    if sheet is None:  # a new workbook has one sheet; openpyxl's types allow none
        sheet = workbook.create_sheet()
    sheet.title = SHEET_NAME
    sheet.append(list(BOM_COLUMNS))
    for number, row in enumerate(rows, 2):
        for column_number, column in enumerate(BOM_COLUMNS, 1):
            value = row[column]
            if value is None:
                continue
            if isinstance(value, float) and float(f"{value:.16g}") != value:
                # openpyxl writes numbers with 16 significant digits; the few float64 values that
                # need 17 are written as text, which reads back to the same float
                value = repr(value)
            cell = sheet.cell(row=number, column=column_number)
            try:
                cell.value = value
            except Exception as exc:  # openpyxl rejects control characters
                raise InputError(
                    f"cannot write {value!r} to XLSX: {exc}",
                    file=str(path),
                    building=row["building_id"],
                    element=row["element_id"],
                    field=column,
                ) from None
            if isinstance(value, str):
                cell.data_type = "s"  # text, even when it starts with '=' (never a formula)
    sheet.freeze_panes = "A2"
    workbook.save(path)


# ============================================================================ helpers
def _format_of(path: Path) -> str:
    kind = _FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ParseError(
            f"unsupported file type {path.suffix or '(none)'!r}; building files are .json, .csv, .xlsx or .ifc",
            file=str(path),
        )
    return kind


def _check_unique_ids(buildings: Sequence[Building], file: str) -> None:
    seen: set[str] = set()
    for building in buildings:
        if building.id in seen:
            raise InputError(f"building id {building.id!r} appears twice", file=file, building=building.id, field="id")
        seen.add(building.id)


def _with_library_paths(building: Building, path: Path) -> Building:
    """The building with its ``libraries`` as absolute paths (they are relative to its file)."""
    if not building.libraries:
        return building
    for entry in building.libraries:
        longest = max((len(part) for part in Path(entry).parts), default=0)
        if len(entry) > MAX_LIBRARY_PATH or longest > MAX_PATH_PART:
            shown = repr(entry[:40]) + "…" if len(entry) > 40 else repr(entry)
            raise InputError(
                f"library entry {shown} is {len(entry):,} characters long (a path of at most {MAX_LIBRARY_PATH} "
                f"characters, {MAX_PATH_PART} per folder name)",
                file=str(path),
                building=building.id,
                field="libraries",
            )
    folder = path.resolve().parent
    resolved = [str((folder / entry).resolve()) for entry in building.libraries]
    return building.model_copy(update={"libraries": resolved})

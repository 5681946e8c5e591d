"""A corpus of hostile inputs, each with the outcome it must have (issue 10).

Every :class:`Case` is one input: a building file (JSON, CSV, XLSX), a zip archive, or a unit
string, and its expected outcome, decided by construction, never by running mpeil:

- ``"error"``: the input breaks a type rule, a plausibility limit (``data/batch_limits.csv``) or
  the file format; mpeil must refuse it with a typed :class:`~mpeil.errors.MpeilError`;
- ``"score"``: the input is hostile in form but valid (markup or a formula in an id, a UTF-8 BOM);
  mpeil must score it to a finite number;
- ``"either"``: random damage whose outcome nobody decided (a byte flipped); mpeil must refuse it
  with a typed error or score it plausibly, never crash or hang.

``python -m fuzz.corpus DIR`` (from ``tests/``) writes the corpus as files for a longer run with
``mpeil batch`` (see ``docs/readme/issue-10.md``). :func:`build_corpus` makes it in memory.
"""

from __future__ import annotations

import copy
import csv
import io
import itertools
import json
import random
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

#: shipped generic data sets (data/epd/obd2024)
CONCRETE = "obd2024:e3d7a045-ee91-43ac-8fb4-a5216c65ba0b"  # m³, 2360 kg/m³
REBAR = "obd2024:f6861618-5a92-4c3a-94ba-9f7329b29662"  # kg
SAND_LIME = "obd2024:c916ceb3-a44d-40b7-8984-861afa589956"  # m³
MINERAL_WOOL = "obd2024:d3661bd8-0107-4081-987b-4bdd5cfcb68d"  # m³


@dataclass(frozen=True)
class Case:
    name: str  # unique, usable as a file name
    kind: str  # json | csv | xlsx | zip | unit
    data: bytes | str  # file bytes, or the unit string
    expect: str  # error | score | either
    zip_expect: tuple[tuple[str, str], ...] = ()  # zip: (member, expect) of every building member

    @property
    def suffix(self) -> str:
        return {"json": ".json", "csv": ".csv", "xlsx": ".xlsx", "zip": ".zip"}.get(self.kind, "")


_ids = itertools.count()


def base_building(i: int = 0) -> dict:
    """A small valid house (the JSON a user writes): a sand-lime wall with insulation, a concrete floor.

    Every call gets a new id (a batch refuses a building id that an earlier file used).
    """
    return {
        "id": f"house-{i:03d}-{next(_ids):05d}",
        "use_type": "terraced",
        "gross_floor_area_m2": 100.0 + i,
        "elements": [
            {
                "id": "wall",
                "element_type": "EW",
                "quantity": 120.0,
                "unit": "m2",
                "layers": [
                    {"product": SAND_LIME, "amount": 0.15, "unit": "m", "layer": "C1", "service_life_years": 60},
                    {"product": MINERAL_WOOL, "amount": 0.12, "unit": "m", "layer": "C2", "service_life_years": 40},
                ],
            },
            {
                "id": "floor",
                "element_type": "SF",
                "quantity": 50.0,
                "unit": "m2",
                "layers": [
                    {"product": CONCRETE, "amount": 0.2, "unit": "m", "layer": "C1", "service_life_years": 60},
                    {"product": REBAR, "amount": 12.0, "unit": "kg", "layer": "C2", "transport_distance_km": 80},
                ],
            },
        ],
    }


def _json_bytes(data) -> bytes:
    return json.dumps(data, ensure_ascii=True, allow_nan=True).encode("utf-8")


# ------------------------------------------------------------------ where a value goes
def _at(path: tuple) -> Callable[[dict, object], None]:
    def put(data: dict, value) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return put


NUMERIC_FIELDS = {
    "gross_floor_area_m2": ("gross_floor_area_m2",),
    "reference_study_period_years": ("reference_study_period_years",),
    "construction_year": ("construction_year",),
    "element_quantity": ("elements", 0, "quantity"),
    "amount": ("elements", 0, "layers", 0, "amount"),
    "ratio": ("elements", 0, "layers", 0, "ratio"),
    "service_life_years": ("elements", 0, "layers", 0, "service_life_years"),
    "transport_distance_km": ("elements", 1, "layers", 1, "transport_distance_km"),
    "loss_rate": ("elements", 0, "layers", 1, "loss_rate"),
    "reused_input": ("elements", 0, "layers", 0, "reused_input"),
    "recycled_content": ("elements", 0, "layers", 0, "recycled_content"),
    "remaining_service_life_years": ("elements", 0, "layers", 0, "remaining_service_life_years"),
    "use_cycles": ("elements", 0, "layers", 0, "use_cycles"),
    "use_cycle": ("elements", 1, "layers", 0, "use_cycle"),
    "eol_landfill": ("elements", 1, "layers", 0, "end_of_life"),
}

#: values no numeric field of the model may take (each breaks a type rule or a limit for every field)
BAD_NUMBERS: list[tuple[str, object]] = [
    ("true", True),
    ("false", False),
    ("text", "abc"),
    ("empty-text", ""),
    ("blank", "   "),
    ("list", [1]),
    ("object", {"v": 1}),
    ("nan", float("nan")),
    ("inf", float("inf")),
    ("minus-inf", float("-inf")),
    ("minus-one", -1),
    ("minus-tiny", -1e-300),
    ("huge", 1e308),
    ("decimal-comma", "1,5"),
    ("long-number-text", "1" * 100),
    ("hex", "0x10"),
    ("nan-text", "NaN"),
    ("inf-text", "Infinity"),
]


def _numeric_cases() -> Iterator[Case]:
    for field, path in NUMERIC_FIELDS.items():
        for label, value in BAD_NUMBERS:
            data = base_building()
            if field == "eol_landfill":
                value = {"landfill": value, "incineration": 0.0, "reuse": 0.0, "recycling": 0.0}
            _at(path)(data, value)
            yield Case(f"json-num-{field}-{label}", "json", _json_bytes(data), "error")
        # literals json.dumps cannot write: 5,001 digits, 1e400 (inf), nested far too deep
        text = json.dumps(_with_marker(path)).replace('"@@"', "9" * 5001)
        yield Case(f"json-num-{field}-5001-digits", "json", text.encode(), "error")
        text = json.dumps(_with_marker(path)).replace('"@@"', "1e400")
        yield Case(f"json-num-{field}-1e400", "json", text.encode(), "error")


def _list_cases() -> Iterator[Case]:
    """A good building followed by a bad one in one file: the file is refused as a whole."""
    for field, path in NUMERIC_FIELDS.items():
        for label, value in (("true", True), ("huge", 1e308), ("text", "abc")):
            bad = base_building(2)
            if field == "eol_landfill":
                value = {"landfill": value, "incineration": 0.0, "reuse": 0.0, "recycling": 0.0}
            _at(path)(bad, value)
            yield Case(f"json-list-{field}-{label}", "json", _json_bytes([base_building(1), bad]), "error")


def _with_marker(path: tuple) -> dict:
    data = base_building()
    _at(path)(data, "@@")
    return data


#: (field path, value, expect) beyond a plausibility limit, and just within it
PLAUSIBILITY = [
    (("gross_floor_area_m2",), 0.5, "error"),
    (("gross_floor_area_m2",), 2e6, "error"),
    (("gross_floor_area_m2",), 1e-300, "error"),
    (("gross_floor_area_m2",), 5, "score"),
    (("reference_study_period_years",), 0.5, "error"),
    (("reference_study_period_years",), 600, "error"),
    (("reference_study_period_years",), 1e-300, "error"),
    (("reference_study_period_years",), 100, "score"),
    (("elements", 0, "layers", 0, "service_life_years"), 0.5, "error"),
    (("elements", 0, "layers", 0, "service_life_years"), 1e-9, "error"),
    (("elements", 0, "layers", 0, "service_life_years"), 600, "error"),
    (("elements", 0, "layers", 0, "service_life_years"), 1e308, "error"),
    (("elements", 0, "layers", 0, "service_life_years"), 5, "score"),
    (("elements", 0, "layers", 0, "service_life_years"), 150, "score"),
    (("elements", 1, "layers", 1, "transport_distance_km"), 50_000, "error"),
    (("elements", 1, "layers", 1, "transport_distance_km"), 1e9, "error"),
    (("elements", 1, "layers", 1, "transport_distance_km"), 20_000, "score"),
    (("elements", 0, "layers", 1, "loss_rate"), 0.6, "error"),
    (("elements", 0, "layers", 1, "loss_rate"), 0.999999999, "error"),
    (("elements", 0, "layers", 1, "loss_rate"), 0.2, "score"),
    (("elements", 0, "layers", 0, "amount"), 11, "error"),  # 11 m thick wall
    (("elements", 0, "layers", 0, "amount"), 1e308, "error"),
    (("elements", 0, "layers", 0, "amount"), 0.5, "score"),
    (("elements", 0, "quantity"), 1e308, "error"),
    (("elements", 0, "quantity"), 20_000, "error"),  # 200 m² of wall per m² GFA
    (("elements", 0, "quantity"), 300, "score"),
    (("elements", 1, "layers", 1, "amount"), 5e6, "error"),  # 2.5e8 kg of rebar
    (("elements", 0, "layers", 0, "remaining_service_life_years"), 600, "error"),
]


def _plausibility_cases() -> Iterator[Case]:
    for n, (path, value, expect) in enumerate(PLAUSIBILITY):
        data = base_building()
        _at(path)(data, value)
        if "remaining_service_life_years" in path:
            data["project_type"] = "renovation"
            data["elements"][0]["layers"][0]["existing"] = True
        yield Case(f"json-plausible-{n:02d}-{path[-1]}-{value:g}", "json", _json_bytes(data), expect)
    layers = base_building()
    layers["elements"][0]["layers"] = [dict(layers["elements"][0]["layers"][1], amount=1e-7)] * 100_000
    yield Case("json-100000-layers", "json", _json_bytes(layers), "error")
    pieces = base_building()
    pieces["elements"].append(
        {
            "id": "doors",
            "quantity": 1,
            "unit": "piece",
            "layers": [{"product": "ilcd:023f3b97-976a-41c4-b0f1-5357b9dc5b3e", "amount": 1e12, "unit": "piece"}],
        }
    )
    yield Case("json-1e12-pieces-without-mass", "json", _json_bytes(pieces), "error")


# ------------------------------------------------------------------ text fields
ID_PATHS = {"building-id": ("id",), "element-id": ("elements", 0, "id")}
REFERENCE_PATHS = {
    "product": ("elements", 0, "layers", 0, "product"),
    "unit": ("elements", 0, "layers", 0, "unit"),
    "transport": ("elements", 1, "layers", 1, "transport"),
    "waste_category": ("elements", 0, "layers", 0, "waste_category"),
    "service_life_category": ("elements", 0, "layers", 1, "service_life_category"),
    "layer-label": ("elements", 0, "layers", 0, "layer"),
}
TEXT_PATHS = {"building-name": ("name",), "element-name": ("elements", 0, "name")}

#: hostile text that no identifier or reference may be
BAD_TEXT = [
    ("empty", ""),
    ("spaces", "   "),
    ("ansi", "x\x1b[2Jy"),
    ("nul", "x\x00y"),
    ("newline", "x\ny"),
    ("surrogate", "house\udfff"),
    ("megabyte", "x" * 1_000_000),
    ("number", 5),
    ("null-required", None),
    ("list", ["a"]),
    ("object", {"a": "b"}),
]
#: hostile in form, valid as an id or free text: must score, and be shown as text everywhere
ODD_BUT_VALID_TEXT = [
    ("markup", "[/x] [bold red]b"),
    ("formula", "=cmd|' /C calc'!A0"),
    ("plus-formula", "+SUM(A1)"),
    ("unicode", "Woning 🏠 Ærø ü文字"),
    ("quotes", "a\"b'c;d,e"),
    ("rtl", "\u202eevil"),
]


def _text_cases() -> Iterator[Case]:
    for group in (ID_PATHS, REFERENCE_PATHS):
        for field, path in group.items():
            for label, value in BAD_TEXT:
                if value is None and field in ("waste_category", "service_life_category", "layer-label", "transport"):
                    continue  # optional: null is a valid "no value"
                data = base_building()
                _at(path)(data, value)
                yield Case(f"json-text-{field}-{label}", "json", _json_bytes(data), "error")
            for label, value in ODD_BUT_VALID_TEXT:
                data = base_building()
                _at(path)(data, value)
                # an odd id is valid; an odd reference names nothing (unknown product, unit, scenario)
                expect = "score" if group is ID_PATHS else "error"
                if field == "layer-label":
                    expect = "score"
                yield Case(f"json-text-{field}-{label}", "json", _json_bytes(data), expect)
    for field, path in TEXT_PATHS.items():
        for label, value in ODD_BUT_VALID_TEXT:
            data = base_building()
            _at(path)(data, value)
            yield Case(f"json-text-{field}-{label}", "json", _json_bytes(data), "score")
        for label, value in (("surrogate", "a\udfffb"), ("too-long", "x" * 20_000), ("number", 5)):
            data = base_building()
            _at(path)(data, value)
            yield Case(f"json-text-{field}-{label}", "json", _json_bytes(data), "error")


# ------------------------------------------------------------------ structure
def _structure_cases() -> Iterator[Case]:
    good = _json_bytes(base_building())
    yield Case("json-good", "json", good, "score")
    yield Case("json-good-bom", "json", b"\xef\xbb\xbf" + _json_bytes(base_building()), "score")
    yield Case("json-good-list", "json", _json_bytes([base_building(1), base_building(2)]), "score")
    for label, text in (
        ("empty", b""),
        ("spaces", b"   \n"),
        ("null", b"null"),
        ("true", b"true"),
        ("number", b"5"),
        ("string", b'"house"'),
        ("empty-list", b"[]"),
        ("empty-object", b"{}"),
        ("list-of-numbers", b"[1, 2]"),
        ("utf16", json.dumps(base_building()).encode("utf-16")),
        ("latin1", json.dumps({**base_building(), "name": "é"}, ensure_ascii=False).encode("latin-1")),
        ("nul-bytes", good[:50] + b"\x00" + good[50:]),
        ("deep-2000", b"[" * 2000 + b"]" * 2000),
        ("deep-100000", b"[" * 100_000 + b"]" * 100_000),
        ("deep-objects", b'{"a":' * 5000 + b"1" + b"}" * 5000),
        ("duplicate-key", good.replace(b'{"id": ', b'{"id": "other", "id": ', 1)),
        ("unknown-key", _json_bytes({**base_building(), "colour": "red"})),
        ("no-elements", _json_bytes({**base_building(), "elements": []})),
        ("no-layers", _json_bytes(_replace(base_building(), ("elements", 0, "layers"), []))),
        ("duplicate-element", _json_bytes(_replace(base_building(), ("elements", 1, "id"), "wall"))),
        ("duplicate-building", _json_bytes([base_building(1)] * 2)),
        ("ratio-sum", _json_bytes(_two_compositions(0.3, 0.3))),
        (
            "eol-sum",
            _json_bytes(_replace(base_building(), ("elements", 0, "layers", 0, "end_of_life"), {"landfill": 0.5})),
        ),
        (
            "scenario-module",
            _json_bytes(_replace(base_building(), ("elements", 0, "layers", 0, "scenario"), {"Z9": "x"})),
        ),
        ("cycle-beyond", _json_bytes(_replace(base_building(), ("elements", 0, "layers", 0, "use_cycle"), 3))),
        ("ghost-reuse", _json_bytes(_ghost_reuse())),
        (
            "life-category-typo",
            _json_bytes(_replace(base_building(), ("elements", 0, "layers", 0, "service_life_category"), "nope")),
        ),
    ):
        yield Case(f"json-structure-{label}", "json", text, "error")
    for cut in range(1, len(good) - 1, max(1, len(good) // 150)):
        yield Case(f"json-truncated-{cut:05d}", "json", good[:cut], "error")
    rng = random.Random(10)
    for n in range(150):
        data = bytearray(good)
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        yield Case(f"json-flipped-{n:03d}", "json", bytes(data), "either")


def _replace(data: dict, path: tuple, value) -> dict:
    _at(path)(data, value)
    return data


def _two_compositions(a: float, b: float) -> dict:
    data = base_building()
    first = data["elements"][0]["layers"][0]
    data["elements"][0]["layers"][0] = dict(first, composition="a", ratio=a)
    data["elements"][0]["layers"].insert(1, dict(first, composition="b", ratio=b))
    return data


def _ghost_reuse() -> list[dict]:
    donor = base_building(1)
    donor["project_type"] = "renovation"
    donor["elements"][0]["layers"][0].update(removed=True, component_id="wall-1", end_of_life={"reuse": 1.0})
    receiver = base_building(2)
    receiver["elements"][0]["layers"][0].update(reused_input=1.0, source_component_id="ghost")
    return [donor, receiver]


# ------------------------------------------------------------------ units
GOOD_UNITS = ["m", "mm", "cm", "m2", "m²", "m3", "kg", "t", "piece", "pcs.", "kg/m2", "m3/m2", "qm", "kg*km", "t*km"]
UNIT_BASES = ["kg", "m", "m2", "m3", "piece", "MJ", "t*km"]
UNIT_TAILS = [
    "*9**9**8",
    "**9**9**8",
    "*10**400",
    "**10**400",
    "*2**2**2**2**2",
    "**99",
    "**-99",
    "^999",
    "**0.5",
    "**(1/2)",
    "*1e308",
    "*1e-308",
    "/0",
    "*0",
    "*2",
    "/3",
    "+kg",
    "-kg",
    "kg)",
    ")",
    "((",
    "(kg)",
    "[kg]",
    "{kg}",
    "#",
    "\x00",
    "\nx",
    "\x1b[31m",
    ";rm -rf /",
    "|ls",
    "$(ls)",
    "`ls`",
    "__class__",
    ".__init__",
    "*__import__('os')",
    "*eval('1')",
    "*lambda:0",
    "*not_a_unit",
    "*nan",
    "*inf",
    "*kg*kg*kg*kg*kg*kg*kg",
    "**1**1**1",
    "/m**5",
    "*m**-5",
    " " * 80 + "x",
    "x" * 80,
    "**",
    "*",
    "/",
    "^",
    "**-",
    "**+",
    "·",
    "/·",
    "*%",
    "*$",
    "**3.0",
    "**1e3",
    "*10",
    "*1000000",
    "*(kg",
    "*\u202e",
    "*𝕜𝕘",
    "**\u00b2",
    "*\ufeff",
]


def _unit_cases() -> Iterator[Case]:
    for n, unit in enumerate(GOOD_UNITS):
        yield Case(f"unit-good-{n:02d}", "unit", unit, "score")
    n = 0
    for base in UNIT_BASES:
        for tail in UNIT_TAILS:
            unit = base + tail
            yield Case(f"unit-bad-{n:04d}", "unit", unit, "error")
            data = base_building()
            data["elements"][0]["layers"][0]["unit"] = unit
            yield Case(f"json-unit-bad-{n:04d}", "json", _json_bytes(data), "error")
            n += 1
    for label, unit in (("empty", ""), ("spaces", "  "), ("number", "2"), ("one", "1"), ("long", "m" * 10_000)):
        yield Case(f"unit-bad-{label}", "unit", unit, "error")


# ------------------------------------------------------------------ flat files
CSV_NUMERIC = [
    "gross_floor_area_m2",
    "reference_study_period_years",
    "construction_year",
    "element_quantity",
    "amount",
    "ratio",
    "service_life_years",
    "transport_distance_km",
    "loss_rate",
    "reused_input",
    "recycled_content",
    "use_cycles",
    "use_cycle",
]
CSV_BAD_CELLS = [
    ("text", "abc"),
    ("nan", "nan"),
    ("inf", "inf"),
    ("minus-one", "-1"),
    ("huge", "1e308"),
    ("digits", "9" * 5001),
    ("e400", "1e400"),
    ("hex", "0x10"),
    ("true", "true"),
    ("list", "[1]"),
]


def _bom_rows() -> tuple[list[str], list[list[str]]]:
    """The flat bill of materials of the base building, by mpeil's own writer."""
    import tempfile
    from pathlib import Path

    from mpeil.model import Building
    from mpeil.readers import write_building

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "b.csv"
        write_building(Building.model_validate(base_building()), path)
        records = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    return records[0], records[1:]


def _csv_bytes(header: list[str], rows: list[list], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
    return buffer.getvalue().encode(encoding)


def _csv_cases() -> Iterator[Case]:
    header, rows = _bom_rows()
    yield Case("csv-good", "csv", _csv_bytes(header, rows), "score")
    for column in CSV_NUMERIC:
        for label, value in CSV_BAD_CELLS:
            changed = copy.deepcopy(rows)
            for row in changed:  # every row: building and element columns must agree
                row[header.index(column)] = value
            yield Case(f"csv-num-{column}-{label}", "csv", _csv_bytes(header, changed), "error")
    for label, value, expect in (
        ("formula-id", "=cmd|' /C calc'!A0", "score"),
        ("markup-id", "[/x]", "score"),
        ("ansi-id", "a\x1bb", "error"),
        ("long-id", "x" * 100_000, "error"),
    ):
        changed = copy.deepcopy(rows)
        for row in changed:
            row[header.index("building_id")] = value
        yield Case(f"csv-{label}", "csv", _csv_bytes(header, changed), expect)
    for column in ("product", "unit", "transport", "waste_category", "element_id", "layer"):
        for label, value in (
            ("ansi", "x\x1b[2Jy"),
            ("long", "x" * 5000),
            ("nul", "x\x00y"),
            ("unknown", "=HYPERLINK(1)"),
        ):
            if column in ("element_id", "layer") and label == "unknown":
                continue  # an odd element id or layer label is valid
            changed = [_cell(header, row, column, value) for row in rows]
            yield Case(f"csv-text-{column}-{label}", "csv", _csv_bytes(header, changed), "error")
    for label, data in (
        ("empty", b""),
        ("header-only", _csv_bytes(header, [])),
        ("missing-column", _csv_bytes(header[1:], [r[1:] for r in rows])),
        ("unknown-column", _csv_bytes([*header, "colour"], [[*r, "red"] for r in rows])),
        ("extra-cells", _csv_bytes(header, [[*r, "x", "y"] for r in rows])),
        ("duplicate-column", _csv_bytes([*header, header[0]], [[*r, r[0]] for r in rows])),
        ("latin1", _csv_bytes(header, [[c.replace("house", "hoüse") for c in r] for r in rows], "latin-1")),
        ("nul", _csv_bytes(header, rows)[:60] + b"\x00" + _csv_bytes(header, rows)[60:]),
        ("unbalanced-quote", _csv_bytes(header, rows).replace(b"\n", b'\n"', 1)),
        ("many-columns", _csv_bytes([f"c{i}" for i in range(5000)], [["1"] * 5000])),
        ("binary", bytes(range(256)) * 10),
        (
            "conflicting-gfa",
            _csv_bytes(header, [r if n else _cell(header, r, "gross_floor_area_m2", "7") for n, r in enumerate(rows)]),
        ),
    ):
        yield Case(f"csv-structure-{label}", "csv", data, "error")


def _cell(header, row, column, value):
    row = list(row)
    row[header.index(column)] = value
    return row


XLSX_COLUMNS = [
    "gross_floor_area_m2",
    "element_quantity",
    "amount",
    "ratio",
    "service_life_years",
    "loss_rate",
    "transport_distance_km",
    "reused_input",
    "recycled_content",
    "use_cycles",
]
XLSX_BAD_CELLS = [("true", True), ("false", False), ("text", "abc"), ("minus-one", -1), ("huge", 1e308), ("nan", "nan")]


def _xlsx_bytes(header: list[str], rows: list[list]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _typed(header: list[str], rows: list[list[str]]) -> list[list]:
    """CSV text cells as a spreadsheet holds them: numbers as numbers, blanks as empty."""
    out = []
    for row in rows:
        cells = []
        for value in row:
            try:
                cells.append(float(value) if value not in ("", "true", "false") else (None if value == "" else value))
            except ValueError:
                cells.append(value)
        out.append(cells)
    return out


def _xlsx_cases() -> Iterator[Case]:
    header, text_rows = _bom_rows()
    rows = _typed(header, text_rows)
    yield Case("xlsx-good", "xlsx", _xlsx_bytes(header, rows), "score")
    for column in XLSX_COLUMNS:
        for label, value in XLSX_BAD_CELLS:
            changed = copy.deepcopy(rows)
            for row in changed:
                row[header.index(column)] = value
            yield Case(f"xlsx-{column}-{label}", "xlsx", _xlsx_bytes(header, changed), "error")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * 3_000_000 + b"/>")
    yield Case("xlsx-inflation-bomb", "xlsx", bomb.getvalue(), "error")
    yield Case("xlsx-not-a-zip", "xlsx", b"PK\x03\x04 not really", "error")
    yield Case("xlsx-empty", "xlsx", b"", "error")
    yield Case("xlsx-csv-inside", "xlsx", _csv_bytes(header, text_rows), "error")


# ------------------------------------------------------------------ zip archives
def _zip_cases() -> Iterator[Case]:
    def good() -> bytes:  # a new building id each time: a batch refuses a repeated id
        return _json_bytes(base_building(7))

    def archive(name: str, members: list[tuple[str, bytes, str]], method=zipfile.ZIP_DEFLATED) -> Case:
        buffer = io.BytesIO()
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # duplicate names are the point of some archives
            with zipfile.ZipFile(buffer, "w", method) as z:
                for member, data, _ in members:
                    z.writestr(member, data)
        expects = {}
        for member, _, expect in members:
            expects[member] = "error" if member in expects else expect  # a duplicate name: one error row
        return Case(f"zip-{name}", "zip", buffer.getvalue(), "either", tuple(sorted(expects.items())))

    yield archive("good", [("a/good.json", good(), "score")])
    yield archive("duplicate", [("a.json", good(), "error"), ("a.json", good(), "error"), ("b.json", good(), "score")])
    yield archive("traversal", [("../evil.json", good(), "error"), ("ok.json", good(), "score")])
    yield archive("absolute", [("/etc/evil.json", good(), "error"), ("ok.json", good(), "score")])
    yield archive("nested", [("inner.zip", b"PK\x05\x06" + b"\x00" * 18, "error"), ("ok.json", good(), "score")])
    yield archive("bomb", [("bomb.json", b" " * 5_000_000, "error"), ("ok.json", good(), "score")])
    yield archive(
        "stored-huge", [("big.json", b" " * 300_000, "error"), ("ok.json", good(), "score")], zipfile.ZIP_STORED
    )
    yield archive("broken-member", [("bad.json", b"{", "error"), ("ok.json", good(), "score")])
    yield archive("unicode-names", [("woning-ü 文字.json", good(), "score"), ("[bold].json", good(), "score")])
    yield archive("backslash", [("a\\..\\..\\evil.json", good(), "error"), ("ok.json", good(), "score")])
    for n, (label, data) in enumerate(_zip_member_payloads()):
        yield archive(f"member-{n:02d}-{label}", [(f"{label}.json", data, "error"), ("ok.json", good(), "score")])
    yield Case("zip-corrupt", "zip", b"PK\x03\x04" + b"\x00" * 100, "either", (("", "error"),))
    yield Case("zip-empty-file", "zip", b"", "either", (("", "error"),))


def _zip_member_payloads() -> Iterator[tuple[str, bytes]]:
    yield "deep", b"[" * 5000 + b"]" * 5000
    yield "surrogate-id", _json_bytes({**base_building(), "id": "h\udfff"})
    yield "markup-ansi-id", _json_bytes({**base_building(), "id": "[/x]\x1b[31m"})
    yield "bool-gfa", _json_bytes({**base_building(), "gross_floor_area_m2": True})
    yield "tower-unit", _json_bytes(_replace(base_building(), ("elements", 0, "layers", 0, "unit"), "kg*9**9**8"))
    yield "megabyte-id", _json_bytes({**base_building(), "id": "x" * 100_000})
    yield "tiny-gfa", _json_bytes({**base_building(), "gross_floor_area_m2": 1e-300})


# ------------------------------------------------------------------ the corpus
def _round_two() -> Iterator[Case]:
    from .round_two import round_two_cases  # issue 23; imports this module's helpers

    yield from round_two_cases()


def build_corpus() -> list[Case]:
    """Every case, in a fixed order (deterministic: the random byte flips use a fixed seed)."""
    global _ids
    _ids = itertools.count()
    cases = [
        *_numeric_cases(),
        *_list_cases(),
        *_plausibility_cases(),
        *_text_cases(),
        *_structure_cases(),
        *_unit_cases(),
        *_csv_cases(),
        *_xlsx_cases(),
        *_zip_cases(),
        *_round_two(),
    ]
    names = [case.name for case in cases]
    if len(names) != len(set(names)):
        raise RuntimeError("corpus case names are not unique")
    return cases


def write_corpus(folder) -> dict[str, Case]:
    """The file cases as files in ``folder`` (units go into ``units.txt``); returns file name → case."""
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written, units = {}, []
    for case in build_corpus():
        if case.kind == "unit":
            units.append(json.dumps({"unit": case.data, "expect": case.expect}))
            continue
        name = case.name + case.suffix
        (folder / name).write_bytes(case.data if isinstance(case.data, bytes) else case.data.encode())
        written[name] = case
    (folder / "units.jsonl").write_text("\n".join(units) + "\n", encoding="utf-8")
    return written


if __name__ == "__main__":  # python -m fuzz.corpus DIR  (from tests/)
    import sys

    files = write_corpus(sys.argv[1] if len(sys.argv) > 1 else "fuzz-corpus")
    print(f"{len(files)} files written")

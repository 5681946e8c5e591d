"""Building files: JSON ↔ CSV ↔ XLSX round trips, typed errors, the JSON Schema, the examples."""

from __future__ import annotations

import csv
import io
import json
import math
import re

import openpyxl
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from mpeil.cli import app
from mpeil.errors import InputError, MpeilError, ParseError
from mpeil.model import Building, ElementType, Layer, building_json_schema
from mpeil.paths import data_dir, scenarios_dir
from mpeil.readers import read_building, read_buildings, write_building
from mpeil.readers.buildings import BOM_COLUMNS, EOL_COLUMNS, LAYER_COLUMNS, SHEET_NAME

EXAMPLES = ("terraced_house.json", "apartment_building.json")
FORMATS = ("csv", "xlsx")


# ---------------------------------------------------------------------------- fixtures
def rich_building(building_id: str = "B-1") -> Building:
    """A building using every feature the flat format has to carry."""
    return Building.model_validate(
        {
            "id": building_id,
            "name": "Rijwoning, 'test' \"quotes\", commas; and ümlauts",
            "use_type": "terraced",
            "gross_floor_area_m2": 151.3,
            "reference_study_period_years": 60,
            "construction_year": 2024,
            "region": "BE-VLG",
            "project_type": "renovation",
            "metadata": {"author": "test", "note": "a, b; c=d"},
            "operational": [
                {"product": "obd2024:electricity", "amount_per_year": 3500.5, "unit": "kWh", "module": "B6"},
                {"product": "obd2024:water", "amount_per_year": 90, "unit": "m3", "module": "B7"},
            ],
            "elements": [
                {
                    "id": "007",  # leading zeros must survive as text
                    "name": "cavity wall",
                    "element_type": "EW",
                    "nl_sfb": "21.10",  # a code, not a number
                    "quantity": 0.1 + 0.2,  # 0.30000000000000004: float64 must round-trip exactly
                    "unit": "m2",
                    "layers": [
                        {
                            "layer": "C1",
                            "composition": "a",
                            "ratio": 0.8,
                            "product": "obd2024:brick",
                            "amount": 0.09,
                            "unit": "m",
                            "name": "facing brick",
                            "service_life_years": 60,
                            "transport": "BE-default",
                            "transport_distance_km": 120.5,
                            "loss_rate": 0.05,
                            "waste_category": "Bricks, roof tiles",
                        },
                        {
                            "layer": "C1",
                            "composition": "b",
                            "ratio": 0.2,
                            "product": "obd2024:mortar",
                            "amount": 0.09,
                            "unit": "m",
                            "end_of_life": {"landfill": 0.1, "recycling": 0.9, "sorted_on_site": 0.5},
                            "scenario": {"D": "stofflich", "C3": "S1"},
                        },
                        {
                            "layer": "C2",
                            "product": "obd2024:insulation",
                            "amount": 0.12,
                            "unit": "m",
                            "service_life_category": "Insulation",
                            "existing": True,
                            "remaining_service_life_years": 12,
                            "reused_input": 0.25,
                            "recycled_content": 0.3,
                            "component_id": "GUID-1",
                            "source_component_id": "=1+1",
                            "use_cycles": 3,
                            "use_cycle": 2,
                            "condition": "good",
                        },
                        {"product": "obd2024:ties", "amount": 1e-7, "unit": "kg/m2"},  # no layer label
                    ],
                },
                {
                    "id": "W1",
                    "element_type": "EWi",
                    "quantity": 12,
                    "unit": "piece",
                    "layers": [
                        {
                            "product": "obd2024:window",
                            "amount": 1,
                            "unit": "piece",
                            "end_of_life": {"incineration": 1.0},
                        }
                    ],
                },
            ],
        }
    )


def plain_building(building_id: str) -> Building:
    return Building.model_validate(
        {
            "id": building_id,
            "gross_floor_area_m2": 100,
            "elements": [{"id": "E1", "quantity": 10, "layers": [{"product": "p", "amount": 1, "unit": "kg"}]}],
        }
    )


def example(name: str) -> Building:
    return read_building(scenarios_dir() / "examples" / name)


def read_rows(path) -> list[dict]:
    """A written CSV/XLSX bill of materials as a list of {column: cell} (an independent reader)."""
    if path.suffix == ".csv":
        return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    sheet = openpyxl.load_workbook(path)[SHEET_NAME]
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row)) for row in rows[1:]]


def write_rows(path, rows: list[dict], columns=None) -> None:
    columns = list(columns or rows[0].keys())
    if path.suffix == ".csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
    else:
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        sheet.title = SHEET_NAME
        sheet.append(columns)
        for row in rows:
            sheet.append([row.get(c) for c in columns])
        for cells in sheet.iter_rows(min_row=2):
            for cell in cells:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # text as text: "=1+1" would otherwise become a formula without a value
        workbook.save(path)


def mutated(tmp_path, kind: str, building: Building, row: int, **cells):
    """Write ``building`` as CSV/XLSX, then overwrite some cells of one data row (0-based)."""
    path = tmp_path / f"bad.{kind}"
    write_building(building, path)
    rows = read_rows(path)
    rows[row].update(cells)
    write_rows(path, rows)
    return path


def assert_located(error: MpeilError, path, building=None, element=None, layer=None, field=None) -> None:
    assert not isinstance(error, ValidationError)
    assert error.file == str(path)
    for attribute, expected in (("building", building), ("element", element), ("layer", layer), ("field", field)):
        if expected is not None:
            assert getattr(error, attribute) == expected, (attribute, error.location())
            assert repr(expected) in str(error)  # the message names it too
    assert str(path) in str(error)


# ---------------------------------------------------------------------------- the format
def test_columns_cover_every_layer_field_in_the_documented_order():
    layer_fields = set(Layer.model_fields) - {"end_of_life"}
    assert set(LAYER_COLUMNS) - set(EOL_COLUMNS) == layer_fields
    assert BOM_COLUMNS[:14] == (
        "building_id",
        "building_name",
        "use_type",
        "gross_floor_area_m2",
        "reference_study_period_years",
        "construction_year",
        "region",
        "project_type",
        "element_id",
        "element_name",
        "element_type",
        "nl_sfb",
        "element_quantity",
        "element_unit",
    )
    assert BOM_COLUMNS[-1] == "building_metadata"


def test_flat_rows_repeat_building_columns_and_spell_scenarios(tmp_path):
    path = write_building(rich_building(), tmp_path / "b.csv")
    rows = read_rows(path)
    # 4 + 1 layer lines, then the 2 operational rows
    assert len(rows) == 7
    assert {r["gross_floor_area_m2"] for r in rows} == {"151.3"}
    assert rows[1]["scenario"] == "D=stofflich;C3=S1"
    assert (rows[1]["eol_landfill"], rows[1]["eol_recycling"], rows[1]["eol_reuse"]) == ("0.1", "0.9", "0.0")
    assert rows[0]["eol_landfill"] == ""  # no override: blank, not 0
    assert rows[0]["element_quantity"] == "0.30000000000000004"
    assert [r["element_type"] for r in rows[5:]] == ["operational", "operational"]
    assert [r["layer"] for r in rows[5:]] == ["B6", "B7"]
    assert json.loads(rows[0]["building_metadata"]) == {"author": "test", "note": "a, b; c=d"}


# ---------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("kind", FORMATS)
def test_rich_building_round_trips(tmp_path, kind):
    original = rich_building()
    json_path = write_building(original, tmp_path / "b.json")
    from_json = read_building(json_path)
    assert from_json == original
    flat = write_building(from_json, tmp_path / f"b.{kind}")
    again = read_building(flat)
    assert again == original
    assert again.elements[0].id == "007" and again.elements[0].nl_sfb == "21.10"
    assert again.elements[0].quantity == 0.1 + 0.2
    assert again.elements[0].layers[2].source_component_id == "=1+1"  # text, never a spreadsheet formula
    assert read_building(write_building(again, tmp_path / "c.json")) == original


@pytest.mark.parametrize("kind", FORMATS)
@pytest.mark.parametrize("name", EXAMPLES)
def test_examples_round_trip(tmp_path, name, kind):
    original = example(name)
    assert read_building(write_building(original, tmp_path / f"x.{kind}")) == original


@pytest.mark.parametrize("kind", FORMATS)
def test_several_buildings_in_one_flat_file(tmp_path, kind):
    buildings = [rich_building("A"), plain_building("B"), example("terraced_house.json")]
    path = write_building(buildings, tmp_path / f"many.{kind}")
    assert read_buildings(path) == buildings
    with pytest.raises(ParseError, match="holds 3 buildings") as caught:
        read_building(path)
    assert caught.value.file == str(path)


def test_json_keeps_one_building_as_an_object_and_several_as_a_list(tmp_path):
    one = write_building(plain_building("A"), tmp_path / "one.json")
    many = write_building([plain_building("A"), plain_building("B")], tmp_path / "many.json")
    assert isinstance(json.loads(one.read_text()), dict)
    assert [b["id"] for b in json.loads(many.read_text())] == ["A", "B"]
    assert [b.id for b in read_buildings(many)] == ["A", "B"]
    assert read_buildings(one) == [plain_building("A")]


def test_interleaved_rows_are_grouped_by_building_and_element(tmp_path):
    head = "building_id,gross_floor_area_m2,element_id,element_quantity,layer,product,amount,unit\n"
    body = (
        "A,100,E1,10,C1,p1,1,kg\n"
        "B,200,E1,20,C1,q1,2,kg\n"
        "A,,E2,5,C1,p2,3,kg\n"  # blank repeated value: allowed
        "A,100,E1,,C2,p3,4,kg\n"  # back to A/E1 after other rows
    )
    path = tmp_path / "interleaved.csv"
    path.write_text(head + body, encoding="utf-8")
    a, b = read_buildings(path)
    assert [e.id for e in a.elements] == ["E1", "E2"]
    assert [line.product for line in a.elements[0].layers] == ["p1", "p3"]
    assert a.elements[0].quantity == 10 and a.gross_floor_area_m2 == 100
    assert b.elements[0].layers[0].amount == 2


def test_semicolon_csv_with_decimal_commas_and_bom(tmp_path):
    path = tmp_path / "excel.csv"
    text = (
        "building_id;gross_floor_area_m2;element_id;element_quantity;product;amount;unit;ratio\n"
        "A;150,5;E1;12,25;p;0,14;m;1\n"
    )
    path.write_bytes(("\ufeff" + text).encode("utf-8"))
    building = read_building(path)
    assert building.gross_floor_area_m2 == 150.5
    assert building.elements[0].quantity == 12.25
    assert building.elements[0].layers[0].amount == 0.14


def test_spreadsheet_numbers_in_text_columns_read_as_text(tmp_path):
    path = tmp_path / "typed.xlsx"
    write_rows(
        path,
        [
            {
                "building_id": 12,
                "gross_floor_area_m2": 100,
                "element_id": 3.0,
                "element_quantity": 1,
                "nl_sfb": 21.1,
                "product": "p",
                "amount": 2,
                "unit": "kg",
            }
        ],
    )
    building = read_building(path)
    assert (building.id, building.elements[0].id, building.elements[0].nl_sfb) == ("12", "3", "21.1")


# ---------------------------------------------------------------------------- errors: files and structure
def test_malformed_json(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"id": "A", "elements": [', encoding="utf-8")
    with pytest.raises(ParseError, match="malformed JSON") as caught:
        read_buildings(path)
    assert_located(caught.value, path)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("42", "the file is a JSON number, not a building object"),
        ("[]", "empty list"),
        ('[{"id": "A"}, 3]', "item 2 of the list"),
        ('{"id": "A", "id": "B"}', "appears twice"),
    ],
)
def test_json_of_the_wrong_shape(tmp_path, text, expected):
    path = tmp_path / "shape.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParseError, match=expected) as caught:
        read_buildings(path)
    assert_located(caught.value, path)


def test_malformed_csv(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        'building_id,gross_floor_area_m2,element_id,element_quantity,product,amount,unit\nA,100,E1,1,"p,1,kg\n',
        encoding="utf-8",
    )
    with pytest.raises(ParseError, match="malformed CSV") as caught:
        read_buildings(path)
    assert_located(caught.value, path)


def test_csv_row_longer_than_its_header(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(
        "building_id,gross_floor_area_m2,element_id,element_quantity,product,amount,unit\nA,100,E1,1,p,1,kg,surplus\n",
        encoding="utf-8",
    )
    with pytest.raises(ParseError, match="has 8 values but the header has 7") as caught:
        read_buildings(path)
    assert_located(caught.value, path, layer="row 2")


def test_malformed_xlsx(tmp_path):
    path = tmp_path / "bad.xlsx"
    path.write_text("this is not a zip archive", encoding="utf-8")
    with pytest.raises(ParseError, match="malformed XLSX") as caught:
        read_buildings(path)
    assert_located(caught.value, path)


@pytest.mark.parametrize("kind", FORMATS)
@pytest.mark.parametrize("column", ["amount", "product", "element_id", "gross_floor_area_m2"])
def test_missing_required_column(tmp_path, kind, column):
    path = tmp_path / f"cut.{kind}"
    rows = [
        {k: v for k, v in row.items() if k != column}
        for row in read_rows(write_building(plain_building("A"), tmp_path / f"ok.{kind}"))
    ]
    write_rows(path, rows)
    with pytest.raises(ParseError, match="missing required column") as caught:
        read_buildings(path)
    assert_located(caught.value, path, field=column)


@pytest.mark.parametrize("kind", FORMATS)
def test_unknown_column(tmp_path, kind):
    path = tmp_path / f"extra.{kind}"
    rows = read_rows(write_building(plain_building("A"), tmp_path / f"ok.{kind}"))
    write_rows(path, [{**row, "amonut": 1} for row in rows])
    with pytest.raises(ParseError, match="unknown column") as caught:
        read_buildings(path)
    assert_located(caught.value, path, field="amonut")


@pytest.mark.parametrize("kind", FORMATS)
def test_building_column_must_be_constant(tmp_path, kind):
    path = mutated(tmp_path, kind, rich_building(), 2, gross_floor_area_m2=99)
    with pytest.raises(ParseError, match="must be the same on every row") as caught:
        read_buildings(path)
    assert_located(caught.value, path, building="B-1", field="gross_floor_area_m2")


@pytest.mark.parametrize("kind", FORMATS)
def test_element_column_must_be_constant(tmp_path, kind):
    path = mutated(tmp_path, kind, rich_building(), 1, element_quantity=7)
    with pytest.raises(ParseError, match="must be the same on every row") as caught:
        read_buildings(path)
    assert_located(caught.value, path, building="B-1", element="007", field="element_quantity")


def test_unsupported_and_missing_files(tmp_path):
    with pytest.raises(ParseError, match="unsupported file type"):
        read_buildings(tmp_path / "building.txt")
    for name in ("gone.json", "gone.csv", "gone.xlsx"):
        with pytest.raises(ParseError, match="no such file") as caught:
            read_buildings(tmp_path / name)
        assert caught.value.file == str(tmp_path / name)


# ---------------------------------------------------------------------------- errors: values
BAD_AMOUNTS = [
    ("abc", "valid number"),
    ("nan", "finite number"),
    ("-1", "greater than or equal to 0"),
    (-1.0, "greater than or equal to 0"),
    ("", "amount is empty"),
]


@pytest.mark.parametrize("kind", FORMATS)
@pytest.mark.parametrize("value, message", BAD_AMOUNTS)
def test_bad_amount_in_a_flat_file(tmp_path, kind, value, message):
    # row 3 of the file = third layer line (C2) of element "007"
    path = mutated(tmp_path, kind, rich_building(), 2, amount=value)
    with pytest.raises(InputError, match=message) as caught:
        read_buildings(path)
    assert_located(caught.value, path, building="B-1", element="007", layer="C2 (row 4)", field="amount")


@pytest.mark.parametrize(
    "value, message", [('"abc"', "valid number"), ("NaN", "finite number"), ("-1", "greater than or equal to 0")]
)
def test_bad_amount_in_json(tmp_path, value, message):
    data = rich_building().model_dump(mode="json")
    data["elements"][0]["layers"][2]["amount"] = "__AMOUNT__"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data).replace('"__AMOUNT__"', value), encoding="utf-8")
    with pytest.raises(InputError, match=message) as caught:
        read_buildings(path)
    assert_located(caught.value, path, building="B-1", element="007", layer="C2 (line 3)", field="amount")


@pytest.mark.parametrize("kind", FORMATS)
def test_empty_unit_in_a_flat_file(tmp_path, kind):
    path = mutated(tmp_path, kind, rich_building(), 3, unit="")  # the 4th line has no layer label
    with pytest.raises(InputError, match="unit is empty") as caught:
        read_buildings(path)
    assert_located(caught.value, path, building="B-1", element="007", layer="row 5", field="unit")


def test_empty_unit_in_json(tmp_path):
    data = rich_building().model_dump(mode="json")
    data["elements"][0]["layers"][3]["unit"] = "  "
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputError, match="must not be empty") as caught:
        read_buildings(path)
    assert_located(caught.value, path, building="B-1", element="007", layer="line 4", field="unit")


@pytest.mark.parametrize("kind", FORMATS)
def test_ratios_of_a_layer_not_summing_to_one_in_a_flat_file(tmp_path, kind):
    path = mutated(tmp_path, kind, rich_building(), 1, ratio=0.3)  # C1: 0.8 + 0.3
    with pytest.raises(InputError, match=re.escape("ratios of layer 'C1' sum to 1.1")) as caught:
        read_buildings(path)
    assert_located(caught.value, path, building="B-1", element="007", layer="C1", field="ratio")


def test_ratios_of_a_layer_not_summing_to_one_in_json(tmp_path):
    data = rich_building().model_dump(mode="json")
    data["elements"][0]["layers"][1]["ratio"] = 0.1
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputError, match=re.escape("sum to 0.9")) as caught:
        read_buildings(path)
    assert_located(caught.value, path, building="B-1", element="007", layer="C1", field="ratio")


@pytest.mark.parametrize("kind", FORMATS)
@pytest.mark.parametrize(
    "cells, field, message",
    [
        ({"eol_landfill": 1.5}, "eol_landfill", "less than or equal to 1"),
        ({"eol_landfill": 0.5}, "end_of_life", "end-of-life shares sum to 1.4"),
        ({"scenario": "D stofflich"}, "scenario", "not MODULE=NAME"),
        ({"existing": "maybe"}, "existing", "valid boolean"),
        ({"use_cycles": 0}, "use_cycles", "greater than or equal to 1"),
    ],
)
def test_bad_layer_values_in_a_flat_file(tmp_path, kind, cells, field, message):
    path = mutated(tmp_path, kind, rich_building(), 1, **cells)
    with pytest.raises(InputError, match=message) as caught:
        read_buildings(path)
    assert_located(caught.value, path, building="B-1", element="007", layer="C1 (row 3)", field=field)


@pytest.mark.parametrize("kind", FORMATS)
def test_bad_element_and_building_values_in_a_flat_file(tmp_path, kind):
    rows = read_rows(write_building(plain_building("A"), tmp_path / f"ok.{kind}"))
    path = tmp_path / f"bad.{kind}"
    write_rows(path, [{**rows[0], "element_unit": "sqft"}])
    with pytest.raises(InputError, match="'m2', 'm' or 'piece'") as caught:
        read_buildings(path)
    assert_located(caught.value, path, building="A", element="E1", field="element_unit")
    write_rows(path, [{**rows[0], "use_type": "castle"}])
    with pytest.raises(InputError, match="use_type") as caught:
        read_buildings(path)
    assert_located(caught.value, path, building="A", field="use_type")


def test_operational_rows_take_only_their_columns(tmp_path):
    path = mutated(tmp_path, "csv", rich_building(), 5, service_life_years=20)
    with pytest.raises(ParseError, match="operational") as caught:
        read_buildings(path)
    assert_located(caught.value, path, building="B-1", element="operational", field="service_life_years")
    path = mutated(tmp_path, "csv", rich_building(), 5, layer="B8")
    with pytest.raises(InputError, match="'B6' or 'B7'") as caught:
        read_buildings(path)
    assert_located(caught.value, path, building="B-1", element="operational", field="layer")


def test_duplicate_ids(tmp_path):
    data = rich_building().model_dump(mode="json")
    data["elements"][1]["id"] = "007"
    path = tmp_path / "dup.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputError, match="appears twice") as caught:
        read_buildings(path)
    assert_located(caught.value, path, building="B-1", element="007", field="id")
    path.write_text(json.dumps([plain_building("A").model_dump(), plain_building("A").model_dump()]), encoding="utf-8")
    with pytest.raises(InputError, match="building id 'A' appears twice"):
        read_buildings(path)
    with pytest.raises(InputError, match="appears twice"):
        write_building([plain_building("A"), plain_building("A")], tmp_path / "dup.csv")


def test_scenarios_that_cannot_be_written_as_text_are_refused(tmp_path):
    building = rich_building()
    building.elements[0].layers[1].scenario = {"D": "a;b"}
    with pytest.raises(InputError, match="cannot be written") as caught:
        write_building(building, tmp_path / "b.csv")
    assert (caught.value.building, caught.value.element, caught.value.field) == ("B-1", "007", "scenario")


def test_compiler_flat_table_reads_back(tmp_path):
    """mpeil.compile.flatten's table, saved by pandas, is a valid bill of materials (its 'line' is ignored)."""
    from mpeil.compile import flatten

    house = example("terraced_house.json").model_copy(update={"metadata": {}})
    path = tmp_path / "flat.csv"
    flatten([house]).to_csv(path, index=False)
    assert read_building(path) == house


def test_metadata_cell_must_be_a_json_object(tmp_path):
    path = mutated(tmp_path, "csv", plain_building("A"), 0, building_metadata="not json")
    with pytest.raises(ParseError, match="not a JSON object") as caught:
        read_buildings(path)
    assert_located(caught.value, path, building="A", field="building_metadata")


def test_errors_survive_pickling_with_their_location(tmp_path):
    import pickle

    path = mutated(tmp_path, "csv", rich_building(), 2, amount="-1")
    with pytest.raises(InputError) as caught:
        read_buildings(path)
    clone = pickle.loads(pickle.dumps(caught.value))
    assert clone.location() == caught.value.location()


# ---------------------------------------------------------------------------- schema and CLI
def test_shipped_schema_is_the_generated_one():
    shipped = json.loads((data_dir() / "building.schema.json").read_text(encoding="utf-8"))
    assert shipped == building_json_schema()
    assert shipped["properties"]["elements"]["items"] == {"$ref": "#/$defs/Element"}
    assert set(shipped["$defs"]["Element"]["properties"]["element_type"]["$ref"].split("/")[-1:]) == {"ElementType"}
    assert set(shipped["$defs"]["ElementType"]["enum"]) == {t.value for t in ElementType}


def test_cli_schema_prints_the_shipped_file(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    assert result.stdout == (data_dir() / "building.schema.json").read_text(encoding="utf-8")
    target = tmp_path / "schema.json"
    assert runner.invoke(app, ["schema", "--output", str(target)]).exit_code == 0
    assert json.loads(target.read_text(encoding="utf-8")) == building_json_schema()


def test_cli_bom_lists_every_line(tmp_path):
    path = write_building(rich_building(), tmp_path / "b.xlsx")
    result = CliRunner().invoke(app, ["bom", str(path)], env={"COLUMNS": "240"})
    assert result.exit_code == 0, result.output
    for text in (
        "007 (EW, 0.3 m2)",
        "C1 a ×0.8",
        "obd2024:insulation",
        "0.12 m",
        "1e-07 kg/m2",
        "W1 (EWi, 12 piece)",
        "3500.5 kWh/a",
        "operational",
    ):
        assert text in result.stdout, text


def test_cli_bom_reports_a_typed_error(tmp_path):
    path = mutated(tmp_path, "csv", rich_building(), 2, amount="-1")
    result = CliRunner().invoke(app, ["bom", str(path)])
    assert result.exit_code == 1
    assert "InputError" in result.output and "amount" in result.output
    assert "Traceback" not in result.output


def test_cli_convert(tmp_path):
    source = write_building([plain_building("A"), plain_building("B")], tmp_path / "two.json")
    result = CliRunner().invoke(app, ["convert", str(source), str(tmp_path / "two.xlsx")])
    assert result.exit_code == 0, result.output
    assert read_buildings(tmp_path / "two.xlsx") == [plain_building("A"), plain_building("B")]


# ---------------------------------------------------------------------------- the example buildings
def test_csv_example_is_the_json_example():
    assert read_building(scenarios_dir() / "examples" / "terraced_house.csv") == example("terraced_house.json")


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_layers_carry_life_waste_category_and_transport(name):
    waste_categories = {
        row["waste_category"]
        for row in csv.DictReader((scenarios_dir() / "end_of_life" / "waste_categories.csv").open(encoding="utf-8"))
    }
    transport = {row["scenario"] for row in csv.DictReader((scenarios_dir() / "transport.csv").open(encoding="utf-8"))}
    building = example(name)
    for element in building.elements:
        assert element.element_type != ElementType.Other or element.unit == "m"  # only gutters/copings
        for line in element.layers:
            assert line.product.startswith("obd2024:")
            assert line.service_life_years in {10, 15, 20, 30, 40, 50, 60}  # TOTEM's lifetimes (method.md §4)
            assert line.waste_category in waste_categories
            assert line.transport == "BE-default" and "BE-default" in transport


def test_example_sizes_match_the_brief():
    house, flats = example("terraced_house.json"), example("apartment_building.json")
    assert house.use_type.value == "terraced" and 130 <= house.gross_floor_area_m2 <= 170
    assert flats.use_type.value == "apartment" and 600 <= flats.gross_floor_area_m2 <= 800
    for building, needed in (
        (house, {"EW", "PR", "FoG", "SF", "PW", "LbIW", "nLbIW", "EWi", "ED", "ID", "Fd"}),
        (flats, {"EW", "FR", "FoG", "SF", "PW", "LbIW", "nLbIW", "EWi", "ED", "ID", "Fd"}),
    ):
        assert needed <= {e.element_type.value for e in building.elements}


def _physical_unit(amount_unit: str, element_unit: str):
    """What one amount × one element unit is (the model's rule, building.py docstring)."""
    from mpeil.units import parse_unit, unit_registry

    registry = unit_registry()
    amount = registry.Quantity(1.0, parse_unit(amount_unit))
    element = registry.Quantity(1.0, parse_unit(element_unit))
    if amount.check("[length]") and element.check("[length] ** 2"):
        return (amount * element).to("m**3").units  # a thickness
    if "/" in amount_unit:
        total = (amount * element).to_reduced_units()
        assert math.isclose(total.magnitude, 1.0)
        return total.units
    return amount.units


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_product_resolves_and_converts(name):
    from mpeil.model.library import load_library

    library = load_library(["obd2024"])
    building = example(name)
    lines = 0
    for element in building.elements:
        for line in element.layers:
            index = library.resolve(line.product)
            row = library.datasets.iloc[index]
            assert row["dataset_id"] == line.product
            assert row["data_type"] == "generic"
            factor = library.conversion_factor(index, _physical_unit(line.unit, element.unit))
            assert math.isfinite(factor) and factor > 0, (element.id, line.name)
            lines += 1
    assert lines >= 40

"""The building model's fast paths (issue 20, batch): same acceptances, same errors, same rows."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from mpeil.model import Building
from mpeil.model.bom import BOM_COLUMNS, METADATA_COLUMN, OPERATIONAL_ELEMENT_TYPE, bom_rows


def _building(layer: dict | None = None, **fields) -> dict:
    line = {"product": "p", "amount": 1.0, "unit": "kg", **(layer or {})}
    return {"id": "b", "gross_floor_area_m2": 100, "elements": [{"id": "e", "quantity": 1, "layers": [line]}], **fields}


def _error(data: dict) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        Building.model_validate(data)
    first = caught.value.errors()[0]
    return first["type"], first["msg"]


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ("", "empty_identifier", "must not be empty"),
        ("a\x1b[31m", "control_character", "an identifier must not hold control characters ('\\x1b' at position 1)"),
        ("a\x85b", "control_character", "an identifier must not hold control characters ('\\x85' at position 1)"),
    ],
)
def test_identifier_errors(text, kind, message):
    assert _error(_building({"product": text})) == (kind, message)


@pytest.mark.parametrize("text", ["x\ud800y", "\x01\udfff"])
def test_lone_surrogates_are_refused_before_any_rule_of_ours(text):
    # pydantic-core refuses a lone surrogate in a str field before the model's validators run
    assert _error(_building({"product": text}))[0] == "string_unicode"
    assert _error(_building(name=text))[0] == "string_unicode"


@pytest.mark.parametrize("text", ["a\u00a0b", "zero\u200bwidth", "é-ß-中", "a b"])
def test_identifiers_not_printable_but_valid_are_accepted(text):
    # no-break space (Zs), zero-width space (Cf): str.isprintable() is False, yet no rule refuses them
    assert Building.model_validate(_building({"product": text})).elements[0].layers[0].product == text


def test_text_errors_and_numbers():
    assert _error(_building({"amount": True}))[0] == "bool_not_number"
    assert _error(_building({"amount": "1" * 65}))[0] == "number_too_long"
    assert Building.model_validate(_building({"amount": 2.5})).elements[0].layers[0].amount == 2.5


def test_ratio_sum_of_negative_zero_ratios_reads_zero():
    lines = [{"product": "p", "amount": 1, "unit": "kg", "layer": "L", "composition": c, "ratio": -0.0} for c in "ab"]
    data = {"id": "b", "gross_floor_area_m2": 1, "elements": [{"id": "e", "quantity": 1, "layers": lines}]}
    assert _error(data) == ("ratio_sum", "ratios of layer 'L' sum to 0.0, not 1")
    one_composition = [dict(line, composition="a") for line in lines]  # one composition: a partial layer
    data["elements"][0]["layers"] = one_composition
    Building.model_validate(data)


def _reference_rows(building: Building) -> list[dict]:
    """The rows as ``model_dump`` gives each line's fields (the path bom_rows took before)."""
    rows = []
    head = {"building_id": building.id, "building_name": building.name, "use_type": building.use_type.value}
    head |= {"gross_floor_area_m2": building.gross_floor_area_m2, "project_type": building.project_type}
    head |= {"reference_study_period_years": building.reference_study_period_years}
    head |= {"construction_year": building.construction_year, "region": building.region}
    for element in building.elements:
        for line in element.layers:
            row = dict.fromkeys(BOM_COLUMNS) | head
            row |= {"element_id": element.id, "element_name": element.name, "nl_sfb": element.nl_sfb}
            row |= {"element_type": element.element_type.value, "element_quantity": element.quantity}
            row |= {"element_unit": element.unit}
            row |= line.model_dump(exclude={"end_of_life", "scenario"})
            rows.append(row)
    return rows


def test_bom_rows_equal_model_dump_rows():
    data = _building(
        {"end_of_life": {"landfill": 0.25, "recycling": 0.75}, "scenario": {"D": "s1", "C3": "x"}, "existing": True},
        metadata={"source": "é"},
        operational=[{"product": "grid", "amount_per_year": 3, "unit": "kWh", "module": "B7"}],
    )
    data["elements"][0]["layers"].append(
        {"product": "q", "amount": 2, "unit": "m3", "layer": "L", "ratio": -0.0, "use_cycles": 3, "use_cycle": 2}
    )
    building = Building.model_validate(data)
    rows = bom_rows(building)
    assert [list(row) for row in rows] == [list(BOM_COLUMNS)] * 3
    expected = _reference_rows(building)
    expected[0] |= {"eol_landfill": 0.25, "eol_incineration": 0.0, "eol_reuse": 0.0, "eol_recycling": 0.75}
    expected[0]["scenario"] = "D=s1;C3=x"
    for row, want in zip(rows[:2], expected, strict=True):
        assert {k: (type(v), v) for k, v in row.items() if k != METADATA_COLUMN} == {
            k: (type(v), v) for k, v in want.items() if k != METADATA_COLUMN
        }
        assert row[METADATA_COLUMN] == '{"source": "é"}'
    assert math.copysign(1.0, rows[1]["ratio"]) == -1.0  # -0.0 kept as given
    assert rows[2]["element_type"] == OPERATIONAL_ELEMENT_TYPE and rows[2]["layer"] == "B7"
    assert (rows[2]["product"], rows[2]["amount"], rows[2]["unit"]) == ("grid", 3.0, "kWh")

"""Issue 23, class 7: messages say where first, then why, and keep the location whatever their length."""

from __future__ import annotations

import json

import pytest

from mpeil.errors import InputError, MethodError, ParseError
from mpeil.methods import load_method
from mpeil.readers import read_buildings
from mpeil.sanitize import error_text, terminal_text

from .corpus import base_building


def test_the_location_comes_first():
    error = InputError("amount: must be finite", file="a.json", building="b", element="e", field="amount")
    assert str(error) == "file 'a.json', building 'b', element 'e', field 'amount': amount: must be finite"
    assert str(InputError("no location")) == "no location"


def test_a_long_message_is_cut_never_its_location():
    error = InputError("x" * 1_000, file="house.json", building="b-1", layer="C1 (line 3)", field="amount")
    text = terminal_text(error)  # the terminal's default limit: 300 characters
    assert text.startswith("file 'house.json', building 'b-1', layer 'C1 (line 3)', field 'amount': xxx")
    assert text.endswith("…") and len(text) <= 300
    # a location of several long parts is kept whole, the reason keeps at least 120 characters
    long = InputError("y" * 500, file="f" * 250, building="b" * 250)
    kept = error_text(long, 300)
    assert kept.startswith(f"file '{'f' * 250}', building '{'b' * 250}': ") and kept.count("y") == 119


def test_a_newline_in_a_reason_does_not_break_the_line():
    assert error_text(ParseError("malformed\nXLSX", file="a.xlsx")) == "file 'a.xlsx': malformed XLSX"


def test_no_starting_at_at_line(tmp_path):
    path = tmp_path / "cut.json"
    path.write_text('{"id": "x', encoding="utf-8")
    with pytest.raises(ParseError) as caught:
        read_buildings(path)
    assert caught.value.message == "malformed JSON: Unterminated string starting at line 1, column 8"


def test_a_loss_rate_just_below_one_is_not_shown_as_one(tmp_path):
    import mpeil

    building = base_building()
    building["elements"][0]["layers"][1]["loss_rate"] = 0.999999999  # a share below 1: a type rule passes it
    path = tmp_path / "loss.json"
    path.write_text(json.dumps(building), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        mpeil.score(path)
    assert caught.value.message.startswith("loss rate 0.999999999 is above 0.5")


def test_option_fields_are_dotted_names_not_tuples():
    with pytest.raises(MethodError) as caught:
        load_method("gwp").with_options(replacement_rule="sometimes")
    assert caught.value.field == "replacement_rule"

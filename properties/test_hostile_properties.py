"""Property tests of issue 10: hypothesis strategies over the building schema and over unit strings.

Invariants (true of any input, decided without running mpeil):
- ``parse_unit`` returns a pint unit or raises ``UnitError``, nothing else; what it accepts is made
  of unit names, ``*``, ``/`` and powers of at most 4;
- a building file either scores to a finite number with every value inside the limits of
  ``data/batch_limits.csv``, or is refused with a typed ``MpeilError``; never another exception.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from pathlib import Path

import pint
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mpeil
from mpeil.errors import MpeilError, UnitError
from mpeil.limits import load_limits
from mpeil.model.library import load_library
from mpeil.units import parse_unit

#: examples per property; MPEIL_FUZZ_EXAMPLES=20000 for the longer run (docs/readme/issue-10.md)
EXAMPLES = int(os.environ.get("MPEIL_FUZZ_EXAMPLES", "150"))
UNIT_ATOMS = ["kg", "m", "m2", "m3", "mm", "t", "km", "piece", "MJ", "kWh", "year", "1", "2", "9", "10", "400", "e3"]
UNIT_GLUE = ["*", "/", "**", "^", " ", "·", "(", ")", "+", "-", ".", "**-", ""]

unit_strings = st.one_of(
    st.lists(st.sampled_from(UNIT_ATOMS + UNIT_GLUE), min_size=1, max_size=12).map("".join),
    st.text(max_size=40),
)


@settings(max_examples=3 * EXAMPLES, deadline=None)
@given(unit_strings)
def test_parse_unit_returns_a_unit_or_a_unit_error(text):
    try:
        unit = parse_unit(text)
    except UnitError:
        return
    assert isinstance(unit, pint.Unit)
    powers = [int(p) for p in re.findall(r"(?:\*\*|\^)\s*([+-]?\d+)", text)]
    assert all(abs(p) <= 4 for p in powers)
    assert len(text) <= 64


# ------------------------------------------------------------------ building files
SAND_LIME = "obd2024:c916ceb3-a44d-40b7-8984-861afa589956"
REBAR = "obd2024:f6861618-5a92-4c3a-94ba-9f7329b29662"

hostile_number = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.booleans(),
    st.sampled_from(["", "abc", "1,5", "1e400", "nan", "9" * 100]),
    st.none(),
)
hostile_text = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", "[/x]", "\x1b[31m", "=1+1", "house\udfff", "x" * 300]),
    st.integers(),
    st.none(),
)
maybe = st.one_of(st.just(None), st.just("keep"))


def _put(data: dict, key: str, value) -> None:
    if value != "keep":
        data[key] = value


@st.composite
def building_files(draw) -> dict:
    layer = {"product": draw(st.sampled_from([SAND_LIME, REBAR])), "amount": 0.2, "unit": "m"}
    for key in ("amount", "service_life_years", "transport_distance_km", "loss_rate", "ratio"):
        if draw(st.booleans()):
            _put(layer, key, draw(hostile_number))
    if draw(st.booleans()):
        _put(layer, draw(st.sampled_from(["unit", "layer", "transport", "product"])), draw(hostile_text))
    element = {"id": "e1", "quantity": 100.0, "unit": "m2", "layers": [layer]}
    if draw(st.booleans()):
        _put(element, draw(st.sampled_from(["id", "quantity", "unit"])), draw(st.one_of(hostile_text, hostile_number)))
    building = {"id": "b", "gross_floor_area_m2": 100.0, "elements": [element]}
    for key in ("gross_floor_area_m2", "reference_study_period_years", "id"):
        if draw(st.booleans()):
            _put(building, key, draw(hostile_number if key != "id" else hostile_text))
    return building


def _within_limits(data: dict, limits) -> bool:
    """Independent check that a scored building's declared values are inside the limits."""
    gfa = float(data["gross_floor_area_m2"])
    low, high = limits.gross_floor_area_m2
    if not low <= gfa <= high:
        return False
    layer = data["elements"][0]["layers"][0]
    life = layer.get("service_life_years")
    if life is not None and not limits.service_life_years[0] <= float(life) <= limits.service_life_years[1]:
        return False
    distance = layer.get("transport_distance_km")
    return distance is None or float(distance) <= limits.transport_distance_km


@pytest.fixture(scope="module")
def library():
    return load_library()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(building_files())
def test_a_building_file_scores_plausibly_or_is_refused_with_a_typed_error(library, data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "b.json"
        path.write_text(json.dumps(data, allow_nan=True), encoding="utf-8")
        try:
            result = mpeil.score(path, library=library)
        except MpeilError:
            return
    assert all(math.isfinite(s) for s in result.scores["score"])
    assert _within_limits(data, load_limits())

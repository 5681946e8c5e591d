"""Issue 11 item 7: what a new user hit, one regression test each (plus did-you-mean and waste-category case)."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

import mpeil
from mpeil.cli import app
from mpeil.errors import UnknownEPDError, UnknownScenarioError
from mpeil.model import Building, Element, Layer
from mpeil.model.bom import BOM_COLUMNS
from mpeil.paths import scenarios_dir
from mpeil.readers import read_building

EXAMPLES = scenarios_dir() / "examples"
PAINT = "obd2024:8c5e949d-1b5e-4dc6-b6ae-bfc8e6c863ce"  # dispersion paint, 1 kg
FINISH = "Finishing layer fixed to stony waste (plaster etc.)"


def _paint_building(**life) -> Building:
    line = Layer(product=PAINT, amount=0.3, unit="kg", waste_category=FINISH, **life)
    return Building(id="a", gross_floor_area_m2=10, elements=[Element(id="w", quantity=10, layers=[line])])


def test_service_life_category_with_blank_years_scores_like_the_category_value():
    # scenarios/service_lives.csv: "Coating (interior)" = 10 years; this raised "assignment destination
    # is read-only" in the compiler under pandas 3
    by_category = mpeil.score(_paint_building(service_life_category="Coating (interior)"))
    by_years = mpeil.score(_paint_building(service_life_years=10.0))
    assert by_category.scores["score"].iloc[0] == pytest.approx(by_years.scores["score"].iloc[0], rel=1e-12)
    by_default = mpeil.score(_paint_building())  # no life at all: the study period, 60 years, no replacement
    assert by_default.scores["score"].iloc[0] < by_years.scores["score"].iloc[0]


@pytest.fixture(scope="module")
def two_buildings():
    return mpeil.score([EXAMPLES / "terraced_house.json", EXAMPLES / "apartment_building.json"])


def test_to_xarray_selects_elements_by_id(two_buildings):
    dataset = two_buildings.to_xarray()
    both = dataset.sel(element_id="EW-1")  # both buildings have an EW-1
    assert both.sizes["element"] == 2
    house = dataset.sel(building_of_element="example-terraced-house").sel(element_id="EW-1")
    gwp = float(house["value"].sel(module="A1-A3", indicator="GWP-total"))
    frame = two_buildings.to_frame()
    expected = frame[
        (frame.building == "example-terraced-house")
        & (frame.element == "EW-1")
        & (frame.module == "A1-A3")
        & (frame.indicator == "GWP-total")
    ]["value"].iloc[0]
    assert gwp == expected


def test_by_element_prints_a_table_and_csv_honours_it():
    runner = CliRunner()
    path = str(EXAMPLES / "terraced_house.json")
    table = runner.invoke(app, ["score", path, "--by-element"], env={"COLUMNS": "120"})
    assert table.exit_code == 0, table.output
    assert "elements (mPt /(m²·yr))" in table.output and "share" in table.output
    assert "score_per_element_unit" not in table.output  # not a raw frame
    csv_out = runner.invoke(app, ["score", path, "--by-element", "-f", "csv"])
    assert csv_out.exit_code == 0, csv_out.output
    frame = pd.read_csv(io.StringIO(csv_out.output))
    assert list(frame["element"]) == [e.id for e in read_building(path).elements]
    scores = pd.read_csv(io.StringIO(runner.invoke(app, ["score", path, "-f", "csv"]).output))
    assert frame["score"].sum() == pytest.approx(scores["score"].iloc[0], rel=1e-9)  # elements sum to the score
    records = json.loads(runner.invoke(app, ["score", path, "--by-element", "-f", "json"]).output)
    assert len(records) == len(frame)


def test_shipped_terraced_house_csv_is_current():
    path = EXAMPLES / "terraced_house.csv"
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert tuple(header) == BOM_COLUMNS and "removed" in header
    assert read_building(path) == read_building(EXAMPLES / "terraced_house.json")


def test_methods_says_why_nl_mpg_set1_scores_nothing_on_a2_data():
    result = CliRunner().invoke(app, ["methods"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    hint = lines[next(i for i, line in enumerate(lines) if line.startswith("nl-mpg-set1")) + 1]
    assert "none in obd2024 (EN 15804+A2)" in hint and "no score" in hint
    assert "obd2020 (EN 15804+A1)" in hint


def test_to_lcax_on_a_result_alone(two_buildings):
    lcax = pytest.importorskip("lcax")  # in the test extra
    project = two_buildings.to_lcax("example-apartment-building")
    assert project.id == "example-apartment-building"
    apartment = read_building(EXAMPLES / "apartment_building.json")
    assert [a.id for a in project.assemblies] == [e.id for e in apartment.elements]
    from mpeil.outputs.lcax import to_lcax

    assert to_lcax(two_buildings, building=1).id == project.id
    assert lcax.calculate_project(project).results is not None


def test_unknown_data_set_suggests_the_closest_ids():
    typo = "obd2024:8c5e949d-1b5e-4dc6-b6ae-bfc8e6c863cf"  # last character wrong
    with pytest.raises(UnknownEPDError) as caught:
        mpeil.score(_paint_building().model_copy(update={"elements": [_element(typo)]}))
    assert f"did you mean {PAINT!r}" in str(caught.value)
    assert caught.value.location()["element"] == "w"


def _element(product: str) -> Element:
    return Element(id="w", quantity=10, layers=[Layer(product=product, amount=0.3, unit="kg")])


def test_waste_categories_match_without_regard_to_case():
    exact = mpeil.score(_paint_building(service_life_years=10.0)).scores["score"].iloc[0]
    shouted = _paint_building(service_life_years=10.0)
    shouted.elements[0].layers[0].waste_category = FINISH.upper()
    assert mpeil.score(shouted).scores["score"].iloc[0] == exact
    shouted.elements[0].layers[0].waste_category = "Finishing layer fixed to stony wast"
    with pytest.raises(UnknownScenarioError, match="did you mean 'Finishing layer fixed to stony waste"):
        mpeil.score(shouted)

"""Labelled result views: every view adds up to the same building score (invariants)."""

import pytest

import mpeil
from mpeil.paths import scenarios_dir
from mpeil.testing import one_layer_building, tiny_library, tiny_scenarios

EXAMPLE = scenarios_dir() / "examples" / "terraced_house.json"


@pytest.fixture(scope="module")
def result():
    from mpeil.model.library import load_library

    return mpeil.score(EXAMPLE, method="mpeil-ef31", library=load_library(["obd2024"]))


def test_elements_sum_to_the_score(result):
    assert result.by_element()["score"].sum() == pytest.approx(result.scores["score"].iloc[0], rel=1e-12)


def test_stages_without_d_sum_to_the_score(result):
    stages = result.by_stage().iloc[0]
    assert stages.drop("beyond (D)").sum() == pytest.approx(result.scores["score"].iloc[0], rel=1e-12)


def test_modules_sum_to_the_score(result):
    modules = result.by_module().iloc[0]
    assert modules.drop("D").sum() == pytest.approx(result.scores["score"].iloc[0], rel=1e-12)


def test_tidy_frame_and_xarray_carry_the_same_numbers(result):
    frame = result.to_frame()
    dataset = result.to_xarray()
    assert len(frame) == dataset["value"].size
    gwp_b4 = frame[(frame.module == "B4") & (frame.indicator == "GWP-total")]["value"].sum()
    assert dataset["value"].sel(module="B4", indicator="GWP-total").sum().item() == pytest.approx(gwp_b4)
    assert set(frame["unit"].dropna()) >= {"kg_CO2_eq", "MJ"}


def test_per_m2_year_of_gwp_is_the_gwp_score():
    library, scenarios = tiny_library(), tiny_scenarios()
    building = one_layer_building(
        "t:concrete", 0.2, "m", element_quantity=10, service_life_years=60, gross_floor_area_m2=100
    )
    result = mpeil.score(building, method="gwp", library=library, scenarios=scenarios, default_transport="truck")
    # A1-A3 600 + A4 24 + C1..C4 2·(2+1+3+4) = 20 → 644 over 60 y and 100 m² (A5 is a gap)
    assert result.per_m2_year()["GWP-total"].iloc[0] == pytest.approx(644 / 6000, rel=1e-12)
    assert result.scores["score"].iloc[0] == pytest.approx(644 / 6000, rel=1e-12)


def test_compare_explains_the_difference_element_by_element():
    library, scenarios = tiny_library(), tiny_scenarios()
    a = one_layer_building("t:concrete", 0.2, "m", element_quantity=10, service_life_years=60, building_id="A")
    b = one_layer_building("t:concrete", 0.1, "m", element_quantity=10, service_life_years=60, building_id="B")
    result = mpeil.score([a, b], method="gwp", library=library, scenarios=scenarios, default_transport="truck")
    diff = result.compare("A", "B")
    assert diff.loc["e1", "difference"] == pytest.approx(-(644 / 2) / 60, rel=1e-12)  # half the concrete


def test_repr_and_html_name_the_method_and_coverage(result):
    text = repr(result)
    # 63 % declared: 1 − 0.369 estimated under the default flagged_values = "estimate" (tests/test_trust.py)
    assert "mpeil-ef31" in text and "63%" in text
    assert "<table" in result._repr_html_()

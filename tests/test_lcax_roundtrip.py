"""LCAx both ways: mpeil → LCAx → mpeil gives the same score; a foreign LCAx project reads by hand."""

from __future__ import annotations

import datetime

import lcax
import numpy as np
import pytest

import mpeil
from mpeil.api import engine_options
from mpeil.compile import compile_buildings
from mpeil.errors import ParseError
from mpeil.methods import load_method
from mpeil.model.library import EPDLibrary, load_library
from mpeil.model.scenarios import load_scenarios
from mpeil.outputs.lcax import to_lcax
from mpeil.paths import scenarios_dir
from mpeil.readers import read_building
from mpeil.readers.lcax import read_lcax

EXAMPLE = scenarios_dir() / "examples" / "terraced_house.json"


def _export(building, method_name="mpeil-ef31"):
    library, scenarios = load_library(), load_scenarios()
    method = load_method(method_name)
    result = mpeil.score(building, method=method, library=library, scenarios=scenarios)
    compiled = compile_buildings(
        building, library, scenarios, method.reference_study_period_years, method.default_transport
    )
    return to_lcax(compiled, library, scenarios, engine_options(method), result=result), result


def test_round_trip_gives_the_same_score(tmp_path):
    building = read_building(EXAMPLE)  # with replacements, transport and end-of-life scenarios
    project, original = _export(building)
    path = tmp_path / "house.lcax.json"
    path.write_text(project.dumps(), encoding="utf-8")
    [again_building], imported = read_lcax(path)
    # the embedded EPDs over the shipped library (its transport and end-of-life data sets serve the scenarios)
    again = mpeil.score(again_building, library=EPDLibrary.layered(load_library(), [imported]))
    assert again.scores["score"].iloc[0] == pytest.approx(original.scores["score"].iloc[0], rel=1e-12)
    np.testing.assert_allclose(
        again.by_module("GWP-total").to_numpy(),
        original.by_module("GWP-total").to_numpy(),
        rtol=1e-12,
        equal_nan=True,
    )
    assert lcax.Project.loads(path.read_text()).meta_data["mpeil_score"] == original.scores["score"].iloc[0]
    assert [e.element_type.value for e in again_building.elements] == [e.element_type.value for e in building.elements]


def test_export_carries_every_module_and_the_results():
    project, result = _export(read_building(EXAMPLE))
    modules = {str(m).rsplit(".", 1)[-1] for m in project.life_cycle_modules}
    assert modules == {"A1A3", "A4", "A5", "B1", "B2", "B3", "B5", "C1", "C2", "C3", "C4", "D"}
    gwp = project.results.dict()[lcax.ImpactCategoryKey.GWP].dict()
    totals = result.total(include_d=True)["GWP-total"].iloc[0]
    mine = result._totals.values[0, :, result.indicators.index("GWP-total")]
    assert gwp[lcax.LifeCycleModule.B4] == pytest.approx(mine[result.modules.index("B4")], rel=1e-12)
    assert sum(v for k, v in gwp.items()) == pytest.approx(totals, rel=1e-12)


def _foreign_project(unit=lcax.Unit.M2, with_area=True):
    day = datetime.date(2024, 1, 1)
    epd = lcax.EPD(
        name="concrete",
        declared_unit=lcax.Unit.M3,
        version="1",
        published_date=day,
        valid_until=day,
        standard=lcax.Standard.EN15804A2,
        location=lcax.Country.UNKNOWN,
        subtype=lcax.SubType.GENERIC,
        impacts=lcax.Impacts(
            {
                lcax.ImpactCategoryKey.GWP: lcax.ImpactCategory(
                    {lcax.LifeCycleModule.A1A3: 300.0, lcax.LifeCycleModule.C3: 3.0}
                )
            }
        ),
        id="epd-concrete",
        conversions=[lcax.Conversion(to=lcax.Unit.KG, value=2400.0)],
    )
    product = lcax.Product(
        name="wall concrete", reference_service_life=60, impact_data=[epd], quantity=0.2, unit=lcax.Unit.M3, id="p1"
    )
    wall = lcax.Assembly(
        name="wall",
        quantity=10.0,
        unit=unit,
        products=[product],
        id="EW-1",
        classification=[lcax.Classification(system="TOTEM", code="EW", name="outer wall")],
    )
    return lcax.Project(
        name="foreign",
        id="foreign",
        location=lcax.Location(country=lcax.Country.DNK),
        project_phase=lcax.ProjectPhase.OTHER,
        software_info=lcax.SoftwareInfo(lca_software="other"),
        life_cycle_modules=[lcax.LifeCycleModule.A1A3, lcax.LifeCycleModule.C3],
        impact_categories=[lcax.ImpactCategoryKey.GWP],
        assemblies=[wall],
        reference_study_period=50,
        meta_data={"gross_floor_area_m2": 100.0} if with_area else None,
    )


def test_a_foreign_project_by_hand():
    [building], library = read_lcax(_foreign_project(), name="dk")
    assert building.reference_study_period_years == 50.0
    wall = building.elements[0]
    assert (wall.element_type.value, wall.quantity, wall.unit) == ("EW", 10.0, "m2")
    assert (wall.layers[0].product, wall.layers[0].amount, wall.layers[0].unit) == ("dk:epd-concrete", 0.2, "m3")
    assert library.mass_per_unit(library.resolve("dk:epd-concrete")) == 2400.0
    result = mpeil.score(building, method="gwp", library=EPDLibrary.layered(load_library(), [library]))
    # 10 m² × 0.2 m³/m² = 2 m³: A1-A3 = 600, C3 = 6 kg CO2e over 50 years and 100 m²
    per = result.by_module("GWP-total").iloc[0]
    assert per["A1-A3"] == pytest.approx(600.0 / (100 * 50), rel=1e-12)
    assert per["C3"] == pytest.approx(6.0 / (100 * 50), rel=1e-12)


def test_a_foreign_project_without_floor_area_or_with_odd_units_is_refused():
    with pytest.raises(ParseError, match="gross floor area"):
        read_lcax(_foreign_project(with_area=False))
    with pytest.raises(ParseError, match="assembly unit") as info:
        read_lcax(_foreign_project(unit=lcax.Unit.KG))
    assert info.value.location()["element"] == "EW-1"

"""Districts and material flows (issue 13): a one-line case by hand, conservation every year, urban mine."""

import numpy as np
import pytest

from mpeil.analysis.district import score_district
from mpeil.model import Building, Element, Layer
from mpeil.synthetic import generate_stock
from mpeil.testing import tiny_library, tiny_scenarios

TINY = {"method": "gwp", "default_transport": "truck"}


def _district(**layer):
    building = Building(
        id="b1",
        gross_floor_area_m2=100.0,
        construction_year=2020,
        elements=[Element(id="e1", quantity=1.0, unit="m2", layers=[Layer(product="t:brick", unit="kg", **layer)])],
    )
    return score_district(building, library=tiny_library(), scenarios=tiny_scenarios(), **TINY)


def test_one_line_by_hand():
    # 1000 kg, 25 years, 60-year study period: NR = ceil(60/25) − 1 = 2, replaced in 2045 and 2070, gone in 2080;
    # bricks: landfill 5 %, recycling 95 % (tiny_scenarios)
    flows = _district(amount=1000.0, service_life_years=25.0, waste_category="Bricks, roof tiles").flows()
    timeline = flows.timeline()
    assert timeline.loc[2020, "in"] == 1000.0
    for year in (2045, 2070):
        assert timeline.loc[year, "in"] == 1000.0 and timeline.loc[year, "out"] == pytest.approx(1000.0)
    assert timeline.loc[2080, "out"] == pytest.approx(1000.0)
    assert timeline.loc[2079, "in_place"] == 1000.0 and timeline.loc[2080, "in_place"] == 0.0
    assert timeline["in"].sum() == 3000.0
    mine = flows.urban_mine(routes=("recycling",))
    assert list(mine["year"]) == [2045, 2070, 2080]
    assert mine["mass_kg"].to_numpy() == pytest.approx([950.0, 950.0, 950.0])
    by_route = flows.timeline("route")
    assert by_route[("out", "landfill")].sum() == pytest.approx(150.0)


def test_conservation_every_year_on_a_synthetic_district():
    stock = generate_stock(25, seed=6)
    flows = score_district(stock).flows()
    t = flows.timeline()
    np.testing.assert_allclose(t["cumulative_in"], t["cumulative_out"] + t["in_place"], rtol=1e-12, atol=1e-6)
    assert t["in_place"].iloc[-1] == pytest.approx(0.0, abs=1e-6)  # every building reached its end of life
    assert (t["in"] >= 0).all() and (t["out"] >= 0).all()
    assert flows.lines_without_mass > 0  # pieces without a mass are counted, not read as 0 kg


def test_urban_mine_feeds_reuse_inventory_rows():
    flows = _district(amount=500.0, service_life_years=60.0, end_of_life={"reuse": 0.6, "landfill": 0.4}).flows()
    inventory = flows.reuse_inventory()
    assert list(inventory["year_available"]) == [2080]
    assert inventory["mass_kg"].iloc[0] == pytest.approx(300.0)
    assert inventory["component_id"].iloc[0] == "b1/e1/1"
    assert {"component_id", "building_id", "reuse_share", "year_available"} <= set(inventory.columns)


def test_a_building_without_construction_year_needs_a_default():
    from mpeil.errors import InputError

    building = Building(
        id="b2",
        gross_floor_area_m2=10.0,
        elements=[Element(id="e1", quantity=1.0, unit="m2", layers=[Layer(product="t:brick", amount=1.0, unit="kg")])],
    )
    with pytest.raises(InputError, match="construction year"):
        score_district(building, library=tiny_library(), scenarios=tiny_scenarios(), **TINY)
    district = score_district(building, default_year=2000, library=tiny_library(), scenarios=tiny_scenarios(), **TINY)
    assert district.construction_year.tolist() == [2000]
    assert district.totals()["buildings"] == 1


def test_plot_draws_ins_and_outs():
    import matplotlib

    matplotlib.use("Agg")
    flows = _district(amount=1000.0, service_life_years=25.0, waste_category="Bricks, roof tiles").flows()
    ax = flows.plot()
    assert ax.get_ylabel().startswith("t per year")
    heights = [patch.get_height() for patch in ax.patches]
    assert max(heights) == pytest.approx(1.0) and min(heights) == pytest.approx(-1.0)  # 1 t of brick in, and out
    by_route = flows.plot(by="route")
    outs = sorted(h for h in (p.get_height() for p in by_route.patches) if h < 0)
    assert outs[0] == pytest.approx(-0.95)  # the recycled part of one leaving (t)


def test_building_files_bring_their_construction_year(tmp_path):
    from mpeil.readers import write_building

    building = Building(
        id="b3",
        gross_floor_area_m2=10.0,
        construction_year=1990,
        elements=[Element(id="e1", quantity=1.0, unit="m2", layers=[Layer(product="t:brick", amount=1.0, unit="kg")])],
    )
    path = tmp_path / "b3.json"
    write_building(building, path)
    district = score_district([path], library=tiny_library(), scenarios=tiny_scenarios(), **TINY)
    assert district.construction_year.tolist() == [1990]

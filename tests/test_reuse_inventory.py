"""Donor → receiver: inventories, references, double counting and conservation."""

import pytest

from mpeil.api import reuse_report
from mpeil.errors import CircularityError
from mpeil.methods.config import Method
from mpeil.model import Building, Element, EndOfLifeShares, Layer
from mpeil.model.reuse import link_reuse, reuse_inventory
from mpeil.testing import tiny_library, tiny_scenarios

APPROACHES = ("cutoff_d", "cff", "multicycle", "dk_zero")


def _method(approach, include_d=False):
    return Method.model_validate(
        dict(
            name="t",
            score_unit="kg",
            reference_study_period_years=60,
            modules=["A1-A3", "C3", "C4"],
            include_d=include_d,
            eol_allocation=approach,
            default_transport="truck",
            indicators=[{"code": "GWP-total", "factor": 1.0}],
        )
    )


def donor(cycles=1, **extra):
    beam = Layer(
        product="t:steel",
        amount=500,
        unit="kg",
        service_life_years=60,
        waste_category="Metals",
        end_of_life=EndOfLifeShares(reuse=1.0),
        component_id="beam-1",
        use_cycles=cycles,
        condition="good",
        **extra,
    )
    keep = Layer(product="t:brick", amount=100, unit="kg", service_life_years=60, waste_category="Bricks, roof tiles")
    return Building(
        id="donor",
        gross_floor_area_m2=100,
        project_type="renovation",
        elements=[Element(id="frame", quantity=1, unit="piece", layers=[beam, keep])],
    )


def receiver(reference="beam-1", cycles=1, cycle=1, reused=1.0):
    beam = Layer(
        product="t:steel",
        amount=500,
        unit="kg",
        service_life_years=60,
        waste_category="Metals",
        reused_input=reused,
        source_component_id=reference,
        use_cycles=cycles,
        use_cycle=cycle,
    )
    return Building(
        id="receiver",
        gross_floor_area_m2=80,
        elements=[Element(id="new-frame", quantity=1, unit="piece", layers=[beam])],
    )


def test_inventory_lists_components_leaving_for_reuse():
    inventory = reuse_inventory(donor(), tiny_scenarios())
    assert inventory["component_id"].tolist() == ["beam-1"]  # the brick goes to recycling, not reuse
    row = inventory.iloc[0]
    assert (row["amount"], row["unit"], row["reuse_share"], row["condition"]) == (500, "kg", 1.0, "good")
    assert row["remaining_service_life_years"] == 60


def test_removed_parts_without_id_get_a_stable_identity():
    layer = Layer(product="t:brick", amount=1, unit="kg", removed=True, end_of_life=EndOfLifeShares(reuse=1.0))
    building = Building(id="b", gross_floor_area_m2=1, elements=[Element(id="w", quantity=1, layers=[layer])])
    assert reuse_inventory(building)["component_id"].tolist() == ["b/w/1"]


def test_reference_to_unknown_component():
    with pytest.raises(CircularityError) as info:
        link_reuse([donor()], [receiver("beam-9")], tiny_scenarios())
    assert info.value.field == "source_component_id" and info.value.building == "receiver"
    assert info.value.element == "new-frame" and "beam-9" in str(info.value)


def test_component_referenced_twice():
    twice = receiver()
    twice = twice.model_copy(
        update={
            "elements": twice.elements
            + [Element(id="other", quantity=1, unit="piece", layers=twice.elements[0].layers)]
        }
    )
    with pytest.raises(CircularityError) as info:
        link_reuse([donor()], [twice], tiny_scenarios())
    assert "twice" in str(info.value) and info.value.element == "other"


@pytest.mark.parametrize("approach", APPROACHES)
def test_donor_and_receiver_add_up_to_the_chain(approach):
    cycles = 2 if approach == "multicycle" else 1
    report = reuse_report(
        [donor(cycles)],
        [receiver(cycles=cycles, cycle=2 if cycles == 2 else 1)],
        _method(approach),
        tiny_library(),
        tiny_scenarios(),
    )
    row = report.iloc[0]
    # hand values (see tests/test_circularity.py): production 1000 + reconditioning 25 + final disposal
    final = (0.76 + 0.25 - 760) if approach == "cff" else 5.25
    assert row["chain"] == pytest.approx(1000 + 25 + final, rel=1e-12)
    assert row["balance"] == pytest.approx(0.0, abs=1e-9)
    assert row["findings"] == ""


def test_double_counting_is_reported_when_the_method_counts_d():
    report = reuse_report(
        [donor()], [receiver()], _method("cutoff_d", include_d=True), tiny_library(), tiny_scenarios()
    )
    assert "double counting" in report.iloc[0]["findings"]


def test_receiver_paying_full_production_is_reported_and_unbalanced():
    report = reuse_report([donor()], [receiver(reused=0.0)], _method("cutoff_d"), tiny_library(), tiny_scenarios())
    row = report.iloc[0]
    assert "counted twice" in row["findings"]
    # a receiver that does not declare the reuse has no reconditioning in the chain, and pays the
    # production of 1000 a second time: the balance is exactly that double count
    assert row["balance"] == pytest.approx(1000.0, rel=1e-12)


def test_inconsistent_cycles_are_reported():
    report = reuse_report(
        [donor(2)], [receiver(cycles=3, cycle=2)], _method("multicycle"), tiny_library(), tiny_scenarios()
    )
    assert "cycles disagree" in report.iloc[0]["findings"]


def test_cli_inventory_writes_the_components(tmp_path):
    from typer.testing import CliRunner

    from mpeil.cli import app
    from mpeil.readers import write_building

    path = tmp_path / "donor.json"
    write_building(donor(), path)
    result = CliRunner().invoke(app, ["inventory", str(path), "--out", str(tmp_path / "inv.csv")])
    assert result.exit_code == 0, result.output
    import pandas as pd

    table = pd.read_csv(tmp_path / "inv.csv")
    assert table["component_id"].tolist() == ["beam-1"] and table["condition"].tolist() == ["good"]

"""Module rules checked against hand calculations on mpeil.testing.tiny_library().

Every expected number below is worked out in the comment beside it from the tiny library's
values (see its docstring) and the scenario numbers (truck 0.1 per t·km, A4 50 km, C2 30 km,
rubble C3 0.002/kg, inert landfill C4 0.01/kg, incineration C3 1.5/kg).
"""

import math

import numpy as np
import pandas as pd
import pytest

from mpeil.compile import compile_buildings
from mpeil.engine import EngineOptions, IndicatorSpec, number_of_replacements, run_engine
from mpeil.engine.profiles import OUTPUT_MODULES
from mpeil.errors import InputError, MpeilError, UnknownMethodError
from mpeil.methods import load_method
from mpeil.methods.config import Method
from mpeil.model import Layer
from mpeil.model.library import EPDLibrary
from mpeil.testing import one_layer_building, tiny_library, tiny_scenarios

GWP = ("GWP-total", "PM")
M = {m: k for k, m in enumerate(OUTPUT_MODULES)}


def run(building, rsp=60.0, rule="ceil", loss_basis="installed", library=None, replacement_modules=None):
    library = library or tiny_library()
    scenarios = tiny_scenarios()
    compiled = compile_buildings(building, library, scenarios, rsp, default_transport="truck")
    options = EngineOptions(
        indicators=tuple(IndicatorSpec.plain(c) for c in GWP),
        replacement_rule=rule,
        loss_basis=loss_basis,
        **({"replacement_modules": tuple(replacement_modules)} if replacement_modules else {}),
    )
    return run_engine(compiled, library, scenarios, options)


def gwp(result, module, element=0):
    return result.values[element, M[module], 0]


# ---------------------------------------------------------------- A1-A3 and units
def test_a1_a3_thickness_on_area_element():
    # 0.2 m thick on 10 m² = 2 m³; 300 per m³ → 600
    r = run(one_layer_building("t:concrete", 0.2, "m", element_quantity=10, service_life_years=60))
    assert gwp(r, "A1-A3") == pytest.approx(600.0, rel=1e-12)


def test_a1_a3_sums_separately_declared_parts():
    # A1 1 + A2 0.1 + A3 0.4 = 1.5 per kg; 20 kg → 30
    r = run(one_layer_building("t:parts", 20, "kg", service_life_years=60))
    assert gwp(r, "A1-A3") == pytest.approx(30.0, rel=1e-12)


def test_area_declared_product_from_thickness():
    # 0.2 m of insulation declared per m² at 0.1 m → 2 m² per m² element; 5 m² element → 10 m²; 6 per m² → 60
    r = run(one_layer_building("t:insulation", 200, "mm", element_quantity=5, service_life_years=60))
    assert gwp(r, "A1-A3") == pytest.approx(60.0, rel=1e-12)


# ---------------------------------------------------------------- A4
def test_a4_from_transport_scenario():
    # 2 m³ × 2400 kg/m³ = 4800 kg = 4.8 t; 4.8 t × 50 km × 0.1 = 24
    r = run(one_layer_building("t:concrete", 0.2, "m", element_quantity=10, service_life_years=60))
    assert gwp(r, "A4") == pytest.approx(24.0, rel=1e-12)


def test_a4_distance_override():
    # same mass over 120 km: 4.8 × 120 × 0.1 = 57.6
    r = run(
        one_layer_building(
            "t:concrete", 0.2, "m", element_quantity=10, service_life_years=60, transport_distance_km=120
        )
    )
    assert gwp(r, "A4") == pytest.approx(57.6, rel=1e-12)


def test_declared_a4_wins_over_scenario():
    lib = tiny_library()
    values = pd.concat(
        [
            lib.values,
            pd.DataFrame(
                [{"dataset_id": "t:brick", "module": "A4", "scenario": "", "indicator": "GWP-total", "value": 0.03}]
            ),
        ]
    )
    lib = EPDLibrary(lib.datasets, values)
    # 100 kg × 0.03 = 3 (the scenario would give 0.1 t × 50 × 0.1 = 0.5)
    r = run(one_layer_building("t:brick", 100, "kg", service_life_years=60), library=lib)
    assert gwp(r, "A4") == pytest.approx(3.0, rel=1e-12)


# ---------------------------------------------------------------- A5
BRICK = dict(service_life_years=60, waste_category="Bricks, roof tiles")


def test_a5_losses_installed_basis():
    # 1000 kg brick: A1-A3 200, A4 1 t × 50 × 0.1 = 5, C2 1 × 30 × 0.1 = 3,
    # C3 1000 × 0.95 × 0.002 = 1.9, C4 1000 × 0.05 × 0.01 = 0.5 (C1 is a gap, not in the sum)
    # A5 = 0.05 × (200 + 5 + 3 + 1.9 + 0.5) = 10.52
    r = run(one_layer_building("t:brick", 1000, "kg", loss_rate=0.05, **BRICK))
    assert gwp(r, "A5") == pytest.approx(10.52, rel=1e-12)


def test_a5_losses_purchased_basis():
    # rate on purchased quantity: lost = l / (1 − l) × q → 0.05 / 0.95 × 210.4 = 11.073684…
    r = run(one_layer_building("t:brick", 1000, "kg", loss_rate=0.05, **BRICK), loss_basis="purchased")
    assert gwp(r, "A5") == pytest.approx(0.05 / 0.95 * 210.4, rel=1e-12)


def test_a5_declared_plus_losses():
    # 10 m² insulation: declared A5 0.5/m² → 5; A1-A3 60, mass 30 kg → A4 0.03 t × 50 × 0.1 = 0.15,
    # C2 0.03 t × 30 × 0.1 = 0.09; no waste category → C3/C4 gaps;
    # losses 0.1 × (60 + 0.15 + 0.09) = 6.024; A5 = 5 + 6.024 = 11.024
    r = run(one_layer_building("t:insulation", 0.1, "m", element_quantity=10, service_life_years=60, loss_rate=0.1))
    assert gwp(r, "A5") == pytest.approx(11.024, rel=1e-12)


def test_a5_without_rate_or_declaration_is_a_gap_not_zero():
    r = run(one_layer_building("t:brick", 1000, "kg", **BRICK))
    assert math.isnan(gwp(r, "A5"))
    assert r.missing[0, M["A5"], 0] == 1


# ---------------------------------------------------------------- B4
@pytest.mark.parametrize(
    "rule, expected",
    [
        ("ceil", {25: 2, 40: 1, 50: 1, 60: 0}),
        ("fractional", {25: 1.4, 40: 0.5, 50: 0.2, 60: 0}),
        ("elca", {25: 2, 40: 1, 50: 1, 60: 0}),
    ],
)
def test_number_of_replacements_rules(rule, expected):
    # method.md §4 table for RSP 60 (ceil(60/25) − 1 = 2, 60/40 − 1 = 0.5, …)
    lives = np.array(list(expected), dtype=float)
    got = number_of_replacements(np.full(4, 60.0), lives, rule)
    np.testing.assert_allclose(got, list(expected.values()), rtol=1e-12)


@pytest.mark.parametrize(
    "rule, life, replacements",
    [
        ("ceil", 25, 2),
        ("ceil", 40, 1),
        ("ceil", 50, 1),
        ("ceil", 60, 0),
        ("fractional", 25, 1.4),
        ("fractional", 40, 0.5),
        ("fractional", 50, 0.2),
        ("fractional", 60, 0),
        ("elca", 25, 2),
        ("elca", 40, 1),
        ("elca", 50, 1),
        ("elca", 60, 0),
    ],
)
def test_b4_counts_a1_to_c4_of_each_replacement(rule, life, replacements):
    # one replacement of 1000 kg brick with 5 % losses: A1-A3 200 + A4 5 + A5 10.52 + C2 3 + C3 1.9 + C4 0.5
    # = 220.92 (C1 is a gap); B4 = NR × 220.92
    r = run(
        one_layer_building(
            "t:brick", 1000, "kg", loss_rate=0.05, service_life_years=life, waste_category="Bricks, roof tiles"
        ),
        rule=rule,
    )
    assert gwp(r, "B4") == pytest.approx(replacements * 220.92, rel=1e-12, abs=1e-12)


def test_b4_with_br18_replacement_modules():
    # BR18 counts A1-A3 + C3 + C4 of a replacement: 200 + 1.9 + 0.5 = 202.4; 25 y in 50 y → ceil(2) − 1 = 1
    r = run(
        one_layer_building("t:brick", 1000, "kg", service_life_years=25, waste_category="Bricks, roof tiles"),
        rsp=50,
        replacement_modules=["A1-A3", "C3", "C4"],
    )
    assert gwp(r, "B4") == pytest.approx(202.4, rel=1e-12)


def test_existing_part_counts_from_remaining_life():
    # kept 1000 kg brick, life 30, 10 years left, RSP 60: replacements at 10, 40 → ceil(50/30) = 2;
    # no production (already built), end of life once: C2 3 + C3 1.9 + C4 0.5
    r = run(
        one_layer_building(
            "t:brick",
            1000,
            "kg",
            service_life_years=30,
            existing=True,
            remaining_service_life_years=10,
            waste_category="Bricks, roof tiles",
        )
    )
    assert gwp(r, "A1-A3") == 0.0 and gwp(r, "A4") == 0.0
    assert gwp(r, "B4") == pytest.approx(2 * (200 + 5 + 3 + 1.9 + 0.5), rel=1e-12)
    assert gwp(r, "C3") == pytest.approx(1.9, rel=1e-12)


# ---------------------------------------------------------------- C and D
def test_c_from_end_of_life_scenario_bricks():
    r = run(one_layer_building("t:brick", 1000, "kg", **BRICK))
    assert gwp(r, "C2") == pytest.approx(3.0, rel=1e-12)  # 1 t × 30 km × 0.1
    assert gwp(r, "C3") == pytest.approx(1.9, rel=1e-12)  # 1000 × 0.95 × 0.002
    assert gwp(r, "C4") == pytest.approx(0.5, rel=1e-12)  # 1000 × 0.05 × 0.01
    assert math.isnan(gwp(r, "C1")) and r.missing[0, M["C1"], 0] == 1


def test_c_from_end_of_life_scenario_wood_incineration():
    # untreated wood: 25 % incineration, 75 % recycling: 1000 × (0.25 × 1.5 + 0.75 × 0.002) = 376.5
    r = run(
        one_layer_building(
            "t:brick", 1000, "kg", service_life_years=60, waste_category="Untreated, uncontaminated wood"
        )
    )
    assert gwp(r, "C3") == pytest.approx(376.5, rel=1e-12)
    assert gwp(r, "C4") == 0.0


def test_declared_c_wins():
    # concrete declares C1-C4: 2 m³ × (2, 1, 3, 4)
    r = run(
        one_layer_building(
            "t:concrete",
            0.2,
            "m",
            element_quantity=10,
            service_life_years=60,
            **{"waste_category": "Bricks, roof tiles"},
        )
    )
    assert [gwp(r, m) for m in ("C1", "C2", "C3", "C4")] == pytest.approx([4.0, 2.0, 6.0, 8.0], rel=1e-12)


def test_d_per_installation():
    # 100 kg steel, life 20 in 60 → NR 2 → 3 installations × 100 × (−1) = −300
    r = run(one_layer_building("t:steel", 100, "kg", service_life_years=20))
    assert gwp(r, "D") == pytest.approx(-300.0, rel=1e-12)


def test_b6_b7_are_not_layer_modules():
    assert "B6" not in OUTPUT_MODULES and "B7" not in OUTPUT_MODULES


# ---------------------------------------------------------------- single score
def _two_indicator_method(**overrides):
    data = dict(
        name="hand",
        score_unit="mPt",
        score_scale=1000.0,
        reference_study_period_years=60,
        per_year=True,
        modules=["A1-A3"],
        include_d=False,
        default_transport="truck",
        indicators=[
            {"code": "GWP-total", "normalisation": 7553.08316, "weight": 0.2106},
            {"code": "PM", "normalisation": 5.95366821e-4, "weight": 0.0896},
        ],
    )
    data.update(overrides)
    return Method.model_validate(data)


def test_mpt_of_a_hand_made_case():
    from mpeil.api import score

    building = one_layer_building(
        "t:concrete", 0.2, "m", element_quantity=10, service_life_years=60, gross_floor_area_m2=100
    )
    result = score(building, method=_two_indicator_method(), library=tiny_library(), scenarios=tiny_scenarios())
    # A1-A3: GWP 600, PM 0.6 over 60 y on 100 m² → per m²·yr 0.1 and 1e-4
    expected = 1000 * (0.1 * 0.2106 / 7553.08316 + 1e-4 * 0.0896 / 5.95366821e-4)
    assert result.scores.loc["b1", "score"] == pytest.approx(expected, rel=1e-12)
    assert result.scores.loc["b1", "weight_covered"] == pytest.approx(1.0)


def test_shipped_ef31_states_the_weight_it_covers():
    from mpeil.api import score
    from mpeil.methods import load_method

    # every EF indicator is declared by some data set, but the concrete only declares GWP-total and PM:
    # the score covers (21.06 + 8.96) / 100 of the weighting and says which indicators it lacks
    codes = [i.code for i in load_method("mpeil-ef31").indicators]
    lib = tiny_library(indicators=["GWP-total", "PM", *[c for c in codes if c not in ("GWP-total", "PM")]])
    keep = (lib.values["dataset_id"] != "t:concrete") | lib.values["indicator"].isin(["GWP-total", "PM"])
    lib = EPDLibrary(lib.datasets, lib.values[keep])
    building = one_layer_building(
        "t:concrete", 0.2, "m", element_quantity=10, service_life_years=60, gross_floor_area_m2=100
    )
    result = score(building, method="mpeil-ef31", library=lib, scenarios=tiny_scenarios(), default_transport="truck")
    row = result.scores.loc["b1"]
    assert row["weight_covered"] == pytest.approx(0.3002, abs=1e-9)
    assert not row["complete"]
    assert "ODP" in row["indicators_missing"] and "GWP-total" not in row["indicators_missing"]


# ---------------------------------------------------------------- bad input
def test_unknown_method():
    with pytest.raises(UnknownMethodError) as info:
        load_method("no-such-method")
    assert isinstance(info.value, KeyError) and "no-such-method" in str(info.value)


def test_method_with_indicator_no_dataset_declares_is_refused():
    from mpeil.api import score
    from mpeil.errors import MethodError

    method = _two_indicator_method(indicators=[{"code": "ODP", "normalisation": 1.0, "weight": 0.5}])
    building = one_layer_building("t:concrete", 0.2, "m", service_life_years=60)
    with pytest.raises(MethodError) as info:
        score(building, method=method, library=tiny_library(), scenarios=tiny_scenarios())
    assert "ODP" in str(info.value) and info.value.field == "indicators"


def test_method_with_an_unknown_indicator_code_is_refused():
    from mpeil.api import score
    from mpeil.errors import MethodError

    method = _two_indicator_method(indicators=[{"code": "GWP-totl", "factor": 1.0}])
    with pytest.raises(MethodError, match="GWP-totl"):
        score(one_layer_building("t:brick", 1, "kg"), method=method, library=tiny_library(), scenarios=tiny_scenarios())


def test_indicator_declared_by_some_data_sets_only_is_coverage_not_an_error():
    from mpeil.api import score

    lib = tiny_library()
    values = pd.concat(
        [
            lib.values,
            pd.DataFrame(
                [{"dataset_id": "t:steel", "module": "A1-A3", "scenario": "", "indicator": "ODP", "value": 1e-6}]
            ),
        ]
    )
    lib = EPDLibrary(lib.datasets, values, hand_made=True)  # tiny_library's round numbers
    method = _two_indicator_method(
        indicators=[
            {"code": "GWP-total", "normalisation": 7553.08316, "weight": 0.2106},
            {"code": "ODP", "normalisation": 0.0523483834, "weight": 0.0631},
        ]
    )
    building = one_layer_building("t:concrete", 0.2, "m", service_life_years=60)
    row = score(building, method=method, library=lib, scenarios=tiny_scenarios()).scores.loc["b1"]
    assert row["indicators_missing"] == ["ODP"]  # this building's concrete does not declare it
    assert row["weight_covered"] == pytest.approx(0.2106 / (0.2106 + 0.0631), rel=1e-12)


@pytest.mark.parametrize(
    "field, value",
    [
        ("service_life_years", 0.0),
        ("gross_floor_area_m2", 0.0),
        ("reference_study_period_years", -5.0),
    ],
)
def test_bad_numbers_in_a_flat_table(field, value):
    from mpeil.compile import compile_frame, flatten

    frame = flatten([one_layer_building("t:brick", 10, "kg", service_life_years=30)])
    frame[field] = value
    with pytest.raises(InputError) as info:
        compile_frame(frame, tiny_library(), tiny_scenarios(), 60.0, "truck", file="bom.csv")
    assert info.value.field == field and info.value.file == "bom.csv"
    assert info.value.building == "b1"


def test_bad_study_period_in_method():
    with pytest.raises(MpeilError):
        load_method("mpeil-ef31").with_options(reference_study_period_years=0)


def test_bad_service_life_rejected_by_model():
    with pytest.raises(ValueError):
        Layer(product="t:brick", amount=1, unit="kg", service_life_years=0)


def test_part_removed_in_a_renovation_counts_its_end_of_life_only():
    # 1000 kg brick removed now: no production, no use, no replacements (life 20 would give 2);
    # end of life once: C2 3 + C3 1.9 + C4 0.5; D once: −0.95 × 1000 × 0.004 (gravel) = −3.8
    r = run(
        one_layer_building(
            "t:brick", 1000, "kg", service_life_years=20, removed=True, waste_category="Bricks, roof tiles"
        )
    )
    assert [gwp(r, m) for m in ("A1-A3", "A4", "B4")] == [0.0, 0.0, 0.0]
    assert [gwp(r, m) for m in ("C2", "C3", "C4", "D")] == pytest.approx([3.0, 1.9, 0.5, -3.8], rel=1e-12)
    assert r.replacements[0] == 0.0


def test_operational_energy_is_reported_apart_and_not_scored():
    from mpeil.api import score
    from mpeil.model import OperationalEnergy

    building = one_layer_building(
        "t:concrete", 0.2, "m", element_quantity=10, service_life_years=60, gross_floor_area_m2=100
    )
    with_b6 = building.model_copy(
        update={"operational": [OperationalEnergy(product="t:heat", amount_per_year=1000.0, unit="kWh", module="B6")]}
    )
    method = _two_indicator_method()
    plain = score(building, method=method, library=tiny_library(), scenarios=tiny_scenarios())
    both = score(with_b6, method=method, library=tiny_library(), scenarios=tiny_scenarios())
    assert both.scores.loc["b1", "score"] == plain.scores.loc["b1", "score"]
    row = both.operational.set_index("indicator").loc["GWP-total"]
    # 1000 kWh/yr = 3600 MJ/yr × 0.08 per MJ × 60 y = 17280; per m²·yr: 17280 / (100 × 60) = 2.88
    assert row["value"] == pytest.approx(17280.0, rel=1e-12)
    assert row["per_m2_year"] == pytest.approx(2.88, rel=1e-12)

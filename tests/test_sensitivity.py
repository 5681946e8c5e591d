"""Option sensitivity: the grid of TOTEM unknowns (method.md §10), checked with invariants."""

import pytest

from mpeil.analysis.sensitivity import option_sensitivity
from mpeil.testing import one_layer_building, tiny_library, tiny_scenarios


def test_grid_of_options_and_their_effects():
    building = one_layer_building(
        "t:steel", 100, "kg", service_life_years=40, gross_floor_area_m2=10, waste_category="Metals", transport="truck"
    )
    frame = option_sensitivity(
        building,
        {"method": ["gwp"], "replacement_rule": ["ceil", "fractional"], "include_d": [False, True]},
        library=tiny_library(),
        scenarios=tiny_scenarios(),
    )
    assert len(frame) == 4
    score = frame.set_index(["replacement_rule", "include_d"])["score"]
    # life 40 in 60: ceil → 1 replacement, fractional → 0.5; D (declared −1/kg × 100 kg per
    # installation) is counted only with include_d: 2 installations (ceil) → −200, 1.5 → −150, per 10 m² × 60 y
    assert score[("ceil", True)] - score[("ceil", False)] == pytest.approx(-200 / 600, rel=1e-12)
    assert score[("fractional", True)] - score[("fractional", False)] == pytest.approx(-150 / 600, rel=1e-12)
    assert score[("ceil", False)] > score[("fractional", False)]
    assert frame["spread"].iloc[0] == pytest.approx(score.max() - score.min(), rel=1e-12)

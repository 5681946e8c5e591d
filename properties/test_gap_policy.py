"""Property (issue 8): on a fully declared library the `declared` and `estimated` gap policies give
identical results, whatever the estimates say — an estimate only ever fills a value nobody declares."""

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mpeil.api import score
from mpeil.methods.config import IndicatorFactor, Method
from mpeil.model import Building, Element, Layer
from mpeil.model.library import MODULES
from mpeil.testing import tiny_library, tiny_scenarios

LIBRARY = tiny_library(("GWP-total", "PM"))  # every data set declares both indicators in every module it has
SCENARIOS = tiny_scenarios()
PRODUCTS = [("t:concrete", "m", 0.3), ("t:brick", "kg", 200.0), ("t:steel", "kg", 20.0), ("t:insulation", "mm", 150.0)]
settings.register_profile("gap", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def method(policy: str) -> Method:
    return Method(
        name="two",
        score_unit="pt",
        reference_study_period_years=60,
        modules=["A1-A3", "A4", "A5", "B4", "C1", "C2", "C3", "C4"],
        default_transport="truck",
        gap_policy=policy,
        indicators=[
            IndicatorFactor(code="GWP-total", normalisation=7553.08316, weight=0.2106),
            IndicatorFactor(code="PM", normalisation=5.95366821e-04, weight=0.0896),
        ],
    )


def estimates_for_declared_cells(noise: float) -> pd.DataFrame:
    """An estimate (deliberately wrong by ``noise``) for every cell the library declares."""
    codes = ("GWP-total", "PM")
    tensor = LIBRARY.tensor(codes, MODULES)
    d, k, j = np.nonzero(~np.isnan(tensor))
    return pd.DataFrame(
        {
            "dataset_id": np.asarray(LIBRARY.ids, dtype=object)[d],
            "module": np.asarray(MODULES, dtype=object)[k],
            "indicator": np.asarray(codes, dtype=object)[j],
            "value": tensor[d, k, j] * noise + 1.0,
        }
    )


line = st.tuples(st.integers(0, len(PRODUCTS) - 1), st.floats(0.05, 2.0), st.sampled_from([15.0, 30.0, 60.0]))


@settings(settings.get_profile("gap"))
@given(st.lists(st.lists(line, min_size=1, max_size=3), min_size=1, max_size=3), st.floats(0.1, 10.0))
def test_declared_and_estimated_agree_on_a_fully_declared_library(elements, noise):
    building = Building(
        id="b",
        gross_floor_area_m2=120.0,
        elements=[
            Element(
                id=f"e{i}",
                quantity=10.0 + i,
                layers=[
                    Layer(
                        product=PRODUCTS[p][0], unit=PRODUCTS[p][1], amount=PRODUCTS[p][2] * f, service_life_years=life
                    )
                    for p, f, life in lines
                ],
            )
            for i, lines in enumerate(elements)
        ],
    )
    filled = LIBRARY.with_estimates(estimates=estimates_for_declared_cells(noise))
    declared = score(building, method=method("declared"), library=LIBRARY, scenarios=SCENARIOS)
    estimated = score(building, method=method("estimated"), library=filled, scenarios=SCENARIOS)
    np.testing.assert_array_equal(declared.elements.values, estimated.elements.values)
    a, b = declared.scores.iloc[0], estimated.scores.iloc[0]
    assert a["score"] == b["score"] and b["weight_estimated"] == 0.0
    assert a["weight_declared"] == b["weight_declared"] and a["weight_missing"] == b["weight_missing"]

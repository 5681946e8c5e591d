"""With every circular parameter at zero, each allocation approach gives the linear result.

"Zero" means: no reused input, no recycled content, one use cycle, and no reuse or recycling at
end of life (landfill and incineration only). Products whose C modules come from the scenarios
are used, since the CFF recomputes C3/C4 from the route data sets by design.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mpeil.compile import compile_buildings
from mpeil.engine import EngineOptions, IndicatorSpec, run_engine
from mpeil.model import Building, Element, EndOfLifeShares, Layer
from mpeil.testing import tiny_library, tiny_scenarios

LIBRARY, SCENARIOS = tiny_library(), tiny_scenarios()
PRODUCTS = [("t:brick", "kg", 100.0), ("t:parts", "kg", 10.0), ("t:timber", "m", 0.05), ("t:insulation", "mm", 120.0)]

line = st.builds(
    lambda p, f, life, landfill, no_eol: dict(
        product=PRODUCTS[p][0],
        unit=PRODUCTS[p][1],
        amount=PRODUCTS[p][2] * f,
        service_life_years=life,
        end_of_life=None if no_eol else EndOfLifeShares(landfill=landfill, incineration=1.0 - landfill),
    ),
    st.integers(0, len(PRODUCTS) - 1),
    st.floats(0.1, 3.0),
    st.sampled_from([15.0, 30.0, 40.0, 60.0]),
    st.sampled_from([0.0, 0.3, 1.0]),
    st.booleans(),
)


def result(elements, approach):
    building = Building(
        id="b",
        gross_floor_area_m2=100.0,
        elements=[
            Element(id=f"e{i}", quantity=5.0, layers=[Layer(**x) for x in lines]) for i, lines in enumerate(elements)
        ],
    )
    compiled = compile_buildings(building, LIBRARY, SCENARIOS, 60.0, default_transport="truck")
    options = EngineOptions(
        indicators=(IndicatorSpec.plain("GWP-total"), IndicatorSpec.plain("PM")), allocation=approach
    )
    return run_engine(compiled, LIBRARY, SCENARIOS, options)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(line, min_size=1, max_size=4), min_size=1, max_size=3))
def test_every_approach_reduces_to_the_linear_engine(elements):
    linear = result(elements, "cutoff_d")
    for approach in ("cff", "multicycle", "dk_zero"):
        other = result(elements, approach)
        np.testing.assert_allclose(other.values, linear.values, rtol=1e-12, atol=1e-12, equal_nan=True)
        np.testing.assert_array_equal(other.missing, linear.missing)

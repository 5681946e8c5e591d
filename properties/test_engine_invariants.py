"""Property tests (hypothesis) for the engine's aggregation invariants.

Kept apart from the unit tests (xarray's convention): they run many examples. Each
property guards a class of silent aggregation bug seen in peers (lcax #145, BHoM #316).
"""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mpeil.compile import compile_buildings
from mpeil.engine import EngineOptions, IndicatorSpec, run_engine
from mpeil.methods.scoring import building_totals
from mpeil.model import Building, Element, Layer
from mpeil.testing import tiny_library, tiny_scenarios

LIBRARY = tiny_library()
SCENARIOS = tiny_scenarios()
OPTIONS = EngineOptions(indicators=(IndicatorSpec.plain("GWP-total"), IndicatorSpec.plain("PM")))
# (product, unit, scale to a plausible amount)
PRODUCTS = [
    ("t:concrete", "m", 0.3),
    ("t:brick", "kg", 200.0),
    ("t:steel", "kg", 20.0),
    ("t:insulation", "mm", 150.0),
    ("t:parts", "kg", 5.0),
]
WASTE = [None, "Bricks, roof tiles", "Untreated, uncontaminated wood", "Metals"]

line_strategy = st.builds(
    lambda product, fraction, life, waste, loss: dict(
        product=PRODUCTS[product][0],
        unit=PRODUCTS[product][1],
        amount=PRODUCTS[product][2] * fraction,
        service_life_years=life,
        waste_category=WASTE[waste],
        loss_rate=loss,
    ),
    product=st.integers(0, len(PRODUCTS) - 1),
    fraction=st.floats(0.01, 2.0),
    life=st.sampled_from([10.0, 15.0, 25.0, 30.0, 40.0, 60.0]),
    waste=st.integers(0, len(WASTE) - 1),
    loss=st.one_of(st.none(), st.floats(0.0, 0.2)),
)
element_strategy = st.lists(line_strategy, min_size=1, max_size=5)
building_strategy = st.lists(element_strategy, min_size=1, max_size=4)
settings.register_profile("mpeil", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("mpeil")


def make(elements, gfa=120.0, building_id="b"):
    return Building(
        id=building_id,
        gross_floor_area_m2=gfa,
        elements=[
            Element(id=f"e{i}", quantity=10.0 + i, layers=[Layer(**line) for line in lines])
            for i, lines in enumerate(elements)
        ],
    )


def values(building):
    compiled = compile_buildings(building, LIBRARY, SCENARIOS, 60.0, default_transport="truck")
    return run_engine(compiled, LIBRARY, SCENARIOS, OPTIONS)


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True)


@given(building_strategy, st.floats(0.1, 10.0))
def test_linear_in_amounts(elements, k):
    base = values(make(elements))
    scaled = values(make([[{**line, "amount": line["amount"] * k} for line in lines] for lines in elements]))
    close(scaled.values, base.values * k)
    np.testing.assert_array_equal(scaled.missing, base.missing)


@given(building_strategy)
def test_invariant_to_order_of_lines_and_elements(elements):
    base = values(make(elements))
    reordered = values(make([list(reversed(lines)) for lines in elements]))
    close(reordered.values, base.values)
    # reversing elements permutes element rows; building totals are unchanged
    flipped = make(list(reversed(elements)))
    flipped = flipped.model_copy(
        update={
            "elements": [
                e.model_copy(update={"id": f"e{len(elements) - 1 - i}", "quantity": 10.0 + len(elements) - 1 - i})
                for i, e in enumerate(flipped.elements)
            ]
        }
    )
    result = values(flipped)
    close(building_totals(result).values, building_totals(base).values)


@given(building_strategy, st.floats(0.05, 0.95))
def test_invariant_to_splitting_a_line(elements, fraction):
    base = values(make(elements))
    split = [
        [
            part
            for line in lines
            for part in (
                {**line, "amount": line["amount"] * fraction},
                {**line, "amount": line["amount"] * (1 - fraction)},
            )
        ]
        for lines in elements
    ]
    result = values(make(split))
    close(result.values, base.values)


@given(building_strategy)
def test_invariant_to_the_unit_of_an_amount(elements):
    base = values(make(elements))
    converted = []
    for lines in elements:
        new_lines = []
        for line in lines:
            if line["unit"] == "kg":
                line = {**line, "unit": "t", "amount": line["amount"] / 1000.0}
            elif line["unit"] == "m":
                line = {**line, "unit": "mm", "amount": line["amount"] * 1000.0}
            elif line["unit"] == "mm":
                line = {**line, "unit": "cm", "amount": line["amount"] / 10.0}
            new_lines.append(line)
        converted.append(new_lines)
    close(values(make(converted)).values, base.values)


@given(st.lists(building_strategy, min_size=1, max_size=3))
def test_element_sums_equal_building_totals(buildings):
    objects = [make(e, building_id=f"b{i}") for i, e in enumerate(buildings)]
    compiled = compile_buildings(objects, LIBRARY, SCENARIOS, 60.0, default_transport="truck")
    result = run_engine(compiled, LIBRARY, SCENARIOS, OPTIONS)
    totals = building_totals(result)
    for b in range(len(objects)):
        mine = compiled.element_building == b
        close(np.nansum(totals.values[b]), np.nansum(result.values[mine]))
        # one building scored alone gives the same totals as inside a batch
        alone = run_engine(
            compile_buildings(objects[b], LIBRARY, SCENARIOS, 60.0, default_transport="truck"),
            LIBRARY,
            SCENARIOS,
            OPTIONS,
        )
        close(building_totals(alone).values[0], totals.values[b])

"""Public test helpers: tiny hand-checkable libraries and scenarios, and result assertions.

Like ``xarray.testing``, this is for mpeil's own tests and for downstream users who write
their own methods or readers and want numbers they can check by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .model import Building, Element, Layer
from .model.library import EPDLibrary
from .model.scenarios import ScenarioSet

__all__ = [
    "tiny_library",
    "tiny_scenarios",
    "one_layer_building",
    "assert_results_allclose",
]


def tiny_library(indicators: Sequence[str] = ("GWP-total", "PM")) -> EPDLibrary:
    """A hand-made library with round numbers (per declared unit).

    ==================  ============  ==================================================
    dataset_id          declared      values (first indicator; the second is 1/1000 of it)
    ==================  ============  ==================================================
    t:concrete          1 m³, 2400 kg/m³   A1-A3 300, C1 2, C2 1, C3 3, C4 4, D -10
    t:brick             1 kg               A1-A3 0.2 (no A4, no C: from scenarios)
    t:insulation        1 m², 0.1 m thick, 3 kg/m²   A1-A3 6, A5 0.5
    t:steel             1 kg               A1-A3 2, C3 0.01, D -1
    t:parts             1 kg               A1 1, A2 0.1, A3 0.4 (no aggregate)
    t:truck             1 t·km             A4 0.1 (a transport data set)
    t:rubble            1 kg               C3 0.002
    t:inert-landfill    1 kg               C4 0.01
    t:incineration      1 kg               C3 1.5
    t:gravel            1 kg               A1-A3 0.004 (what recycled brick substitutes)
    t:recondition       1 kg               A1-A3 0.05 (preparing a reused component)
    t:timber            1 m³, 500 kg/m³    A1-A3 100
    t:heat              1 MJ               A1-A3 0.08 (substituted heat)
    t:electricity       1 MJ               A1-A3 0.12 (substituted electricity)
    ==================  ============  ==================================================
    """
    first, *rest = indicators
    rows = [
        # dataset, unit, amount, props, {module: value}
        (
            "t:concrete",
            "m**3",
            1.0,
            {"gross_density_kg_m3": 2400.0},
            {"A1-A3": 300.0, "C1": 2.0, "C2": 1.0, "C3": 3.0, "C4": 4.0, "D": -10.0},
        ),
        ("t:brick", "kg", 1.0, {}, {"A1-A3": 0.2}),
        ("t:insulation", "m**2", 1.0, {"layer_thickness_m": 0.1, "area_weight_kg_m2": 3.0}, {"A1-A3": 6.0, "A5": 0.5}),
        ("t:steel", "kg", 1.0, {}, {"A1-A3": 2.0, "C3": 0.01, "D": -1.0}),
        ("t:parts", "kg", 1.0, {}, {"A1": 1.0, "A2": 0.1, "A3": 0.4}),
        ("t:truck", "t*km", 1.0, {}, {"A4": 0.1}),
        ("t:rubble", "kg", 1.0, {}, {"C3": 0.002}),
        ("t:inert-landfill", "kg", 1.0, {}, {"C4": 0.01}),
        ("t:incineration", "kg", 1.0, {}, {"C3": 1.5}),
        ("t:gravel", "kg", 1.0, {}, {"A1-A3": 0.004}),
        ("t:recondition", "kg", 1.0, {}, {"A1-A3": 0.05}),
        ("t:timber", "m**3", 1.0, {"gross_density_kg_m3": 500.0}, {"A1-A3": 100.0}),
        ("t:heat", "MJ", 1.0, {}, {"A1-A3": 0.08}),
        ("t:electricity", "MJ", 1.0, {}, {"A1-A3": 0.12}),
    ]
    datasets, values = [], []
    for dataset_id, unit, amount, props, modules in rows:
        datasets.append(
            {
                "dataset_id": dataset_id,
                "source": "tiny",
                "name_en": dataset_id.split(":")[1],
                "data_type": "generic",
                "standard": "EN 15804+A2",
                "declared_amount": amount,
                "declared_unit": unit,
                **props,
            }
        )
        for module, value in modules.items():
            values.append(
                {"dataset_id": dataset_id, "module": module, "scenario": "", "indicator": first, "value": value}
            )
            for code in rest:
                values.append(
                    {
                        "dataset_id": dataset_id,
                        "module": module,
                        "scenario": "",
                        "indicator": code,
                        "value": value / 1000.0,
                    }
                )
    return EPDLibrary(pd.DataFrame(datasets), pd.DataFrame(values), name="tiny", hand_made=True)


def tiny_scenarios(a4_km: float = 50.0, c2_km: float = 30.0) -> ScenarioSet:
    """Scenarios for :func:`tiny_library`: one truck scenario, four waste categories, circular parameters."""
    waste = pd.DataFrame(
        [
            ("Bricks, roof tiles", 0.05, 0.0, 0.0, 0.95, 0.75),
            ("Untreated, uncontaminated wood", 0.0, 0.25, 0.0, 0.75, 0.40),
            ("Metals", 0.05, 0.0, 0.0, 0.95, 0.85),
            ("Concrete", 0.05, 0.0, 0.0, 0.95, 0.75),
        ],
        columns=["waste_category", "landfill", "incineration", "reuse", "recycling", "sorted_on_site"],
    ).set_index("waste_category")
    routes = pd.DataFrame(
        [
            ("recycling", "*", "C3", "t:rubble", 1.0),
            ("landfill", "*", "C4", "t:inert-landfill", 1.0),
            ("incineration", "*", "C3", "t:incineration", 1.0),
        ],
        columns=["route", "waste_category", "module", "dataset_id", "share_of_route"],
    )
    transport = pd.DataFrame(
        [("truck", "A4", "truck", a4_km, "t:truck"), ("truck", "C2", "truck", c2_km, "t:truck")],
        columns=["scenario", "module", "mode", "distance_km", "dataset_id"],
    )
    lives = pd.Series({"Masonry": 60.0, "Coating (interior)": 10.0}, name="service_life_years")
    circular = pd.DataFrame(
        [
            # waste_category, A, B, Qin, Qout, Erec route, reconditioning, E*v, LHV, X heat, X elec, heat, electricity
            ("*", 0.5, 0.0, 1.0, 1.0, "recycling", "", "", "", "", "", "", ""),
            ("Metals", 0.2, 0.0, 1.0, 1.0, "recycling", "t:recondition", "self", "", "", "", "", ""),
            ("Bricks, roof tiles", 0.5, 0.0, 1.0, 1.0, "recycling", "", "t:gravel", "", "", "", "", ""),
            ("Concrete", 0.5, 0.0, 1.0, 1.0, "recycling", "", "", "", "", "", "", ""),
            (
                "Untreated, uncontaminated wood",
                0.5,
                0.0,
                1.0,
                1.0,
                "recycling",
                "",
                "",
                15.0,
                0.5,
                0.2,
                "t:heat",
                "t:electricity",
            ),
        ],
        columns=[
            "waste_category",
            "A",
            "B",
            "qs_in_qp",
            "qs_out_qp",
            "recycled_input_route",
            "reconditioning_dataset",
            "substituted_dataset",
            "lhv_mj_per_kg",
            "x_er_heat",
            "x_er_elec",
            "substituted_heat_dataset",
            "substituted_elec_dataset",
        ],
    ).set_index("waste_category")
    return ScenarioSet(
        waste, routes, transport, lives, pd.Series(dtype="float64"), folder="tiny", circular_materials=circular
    )


def one_layer_building(
    product: str,
    amount: float,
    unit: str,
    element_quantity: float = 1.0,
    element_unit: str = "m2",
    gross_floor_area_m2: float = 1.0,
    building_id: str = "b1",
    **layer_fields,
) -> Building:
    """A building with one element holding one layer line."""
    return Building(
        id=building_id,
        gross_floor_area_m2=gross_floor_area_m2,
        elements=[
            Element(
                id="e1",
                quantity=element_quantity,
                unit=element_unit,
                layers=[Layer(product=product, amount=amount, unit=unit, **layer_fields)],
            )
        ],
    )


def assert_results_allclose(actual, expected, rtol: float = 1e-12, atol: float = 0.0) -> None:
    """Compare two results' element values and gap counts (labels must match)."""
    a, b = actual.elements, expected.elements
    assert a.modules == b.modules and a.indicators == b.indicators, "labels differ"
    np.testing.assert_allclose(a.values, b.values, rtol=rtol, atol=atol, equal_nan=True)
    np.testing.assert_array_equal(a.missing, b.missing)

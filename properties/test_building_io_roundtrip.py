"""Property tests (hypothesis): any building survives JSON → CSV/XLSX → JSON unchanged.

The generated buildings use awkward text (quotes, commas, semicolons, newlines, unicode,
leading zeros, '=' at the start, numbers as text) and arbitrary finite float64 values.
Known limits of the flat format are kept out on purpose and documented in
mpeil/readers/buildings.py: empty text equals a blank cell, scenario names are MODULE=NAME text.
"""

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mpeil.model import Building, ElementType, UseType
from mpeil.model.validators import SCENARIO_MODULES
from mpeil.readers import read_buildings, write_building

# printable text without control characters (XLSX cannot hold them), never blank
text = (
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")) | st.sampled_from(",;\"'=\n"),
        min_size=1,
        max_size=12,
    )
    .map(str.strip)
    .filter(bool)
    .filter(lambda s: "\r" not in s)
)
optional_text = st.none() | text
# identifiers (ids, references, units, keys) hold no control character (mpeil.model.validators)
ident = text.filter(lambda s: "\n" not in s)
optional_ident = st.none() | ident
shares = st.floats(0, 1)
non_negative = st.floats(0, 1e9, allow_subnormal=True)
positive = st.floats(1e-9, 1e9)
scenario_word = st.text(alphabet="ABCDabcd0123456789-_ ", min_size=1, max_size=6).map(str.strip).filter(bool)

end_of_life = st.none() | st.builds(
    lambda a, b, on_site: {
        "landfill": a * b,
        "incineration": a * (1 - b),
        "recycling": 1 - a,
        "sorted_on_site": on_site,
    },
    shares,
    shares,
    st.none() | shares,
)

layer = st.fixed_dictionaries(
    {"product": ident, "amount": non_negative, "unit": ident},
    optional={
        "layer": optional_ident,
        "name": optional_text,
        "service_life_years": st.none() | positive,
        "service_life_category": optional_ident,
        "transport": optional_ident,
        "transport_distance_km": st.none() | non_negative,
        "loss_rate": st.none() | st.floats(0, 0.99),
        "waste_category": optional_ident,
        "end_of_life": end_of_life,
        "scenario": st.none() | st.dictionaries(st.sampled_from(sorted(SCENARIO_MODULES)), scenario_word, max_size=3),
        "reused_input": shares,
        "recycled_content": shares,
        "existing": st.booleans(),
        "remaining_service_life_years": st.none() | non_negative,
        "component_id": optional_ident,
        "source_component_id": optional_ident,
        "use_cycles": st.integers(1, 9),
    },
).filter(lambda line: line.get("reused_input", 0) + line.get("recycled_content", 0) <= 1)


def element(position: int):
    # distinct layer labels per line, so ratio checks stay out of the way
    return st.builds(
        lambda layers, name, kind, code, quantity, unit: {
            "id": f"0{position}",
            "name": name,
            "element_type": kind,
            "nl_sfb": code,
            "quantity": quantity,
            "unit": unit,
            "layers": [{**line, "layer": f"C{i}"} if "layer" in line else line for i, line in enumerate(layers)],
        },
        st.lists(layer, min_size=1, max_size=3),
        optional_text,
        st.sampled_from([t.value for t in ElementType]),
        optional_text,
        positive,
        st.sampled_from(["m2", "m", "piece"]),
    )


building = st.builds(
    lambda elements, name, use, area, period, year, region, kind, operational, metadata: Building.model_validate(
        {
            "id": "B",
            "name": name,
            "use_type": use,
            "gross_floor_area_m2": area,
            "reference_study_period_years": period,
            "construction_year": year,
            "region": region,
            "project_type": kind,
            "elements": elements,
            "operational": operational,
            "metadata": metadata,
        }
    ),
    st.integers(1, 3).flatmap(lambda n: st.tuples(*[element(i) for i in range(n)]).map(list)),
    optional_text,
    st.sampled_from([u.value for u in UseType]),
    positive,
    st.none() | positive,
    st.none() | st.integers(1800, 2100),
    optional_text,
    st.sampled_from(["new", "renovation"]),
    st.lists(
        st.fixed_dictionaries(
            {"product": ident, "amount_per_year": non_negative, "unit": ident, "module": st.sampled_from(["B6", "B7"])}
        ),
        max_size=2,
    ),
    st.dictionaries(text, st.text(max_size=8), max_size=2),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(building)
def test_csv_round_trip(original):
    with tempfile.TemporaryDirectory() as folder:
        path = write_building(original, Path(folder) / "b.csv")
        assert read_buildings(path) == [original]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(building)
def test_xlsx_round_trip(original):
    with tempfile.TemporaryDirectory() as folder:
        path = write_building(original, Path(folder) / "b.xlsx")
        assert read_buildings(path) == [original]

"""Building and material passports: hand-checked components, schema, and the round trip to the same score."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

import mpeil
from mpeil.cli.passport import passport_schema_text
from mpeil.model import Building, Element, Layer
from mpeil.model.passport import Passport, passport_to_building
from mpeil.outputs.passport import replacement_years
from mpeil.readers import read_building
from mpeil.testing import tiny_library, tiny_scenarios

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "examples" / "terraced_house.json"


def _wall() -> Building:
    # 10 m² of wall: 0.2 m concrete (t:concrete, 2400 kg/m³, A1-A3 300 per m³) and 1 m² insulation
    # per m² (t:insulation, 3 kg/m², 0.1 m thick) with a 25-year life, 100 m² GFA
    layers = [
        Layer(
            product="t:concrete",
            amount=0.2,
            unit="m",
            layer="C1",
            waste_category="Concrete",
            component_id="wall-concrete",
            disassembly="cast in place: not demountable",
        ),
        Layer(
            product="t:insulation",
            amount=1.0,
            unit="m2",
            layer="C2",
            service_life_years=25.0,
            end_of_life={"landfill": 0.5, "incineration": 0.0, "reuse": 0.5, "recycling": 0.0},
        ),
    ]
    return Building(
        id="b1",
        gross_floor_area_m2=100.0,
        construction_year=2030,
        elements=[Element(id="EW-1", element_type="EW", quantity=10.0, unit="m2", layers=layers)],
    )


def test_replacement_years_follow_the_ceil_rule():
    assert replacement_years(25.0, 60.0) == [25.0, 50.0]
    assert replacement_years(30.0, 60.0) == [30.0]  # replaced once; the second ends with the period
    assert replacement_years(60.0, 60.0) == []
    assert replacement_years(40.0, 60.0, first_after=10.0) == [10.0, 50.0]


def test_passport_components_by_hand():
    library, scenarios = tiny_library(), tiny_scenarios()
    passport = mpeil.passport_of(_wall(), method="gwp", library=library, scenarios=scenarios, default_transport="truck")
    concrete, insulation = passport.components
    assert concrete.component_id == "wall-concrete" and insulation.component_id == "b1/EW-1/2"
    assert concrete.volume_m3 == pytest.approx(10 * 0.2, rel=1e-12)  # 2 m³
    assert concrete.mass_kg == pytest.approx(10 * 0.2 * 2400, rel=1e-12)  # 4800 kg
    assert insulation.mass_kg == pytest.approx(10 * 3.0, rel=1e-12)
    assert insulation.volume_m3 == pytest.approx(10 * 0.1, rel=1e-12)
    assert insulation.replacement_years == [2055.0, 2080.0]
    assert concrete.replacement_years == []
    assert insulation.reuse_potential == 0.5 and concrete.reuse_potential == 0.0
    assert concrete.end_of_life == {"landfill": 0.05, "incineration": 0.0, "reuse": 0.0, "recycling": 0.95}
    assert concrete.disassembly == "cast in place: not demountable"
    gwp = next(i for i in concrete.impacts if i.indicator == "GWP-total")
    assert gwp.stages["product (A1-A3)"] == pytest.approx(2 * 300.0, rel=1e-12)
    assert gwp.stages["beyond (D)"] == pytest.approx(2 * -10.0, rel=1e-12)


def test_passport_schema_is_published_and_valid():
    assert (ROOT / "data" / "passport" / "passport-2.schema.json").read_text(encoding="utf-8") == passport_schema_text()
    passport = mpeil.passport_of(read_building(EXAMPLE))
    jsonschema.validate(passport.model_dump(mode="json"), json.loads(passport_schema_text()))
    broken = passport.model_dump(mode="json")
    del broken["components"][0]["dataset_id"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, json.loads(passport_schema_text()))


def test_passport_round_trip_gives_the_same_score(tmp_path):
    building = read_building(EXAMPLE)
    out = tmp_path / "passport.json"
    run = subprocess.run(
        [sys.executable, "-m", "mpeil", "passport", str(EXAMPLE), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    passport = Passport.model_validate_json(out.read_text(encoding="utf-8"))
    rebuilt = passport_to_building(passport)
    assert rebuilt == building
    original, again = mpeil.score(building), mpeil.score(rebuilt)
    assert again.scores["score"].iloc[0] == original.scores["score"].iloc[0]
    # the components' shares add up to the building score (D not counted by mpeil-ef31)
    shares = sum(
        v or 0.0 for c in passport.components for stage, v in c.impacts[0].stages.items() if stage != "beyond (D)"
    )
    assert shares == pytest.approx(original.scores["score"].iloc[0], rel=1e-9)

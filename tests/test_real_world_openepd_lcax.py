"""Real openEPD and LCAx files (tests/fixtures/real-world/{openepd,lcax}/SOURCE.md), one table.

Every expected value below was read by hand from the file at the JSON path named in the row's
comment; units are the file's declared units. An LCAx file's EPD values are per its declared unit;
an A1 EPD's ``gwp`` is GWP-A1 (``"standard": "en15804a1"``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mpeil.errors import ParseError
from mpeil.readers.epd_import import import_report
from mpeil.readers.lcax import read_lcax_project

HERE = Path(__file__).parent / "fixtures" / "real-world"

# file, status, data set id (after "rw:"), declared unit, kg per declared unit,
# [(indicator, module, value per declared unit)], for LCAx: (GFA m², elements, first layer (amount, unit)),
# for a refusal: the JSON path it names
CASES = [
    # openEPD example of the format's authors: impacts["CML 2012"].gwp.A1A2A3.mean = 50.0 kgCO2e,
    # .odp.A1A2A3.mean = 1.08e-06 kgCFC11e; declared_unit {"qty": 1.0, "unit": "m2"}; no kg_per_declared_unit;
    # impacts["TRACI 2.1"].gwp is another method's GWP: dropped (a loss), not mixed in
    ("openepd/openepd-example-epd-work-surfaces.json", "imported_with_losses", "EC3BFRKG", "m2", float("nan"),
     [("GWP-A1", "A1-A3", 50.0), ("ODP-A1", "A1-A3", 1.08e-06)], None, None),
    # industry EPD: no declared_unit, kg_per_declared_unit {"qty": 1.0, "unit": "kg"};
    # impacts["CML 2012"].gwp.A1A2A3.mean = 2.1
    ("openepd/openepd-example-industry-epd-metal-products.json", "imported", "WAP12345", "kg", 1.0,
     [("GWP-A1", "A1-A3", 2.1)], None, None),
    # LCAx 2.2.4: assemblies.d57fbbc1….products.ee60d276….impactData (one object, "type": "actual"):
    # declaredUnit m3, conversions [{value 7850, to kg}], impacts.gwp.a1a3 818.0, impacts.penrt.a1a3 9067.0;
    # assembly quantity 50 m2, product quantity 0.5 kg; projectInfo.grossFloorArea.value 100
    ("lcax/lcax-2.2.4-calculation-project.json", "imported", "d61fc8da-1a0d-4baa-a0fa-194c1f8a5218", "m3", 7850.0,
     [("GWP-A1", "A1-A3", 818.0), ("PENRT", "A1-A3", 9067.0)], (100.0, 1, (0.5, "kg")), None),
    # LCAx 2.6.3 (same project, later schema: impactData "type": "EPD"): the same values at the same paths
    ("lcax/lcax-2.6.3-calculation-project.json", "imported", "d61fc8da-1a0d-4baa-a0fa-194c1f8a5218", "m3", 7850.0,
     [("GWP-A1", "A1-A3", 818.0), ("ADPF-A1", "A1-A3", 8430.0)], (100.0, 1, (0.5, "kg")), None),
    ("lcax/lcax-2.6.3-python-classes-project.json", "imported", "d61fc8da-1a0d-4baa-a0fa-194c1f8a5218", "m3", 7850.0,
     [("GWP-A1", "A1-A3", 818.0), ("AP-A1", "A1-A3", 1.65)], (100.0, 1, (0.5, "kg")), None),
    # LCAx 3.8.0 written by lcax.convert_lcabyg from a real LCAbyg project (DTU Science Park):
    # assemblies[2].products[0].impactData[0] "Weber Designfloor 4650", declaredUnit kg:
    # gwp.a1a3 0.255, gwp.c3 0.00025, gwp.d -0.00357; projectInfo.grossFloorArea.value 6252.
    # assemblies[2] "Terrændæk" (480.8 m): products[0] is in m2 against a per-kg EPD (dropped),
    # products[1] "Terrændæk, stueetage" is 12.0 kg: the first layer
    ("lcax/lcax-3.8.0-from-lcabyg-dtu-science-park-kt-02.json", "imported_with_losses",
     "e5572e13-38fd-44c4-929c-eed9117a8454", "kg", 1.0,
     [("GWP-A1", "A1-A3", 0.255), ("GWP-A1", "C3", 0.00025), ("GWP-A1", "D", -0.00357)], (6252.0, 17, (12.0, "kg")),
     None),
    # LCAx 3.8.0 from LCAbyg's own test project: assemblies[2].products[0] 0.5 kg per m of
    # "Test element"; impactData[0] declaredUnit m3, conversions 7850 kg, gwp.a1a3 818.0;
    # assemblies[0] and [1] are "Drift" (operational energy, B6 only): dropped
    ("lcax/lcax-3.8.0-from-lcabyg-lcabyg_project.json", "imported_with_losses",
     "ee60d276-eb44-41a9-a36d-6ded36315c47", "m3", 7850.0,
     [("GWP-A1", "A1-A3", 818.0), ("POCP-A1", "A1-A3", 0.1334)], (100.0, 1, (0.5, "kg")), None),
    # LCAx 3.8.0 from LCAbyg projects whose products carry no impact data (the converter was given
    # no stages) and whose only EPDs are B6 energy: refused, naming the JSON path "assemblies"
    ("lcax/lcax-3.8.0-from-lcabyg-ef-02_engdraget.json", "refused", None, None, None, [], None, "assemblies"),
    ("lcax/lcax-3.8.0-from-lcabyg-e9e6e798.json", "refused", None, None, None, [], None, "assemblies"),
    ("lcax/lcax-3.8.0-from-lcabyg-2f95c41e.json", "refused", None, None, None, [], None, "assemblies"),
    # LCAx 2.6.4 as the LCAx compare app ships it: 11 assemblies ("Strip footings" … "Ventilation
    # unit"), each with "products": [] and only stored "results": nothing to score from, refused
    ("lcax/lcax-2.6.4-compare-app-project-results1.json", "refused", None, None, None, [], None, "assemblies"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "status", "dataset", "unit", "kg", "values", "building", "refused_at"),
    CASES,
    ids=[c[0].split("/")[-1] for c in CASES],
)
def test_real_file_imports_with_hand_checked_values(name, status, dataset, unit, kg, values, building, refused_at):
    path = HERE / name
    [outcome] = import_report([path], name="rw", screen=False).outcomes
    assert outcome.status == status, outcome.line()
    if status == "refused":
        assert isinstance(outcome.error, ParseError)
        assert outcome.error.location()["file"] == str(path)
        assert outcome.error.location()["field"] == refused_at
        assert "no assembly with a product mpeil can score" in outcome.error.message
        return
    rows = {str(row["dataset_id"]): (row, found) for row, found in outcome.datasets}
    row, found = rows[f"rw:{dataset}"]
    assert row["declared_unit"] == unit
    assert row["declared_amount"] == 1.0
    per_kg = row["conversion_factor_to_kg"]  # declared units per kg
    assert (per_kg != per_kg and kg != kg) or per_kg == pytest.approx(1.0 / kg, rel=1e-12)
    by_key = {(code, module): value for _, module, scenario, code, value in found if scenario == ""}
    for code, module, value in values:
        assert by_key[(code, module)] == pytest.approx(value, rel=1e-12), (code, module)
    if building is not None:
        area, n_elements, (amount, layer_unit) = building
        read = read_lcax_project(json.loads(path.read_text(encoding="utf-8")), file=str(path), name="rw")
        assert read.building.gross_floor_area_m2 == area
        assert len(read.building.elements) == n_elements
        first = read.building.elements[0].layers[0]
        assert (first.amount, first.unit, first.product) == (amount, layer_unit, f"rw:{dataset}")


def test_a_real_lcax_project_scores_by_content_with_a_hand_checked_score(tmp_path):
    """``Scorer.score(path)`` reads an LCAx project by content (any file name), its EPDs carried inline.

    lcax-2.2.4: 50 m² element × 0.5 kg/m² = 25 kg; GWP-A1 818 kg CO2e per m³ / 7850 kg per m³
    = 0.10420 kg CO2e/kg; 25 × 818 / 7850 = 2.6051 kg CO2e over GFA 100 m² and the project's
    referenceStudyPeriod 50 years: 2.6051 / 5000 = 5.2102e-4 kg CO2e/(m²·yr) (method br18: GWP).
    """
    from mpeil.api import Scorer

    path = tmp_path / "project.json"  # no .lcax suffix: recognised by content
    path.write_bytes((HERE / "lcax" / "lcax-2.2.4-calculation-project.json").read_bytes())
    result = Scorer("br18").score(path)
    assert result.scores["score"].iloc[0] == pytest.approx(25 * 818.0 / 7850.0 / (100 * 50), rel=1e-9)


def test_lcax_errors_are_typed_and_name_file_and_json_path(tmp_path):
    doc = json.loads((HERE / "lcax" / "lcax-3.8.0-from-lcabyg-lcabyg_project.json").read_text(encoding="utf-8"))
    doc["assemblies"][2]["products"][0]["impactData"][0]["impacts"]["gwp"]["a1a3"] = "818"
    with pytest.raises(ParseError) as info:
        read_lcax_project(doc, file="x.json")
    assert info.value.location()["field"] == "assemblies[2].products[0].impactData[0].impacts.gwp.a1a3"
    assert info.value.location()["file"] == "x.json"
    old = {"id": "p", "format_version": "0.1.4", "emission_parts": {}}
    with pytest.raises(ParseError, match=r"0\.1\.4 is not read"):
        read_lcax_project(old, file="old.json")
    pointer = tmp_path / "pointer.json"
    pointer.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:b699\nsize 4182\n", encoding="utf-8")
    [outcome] = import_report([pointer], name="rw", screen=False).outcomes
    assert outcome.status == "refused" and "Git LFS pointer" in str(outcome.error)


def test_without_floor_area_the_error_says_how_to_give_it():
    doc = json.loads((HERE / "lcax" / "lcax-2.2.4-calculation-project.json").read_text(encoding="utf-8"))
    doc["projectInfo"]["grossFloorArea"] = None
    with pytest.raises(ParseError, match=r"metaData\.gross_floor_area_m2") as info:
        read_lcax_project(doc, file="x.json")
    assert info.value.location()["field"] == "projectInfo.grossFloorArea"


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("assemblies", 2, "products", 0, "referenceServiceLife"), "x", "assemblies[2].products[0].referenceServiceLife"),
        (("assemblies", 2, "products", 0, "impactData", 0, "impacts"), [1], "assemblies[2].products[0].impactData[0].impacts"),
        (("assemblies", 2, "products", 0, "impactData", 0, "impacts", "gwp"), 3, "assemblies[2].products[0].impactData[0].impacts.gwp"),
        (("assemblies", 2, "products", 0, "quantity"), None, "assemblies[2].products[0].quantity"),
        (("assemblies", 2, "quantity"), -1.5, "assemblies[2].quantity"),
        (("assemblies", 2, "products"), "x", "assemblies[2].products"),
        (("assemblies", 2, "unit"), "kg", "assemblies[2].unit"),
        (("metaData",), {"gross_floor_area_m2": "x"}, "metaData.gross_floor_area_m2"),
    ],
)  # fmt: skip
def test_a_wrong_value_anywhere_is_a_parse_error_at_its_json_path(path, value, field):
    """Values of the wrong type or sign, put into the real LCAx 3.8 project: never an untyped error."""
    doc = json.loads((HERE / "lcax" / "lcax-3.8.0-from-lcabyg-lcabyg_project.json").read_text(encoding="utf-8"))
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    for inline in (False, True):
        with pytest.raises(ParseError) as info:
            read_lcax_project(doc, file="p.json", inline=inline)
        assert info.value.location()["field"] == field

"""IFC mapping chain, documented defaults, coverage and floor area (issue 19).

One synthetic model (ifcopenshell.api, every quantity known by hand) is written and read once
per module. Densities are the shipped library's (ÖKOBAUDAT 2024-I generic data sets):
Stahlprofil (obd2024:755a481d…) 7850 kg/m³. Rates are the data files' own:
data/ifc/framing.csv metal stud share 0.0031, data/ifc/reinforcement.csv column 150 kg/m³.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import ifcopenshell
import ifcopenshell.api.aggregate
import ifcopenshell.api.material
import ifcopenshell.api.project
import ifcopenshell.api.pset
import ifcopenshell.api.root
import ifcopenshell.api.spatial
import ifcopenshell.api.unit
import pandas as pd
import pytest
from typer.testing import CliRunner

import mpeil
from mpeil.cli import app
from mpeil.elements import load_template
from mpeil.errors import InputError, UnmappedMaterialWarning
from mpeil.model.library import load_library
from mpeil.paths import data_dir
from mpeil.readers.ifc import MissingFloorAreaError, read_ifc, suggest
from mpeil.readers.ifc.chain import MappingChain, translate
from mpeil.readers.ifc.mapping import load_mapping

STEEL = "obd2024:755a481d-a74b-4ba0-b417-cc26767b2d50"
REBAR = "obd2024:f6861618-5a92-4c3a-94ba-9f7329b29662"
GRAVEL = "obd2024:a7bad3b6-2123-483b-99b5-2ec481254be7"
IFC_DATA = data_dir() / "ifc"


# ============================================================================ the model
def _project():
    model = ifcopenshell.api.project.create_file(version="IFC4")
    project = ifcopenshell.api.root.create_entity(model, ifc_class="IfcProject", name="defaults")
    units = [ifcopenshell.api.unit.add_si_unit(model, unit_type=t) for t in ("LENGTHUNIT", "AREAUNIT", "VOLUMEUNIT")]
    ifcopenshell.api.unit.assign_unit(model, units=units)
    site = ifcopenshell.api.root.create_entity(model, ifc_class="IfcSite", name="site")
    building = ifcopenshell.api.root.create_entity(model, ifc_class="IfcBuilding", name="Defaults house")
    storey = ifcopenshell.api.root.create_entity(model, ifc_class="IfcBuildingStorey", name="ground")
    ifcopenshell.api.aggregate.assign_object(model, products=[site], relating_object=project)
    ifcopenshell.api.aggregate.assign_object(model, products=[building], relating_object=site)
    ifcopenshell.api.aggregate.assign_object(model, products=[storey], relating_object=building)
    return model, storey


def _element(model, storey, cls: str, name: str, predefined_type: str | None = None, **attributes):
    element = ifcopenshell.api.root.create_entity(model, ifc_class=cls, name=name, predefined_type=predefined_type)
    for key, value in attributes.items():
        setattr(element, key, value)
    ifcopenshell.api.spatial.assign_container(model, products=[element], relating_structure=storey)
    return element


def _qto(model, product, name: str, values: dict) -> None:
    qto = ifcopenshell.api.pset.add_qto(model, product=product, name=name)
    ifcopenshell.api.pset.edit_qto(model, qto=qto, properties=values)


def _layers(model, element, layers: list[tuple[str, float]]) -> None:
    layer_set = ifcopenshell.api.material.add_material_set(model, name=element.Name, set_type="IfcMaterialLayerSet")
    for material_name, thickness in layers:
        material = ifcopenshell.api.material.add_material(model, name=material_name)
        layer = ifcopenshell.api.material.add_layer(model, layer_set=layer_set, material=material)
        ifcopenshell.api.material.edit_layer(model, layer=layer, attributes={"LayerThickness": thickness})
    ifcopenshell.api.material.assign_material(model, products=[element], type="IfcMaterialLayerSet", material=layer_set)


def _wall(model, storey, name: str, layers, area: float, external: bool):
    wall = _element(model, storey, "IfcWall", name)
    _layers(model, wall, layers)
    _qto(model, wall, "Qto_WallBaseQuantities", {"NetSideArea": area})
    pset = ifcopenshell.api.pset.add_pset(model, product=wall, name="Pset_WallCommon")
    ifcopenshell.api.pset.edit_pset(model, pset=pset, properties={"IsExternal": external})
    return wall


def _write(path: Path, gfa: bool) -> Path:
    """EW1 external 'Solid' 0.30 m × 12 m²; SL1 FLOOR 'Generic' 0.20 × 20 m²; WI1 window 1.0 × 1.5 m
    without material; ST1 internal 'Metal - Stud Layer' 0.10 × 10 m²; CO1 'Beton' column 0.5 m³, 3 m;
    BL1 external 'Ladrillo' (Spanish: brick) 0.10 × 5 m²; GR1 slab 'Site - Grass' 0.10 × 5 m²."""
    model, storey = _project()
    _wall(model, storey, "EW1", [("Solid", 0.30)], 12.0, external=True)
    slab = _element(model, storey, "IfcSlab", "SL1", predefined_type="FLOOR")
    _layers(model, slab, [("Generic", 0.20)])
    _qto(model, slab, "Qto_SlabBaseQuantities", {"NetArea": 20.0})
    _element(model, storey, "IfcWindow", "WI1", OverallWidth=1.0, OverallHeight=1.5)
    _wall(model, storey, "ST1", [("Metal - Stud Layer", 0.10)], 10.0, external=False)
    column = _element(model, storey, "IfcColumn", "CO1")
    concrete = ifcopenshell.api.material.add_material(model, name="Beton")
    ifcopenshell.api.material.assign_material(model, products=[column], type="IfcMaterial", material=concrete)
    _qto(model, column, "Qto_ColumnBaseQuantities", {"NetVolume": 0.5, "Length": 3.0})
    _wall(model, storey, "BL1", [("Ladrillo", 0.10)], 5.0, external=True)
    grass = _element(model, storey, "IfcSlab", "GR1", predefined_type="FLOOR")
    _layers(model, grass, [("Site - Grass", 0.10)])
    _qto(model, grass, "Qto_SlabBaseQuantities", {"NetArea": 5.0})
    if gfa:
        _qto(model, storey, "Qto_BuildingStoreyBaseQuantities", {"GrossFloorArea": 100.0})
    model.write(str(path))
    return path


@pytest.fixture(scope="module")
def library():
    return load_library()


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> Path:
    return _write(tmp_path_factory.mktemp("ifc") / "defaults.ifc", gfa=True)


@pytest.fixture(scope="module")
def no_gfa_path(tmp_path_factory) -> Path:
    return _write(tmp_path_factory.mktemp("ifc") / "no-gfa.ifc", gfa=False)


@pytest.fixture(scope="module")
def reading(model_path, library):
    return read_ifc(model_path, library=library, geometry=False)


def _by_name(reading):
    return {e.id: e for e in reading.building.elements}, reading.lines.set_index("element_name")


def _element_of(reading, name: str):
    gid = reading.lines.loc[reading.lines["element_name"] == name, "global_id"].iloc[0]
    return next(e for e in reading.building.elements if e.id == gid)


# ============================================================================ data files
def _rows(name: str) -> list[dict[str, str]]:
    text = (IFC_DATA / name).read_text(encoding="utf-8").splitlines()
    return list(csv.DictReader(line for line in text if line.strip() and not line.startswith("#")))


def test_default_mapping_has_no_duplicate_or_empty_rows(library):
    rows = _rows("default_mapping.csv")
    patterns = [r["pattern"].strip() for r in rows]
    assert all(patterns), "an empty pattern would match every material"
    assert len(patterns) == len(set(patterns)), "duplicate patterns"
    assert len({tuple(r.values()) for r in rows}) == len(rows)
    for row in rows:
        re.compile(row["pattern"])
        library.resolve(row["target"])  # every target is a data set of the shipped library


def test_default_files_name_what_exists(library):
    categories = {str(c) for c in library.datasets["category"].dropna()}
    for row in _rows("class_defaults.csv"):
        if row["kind"] == "template":
            assert load_template(row["target"]).unit in ("m2", "piece"), row["target"]
        else:
            library.resolve(row["target"])
    for row in _rows("framing.csv"):
        library.resolve(row["stud_dataset"])
        assert 0 < float(row["stud_share"]) < 0.2
    for row in _rows("reinforcement.csv"):
        library.resolve(row["steel_dataset"])
        assert all(library.resolve(d) >= 0 for d in row["concrete_datasets"].split("|"))
    for row in _rows("class_categories.csv"):  # every allowed prefix names at least one library category
        for prefix in row["allowed"].split("|"):
            assert any(c.lower().startswith(prefix.strip().lower()) for c in categories), prefix
    terms = [r["term"].lower() for r in _rows("terms.csv")]
    assert len(terms) == len(set(terms))


# ============================================================================ the chain
def test_search_keeps_to_building_materials_that_fit_the_class(library):
    chain = MappingChain(load_mapping(), library, 90.0)
    for name in ("Concrete", "Stahlbeton", "Site - Grass", "Solid"):
        hits = chain.candidates(name, "IfcBuildingElement", 20)
        text = (hits["name"] + " " + hits["category"]).str.lower()
        assert not text.str.contains("pipe|pump|building service|end of life|glazing|laminated glass").any(), name
        assert not hits["category"].str.startswith(("Others", "Components for windows")).any(), name
    # a slab of 'Site - Grass' is no glass: nothing reaches the acceptance threshold
    assert chain.match("Site - Grass", "IfcBuildingElement") is None


def test_other_languages_through_the_term_table():
    # data/ifc/terms.csv: hormigón → beton (the glossary's concrete), armado dropped, ladrillo → brick
    terms = {"hormigon": "beton", "armado": "", "ladrillo": "brick"}
    assert translate("Hormigón armado", terms) == "beton"
    assert translate("Muro de ladrillo", terms) == "muro de brick"


def test_mapped_by_user_default_search_and_unmapped(reading):
    rows = reading.lines.set_index("element_name")
    assert rows.loc["CO1", "mapped_by"].tolist() == ["default", "template default"]  # concrete, its reinforcement
    brick = rows.loc["BL1"]
    assert brick["mapped_by"] == "search" and brick["confidence"] >= 90.0
    assert brick["mapping"].startswith("search: ") and "brick" in brick["mapping"].lower()
    assert pd.isna(rows.loc["GR1", "mapped_by"])
    assert reading.unmapped["material"].tolist() == ["Site - Grass"]


# ============================================================================ defaults
def test_placeholder_elements_take_their_class_template(reading):
    wall = _element_of(reading, "EW1")  # external wall, 'Solid': data/ifc/class_defaults.csv EW-cavity-brick per m²
    assert (wall.unit, wall.quantity, wall.element_type) == ("m2", 12.0, "EW")
    assert wall.name == "EW1 (default: cavity wall (brick / mineral wool / masonry inner leaf))"
    slab = _element_of(reading, "SL1")  # 'Generic' FLOOR slab: SF-insitu-concrete, slab thickness from the model
    concrete = next(line for line in slab.layers if line.product == "obd2024:a71e60a5-b64b-4715-ae8a-c8c8819149d2")
    assert concrete.amount == pytest.approx(0.20)  # the template's default is 0.15
    window = _element_of(reading, "WI1")  # no material: EWi-pvc-piece with OverallWidth × OverallHeight
    assert (window.unit, window.quantity) == ("piece", 1.0)
    frame = next(line for line in window.layers if line.name == "PVC frame profiles")
    assert frame.amount == pytest.approx(2 * (1.0 + 1.5))  # the template's 2 * (width + height)
    used = reading.lines.set_index("element_name")["default_used"]
    assert used["EW1"] == "template EW-cavity-brick per area (data/ifc/class_defaults.csv row 9)"
    assert used["WI1"] == "template EWi-pvc-piece per piece (data/ifc/class_defaults.csv row 4)"


def test_framing_zone_takes_its_stud_share(reading):
    studs = _element_of(reading, "ST1")
    (line,) = studs.layers
    assert line.product == STEEL and line.amount == pytest.approx(0.10 * 0.0031)  # m of steel per m² of wall
    row = reading.lines.set_index("element_name").loc["ST1"]
    assert row["mass_kg"] == pytest.approx(10.0 * 0.10 * 0.0031 * 7850.0)  # 24.335 kg, not 7850 kg of solid steel
    assert row["default_used"].startswith("framing metal_stud: stud share 0.0031")


def test_reinforced_concrete_gets_its_reinforcement(reading):
    column = _element_of(reading, "CO1")  # 0.5 m³ over 3 m; 150 kg/m³ (reinforcement.csv IfcColumn)
    rebar = next(line for line in column.layers if line.product == REBAR)
    assert (rebar.unit, rebar.amount) == ("kg", pytest.approx(0.5 / 3.0 * 150.0))  # 25 kg per m of column
    row = reading.lines[reading.lines["part"] == "reinforcement"].iloc[0]
    assert row["mass_kg"] == pytest.approx(75.0) and row["volume_m3"] == 0.0


def test_coverage_split_by_mapped_by(reading):
    # volumes: EW1 3.6 + SL1 4.0 + ST1 1.0 (template default), CO1 0.5 (default), BL1 0.5 (search),
    # GR1 0.5 (unmapped); the window states no volume. Total 10.1 m³.
    share = reading.mapped_share
    assert share["volume"] == pytest.approx(9.6 / 10.1, rel=1e-12)
    assert share["volume_template_default"] == pytest.approx(8.6 / 10.1, rel=1e-12)
    assert share["volume_default"] == pytest.approx(0.5 / 10.1, rel=1e-12)
    assert share["volume_search"] == pytest.approx(0.5 / 10.1, rel=1e-12)
    assert share["volume_unmapped"] == pytest.approx(0.5 / 10.1, rel=1e-12)
    assert share["volume_user"] == 0.0 and share["volume_excluded"] == 0.0
    metadata = reading.building.metadata
    assert float(metadata["mapped_volume_share"]) == pytest.approx(9.6 / 10.1, abs=5e-5)
    # every default the building rests on is named with it (each line also names its own)
    assert metadata["ifc_defaults_used"].split("; ") == [
        "framing metal_stud",
        "reinforcement 150 kg/m3",
        "template EW-cavity-brick",
        "template EWi-pvc-piece",
        "template SF-insitu-concrete",
    ]


def test_defaults_can_be_switched_off(model_path, library):
    bare = read_ifc(model_path, library=library, geometry=False, defaults=False)
    assert {"EW1", "SL1", "WI1", "ST1"} & set(bare.unmapped["material"]) == set()
    assert set(bare.unmapped["material"]) == {"(no material)", "Generic", "Metal - Stud Layer", "Site - Grass", "Solid"}
    assert not (bare.lines["part"] == "reinforcement").any()


# ============================================================================ grade, GFA, interfaces
def test_more_than_ten_percent_unmapped_is_never_a_or_b(reading, library):
    scorer = mpeil.Scorer("mpeil-ef31", library)
    result = scorer.score(reading.building)
    graded = result.scores.iloc[0]
    assert "IFC model: 95.0 % of the material volume mapped" in result.to_html()  # the report says it too
    assert graded["mapped_volume_share"] == pytest.approx(0.9505, abs=5e-5)
    assert graded["mapped_by"]["volume_search"] == pytest.approx(0.0495, abs=5e-5)
    metadata = {**reading.building.metadata, "mapped_volume_share": "0.85"}
    poor = scorer.score(reading.building.model_copy(update={"metadata": metadata})).scores.iloc[0]
    # data/quality_grades.csv: A and B allow at most 10 % of the volume unmapped
    assert poor["quality_grade"] not in ("A", "B")
    assert poor["weight_missing"] == graded["weight_missing"]  # the same score otherwise


def test_a_model_without_floor_area_says_how_to_give_it(no_gfa_path, library):
    with pytest.raises(MissingFloorAreaError, match=r"gfa_m2=M2") as caught, pytest.warns(UnmappedMaterialWarning):
        mpeil.score(no_gfa_path, library=library)
    assert isinstance(caught.value, InputError)
    with pytest.warns(UnmappedMaterialWarning, match="Site - Grass"):
        given = mpeil.score(no_gfa_path, library=library, gfa_m2=80.0)
    assert given.scores["gross_floor_area_m2"].iloc[0] == 80.0
    run = CliRunner().invoke(app, ["score", str(no_gfa_path)])
    assert run.exit_code == 1 and f"mpeil score {no_gfa_path} --gfa M2" in run.output.replace("\n", "")


def test_score_cli_takes_gfa_and_mapping(tmp_path, no_gfa_path):
    mapping = tmp_path / "mine.csv"
    mapping.write_text(f"pattern,kind,target,basis\n^Site - Grass$,dataset,{GRAVEL},thickness\n", encoding="utf-8")
    args = ["score", str(no_gfa_path), "--gfa", "80", "--mapping", str(mapping), "-f", "json"]
    run = CliRunner().invoke(app, args)
    assert run.exit_code == 0, run.output
    (row,) = json.loads(run.output[run.output.index("[") :])
    assert row["gross_floor_area_m2"] == 80.0
    assert row["mapped_volume_share"] == pytest.approx(1.0) and row["mapped_by"]["volume_user"] > 0


def test_suggestions_become_the_mapping_after_review(tmp_path, reading, model_path, library):
    table = suggest(reading, library).set_index("material")
    grass = table.loc["Site - Grass"]
    assert grass["target"] == "" and grass["ifc_classes"] == "IfcSlab" and grass["volume_m3"] == pytest.approx(0.5)
    assert "fits IfcBuildingElement" in grass["candidate_1_reason"]
    assert table.loc["Beton", "target"] == "obd2024:a71e60a5-b64b-4715-ae8a-c8c8819149d2"
    table.loc["Site - Grass", "target"] = GRAVEL  # the reviewer's choice
    path = tmp_path / "reviewed.csv"
    table.reset_index().to_csv(path, index=False)
    again = read_ifc(model_path, mapping=path, library=library, geometry=False)
    row = again.lines.set_index("element_name").loc["GR1"]
    assert (row["mapped_by"], row["dataset_id"]) == ("user", GRAVEL)
    assert again.mapped_share["volume"] == pytest.approx(1.0)


def test_a_solid_aluminium_roof_is_kept_out_unless_confirmed(tmp_path, library):
    """The issue's case: a roof modelled as 262 m³ of solid aluminium over 100 m² (2.62 m thick).
    Aluminium (no default rule) is found by the search; 2.62 m × its density is far above
    1500 kg/m² (data/ifc/thresholds.csv), so the roof is flagged and not scored."""
    model, storey = _project()
    roof = _element(model, storey, "IfcRoof", "R1", predefined_type="FLAT_ROOF")
    aluminium = ifcopenshell.api.material.add_material(model, name="Aluminium")
    ifcopenshell.api.material.assign_material(model, products=[roof], type="IfcMaterial", material=aluminium)
    _qto(model, roof, "Qto_RoofBaseQuantities", {"NetArea": 100.0, "NetVolume": 262.0})
    _wall(model, storey, "W1", [("Beton", 0.20)], 50.0, external=True)
    _qto(model, storey, "Qto_BuildingStoreyBaseQuantities", {"GrossFloorArea": 100.0})
    path = tmp_path / "roof.ifc"
    model.write(str(path))
    reading = read_ifc(path, library=library, geometry=False)
    row = reading.lines.set_index("element_name").loc["R1"]
    assert row["mapped_by"] == "excluded (implausible)" and "implausible_mass" in row["flags"]
    assert [e.name for e in reading.building.elements] == ["W1"]
    # 262 m³ excluded of 262 + 10 m³ (the wall: 50 m² × 0.20 m)
    assert reading.mapped_share["volume_excluded"] == pytest.approx(262.0 / 272.0, rel=1e-12)
    confirmed = read_ifc(path, library=library, geometry=False, confirm={roof.GlobalId})
    assert sorted(e.name for e in confirmed.building.elements) == ["R1", "W1"]
    assert confirmed.lines.set_index("element_name").loc["R1", "mapped_by"] == "search"

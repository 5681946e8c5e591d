"""User EPD libraries: ``mpeil epd import`` from ILCD+EPD JSON/XML and openEPD, layered over the shipped one."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ilcd_xml_writer import write_ilcd_archive

from mpeil.errors import ParseError, UnknownEPDError
from mpeil.model.library import EPDLibrary, load_library
from mpeil.readers.epd_import import import_epd, write_library
from mpeil.testing import one_layer_building

ROOT = Path(__file__).resolve().parents[1]
ILCD_JSON = ROOT / "data" / "epd" / "ilcd" / "json"


def _tidy(library: EPDLibrary) -> pd.DataFrame:
    values = library.values.copy()
    values["dataset_id"] = values["dataset_id"].str.split(":", n=1).str[1]
    return values.sort_values(["dataset_id", "module", "scenario", "indicator"]).reset_index(drop=True)


def test_ilcd_json_import_equals_the_shipped_library():
    imported, files = import_epd([ILCD_JSON], name="mylib")
    shipped = load_library(["ilcd"])
    assert len(files) == 16 and len(imported) == 16
    pd.testing.assert_frame_equal(_tidy(imported), _tidy(shipped), check_dtype=False)
    assert set(imported.datasets["source"]) == {"mylib"}
    left = imported.datasets.set_index("source_uuid")["declared_unit"].sort_index()
    right = shipped.datasets.set_index("source_uuid")["declared_unit"].sort_index()
    assert left.tolist() == right.tolist()


def test_ilcd_xml_archive_equals_the_json_import(tmp_path):
    tree = tmp_path / "ILCD"
    for path in sorted(ILCD_JSON.glob("*.json")):
        write_ilcd_archive(path, tree)
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(tree.rglob("*.xml")):
            zf.write(file, file.relative_to(tmp_path).as_posix())
    from_xml, _ = import_epd([archive], name="mylib")
    from_json, _ = import_epd([ILCD_JSON], name="mylib")
    pd.testing.assert_frame_equal(_tidy(from_xml), _tidy(from_json), check_dtype=False)
    columns = [
        "source_uuid",
        "declared_amount",
        "declared_unit",
        "gross_density_kg_m3",
        "area_weight_kg_m2",
        "mass_per_piece_kg",
        "conversion_factor_to_kg",
        "category",
        "name_en",
        "standard",
    ]
    left = from_xml.datasets[columns].sort_values("source_uuid").reset_index(drop=True)
    right = from_json.datasets[columns].sort_values("source_uuid").reset_index(drop=True)
    pd.testing.assert_frame_equal(left, right)


HAND_PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<processDataSet xmlns="http://lca.jrc.it/ILCD/Process" xmlns:common="http://lca.jrc.it/ILCD/Common"
    xmlns:epd="http://www.iai.kit.edu/EPD/2013" version="1.1">
 <processInformation>
  <dataSetInformation><common:UUID>11111111-2222-3333-4444-555555555555</common:UUID>
   <name><baseName xml:lang="en">Test concrete C25/30</baseName></name></dataSetInformation>
  <quantitativeReference><referenceToReferenceFlow>0</referenceToReferenceFlow></quantitativeReference>
 </processInformation>
 <exchanges>
  <exchange dataSetInternalID="0">
   <referenceToFlowDataSet refObjectId="f1" uri="../flows/f1.xml"/>
   <meanAmount>1.0</meanAmount><resultingAmount>1.0</resultingAmount>
  </exchange>
 </exchanges>
 <LCIAResults>
  <LCIAResult>
   <referenceToLCIAMethodDataSet refObjectId="x">
     <common:shortDescription xml:lang="en">Climate change - total (GWP-total)</common:shortDescription>
   </referenceToLCIAMethodDataSet>
   <common:other>
    <epd:amount epd:module="A1-A3">250</epd:amount>
    <epd:amount epd:module="C3" epd:scenario="S1">5.0</epd:amount>
    <epd:referenceToUnitGroupDataSet refObjectId="u">
      <common:shortDescription xml:lang="en">kg CO2 eq.</common:shortDescription>
    </epd:referenceToUnitGroupDataSet>
   </common:other>
  </LCIAResult>
 </LCIAResults>
</processDataSet>"""

HAND_FLOW = """<?xml version="1.0"?>
<flowDataSet xmlns="http://lca.jrc.it/ILCD/Flow" xmlns:common="http://lca.jrc.it/ILCD/Common">
 <flowInformation><dataSetInformation><common:UUID>f1</common:UUID></dataSetInformation>
  <quantitativeReference><referenceToReferenceFlowProperty>0</referenceToReferenceFlowProperty></quantitativeReference>
 </flowInformation>
 <flowProperties>
  <flowProperty dataSetInternalID="0"><referenceToFlowPropertyDataSet refObjectId="vol"
      uri="../flowproperties/vol.xml"/><meanValue>1.0</meanValue></flowProperty>
  <flowProperty dataSetInternalID="1"><referenceToFlowPropertyDataSet
      refObjectId="93a60a56-a3c8-11da-a746-0800200b9a66" uri="../flowproperties/mass.xml"/>
      <meanValue>2400</meanValue></flowProperty>
 </flowProperties>
</flowDataSet>"""

HAND_PROPERTY = """<?xml version="1.0"?><flowPropertyDataSet xmlns="http://lca.jrc.it/ILCD/FlowProperty">
<flowPropertiesInformation><quantitativeReference><referenceToReferenceUnitGroup refObjectId="ug"
 uri="../unitgroups/ug.xml"/></quantitativeReference></flowPropertiesInformation></flowPropertyDataSet>"""

HAND_UNITS = """<?xml version="1.0"?><unitGroupDataSet xmlns="http://lca.jrc.it/ILCD/UnitGroup">
<unitGroupInformation><quantitativeReference><referenceToReferenceUnit>1</referenceToReferenceUnit>
</quantitativeReference></unitGroupInformation><units>
<unit dataSetInternalID="0"><name>dm3</name></unit><unit dataSetInternalID="1"><name>m3</name></unit>
</units></unitGroupDataSet>"""


def _hand_tree(root: Path, with_flow: bool = True) -> Path:
    for folder, name, text in (
        ("processes", "p.xml", HAND_PROCESS),
        ("flows", "f1.xml", HAND_FLOW),
        ("flowproperties", "vol.xml", HAND_PROPERTY),
        ("unitgroups", "ug.xml", HAND_UNITS),
    ):
        if folder == "flows" and not with_flow:
            continue
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / name).write_text(text, encoding="utf-8")
    return root


def test_hand_written_ilcd_xml(tmp_path):
    library, _ = import_epd([_hand_tree(tmp_path / "ILCD")], name="acme")
    index = library.resolve("acme:11111111-2222-3333-4444-555555555555")
    assert library.datasets.at[index, "declared_unit"] == "m3"
    assert library.datasets.at[index, "gross_density_kg_m3"] == 2400.0
    tensor = library.tensor(["GWP-total"], ("A1-A3", "C3"))
    assert tensor[index, 0, 0] == 250.0
    assert tensor[index, 1, 0] == 5.0
    assert library.conversion_factor(index, "kg") == pytest.approx(1 / 2400, rel=1e-15)
    assert library.scenarios(index, "C3") == ["S1"]


def test_xml_without_its_flow_names_what_is_missing(tmp_path):
    with pytest.raises(ParseError, match=r"reference flow 'f1'.*neither in the archive"):
        import_epd([_hand_tree(tmp_path / "ILCD", with_flow=False)], name="acme")


def test_malformed_xml_is_a_parse_error_naming_the_file(tmp_path):
    tree = _hand_tree(tmp_path / "ILCD")
    (tree / "flows" / "f1.xml").write_text("<flowDataSet><unclosed>", encoding="utf-8")
    with pytest.raises(ParseError, match="not well-formed XML") as info:
        import_epd([tree], name="acme")
    # the process that is refused is the file; the broken member it refers to is named in the message
    assert info.value.location()["file"].endswith("p.xml") and "flows/f1.xml" in info.value.message


def _openepd(**changes) -> dict:
    doc = {
        "doctype": "openEPD",
        "id": "ec3x7k2p",
        "name": "Ready-mix concrete C30/37, plant Gent",
        "declared_unit": {"qty": 1, "unit": "m3"},
        "kg_per_declared_unit": {"qty": 2350, "unit": "kg"},
        "date_of_issue": "2024-03-01",
        "valid_until": "2029-03-01",
        "manufacturer": {"name": "Betonfabriek NV"},
        "impacts": {
            "EF 3.1": {
                "gwp": {"A1A2A3": {"mean": 280.0, "unit": "kgCO2e"}, "C3": {"mean": 3.0, "unit": "kgCO2e"}},
                "ep-fresh": {"A1A2A3": {"mean": 0.01, "unit": "kgPO4e"}},
                "ADP-mineral": {"A1A2A3": "0.0004 kgSbe"},
            }
        },
    }
    doc.update(changes)
    return doc


def test_openepd_import_with_hand_checked_values(tmp_path):
    path = tmp_path / "concrete.json"
    path.write_text(json.dumps(_openepd()), encoding="utf-8")
    library, _ = import_epd([path], name="acme")
    index = library.resolve("acme:ec3x7k2p")
    tensor = library.tensor(["GWP-total", "EP-freshwater", "ADPE"], ("A1-A3", "C3"))
    assert tensor[index, 0].tolist() == [280.0, 0.01 * 0.32614, 0.0004]
    assert tensor[index, 1, 0] == 3.0
    assert np.isnan(tensor[index, 1, 1])  # C3 EP-freshwater not declared: missing, never 0
    assert library.mass_per_unit(index) == pytest.approx(2350.0, rel=1e-15)
    assert library.datasets.at[index, "owner"] == "Betonfabriek NV"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"impacts": {"EF 3.1": {"gwp": {"A1A2A3": {"mean": 1.0, "unit": "tCO2e"}}}}}, "impacts.EF 3.1.gwp.A1A2A3"),
        ({"impacts": {"ReCiPe": {"gwp": {"A1A2A3": {"mean": 1.0, "unit": "kgCO2e"}}}}}, "impacts.ReCiPe.gwp"),
        ({"declared_unit": {"qty": 1, "unit": "furlong-ish"}}, "declared_unit.unit"),
        ({"declared_unit": {"qty": 0, "unit": "m3"}}, "declared_unit.qty"),
    ],
)
def test_bad_openepd_names_the_field(tmp_path, changes, field):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_openepd(**changes)), encoding="utf-8")
    with pytest.raises(ParseError) as info:
        import_epd([path], name="acme")
    assert info.value.location()["field"] == field
    assert info.value.location()["file"] == str(path)


def test_layered_library_precedence_and_a_score(tmp_path):
    path = tmp_path / "concrete.json"
    path.write_text(json.dumps(_openepd()), encoding="utf-8")
    folder = write_library(*import_epd([path], name="acme"), tmp_path / "mylib")
    assert json.loads((folder / "manifest.json").read_text())["name"] == "acme"
    # a shipped ILCD data set, re-imported under a user name: the bare uuid now means the user's copy
    copy = write_library(
        *import_epd([ILCD_JSON / "0e85f255-4d11-4973-9daa-c03889948351.json"], name="mine"), tmp_path / "mine"
    )
    library = load_library(user=[folder, copy])
    assert library.resolve("0e85f255-4d11-4973-9daa-c03889948351") == library.resolve(
        "mine:0e85f255-4d11-4973-9daa-c03889948351"
    )
    assert library.resolve("ilcd:0e85f255-4d11-4973-9daa-c03889948351") != library.resolve(
        "mine:0e85f255-4d11-4973-9daa-c03889948351"
    )
    import mpeil

    # 2 m³ of the user's concrete per m² element × 10 m² over 100 m² GFA and 60 years: A1-A3 GWP
    # = 2 × 10 × 280 / (100 × 60) = 0.9333… kg CO2e/(m²·yr)
    building = one_layer_building(
        product="acme:ec3x7k2p", amount=2.0, unit="m3", element_quantity=10.0, gross_floor_area_m2=100.0
    )
    result = mpeil.score(building, method="gwp", library=library)
    a13 = result.by_module("GWP-total").loc[building.id, "A1-A3"]
    assert a13 == pytest.approx(2 * 10 * 280 / (100 * 60), rel=1e-12)


def test_a_user_library_may_not_take_a_shipped_name(tmp_path):
    folder = write_library(*import_epd([ILCD_JSON], name="ilcd"), tmp_path / "clash")
    with pytest.raises(UnknownEPDError, match="already taken"):
        load_library(user=[folder])


def test_cli_epd_import_writes_a_library(tmp_path):
    out = tmp_path / "lib"
    run = subprocess.run(
        [sys.executable, "-m", "mpeil", "epd", "import", str(ILCD_JSON), "--out", str(out), "--name", "mylib"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "16 data sets" in run.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["datasets"] == 16 and len(manifest["inputs"]) == 16
    assert EPDLibrary.from_folder(out).name == "mylib"
    bad = subprocess.run(
        [sys.executable, "-m", "mpeil", "epd", "import", str(tmp_path / "nothing.json"), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1 and "no such file" in bad.stdout + bad.stderr
    assert "Traceback" not in bad.stderr


def _mpeil(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "mpeil", *map(str, args)], capture_output=True, text=True, check=False, cwd=cwd
    )


def test_library_option_on_score_search_show_batch_and_verify(tmp_path):
    source = tmp_path / "concrete.json"
    source.write_text(json.dumps(_openepd()), encoding="utf-8")
    assert _mpeil("epd", "import", source, "--out", tmp_path / "mylib", "--name", "acme").returncode == 0
    building = one_layer_building("acme:ec3x7k2p", 2.0, "m3", element_quantity=10.0, gross_floor_area_m2=100.0)
    house = tmp_path / "house.json"
    house.write_text(building.model_dump_json(), encoding="utf-8")

    unknown = _mpeil("score", house, "-m", "gwp")
    assert unknown.returncode == 1 and "acme:ec3x7k2p" in unknown.stderr
    scored = _mpeil(
        "score", house, "-m", "gwp", "-f", "json", "--library", "obd2024", "--library", "mylib", cwd=tmp_path
    )
    assert scored.returncode == 0, scored.stderr
    row = json.loads(scored.stdout)[0]
    import mpeil

    # the CLI with --library equals the API with the same layered library (A1-A3 by hand: see above)
    layered = load_library(["obd2024"], user=[tmp_path / "mylib"])
    api = mpeil.score(building, method="gwp", library=layered).scores["score"].iloc[0]
    assert row["score"] == pytest.approx(api, rel=1e-9)  # the JSON output rounds to 10 digits
    found = _mpeil("epd", "search", "ready-mix concrete gent", "-f", "json", "--library", tmp_path / "mylib")
    assert "acme:ec3x7k2p" in found.stdout
    shown = _mpeil("epd", "show", "acme:ec3x7k2p", "--library", tmp_path / "mylib")
    assert shown.returncode == 0 and "Betonfabriek NV" in shown.stdout

    out = tmp_path / "scores"
    batch = _mpeil("batch", house, "--out", out, "--method", "gwp", "--library", f"obd2024,{tmp_path / 'mylib'}")
    assert batch.returncode == 0, batch.stdout + batch.stderr
    receipt = json.loads(next((out / "receipts").glob("*.json")).read_text())
    assert receipt["library"]["sha256"] == load_library(["obd2024"], user=[tmp_path / "mylib"]).fingerprint()
    verified = _mpeil("verify", out)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_building_file_names_its_library_and_carries_inline_data(tmp_path):
    source = tmp_path / "concrete.json"
    source.write_text(json.dumps(_openepd()), encoding="utf-8")
    write_library(*import_epd([source], name="acme"), tmp_path / "libs" / "acme")
    house = {
        "id": "own-data",
        "gross_floor_area_m2": 100.0,
        "libraries": ["libs/acme"],  # relative to the building file
        "datasets": [
            {
                "id": "clt",
                "name": "CLT panel (EPD 123)",
                "declared_unit": "m3",
                "gross_density_kg_m3": 470.0,
                "values": {"A1-A3": {"GWP-total": -650.0}, "C3": {"GWP-total": 720.0}},
            },
        ],
        "elements": [
            {
                "id": "FoG",
                "quantity": 10.0,
                "unit": "m2",
                "layers": [{"product": "acme:ec3x7k2p", "amount": 0.2, "unit": "m", "service_life_years": 60}],
            },
            {
                "id": "SF",
                "quantity": 10.0,
                "unit": "m2",
                "layers": [{"product": "inline:clt", "amount": 0.1, "unit": "m", "service_life_years": 60}],
            },
        ],
    }
    path = tmp_path / "house.json"
    path.write_text(json.dumps(house), encoding="utf-8")
    import mpeil

    per = mpeil.score(path, method="gwp").by_module("GWP-total").iloc[0]
    # A1-A3: 10 m² × 0.2 m × 280 + 10 m² × 0.1 m × (−650) = 560 − 650 = −90 kg CO2e over 60 y and 100 m²
    assert per["A1-A3"] == pytest.approx(-90.0 / (100 * 60), rel=1e-12)
    # C3: 2 m³ × 3 + 1 m³ × 720 = 726
    assert per["C3"] == pytest.approx(726.0 / (100 * 60), rel=1e-12)
    cli = _mpeil("score", path, "-m", "gwp")
    assert cli.returncode == 0, cli.stderr
    out = tmp_path / "scores"
    batch = _mpeil("batch", path, "--out", out)
    assert batch.returncode == 1
    import pyarrow.parquet as pq

    errors = pq.read_table(out / "errors.parquet").to_pylist()
    assert errors[0]["field"] == "libraries" and "--library" in errors[0]["message"]

"""ILCD+EPD files as their publishers wrote them (tests/fixtures/real-world/ilcd/, SOURCE.md there).

Every expected value is in ``expected_values.csv``, read by hand from the file at the place its
``where_read`` column names; nothing there was produced by mpeil.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path

import pytest

from mpeil.errors import ParseError
from mpeil.model.library import EPDLibrary
from mpeil.readers.epd_import import import_epd, import_report
from mpeil.readers.ilcd import ILCDTree, IndicatorAliases, read_ilcd_frames, read_ilcd_tree, unit_key
from mpeil.readers.ilcd.cells import read_cell, read_property
from mpeil.readers.losses import Loss

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "real-world" / "ilcd"


def _expected() -> list[dict]:
    with open(FIXTURES / "expected_values.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


EXPECTED = _expected()


def _path(file: str) -> Path:
    return ROOT / file if file.startswith("data/") else FIXTURES / file


@pytest.fixture(scope="module")
def imported() -> dict[str, tuple[EPDLibrary, list[Loss]]]:
    """Each file of the table imported once, as a user would: ``mpeil epd import FILE``."""
    out = {}
    for file in sorted({row["file"] for row in EXPECTED}):
        report = import_report([_path(file)], name="user", screen=False)
        assert report.library is not None and not report.refused, file
        out[file] = (report.library, [loss for outcome in report.outcomes for loss in outcome.losses])
    return out


def _library_value(library: EPDLibrary, row: dict) -> float:
    values = library.values
    match = values[
        (values["dataset_id"] == f"user:{row['dataset']}")
        & (values["module"] == row["module"])
        & (values["scenario"] == row["scenario"])
        & (values["indicator"] == row["indicator"])
    ]
    assert len(match) == 1, f"{len(match)} rows for {row['indicator']} {row['module']} {row['scenario']!r}"
    return float(match["value"].iloc[0])


@pytest.mark.parametrize("row", EXPECTED, ids=[f"{r['file'][-44:]}:{r['indicator']}:{r['module']}" for r in EXPECTED])
def test_real_file_values_as_read_by_hand(imported, row):
    library, _ = imported[row["file"]]
    index = library.resolve(f"user:{row['dataset']}")
    assert library.datasets.at[index, "declared_amount"] == float(row["declared_amount"])
    assert library.datasets.at[index, "declared_unit"] == row["declared_unit"]
    assert _library_value(library, row) == pytest.approx(float(row["expected"]), rel=1e-12)


def test_every_corpus_file_is_in_the_table():
    in_table = {row["file"] for row in EXPECTED}
    corpus = {p.name for p in FIXTURES.iterdir() if p.suffix in (".json", ".zip") or p.is_dir()}
    assert corpus <= in_table
    assert len(in_table) == 27  # 6 of the development set, 21 more (SOURCE.md)


def test_per_tonne_is_per_1000_kg_in_xml_and_json(imported):
    # XML, EPD Italy hot-rolled steel: flow meanValue 1000 kg. GWP-total A1 539.5 + A2 40.4 + A3 106.7
    # = 686.6 kg CO2e per 1000 kg → 0.6866 per kg (read as per kg it was 686.6: the 1000× error)
    xml, _ = imported["epditaly_without_a1a2a3"]
    index = xml.resolve("user:a6ef2d29-49bd-4aaf-ac19-1e3975e4fa51")
    assert xml.tensor(["GWP-total"], ["A1-A3", "D"])[index, :, 0] == pytest.approx([0.6866, -0.7165], rel=1e-12)
    # JSON, EPD International steel: GWP-total A1-A3 1895.7 per 1000 kg → 1.8957 per kg
    js, _ = imported["459392b1-18ad-4429-721e-08da598ce856.json"]
    index = js.resolve("user:459392b1-18ad-4429-721e-08da598ce856")
    assert js.tensor(["GWP-total"], ["A1-A3"])[index, 0, 0] == pytest.approx(1.8957, rel=1e-12)


def test_json_without_the_product_in_resultingflowamount_is_still_per_tonne(tmp_path):
    # a writer that puts the bare amount (1) in resultingflowAmount next to meanValue 1000 kg
    doc = json.loads((FIXTURES / "459392b1-18ad-4429-721e-08da598ce856.json").read_text(encoding="utf-8"))
    reference = next(e for e in doc["exchanges"]["exchange"] if e.get("referenceFlow"))
    reference["resultingflowAmount"] = 1.0
    (tmp_path / "steel.json").write_text(json.dumps(doc), encoding="utf-8")
    datasets, _ = read_ilcd_frames(tmp_path / "steel.json")
    assert datasets["declared_amount"].tolist() == [1000.0]
    assert "left out the reference flow property's meanValue 1000" in datasets["notes"][0]


def test_not_declared_markers_are_missing_and_kept(imported):
    name = "1bf3e138-54a4-4155-7116-08da598ce856.json"
    (result,) = read_ilcd_tree({name: (FIXTURES / name).read_bytes()})
    (dataset,) = result.imported
    # LCIAResults.LCIAResult[3] (GWP-total) module A4 is "ND" in the file: kept, and not a loss
    assert (
        Loss("declared", "LCIAResults.LCIAResult[3].anies", "GWP-total A4: ND (not declared)") in dataset.not_declared
    )
    assert not any(loss.what == "declared" for loss in dataset.losses)
    library, _ = imported[name]
    index = library.resolve("user:1bf3e138-54a4-4155-7116-08da598ce856")
    assert math.isnan(library.tensor(["GWP-total"], ["A4"])[index, 0, 0])
    assert "not declared (ND)" in library.datasets.at[index, "notes"]


def test_a_typo_loses_that_cell_only(imported):
    library, losses = imported["881b28b9-aaf3-4d80-aea5-08db7e36184f.json"]
    # LCIAResults.LCIAResult[16] (ETP-fw, CTUe): A3 "1.83+03" (no 'E'), A1-A3 661
    typo = [loss for loss in losses if loss.what == "value"]
    assert [t.reason for t in typo] == ["ETP-fw A3: not a number: '1.83+03'"]
    assert (
        _library_value(
            library,
            {
                "dataset": "881b28b9-aaf3-4d80-aea5-08db7e36184f",
                "module": "A1-A3",
                "scenario": "",
                "indicator": "ETP-fw",
            },
        )
        == 661.0
    )
    # units by meaning: LCIAResult[4] ODP 'kg CFC-11 eq.' A3 0.00000112; [12] WDP 'm3 world eq. deprived' A3 3.54;
    # [14] PM 'Disease incidence' A3 0.00237
    for code, value in (("ODP", 0.00000112), ("WDP", 3.54), ("PM", 0.00237)):
        row = {"dataset": "881b28b9-aaf3-4d80-aea5-08db7e36184f", "module": "A3", "scenario": "", "indicator": code}
        assert _library_value(library, row) == pytest.approx(value, rel=1e-12)


def test_a_bound_is_not_a_density(imported):
    library, losses = imported["ibu_with_dependencies"]
    # flows/f4334466….xml MatML PropertyData pr1 (Gross density): "> 500"; pr3 Grammage 7.7 kg/m^2
    assert [loss.reason for loss in losses if loss.what == "property"] == [
        "gross density: '> 500' is a bound, not a value"
    ]
    index = library.resolve("user:2eb43850-0ab2-4068-afe5-218d69a096f8")
    assert math.isnan(library.datasets.at[index, "gross_density_kg_m3"])
    assert library.datasets.at[index, "area_weight_kg_m2"] == 7.7


def test_an_unknown_unit_loses_that_indicator_and_an_aliases_file_adds_it(tmp_path, imported):
    # processes/ee8863aa….xml: the 7th LCIAResult (line 782), POCP (+A1), states its unit as "kg C2H2 eq."
    # (line 804), which the shipped aliases do not know
    _, losses = imported["oekobau_with_dependencies"]
    assert [(loss.what, loss.where) for loss in losses] == [("unit", "/processDataSet/LCIAResults/LCIAResult[7]")]
    assert losses[0].reason.startswith("POCP-A1: unit 'kg C2H2 eq.' not understood")
    aliases = tmp_path / "aliases.csv"
    aliases.write_text(
        "kind,alias,code,unit,note\nunit,kg C2H2 eq.,POCP-A1,kg_C2H4_eq,my reading of this EPD\n", encoding="utf-8"
    )
    report = import_report([FIXTURES / "oekobau_with_dependencies"], aliases=aliases, screen=False)
    assert [o.status for o in report.outcomes if o.status != "skipped"] == ["imported"]
    assert report.library is not None and "POCP-A1" in set(report.library.values["indicator"])


def test_po4_eutrophication_is_converted_to_p(tmp_path):
    doc = json.loads((FIXTURES / "881b28b9-aaf3-4d80-aea5-08db7e36184f.json").read_text(encoding="utf-8"))
    result = doc["LCIAResults"]["LCIAResult"][6]  # EP-freshwater, 'kg P eq.', A3 0.00237
    unit = next(a for a in result["other"]["anies"] if a.get("name") == "referenceToUnitGroupDataSet")
    unit["value"]["shortDescription"][0]["value"] = "kg PO4 eq."
    (tmp_path / "po4.json").write_text(json.dumps(doc), encoding="utf-8")
    datasets, values = read_ilcd_frames(tmp_path / "po4.json")
    a3 = values[(values["indicator"] == "EP-freshwater") & (values["module"] == "A3")]["value"]
    # 0.00237 kg PO4 eq × 30.973762 / 94.969762 (IUPAC molar masses) = 0.000772959 kg P eq
    assert a3.tolist() == pytest.approx([0.00237 * 30.973762 / 94.969762], rel=1e-5)
    assert "EP-freshwater stated in 'kg PO4 eq.'" in datasets["notes"][0]


def test_a_process_without_its_flow_is_refused_naming_file_and_element():
    single = FIXTURES / "environdec_single_xml.xml"  # ilcdlib's lone process: its flows are not given
    with pytest.raises(ParseError, match="reference flow '47e70177") as caught:
        import_epd([single])
    assert caught.value.file == str(single)
    assert caught.value.field == "/processDataSet/exchanges/exchange[@dataSetInternalID=1]/referenceToFlowDataSet"


def test_a_bad_file_does_not_stop_a_folder(tmp_path):
    shutil.copy(FIXTURES / "environdec_single_xml.xml", tmp_path / "a_single.xml")
    (tmp_path / "b_broken.json").write_text("{not json", encoding="utf-8")
    shutil.copy(FIXTURES / "1bf3e138-54a4-4155-7116-08da598ce856.json", tmp_path / "c_good.json")
    report = import_report([tmp_path], screen=False)
    assert report.library is not None and report.library.ids == ["user:1bf3e138-54a4-4155-7116-08da598ce856"]
    assert [(Path(o.file).name, o.status) for o in report.outcomes] == [
        ("a_single.xml", "refused"),
        ("b_broken.json", "refused"),
        ("c_good.json", "imported_with_losses"),  # GWP-GHG: not a catalogue indicator
    ]
    assert all(isinstance(o.error, ParseError) for o in report.refused)


def test_referenced_version_else_the_latest():
    tree = ILCDTree(
        {
            "ILCD/processes/p_01.00.000.xml": b"",
            "ILCD/flows/aaaaaaaa-0000-0000-0000-000000000001_00.00.002.xml": b"",
            "ILCD/flows/aaaaaaaa-0000-0000-0000-000000000001_00.00.010.xml": b"",
            "other/flows/aaaaaaaa-0000-0000-0000-000000000001_09.00.000.xml": b"",
        }
    )
    near = "ILCD/processes/p_01.00.000.xml"
    ref = {
        "refObjectId": "AAAAAAAA-0000-0000-0000-000000000001",
        "uri": "../flows/aaaaaaaa-0000-0000-0000-000000000001",
    }
    assert tree.find(near, {**ref, "version": "00.00.002"}, "flows").endswith("_00.00.002.xml")
    assert tree.find(near, ref, "flows") == "ILCD/flows/aaaaaaaa-0000-0000-0000-000000000001_00.00.010.xml"
    assert tree.find(near, {"refObjectId": "aaaaaaaa-0000-0000-0000-000000000002"}, "flows") is None
    named = ILCDTree({"ILCD/flows/Heizkoerper_300mm_b5d747b4-9493-4806-9f89-04e654e0bd42.xml": b""})
    found = named.find(near, {"refObjectId": "b5d747b4-9493-4806-9f89-04e654e0bd42"}, "flows")
    assert found == "ILCD/flows/Heizkoerper_300mm_b5d747b4-9493-4806-9f89-04e654e0bd42.xml"


@pytest.mark.parametrize(
    ("text", "value", "marker"),
    [
        ("ND", math.nan, "ND"),
        ("MNA", math.nan, "MNA"),
        ("mnd", math.nan, "mnd"),
        ("-", math.nan, "-"),
        ("", math.nan, ""),
        ("3,6", 3.6, ""),
        ("-1.2E-3", -0.0012, ""),
    ],
)
def test_cells(text, value, marker):
    cell = read_cell(text)
    assert cell.marker == marker and (math.isnan(cell.value) if math.isnan(value) else cell.value == value)


def test_properties_as_documented():
    assert read_property("400 - 600").value == 500.0  # a range: its midpoint
    assert read_property("ca. 7.5").value == 7.5
    bound = read_property(">= 500")
    assert math.isnan(bound.value) and "bound" in bound.problem


def test_units_match_by_meaning():
    aliases = IndicatorAliases.shipped()
    for text, code in (
        ("kg CFC-11 eq.", "ODP"),
        ("kg CFC 11 eq.", "ODP"),
        ("kg R11 eqv.", "ODP"),
        ("mol H+ eq.", "AP"),
        ("kg P eq.", "EP-freshwater"),
        ("kg N eq.", "EP-marine"),
        ("mol N eq.", "EP-terrestrial"),
        ("kg NMVOC eq.", "POCP"),
        ("m3 world eq. deprived", "WDP"),
        ("Disease incidence", "PM"),
        ("CTUh", "HTP-c"),
        ("CTUe", "ETP-fw"),
        ("kBq U235 eq.", "IRP"),
        ("kg Sb eq.", "ADPE"),
        ("MJ", "ADPF"),
    ):
        assert aliases.unit(text, code) is not None, text
    assert unit_key("kg CFC-11 eq.") == unit_key("kg CFC11-Äq.") == unit_key("kg R11 eqv.")


def test_json_without_a_reference_unit_takes_it_from_the_reference_data(tmp_path):
    # the flow property's UUID 93a60a56-a3c8-11da-a746-0800200b9a66 is ILCD "Mass", reference unit kg
    doc = json.loads((FIXTURES / "459392b1-18ad-4429-721e-08da598ce856.json").read_text(encoding="utf-8"))
    reference = next(e for e in doc["exchanges"]["exchange"] if e.get("referenceFlow"))
    prop = next(p for p in reference["flowProperties"] if p.get("referenceFlowProperty"))
    assert prop["uuid"] == "93a60a56-a3c8-11da-a746-0800200b9a66"
    del prop["referenceUnit"]
    (tmp_path / "steel.json").write_text(json.dumps(doc), encoding="utf-8")
    datasets, _ = read_ilcd_frames(tmp_path / "steel.json")
    assert datasets[["declared_amount", "declared_unit"]].values.tolist() == [[1000.0, "kg"]]


@pytest.mark.parametrize("spelling", ["Stück", "Item(s)", "unit"])
def test_ilcd_piece_spellings_are_pieces(tmp_path, spelling):
    # data/ilcd/unit_groups.csv: 'Anzahl-Einheit' has reference unit Stück (and unit=1), 'Units of items' Item(s)
    doc = json.loads((FIXTURES / "1bf3e138-54a4-4155-7116-08da598ce856.json").read_text(encoding="utf-8"))
    reference = next(e for e in doc["exchanges"]["exchange"] if e.get("referenceFlow"))
    next(p for p in reference["flowProperties"] if p.get("referenceFlowProperty"))["referenceUnit"] = spelling
    (tmp_path / "piece.json").write_text(json.dumps(doc), encoding="utf-8")
    datasets, _ = read_ilcd_frames(tmp_path / "piece.json")
    assert datasets[["declared_amount", "declared_unit"]].values.tolist() == [[1.0, "piece"]]


def test_a_member_of_the_wrong_type_is_a_typed_refusal(tmp_path):
    doc = json.loads((FIXTURES / "1bf3e138-54a4-4155-7116-08da598ce856.json").read_text(encoding="utf-8"))
    doc["LCIAResults"]["LCIAResult"][3]["other"] = "x"  # an object in ILCD+EPD
    (tmp_path / "odd.json").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ParseError, match="not the ILCD\\+EPD structure expected") as caught:
        read_ilcd_frames(tmp_path / "odd.json")
    assert caught.value.file == str(tmp_path / "odd.json")


def test_an_export_with_two_versions_of_a_process_imports_the_latest(tmp_path):
    tree = tmp_path / "export"
    shutil.copytree(FIXTURES / "oekobau_with_dependencies", tree)
    (process,) = (tree / "ILCD" / "processes").glob("*.xml")  # ee8863aa…_00.00.018.xml
    older = process.with_name("ee8863aa-7276-4896-b07a-713937a3134d_00.00.009.xml")
    older.write_bytes(process.read_bytes())  # the same process as an older version
    report = import_report([tree], screen=False)
    assert [(Path(o.file).name, o.status) for o in report.outcomes if o.status != "skipped"] == [
        (process.name, "imported_with_losses")  # POCP-A1 in kg C2H2 eq. (see above)
    ]

"""A new user's first hour: missing optional libraries, unwritable outputs and the IFC reader's note are
one typed line each (no traceback); matplotlib is a core dependency."""

from __future__ import annotations

import json
import sys
import tomllib
import warnings
from pathlib import Path

import pandas as pd
import pytest
from test_ifc import _synthetic
from typer.testing import CliRunner

from mpeil.cli import app
from mpeil.errors import InputError, MissingDependencyError, MpeilError, OutputError, UnmappedMaterialWarning
from mpeil.paths import scenarios_dir
from mpeil.readers import read_buildings

ROOT = Path(__file__).parents[1]
HOUSE = scenarios_dir() / "examples" / "terraced_house.json"
FZK = Path(__file__).parent / "fixtures" / "ifc" / "ac20-fzk-haus.ifc"
IFC_HINT = "MissingDependencyError: reading IFC needs ifcopenshell: pip install 'mpeil[ifc]'"


def _run(*args: str):
    return CliRunner().invoke(app, list(args))


def _located(expected: str, where: str) -> str:
    """``Kind: where: reason`` (issue 23: the location first) from ``Kind: reason`` or a bare reason."""
    kind, colon, reason = expected.partition(": ")
    if colon and kind.endswith("Error") and " " not in kind:
        return f"{kind}: {where}: {reason}"
    return f"{where}: {expected}"


def _one_error_line(output: str, expected: str) -> None:
    lines = [line for line in output.splitlines() if line.startswith("error ")]
    assert lines == [f"error {expected}"], output
    assert "Traceback" not in output


# ============================================================================ 1. dependencies
def test_matplotlib_is_a_core_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(d.replace(" ", "").startswith("matplotlib>=") for d in project["dependencies"])


def test_missing_dependency_error_is_an_import_error():
    error = MissingDependencyError("reading IFC needs ifcopenshell")
    assert isinstance(error, MpeilError) and isinstance(error, ImportError)
    assert issubclass(OutputError, MpeilError) and issubclass(OutputError, OSError)


def test_score_and_ifc_without_ifcopenshell(monkeypatch):
    monkeypatch.setitem(sys.modules, "ifcopenshell", None)  # as if it were not installed
    scored = _run("score", str(FZK))
    assert scored.exit_code == 1
    _one_error_line(scored.output, _located(IFC_HINT, f"file '{FZK}'"))
    read = _run("ifc", str(FZK))
    assert read.exit_code == 1
    _one_error_line(read.output, _located(IFC_HINT, f"file '{FZK}'"))


def test_batch_without_ifcopenshell_is_an_error_row(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ifcopenshell", None)
    run = _run("batch", str(FZK), "--out", str(tmp_path / "out"))
    assert run.exit_code == 1, run.output
    (row,) = pd.read_parquet(tmp_path / "out" / "errors.parquet").to_dict("records")
    assert row["error_type"] == "MissingDependencyError"
    assert row["message"] == "reading IFC needs ifcopenshell: pip install 'mpeil[ifc]'"
    assert row["file"].endswith("ac20-fzk-haus.ifc")


def test_report_without_matplotlib(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    out = tmp_path / "r.html"
    run = _run("report", str(HOUSE), "--out", str(out))
    assert run.exit_code == 1
    _one_error_line(run.output, "MissingDependencyError: drawing plots needs matplotlib: pip install 'mpeil[plots]'")
    assert not out.exists()


# ============================================================================ 2. output files
@pytest.mark.parametrize(
    ("command", "option"),
    [
        (["report", str(HOUSE)], "--out"),
        (["ifc", str(FZK)], "--out"),
        (["ifc", str(FZK)], "--suggest"),
        (["ifc", str(FZK)], "--write-results"),
        (["inventory", str(HOUSE)], "--out"),
        (["schema"], "--output"),
    ],
)
def test_output_in_a_missing_folder_is_one_line(tmp_path, command, option):
    target = tmp_path / "no such folder" / "x.out"
    run = _run(*command, option, str(target))
    assert run.exit_code == 1
    expected = f"OutputError: cannot write {target}: the folder {target.parent} does not exist; create it first"
    _one_error_line(run.output, _located(expected, f"field '{option}'"))
    assert not target.parent.exists()


def test_output_that_is_a_folder_is_one_line(tmp_path):
    run = _run("report", str(HOUSE), "--out", str(tmp_path))
    assert run.exit_code == 1
    _one_error_line(
        run.output, f"OutputError: field '--out': cannot write {tmp_path}: it is a folder; give a file name"
    )


def test_convert_into_a_missing_folder(tmp_path):
    target = tmp_path / "gone" / "house.csv"
    run = _run("convert", str(HOUSE), str(target))
    assert run.exit_code == 1 and "OutputError" in run.output and not target.exists()


# ============================================================================ 3. the IFC note
def test_read_buildings_warns_with_a_typed_note(tmp_path):
    path = _synthetic(tmp_path)
    with pytest.warns(UnmappedMaterialWarning) as caught:
        read_buildings(path)
    (note,) = [w.message for w in caught if isinstance(w.message, UnmappedMaterialWarning)]
    assert note.file == str(path)
    # the wall's 'Unobtainium' is 10 m² × 0.05 m = 0.5 m³; the slab's placeholder 'Solid 12345' and the door
    # without material take their class's template (issue 19: data/ifc/class_defaults.csv), so they are mapped
    assert note.message.endswith("mapped to no data set (Unobtainium 0.5 m³); see mpeil ifc --suggest")


def test_score_prints_the_ifc_note_as_one_line(tmp_path):
    path = _synthetic(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a raw UserWarning reaching the user would fail here
        run = _run("score", str(path), "-m", "gwp")
    assert run.exit_code == 0, run.output
    notes = [line for line in run.output.splitlines() if line.startswith("note ")]
    assert len(notes) == 1 and notes[0].startswith(f"note {path}: ") and "Unobtainium 0.5 m³" in notes[0]
    assert "UserWarning" not in run.output and "warnings.warn" not in run.output


def test_batch_note_names_the_input_not_the_scratch_copy(tmp_path):
    from mpeil.batch.inputs import _parse

    data = _synthetic(tmp_path).read_bytes()
    with pytest.warns(UnmappedMaterialWarning) as caught:
        _parse(data, ".ifc", str(tmp_path), "permits/house.ifc")
    (note,) = [w.message for w in caught if isinstance(w.message, UnmappedMaterialWarning)]
    assert str(note).startswith("permits/house.ifc: ") and str(tmp_path) not in str(note)


def test_no_gfa_message_names_a_command_that_exists(tmp_path):
    house = Path(__file__).parent / "fixtures" / "ifc" / "ifcopenhouse-ifc4.ifc"
    with pytest.raises(InputError) as raised:
        read_buildings(house)
    assert "read_buildings(path, gfa_m2=M2)" in str(raised.value)
    refused = _run("score", str(house))
    assert refused.exit_code == 1 and "--gfa M2" in refused.output  # issue 19: `mpeil score` has --gfa
    assert _run("score", "--gfa", "50", str(house)).exit_code == 0


# ============================================================================ 4. epd search / show
ROOF_TILE = "obd2020:1b842259-9cfe-4e41-80b3-df0a11382984"  # ÖKOBAUDAT 2020 'Dachsteine', declared per 1000 kg


def test_search_gives_gwp_per_one_declared_unit():
    from mpeil.search import search_epd

    (row,) = search_epd("Dachsteine", sources=["obd2020"], limit=1).to_dict("records")
    assert row["dataset_id"] == ROOF_TILE
    # the source declares GWP A1-A3 = 209.0 kg CO2e per 1000 kg: 0.209 per kg
    assert row["gwp_a1a3_per_unit"] == pytest.approx(209.0 / 1000.0) and row["declared_unit"] == "kg"
    run = CliRunner().invoke(app, ["epd", "search", "Dachsteine", "-s", "obd2020", "-n", "1"], env={"COLUMNS": "80"})
    assert "0.209 /kg" in run.output and "1000 kg" not in run.output


def test_show_says_what_its_mass_is_per():
    run = CliRunner().invoke(app, ["epd", "show", ROOF_TILE], env={"COLUMNS": "120"})
    assert run.exit_code == 0, run.output
    assert "→ kg per 1 kg (values are declared per 1000 kg)" in run.output
    assert "→ kg per declared unit" not in run.output


@pytest.mark.parametrize("query", ["steel", "beton", "isolation"])
def test_search_ids_are_never_broken_at_80_columns(query):
    from mpeil.search import search_epd

    ids = search_epd(query, method="mpeil-ef31", limit=10)["dataset_id"].tolist()  # the CLI's default method
    run = CliRunner().invoke(app, ["epd", "search", query], env={"COLUMNS": "80"})
    assert run.exit_code == 0 and ids, run.output
    lines = run.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    for dataset_id in ids:  # each id whole on one line: it can be copied
        assert any(dataset_id in line for line in lines), dataset_id


# ============================================================================ 5. compare at 80 columns
TIMBER = "Timber frame wall: wood fibre board, 20 cm cellulose, OSB, gypsum board"
CAVITY = "Cavity wall: facing brick, 12 cm mineral wool, concrete blocks, plaster"  # EW-1 of the example


def _timber_variant(tmp_path: Path) -> Path:
    data = json.loads(HOUSE.read_text(encoding="utf-8"))
    data["id"] = "timber variant"
    (wall,) = [e for e in data["elements"] if e["id"] == "EW-1"]
    assert wall["name"] == CAVITY
    wall["name"] = TIMBER
    wall["layers"][3]["amount"] = 0.2  # 20 instead of 12 cm of insulation
    path = tmp_path / "timber.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_compare_label_names_both_elements_when_they_differ(tmp_path):
    from mpeil import compare

    comparison = compare(str(HOUSE), str(_timber_variant(tmp_path)))
    labels = comparison.elements.set_index("element_type")["label"]
    assert labels["EW"] == f"EW-1 {CAVITY} → {TIMBER}"
    assert labels["Fd"] == "Fd-1 Strip footings with foundation masonry"  # same name: said once


def test_compare_is_readable_at_80_columns(tmp_path):
    variant = _timber_variant(tmp_path)
    apartment = scenarios_dir() / "examples" / "apartment_building.json"
    run = CliRunner().invoke(app, ["compare", str(HOUSE), str(variant), str(apartment)], env={"COLUMNS": "80"})
    assert run.exit_code == 0, run.output
    lines = run.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "Element contributions [mPt/(m²·yr)]" in run.output
    # the EW-1 row shows what `compare -f json` gives, with 4 significant digits
    as_json = CliRunner().invoke(app, ["compare", str(HOUSE), str(variant), str(apartment), "-f", "json"])
    (wall,) = [row for row in json.loads(as_json.output) if row["label"].startswith("EW-1 ")]
    # names longer than fit beside the numbers stand on lines of their own, the numbers below them
    (start,) = [i for i, line in enumerate(lines) if line.startswith("EW-1 ")]
    ew_line = next(line for line in lines[start + 1 :] if line.startswith(" "))
    shown = ew_line.split()[-5:]
    assert shown == [f"{wall[c]:.4g}" for c in ("example-terraced-house", "timber variant")] + shown[2:]
    assert shown[2] == f"{wall['example-apartment-building']:.4g}"


# ============================================================================ 6, 7. version, wording
def test_version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    run = _run("--version")
    assert run.exit_code == 0 and run.output == f"mpeil {project['version']}\n"


def test_one_building_is_not_plural(tmp_path):
    out = tmp_path / "r.html"
    run = _run("report", str(HOUSE), "--out", str(out))
    assert run.exit_code == 0, run.output
    assert run.output.startswith(f"wrote {out} (1 building, ") and out.exists()
    converted = _run("convert", str(HOUSE), str(tmp_path / "house.csv"))
    assert converted.output == f"wrote 1 building to {tmp_path / 'house.csv'}\n"
    two = _run("stock", "2", "--out", str(tmp_path / "stock"))
    assert two.output.startswith("wrote 2 buildings in ")


def test_elements_show_prints_the_error_type():
    run = _run("elements", "show", "EW-nope")
    assert run.exit_code == 1
    (line,) = run.output.splitlines()
    assert line.startswith("error UnknownScenarioError: field 'template': no element template 'EW-nope'")

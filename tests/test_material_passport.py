"""Material passports: written from a real imported EPD (ILCD+EPD JSON of EPD International), read
back as a user library with identical values, and refused when altered."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import mpeil
from mpeil.cli import app
from mpeil.errors import ParseError
from mpeil.model import Building, Element, Layer
from mpeil.model.library import EPDLibrary, load_library
from mpeil.model.material_passport import read_material_passport
from mpeil.readers.epd_import import import_epd, write_library

ROOT = Path(__file__).resolve().parents[1]
STEEL = ROOT / "tests" / "fixtures" / "real-world" / "ilcd" / "0e43fd10-1ca4-4baa-ae9f-08db7e36184f.json"
STEEL_ID = "mine:0e43fd10-1ca4-4baa-ae9f-08db7e36184f"


def _cli(*args: str) -> None:
    """Run the mpeil CLI in this process (the same typer app ``python -m mpeil`` runs)."""
    run = CliRunner().invoke(app, list(args))
    assert run.exit_code == 0, run.output


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("materials")
    library, files = import_epd([STEEL], name="mine")
    write_library(library, files, root / "lib")
    _cli("passport", "--materials", str(root / "passports"), "--library", str(root / "lib"), "--lang", "fr")
    return {"lib": root / "lib", "passports": root / "passports"}


def test_the_material_passport_holds_the_epd_as_published(folders):
    (path,) = sorted(folders["passports"].glob("*.json"))
    assert path.name == "0001-0e43fd10-1ca4-4baa-ae9f-08db7e36184f.json"
    passport = read_material_passport(json.loads(path.read_text(encoding="utf-8")))
    # values read by hand in the file (EPD International, structural steel, India, per 1000 kg):
    # version 07.01.004, GWP-fossil A1-A3 3671.68956578352 kg CO2 eq., D -1529.63382052368
    assert passport.identity["ilcd_uuid"] == "0e43fd10-1ca4-4baa-ae9f-08db7e36184f"
    assert passport.identity["version"] == "07.01.004"
    assert passport.identity["valid_until"] == "2028" and passport.origin == "IN"
    assert passport.declared_unit == {"amount": 1000.0, "unit": "kg"}
    values = {(v.module, v.indicator): (v.value, v.unit) for v in passport.epd}
    assert values[("A1-A3", "GWP-fossil")] == (3671.68956578352, "kg CO2 eq.")
    assert values[("D", "GWP-fossil")] == (-1529.63382052368, "kg CO2 eq.")
    assert passport.reuse_recycling["module_D_declared"] is True
    assert passport.composition is None  # the EPD does not give it: null, never invented


def test_a_folder_of_material_passports_is_the_same_library(folders):
    imported = EPDLibrary.from_folder(folders["lib"])
    from_passports = EPDLibrary.from_folder(folders["passports"])
    pd.testing.assert_frame_equal(from_passports.datasets, imported.datasets)
    pd.testing.assert_frame_equal(from_passports.values, imported.values)
    assert from_passports.fingerprint() == imported.fingerprint()


def test_a_building_scores_the_same_with_the_material_passports_as_library(folders):
    # 2 t of the imported steel (per 1000 kg: 2 declared units)
    layer = Layer(product=STEEL_ID, amount=2000.0, unit="kg")
    building = Building(
        id="b",
        gross_floor_area_m2=100.0,
        elements=[Element(id="St-1", element_type="St", quantity=1.0, unit="piece", layers=[layer])],
    )
    scores = [
        mpeil.Scorer(method="gwp", library=load_library(["obd2024", str(folders[k])]), default_transport="none")
        .score(building)
        .scores["score"]
        .iloc[0]
        for k in ("lib", "passports")
    ]
    assert scores[0] == scores[1]


def test_an_altered_material_passport_is_refused(folders):
    (path,) = sorted(folders["passports"].glob("*.json"))
    document = json.loads(path.read_text(encoding="utf-8"))
    document["epd"][0]["value"] = 1.0
    with pytest.raises(ParseError, match="content_sha256"):
        read_material_passport(document)


def test_the_material_schema_is_published_and_every_field_has_a_visibility(folders):
    import jsonschema

    from mpeil.model.material_passport import material_passport_json_schema
    from mpeil.outputs.passport import passport_view, view_levels

    published = ROOT / "data" / "passport" / "material-passport-1.schema.json"
    assert json.loads(published.read_text(encoding="utf-8")) == material_passport_json_schema()
    (path,) = sorted(folders["passports"].glob("*.json"))
    document = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.validate(document, material_passport_json_schema())
    _, _, fields = view_levels("material")
    assert set(fields) == set(material_passport_json_schema()["properties"])
    # composition is confidential: hidden (hash only) from every role, even the owner
    passport = read_material_passport(document)
    for role in ("public", "authority", "architect", "contractor", "owner"):
        view = passport_view(passport, role)
        assert "composition" not in view and "composition" in view["view"]["hidden_sha256"]
    public = passport_view(passport, "public")
    assert sorted(public) == [
        "content_sha256", "declared_unit", "epd", "identity", "manufacturer", "material_passport_version",
        "name", "reuse_recycling", "technical_properties", "view",
    ]  # fmt: skip
    assert "origin" in passport_view(passport, "architect") and "library_record" in passport_view(passport, "owner")


def test_each_material_passport_has_its_rendering_beside_it(folders):
    (page,) = sorted(folders["passports"].glob("*.html"))
    text = page.read_text(encoding="utf-8")
    assert "Passeport matériau — Average Structural Steel Product" in text and "Fabricant" in text
    # GWP-fossil A1-A3 3671.68956578352 kg CO2 eq. per 1000 kg, shown to 4 significant digits
    assert "<td>GWP-fossil</td><td>kg CO2 eq.</td><td class=n>3672</td>" in text
    for reference in ("http://", "https://", "src=", "<script", "<link", "@import", "url("):
        assert reference not in text


def test_a_confidential_composition_is_in_the_full_passport_and_only_hashed_in_views(folders, tmp_path):
    import hashlib

    from mpeil.model.passport import canonical_json

    # a test input, not the manufacturer's: 98 % "ferrite-x42", 2 % other by mass
    composition = tmp_path / "composition.csv"
    composition.write_text(f"dataset_id,material,mass_share\n{STEEL_ID},ferrite-x42,0.98\n{STEEL_ID},other,0.02\n")
    full, public = tmp_path / "full", tmp_path / "public"
    common = ["--library", str(folders["lib"]), "--composition", str(composition)]
    _cli("passport", "--materials", str(full), *common)
    _cli("passport", "--materials", str(public), "--view", "public", *common)
    (full_path,) = full.glob("*.json")
    (public_path,) = public.glob("*.json")
    document = json.loads(full_path.read_text(encoding="utf-8"))
    expected = [{"material": "ferrite-x42", "mass_share": 0.98}, {"material": "other", "mass_share": 0.02}]
    assert document["composition"] == expected
    view = json.loads(public_path.read_text(encoding="utf-8"))
    assert "composition" not in view and "ferrite-x42" not in public_path.read_text(encoding="utf-8")
    assert view["view"]["hidden_sha256"]["composition"] == hashlib.sha256(canonical_json(expected)).hexdigest()
    assert view["content_sha256"] == document["content_sha256"]
    # the full folder is still the same library; a folder of views is not a library
    assert EPDLibrary.from_folder(full).fingerprint() == EPDLibrary.from_folder(folders["lib"]).fingerprint()
    with pytest.raises(ParseError, match="'public' view of a material passport"):
        EPDLibrary.from_folder(public)


def test_a_composition_share_outside_0_1_is_refused(tmp_path):
    from mpeil.model.material_passport import read_composition

    bad = tmp_path / "composition.csv"
    bad.write_text(f"dataset_id,material,mass_share\n{STEEL_ID},iron,98\n")
    with pytest.raises(ParseError, match="row 2: mass_share '98' is not a share"):
        read_composition(bad)

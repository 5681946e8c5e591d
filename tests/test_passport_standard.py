"""The building passport as a standard: read as input (CLI and API, bit for bit), versions and
migration, content hashes, views per role, the coordinator's summary and the HTML rendering."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

import mpeil
from mpeil.cli import app
from mpeil.cli.passport import passport_schema_text
from mpeil.errors import InputError, ParseError
from mpeil.model import Building, Element, Layer
from mpeil.model.passport import (
    Passport,
    content_sha256,
    passport_json_schema,
    passport_to_building,
    read_passport,
)
from mpeil.model.reuse import link_reuse
from mpeil.outputs.passport import passport_view, verify_view
from mpeil.outputs.passport_html import render_passport_html
from mpeil.readers import read_building, read_buildings
from mpeil.testing import tiny_library, tiny_scenarios

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "examples" / "terraced_house.json"
# the building the v1 fixture was written from: the example terraced house as it was at a4e0776,
# before issue 22 gave the examples services and an unflagged damp-proof foil
V1_BUILDING = Path(__file__).parent / "fixtures" / "passport" / "sources" / "terraced_house_a4e0776.json"
FIXTURES = ROOT / "tests" / "fixtures" / "passport"


def _cli(*args: str) -> str:
    """Run the mpeil CLI in this process (the same typer app ``python -m mpeil`` runs)."""
    run = CliRunner().invoke(app, list(args))
    assert run.exit_code == 0, run.output
    return run.stdout


@pytest.fixture(scope="module")
def cli_round_trip(tmp_path_factory) -> dict[str, Path]:
    """building → passport → score, and passport → passport, all through the CLI."""
    folder = tmp_path_factory.mktemp("passport")
    passport, again, html = folder / "passport.json", folder / "again.json", folder / "passport.html"
    _cli("passport", str(EXAMPLE), "--out", str(passport), "--html", str(html), "--lang", "nl")
    _cli("passport", str(passport), "--out", str(again))
    return {"passport": passport, "again": again, "html": html}


@pytest.fixture(scope="module")
def example_passport() -> Passport:
    return mpeil.passport_of(read_building(EXAMPLE))


def _wall() -> Building:
    # as in test_passport.py: 10 m² of wall, 0.2 m concrete (2400 kg/m³, waste category Concrete:
    # 5 % landfill, 95 % recycling) and 1 m² insulation per m² (3 kg/m²), half of it reused
    layers = [
        Layer(product="t:concrete", amount=0.2, unit="m", waste_category="Concrete", disassembly="cast in place"),
        Layer(
            product="t:insulation",
            amount=1.0,
            unit="m2",
            component_id="wall-insulation",
            end_of_life={"landfill": 0.5, "incineration": 0.0, "reuse": 0.5, "recycling": 0.0},
            disassembly="screwed to battens",
        ),
    ]
    element = Element(id="EW-1", element_type="EW", quantity=10.0, unit="m2", layers=layers)
    return Building(id="donor", gross_floor_area_m2=100.0, elements=[element])


def test_scoring_a_passport_file_through_the_cli_is_bit_for_bit_the_building(cli_round_trip):
    from_passport = _cli("score", str(cli_round_trip["passport"]), "-f", "json")
    assert from_passport == _cli("score", str(EXAMPLE), "-f", "json")
    assert json.loads(from_passport)[0]["building_id"] == "example-terraced-house"


def test_passport_of_a_passport_is_the_same_file(cli_round_trip):
    assert cli_round_trip["again"].read_bytes() == cli_round_trip["passport"].read_bytes()


def test_the_api_scores_a_passport_object_and_file_exactly_as_the_building(cli_round_trip, example_passport):
    scorer = mpeil.Scorer()
    original = scorer.score(read_building(EXAMPLE)).scores["score"].iloc[0]
    assert scorer.score(example_passport).scores["score"].iloc[0] == original
    assert scorer.score(cli_round_trip["passport"]).scores["score"].iloc[0] == original
    v1 = json.loads((FIXTURES / "v1" / "terraced_house.json").read_text(encoding="utf-8"))
    v1_original = scorer.score(read_building(V1_BUILDING)).scores["score"].iloc[0]
    assert scorer.score(v1).scores["score"].iloc[0] == v1_original  # a parsed document, known by its content
    # passport → score → passport through the API: the same document, hash included
    again = mpeil.passport_of(read_buildings(cli_round_trip["passport"])[0])
    assert again == example_passport
    assert again.content_sha256 == json.loads(cli_round_trip["passport"].read_text())["content_sha256"]


def test_a_donor_passport_feeds_the_reuse_inventory_of_a_new_building(tmp_path):
    library, scenarios = tiny_library(), tiny_scenarios()
    donor = mpeil.passport_of(_wall(), method="gwp", library=library, scenarios=scenarios, default_transport="truck")
    path = tmp_path / "donor-passport.json"
    path.write_text(donor.model_dump_json(), encoding="utf-8")
    layer = Layer(product="t:insulation", amount=1.0, unit="m2", source_component_id="wall-insulation")
    receiver = Building(
        id="receiver",
        gross_floor_area_m2=80.0,
        elements=[Element(id="IW-1", element_type="nLbIW", quantity=5.0, unit="m2", layers=[layer])],
    )
    (link,) = link_reuse(read_buildings(path), [receiver], scenarios)
    assert (link.donor_building, link.donor_element, link.donor_line) == ("donor", "EW-1", 2)
    assert (link.receiver_building, link.receiver_element) == ("receiver", "IW-1")


def test_every_published_schema_version_is_in_data_and_the_current_one_is_generated():
    published = sorted(p.name for p in (ROOT / "data" / "passport").glob("passport-*.schema.json"))
    assert published == ["passport-1.schema.json", "passport-2.schema.json"]
    assert (ROOT / "data" / "passport" / "passport-2.schema.json").read_text(encoding="utf-8") == passport_schema_text()


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("v*/*.json")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_earlier_version_validates_against_its_schema_migrates_and_scores(fixture):
    document = json.loads(fixture.read_text(encoding="utf-8"))
    major = fixture.parent.name.removeprefix("v")
    schema = json.loads((ROOT / "data" / "passport" / f"passport-{major}.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, schema)
    migrated = read_passport(document)
    jsonschema.validate(migrated.model_dump(mode="json"), passport_json_schema())
    # the v1 fixture is the terraced house: migrated, it describes the same building, and its
    # coordinator's summary adds up the fixture's own component masses (the numbers stored in 2026,
    # not recomputed: a later library or engine change does not touch an archived passport)
    assert passport_to_building(migrated) == read_building(V1_BUILDING)
    masses = [c["mass_kg"] for c in document["components"]]
    building = migrated.coordinator[0]
    assert building.mass_kg == pytest.approx(sum(m for m in masses if m is not None), rel=1e-12)
    assert building.components_without_mass == sum(m is None for m in masses)
    assert sum(share.mass_kg for share in building.by_route.values()) == pytest.approx(building.mass_kg, rel=1e-12)
    assert migrated.content_sha256 == content_sha256(migrated.model_dump(mode="json"))
    assert mpeil.score(fixture).scores["score"].iloc[0] == mpeil.score(V1_BUILDING).scores["score"].iloc[0]


def test_the_content_hash_is_of_the_canonical_json_and_catches_an_edit(example_passport):
    document = example_passport.model_dump(mode="json")
    assert len(document["content_sha256"]) == 64
    assert content_sha256(document) == document["content_sha256"]
    document["components"][0]["mass_kg"] += 1.0
    with pytest.raises(ParseError, match="content_sha256"):
        read_passport(document)


def test_a_newer_major_version_is_refused_not_guessed(example_passport):
    document = {**example_passport.model_dump(mode="json"), "passport_version": "3.0"}
    with pytest.raises(ParseError, match="newer than this mpeil reads"):
        read_passport(document)


def test_coordinator_summary_by_hand():
    passport = mpeil.passport_of(
        _wall(), method="gwp", library=tiny_library(), scenarios=tiny_scenarios(), default_transport="truck"
    )
    building, element = passport.coordinator
    assert building.scope == "building" and element.element_id == "EW-1"
    # concrete 10 m² x 0.2 m x 2400 kg/m³ = 4800 kg (5 % landfill, 95 % recycling, cast in place)
    # insulation 10 m² x 3 kg/m² = 30 kg (50 % landfill, 50 % reuse, screwed)
    assert building.mass_kg == pytest.approx(4830.0, rel=1e-12)
    routes = {k: v.mass_kg for k, v in building.by_route.items()}
    assert routes == pytest.approx({"incineration": 0.0, "landfill": 240.0 + 15.0, "recycling": 4560.0, "reuse": 15.0})
    assert building.by_route["reuse"].share == pytest.approx(15.0 / 4830.0, rel=1e-12)
    assert {k: v.mass_kg for k, v in building.by_disassembly.items()} == pytest.approx(
        {"demountable": 30.0, "not demountable": 4800.0}
    )
    assert element.by_route == building.by_route  # one element: the same summary


# which component fields each role's view holds (data/passport/visibility.csv)
PUBLIC = [
    "component_id", "composition", "dataset_name", "element_id", "element_type", "end_of_life", "layer", "line",
    "mass_kg", "material", "reuse_potential", "use_cycles", "volume_m3", "waste_category",
]  # fmt: skip
AUTHORITY = sorted(PUBLIC + ["dataset_id", "ilcd_uuid", "impacts", "service_life_years"])
ENGAGED = sorted(AUTHORITY + ["disassembly", "element", "product"])
OWNER = sorted(ENGAGED + ["condition", "replacement_years"])
TOP_PUBLIC = [
    "components", "content_sha256", "coordinator", "engine_version", "library", "library_hash", "method",
    "passport_version", "study_period_years", "view",
]  # fmt: skip


@pytest.mark.parametrize(
    ("role", "top", "fields"),
    [
        ("public", TOP_PUBLIC, PUBLIC),
        ("authority", sorted([*TOP_PUBLIC, "building"]), AUTHORITY),
        ("architect", sorted([*TOP_PUBLIC, "building"]), ENGAGED),
        ("contractor", sorted([*TOP_PUBLIC, "building"]), ENGAGED),
        ("owner", sorted([*TOP_PUBLIC, "building"]), OWNER),
    ],
)
def test_each_role_sees_its_fields_and_never_the_confidential_one(role, top, fields, example_passport):
    view = passport_view(example_passport, role)
    assert sorted(view) == top
    assert all(sorted(c) == fields for c in view["components"])
    # source_layer (confidential: the exact amounts) is never shown, only its hash
    text = json.dumps(view)
    hidden = [json.dumps(c.source_layer) for c in example_passport.components]
    assert not any(value in text for value in hidden)
    assert all(f"components/{i}/source_layer" in view["view"]["hidden_sha256"] for i in range(len(hidden)))
    assert verify_view(view, example_passport) == []


def test_a_view_does_not_verify_against_an_edited_hidden_value(example_passport):
    view = passport_view(example_passport, "public")
    document = example_passport.model_dump(mode="json")
    document["components"][3]["source_layer"]["amount"] = 1.0
    edited = Passport.model_validate({**document, "content_sha256": content_sha256(document)})
    problems = verify_view(view, edited)
    assert "the view is of another passport (content_sha256 differs)" in problems
    assert "hidden value components/3/source_layer does not match its hash" in problems


def test_every_schema_field_has_a_visibility_and_an_unknown_role_is_refused(example_passport):
    from mpeil.outputs.passport import view_levels

    ranks, roles, fields = view_levels()
    schema = passport_json_schema()
    expected = set(schema["properties"]) | {f"components[].{k}" for k in schema["$defs"]["Component"]["properties"]}
    assert set(fields) == expected
    assert set(fields.values()) <= set(ranks) and set(roles.values()) <= set(ranks)
    with pytest.raises(InputError, match="role 'neighbour'"):
        passport_view(example_passport, "neighbour")


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("nl", ["Gebouwenpaspoort", "Potentieel voor hergebruik", "recyclage", "Demontageklasse"]),
        ("fr", ["Passeport du bâtiment", "Potentiel de réemploi", "mise en décharge", "Classe de démontage"]),
        ("en", ["Building passport", "Reuse, recycling and disassembly potential", "landfill", "Disassembly class"]),
    ],
)
def test_the_rendering_is_self_contained_in_each_language(lang, words, example_passport):
    page = render_passport_html(example_passport.model_dump(mode="json"), lang)
    assert all(word in page for word in words)
    assert example_passport.content_sha256 in page
    for reference in ("http://", "https://", "src=", "<script", "<link", "@import", "url("):
        assert reference not in page
    with pytest.raises(InputError, match="language 'de'"):
        render_passport_html({}, "de")


def test_the_cli_writes_the_rendering_and_views(cli_round_trip, tmp_path):
    assert "Gebouwenpaspoort" in cli_round_trip["html"].read_text(encoding="utf-8")
    out = tmp_path / "public.json"
    _cli("passport", str(cli_round_trip["passport"]), "--view", "public", "--out", str(out))
    view = json.loads(out.read_text(encoding="utf-8"))
    assert view["view"]["role"] == "public" and "building" not in view
    full = Passport.model_validate_json(cli_round_trip["passport"].read_text(encoding="utf-8"))
    assert verify_view(view, full) == []
    assert passport_to_building(full) == read_building(EXAMPLE)


def test_mpeil_verify_passes_on_the_full_passport_a_public_view_is_bound_to(cli_round_trip, tmp_path):
    """The chain: a view names the full passport's content_sha256 and binds each hidden value's
    hash; a score receipt of the full passport binds its file hash; mpeil verify re-scores it."""
    import hashlib

    passport = cli_round_trip["passport"]
    full = Passport.model_validate_json(passport.read_text(encoding="utf-8"))
    view = passport_view(full, "public")
    assert view["content_sha256"] == full.content_sha256 and verify_view(view, full) == []
    _cli("batch", str(passport), "--out", str(tmp_path / "out"))
    (receipt,) = (tmp_path / "out" / "receipts").glob("*.json")
    assert json.loads(receipt.read_text())["input"]["sha256"] == hashlib.sha256(passport.read_bytes()).hexdigest()
    assert "bit-identical" in _cli("verify", str(tmp_path / "out"))


def test_the_schemas_in_the_docs_are_the_shipped_ones():
    shipped = sorted((ROOT / "data" / "passport").glob("*.schema.json"))
    assert [p.name for p in shipped] == [p.name for p in sorted((ROOT / "docs" / "schemas").glob("*.schema.json"))]
    assert all((ROOT / "docs" / "schemas" / p.name).read_bytes() == p.read_bytes() for p in shipped)


def test_a_view_is_not_scored_as_if_it_were_the_passport(example_passport, tmp_path):
    path = tmp_path / "public.json"
    path.write_text(json.dumps(passport_view(example_passport, "public")), encoding="utf-8")
    with pytest.raises(ParseError, match="'public' view of a passport"):
        read_buildings(path)

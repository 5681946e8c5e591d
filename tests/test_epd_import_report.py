"""``mpeil epd import`` per file (imported / with losses / refused), openEPD details, trust for user data."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mpeil.cli import app
from mpeil.readers.epd_import import import_report
from mpeil.readers.openepd import draft_id, parse_openepd

REAL = Path(__file__).parent / "fixtures" / "real-world"


def _draft() -> dict:
    """An openEPD draft as an editor writes it before publication: no ``id``, ``ext`` members,
    values per method, resource use, output flows and two end-of-life scenarios."""
    return {
        "doctype": "openEPD",
        "name": "Gypsum board 12.5 mm",
        "declared_unit": {"qty": 1, "unit": "m2"},
        "kg_per_declared_unit": {"qty": 8.5, "unit": "kg"},
        "ext": {"editor": {"draft": True}},
        "impacts": {
            "EF 3.1": {
                "ext": {"note": "not an indicator"},
                "gwp": {
                    "A1A2A3": {"mean": 2.0, "unit": "kgCO2e"},
                    "C3": {"mean": 0.1, "unit": "kgCO2e"},
                    "C_scenarios": [
                        {"name": "landfill", "likelihood": 0.7, "C4": {"mean": 0.05, "unit": "kgCO2e"}},
                        {"name": "recycling", "likelihood": 0.3, "C3": {"mean": 0.02, "unit": "kgCO2e"}},
                    ],
                    "ext": {"x": 1},
                },
                "odp": {"A1A2A3": {"mean": 1.0, "unit": "tCFC11e"}},  # another unit: dropped, never converted
            },
            "TRACI 2.1": {"gwp": {"A1A2A3": {"mean": 2.1, "unit": "kgCO2e"}}},  # unknown method: by indicator
        },
        "resource_uses": {
            "penrt": {"A1A2A3": {"mean": 30.0, "unit": "MJ"}},
            "fw": {"A1A2A3": {"mean": 0.01, "unit": "m3"}},
        },
        "output_flows": {
            "nhwd": {"A1A2A3": {"mean": 0.4, "unit": "kg"}},
            "twd": {"A1A2A3": {"mean": 0.5, "unit": "kg"}},
        },
    }


def test_an_openepd_draft_imports_with_every_section_and_its_losses_named():
    doc = _draft()
    dataset, rows, losses = parse_openepd(doc, {"file": "draft.json"}, prefix="me")
    # no id: one derived from the content, the same for the same content
    assert dataset["source_uuid"] == draft_id(_draft()) and dataset["source_uuid"].startswith("draft-")
    assert draft_id({**_draft(), "name": "other"}) != dataset["source_uuid"]
    values = {(module, scenario, code): value for _, module, scenario, code, value in rows}
    assert values == {
        ("A1-A3", "", "GWP-total"): 2.0,
        ("C3", "", "GWP-total"): 0.1,
        ("C4", "landfill", "GWP-total"): 0.05,
        ("C3", "recycling", "GWP-total"): 0.02,
        ("A1-A3", "", "PENRT"): 30.0,
        ("A1-A3", "", "FW"): 0.01,
        ("A1-A3", "", "NHWD"): 0.4,
    }
    dropped = {(loss.what, loss.where) for loss in losses}
    assert dropped == {
        ("unit", "impacts.EF 3.1.odp.A1A2A3"),
        ("indicator", "impacts.TRACI 2.1.gwp"),
        ("indicator", "output_flows.twd"),
    }
    # 1 m² weighs 8.5 kg: 1/8.5 declared units per kg
    assert dataset["conversion_factor_to_kg"] == pytest.approx(1 / 8.5, rel=1e-15)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> tuple[Path, list[Path]]:
    folder = tmp_path_factory.mktemp("mixed")
    good = folder / "draft.json"
    good.write_text(json.dumps(_draft()), encoding="utf-8")
    broken = folder / "broken.json"
    broken.write_text('{"doctype": "openEPD", "impacts": ', encoding="utf-8")
    steel = folder / "steel.json"  # a per-tonne steel value read per kg: 687 kg CO2e for "1 kg"
    steel.write_text(
        json.dumps(
            {
                "doctype": "openEPD",
                "id": "wire-rod",
                "name": "Steel wire rod",
                "declared_unit": {"qty": 1, "unit": "kg"},
                "impacts": {"EF 3.1": {"gwp": {"A1A2A3": {"mean": 687.0, "unit": "kgCO2e"}}}},
            }
        ),
        encoding="utf-8",
    )
    return folder, [good, broken, steel, REAL / "lcax" / "lcax-3.8.0-from-lcabyg-e9e6e798.json"]


def test_one_bad_file_never_stops_the_import_and_the_exit_code_says_so(mixed, tmp_path):
    _, files = mixed
    result = CliRunner().invoke(app, ["epd", "import", *map(str, files), "-o", str(tmp_path / "lib"), "--name", "me"])
    assert result.exit_code == 1  # two files refused
    lines = result.output.splitlines()
    assert any(line.startswith("imported with 3 loss(es):") and "draft.json" in line for line in lines)
    # a refusal names the file first, then the reason (location first, issue 23)
    assert any(line.startswith("refused:") and "broken.json" in line and "not valid JSON" in line for line in lines)
    assert any(line.startswith("refused:") and "e9e6e798" in line and "no assembly" in line for line in lines)
    assert any(line.startswith("imported:") and "steel.json" in line for line in lines)
    assert (
        "2 imported with losses" not in result.output
        and "1 imported, 1 imported with losses, 2 refused" in result.output
    )
    manifest = json.loads((tmp_path / "lib" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["datasets"] == 2
    assert [o["status"] for o in manifest["import"]] == ["imported_with_losses", "refused", "imported", "refused"]


def test_a_missing_path_is_refused_and_the_others_still_import(mixed, tmp_path):
    _, files = mixed
    report = import_report([tmp_path / "nowhere.json", files[0]], name="me", screen=False)
    assert [o.status for o in report.outcomes] == ["refused", "imported_with_losses"]
    assert report.outcomes[0].error is not None and report.outcomes[0].error.location()["file"].endswith("nowhere.json")
    assert report.library is not None and len(report.library) == 1


def test_a_clean_import_exits_0(mixed, tmp_path):
    _, files = mixed
    result = CliRunner().invoke(app, ["epd", "import", str(files[0]), "-o", str(tmp_path / "one"), "--no-screen"])
    assert result.exit_code == 0, result.output


def test_a_per_tonne_value_read_per_kg_is_flagged_at_import(mixed):
    _, files = mixed
    report = import_report([files[2]], name="me")
    flags = report.flags
    assert list(flags["dataset_id"]) == ["me:wire-rod"]
    assert list(flags["indicator"]) == ["GWP-total"] and list(flags["flag"]) == ["outlier"]
    assert "687 per kg" in flags["reason"].iloc[0]


@pytest.fixture(scope="module")
def user_folders(mixed, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("libs")
    _, files = mixed
    runner = CliRunner()
    for source, name in ((files[2], "steel"), (REAL / "lcax" / "lcax-2.2.4-calculation-project.json", "dk"),
                         (files[0], "boards")):  # fmt: skip
        runner.invoke(app, ["epd", "import", str(source), "-o", str(folder / name), "--name", name, "--no-screen"])
    return {"steel": folder / "steel", "dk": folder / "dk", "boards": folder / "boards", "root": folder}


def test_the_flag_reaches_the_score_and_its_grade(user_folders):
    import mpeil
    from mpeil.model.library import load_library

    building = {
        "id": "footing",
        "gross_floor_area_m2": 100,
        "elements": [
            {"id": "F1", "element_type": "FoG", "quantity": 10, "unit": "m",
             "layers": [{"product": "steel:wire-rod", "amount": 1, "unit": "kg"}]}
        ],
    }  # fmt: skip
    library = load_library([str(user_folders["steel"])])
    result = mpeil.score(mpeil.Building.model_validate(building), method="gwp", library=library)
    row = result.scores.iloc[0]
    assert row["weight_missing"] == 0.0  # GWP-total declared: only the flag can lower the grade
    assert len(row["flags"]) == 1 and row["flags"][0].startswith("steel:wire-rod (Steel wire rod) GWP-total")
    assert row["flags"][0].endswith("(100% of the score)")
    # data/quality_grades.csv: A and B allow no flagged value driving the score, C allows them
    assert row["quality_grade"] == "C"


def test_a_data_set_no_indicator_of_the_method_can_use_is_named(user_folders):
    """An EN 15804+A1 EPD (the LCAx 2.2.4 project's steel) under the EF 3.1 method: its line counts
    as missing in every indicator, the grade falls to E and ``flags`` names the data set."""
    import mpeil
    from mpeil.model.library import load_library

    building = {
        "id": "wall",
        "gross_floor_area_m2": 100,
        "elements": [
            {"id": "W1", "element_type": "EW", "quantity": 50, "unit": "m2",
             "layers": [{"product": "dk:d61fc8da-1a0d-4baa-a0fa-194c1f8a5218", "amount": 5, "unit": "kg"}]}
        ],
    }  # fmt: skip
    library = load_library([str(user_folders["dk"])])
    row = mpeil.score(mpeil.Building.model_validate(building), library=library).scores.iloc[0]
    assert row["weight_missing"] == 1.0 and math.isnan(row["score"])
    assert row["quality_grade"] == "E"
    assert row["flags"] == [
        "dk:d61fc8da-1a0d-4baa-a0fa-194c1f8a5218 (Test fase (A1-A3)): declares none of the method's indicators "
        "in A1-A3 (it declares ADPE-A1, ADPF-A1, AP-A1, EP-A1, …); its lines count as missing"
    ]


def test_the_users_own_matching_data_set_ranks_first(user_folders):
    result = CliRunner().invoke(
        app, ["epd", "search", "gypsum", "board", "--library", str(user_folders["boards"]), "-n", "3", "-f", "csv"]
    )
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[1]
    assert first.startswith("boards:draft-"), first


def test_the_same_epd_in_two_lcax_projects_is_imported_once():
    """The LCAx 2.2.4 and 2.6.3 calculation projects carry the same steel EPD (d61fc8da…, the same
    values): the second file is imported, its copy noted, not refused."""
    lcax = REAL / "lcax"
    report = import_report(
        [lcax / "lcax-2.2.4-calculation-project.json", lcax / "lcax-2.6.3-calculation-project.json"],
        name="dk",
        screen=False,
    )
    first, second = report.outcomes
    assert (first.status, second.status) == ("imported", "imported")
    assert second.datasets == [] and second.notes[0].startswith("dk:d61fc8da-1a0d-4baa-a0fa-194c1f8a5218: the same")
    assert report.library is not None and len(report.library) == 1


def test_a_standalone_lcax_epd_imports(tmp_path):
    """An LCAx EPD document on its own (no project around it): declaredUnit m3, conversions 510.45 kg,
    impacts.gwp.a1a3 of an EN 15804+A1 EPD → GWP-A1."""
    doc = {
        "id": "f63ac879", "name": "Solid wood panel", "declaredUnit": "m3", "formatVersion": "2.6.3",
        "standard": "en15804a1", "conversions": [{"value": 510.45, "to": "kg", "metaData": None}],
        "impacts": {"gwp": {"a1a3": -660.0, "c3": 760.0}, "mrf": {"c3": 511.7}, "xyz": {"a1a3": 1.0}},
    }  # fmt: skip
    path = tmp_path / "epd.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    [outcome] = import_report([path], name="w", screen=False).outcomes
    assert outcome.status == "imported_with_losses"
    assert [(loss.what, loss.where) for loss in outcome.losses] == [("indicator", "impacts.xyz")]
    [(row, values)] = outcome.datasets
    assert row["gross_density_kg_m3"] == 510.45 and row["standard"] == "EN 15804+A1"
    assert sorted(v[1:] for v in values) == [("A1-A3", "", "GWP-A1", -660.0), ("C3", "", "GWP-A1", 760.0),
                                             ("C3", "", "MFR", 511.7)]  # fmt: skip

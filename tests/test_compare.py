"""mpeil.compare: like-for-like variants, element × stage table, explanation; typed errors for absent
and duplicate building ids in the API, the CLI and batch.

Hand calculation (tiny library, method ``gwp``, trucks 50 km for A4, 1 m² GFA, 60 years):
one m³ of ``t:concrete`` (2400 kg) gives A1-A3 300, A4 2.4 t × 50 km × 0.1 = 12, C1-C4 2+1+3+4 = 10
(322 in the score) and D −10 (reported, not counted).
"""

import json
import subprocess
import sys

import pandas as pd
import pytest

import mpeil
from mpeil.errors import DuplicateBuildingError, MethodError, UnknownBuildingError
from mpeil.model import Building, Element, Layer
from mpeil.readers import write_building
from mpeil.testing import tiny_library, tiny_scenarios

PER_M3 = {"product (A1-A3)": 300.0, "construction (A4-A5)": 12.0, "end of life (C1-C4)": 10.0, "beyond (D)": -10.0}
SCORED_PER_M3 = 322.0
YEARS = 60.0


def _concrete(element_id: str, element_type: str, thickness_m: float, area_m2: float) -> Element:
    layer = Layer(product="t:concrete", amount=thickness_m, unit="m", service_life_years=60, waste_category="Concrete")
    return Element(id=element_id, element_type=element_type, quantity=area_m2, unit="m2", layers=[layer])


def _house(building_id: str, e1_m: float, ew_id: str, ew_m: float) -> Building:
    """e1: floor, 10 m² of concrete e1_m thick; an outer wall (id ew_id) of 5 m², ew_m thick."""
    return Building(
        id=building_id,
        gross_floor_area_m2=1.0,
        elements=[_concrete("e1", "SF", e1_m, 10.0), _concrete(ew_id, "EW", ew_m, 5.0)],
    )


A = _house("A", 0.2, "e2", 0.1)  # e1 2 m³, e2 0.5 m³
B = _house("B", 0.1, "e3", 0.4)  # e1 1 m³, e3 2 m³ (another id, same type as e2)


def _options():
    return {"method": "gwp", "library": tiny_library(), "scenarios": tiny_scenarios(), "default_transport": "truck"}


@pytest.fixture(scope="module")
def comparison():
    return mpeil.compare(A, B, **_options())


def test_scores_are_hand_calculated(comparison):
    assert comparison.scores["A"] == pytest.approx(2.5 * SCORED_PER_M3 / YEARS, rel=1e-12)
    assert comparison.scores["B"] == pytest.approx(3.0 * SCORED_PER_M3 / YEARS, rel=1e-12)
    assert comparison.difference("B") == pytest.approx(0.5 * SCORED_PER_M3 / YEARS, rel=1e-12)


def test_elements_are_matched_by_id_then_by_type(comparison):
    rows = comparison.elements.set_index("key")
    assert rows.loc["id:e1", "matched_by"] == "id"
    assert rows.loc["type:EW", "matched_by"] == "type"
    assert rows.loc["type:EW", "elements A"] == "e2" and rows.loc["type:EW", "elements B"] == "e3"
    assert rows.loc["id:e1", "Δ B"] == pytest.approx(-1.0 * SCORED_PER_M3 / YEARS, rel=1e-12)
    assert rows.loc["type:EW", "Δ B"] == pytest.approx(1.5 * SCORED_PER_M3 / YEARS, rel=1e-12)
    assert list(comparison.elements["key"]) == ["type:EW", "id:e1"]  # largest change first


def test_table_is_element_by_stage_with_hand_values(comparison):
    table = comparison.table.set_index(["key", "stage"])
    for stage, per_m3 in PER_M3.items():
        assert table.loc[("id:e1", stage), "A"] == pytest.approx(2.0 * per_m3 / YEARS, rel=1e-12)
        assert table.loc[("id:e1", stage), "Δ B"] == pytest.approx(-1.0 * per_m3 / YEARS, rel=1e-12)
        assert table.loc[("type:EW", stage), "Δ B"] == pytest.approx(1.5 * per_m3 / YEARS, rel=1e-12)
    assert table.loc[("id:e1", "use (B1-B5)"), "Δ B"] == 0.0


def test_explanation_names_the_change_in_plain_words(comparison):
    text = comparison.explanation
    assert text.startswith("B is 20.0 % higher than A")  # 0.5 / 2.5 m³
    assert "EW by type (e2 → e3) +8.05 kg CO2e/(m²·yr)" in text  # 1.5 × 322 / 60
    assert "A1-A3 +7.5" in text  # 1.5 × 300 / 60
    assert "e1" in text.split("EW by type")[1]  # e1 named after the larger change
    assert "−5.37" in text  # e1: −322 / 60 = −5.367
    assert "Module D (reported, not counted) changes by −0.0833" in text  # 0.5 m³ × −10 / 60


def test_an_element_only_one_variant_has_is_reported_as_such():
    extra = A.model_copy(deep=True, update={"id": "A+"})
    extra.elements.append(_concrete("roof", "PR", 0.1, 6.0))  # 0.6 m³
    comparison = mpeil.compare(A, extra, **_options())
    row = comparison.elements.set_index("key").loc["only:A+:roof"]
    assert row["matched_by"] == "only in A+"
    assert pd.isna(row["A"])  # A has no such element: no value, not 0
    assert row["Δ A+"] == pytest.approx(0.6 * SCORED_PER_M3 / YEARS, rel=1e-12)


def test_compare_takes_files_and_results(tmp_path):
    write_building(A, tmp_path / "a.json")
    write_building(B, tmp_path / "b.csv")
    from_files = mpeil.compare(tmp_path / "a.json", str(tmp_path / "b.csv"), **_options())
    options = _options()
    result_b = mpeil.score(B, **options)
    mixed = mpeil.compare(A, result_b, **options)
    assert from_files.scores.to_dict() == pytest.approx(mixed.scores.to_dict(), rel=1e-12)


def test_results_of_other_methods_are_not_compared():
    options = _options()
    gwp = mpeil.score(A, **options)
    options["replacement_rule"] = "fractional"
    other = mpeil.score(B, **options)
    with pytest.raises(MethodError, match="like for like"):
        mpeil.compare(gwp, other)


def test_result_compare_refuses_an_absent_building():
    result = mpeil.score([A, B], **_options())
    with pytest.raises(UnknownBuildingError, match="'Z'") as caught:
        result.compare("A", "Z")
    assert isinstance(caught.value, KeyError)
    assert result.compare("A", "B").loc["e1", "difference"] == pytest.approx(-SCORED_PER_M3 / YEARS, rel=1e-12)


def test_duplicate_building_ids_in_one_call_are_a_typed_error(tmp_path):
    twin = B.model_copy(deep=True, update={"id": "A"})
    with pytest.raises(DuplicateBuildingError, match="'A' appears twice") as caught:
        mpeil.score([A, twin], **_options())
    assert isinstance(caught.value, ValueError)
    with pytest.raises(DuplicateBuildingError):
        mpeil.compare(A, twin, **_options())
    write_building(A, tmp_path / "a.json")
    write_building(twin, tmp_path / "twin.json")
    with pytest.raises(DuplicateBuildingError) as caught:
        mpeil.score([tmp_path / "a.json", tmp_path / "twin.json"], **_options())
    assert caught.value.file == str(tmp_path / "twin.json")


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "mpeil", *args], capture_output=True, text=True, timeout=300)


def test_cli_duplicate_ids_are_one_typed_line_and_the_first_file_is_scored(tmp_path):
    from mpeil.paths import scenarios_dir

    house = scenarios_dir() / "examples" / "terraced_house.json"
    run = _cli("score", str(house), str(house), "-f", "json")
    assert run.returncode == 1
    assert "Unknown format code" not in run.stderr and "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error DuplicateBuildingError: file '{house}'")  # where first
    assert "building id 'example-terraced-house'" in lines[0]
    scored = json.loads(run.stdout)
    assert [row["building_id"] for row in scored] == ["example-terraced-house"]
    table = _cli("score", str(house), str(house))
    assert table.returncode == 1 and "Unknown format code" not in table.stderr + table.stdout


@pytest.mark.parametrize("chunk_size", [10, 1], ids=["one-chunk", "chunk-per-file"])
def test_batch_gives_the_second_file_an_error_row_and_goes_on(tmp_path, chunk_size):
    from mpeil.batch import run_batch

    folder = tmp_path / "in"
    folder.mkdir()
    write_building(A, folder / "1-a.json")
    write_building(B.model_copy(update={"id": "A"}), folder / "2-a-again.json")
    write_building(B, folder / "3-b.json")
    library, scenarios = tiny_library(), tiny_scenarios()
    summary = run_batch(
        [folder],
        tmp_path / "out",
        method="gwp",
        gwp_method=None,
        method_options={"default_transport": "truck"},
        library=library,
        scenarios=scenarios,
        report_indicators=("GWP-total",),
        chunk_size=chunk_size,
    )
    assert summary.exit_code == 1 and summary.files_failed == 1
    errors = pd.read_parquet(tmp_path / "out" / "errors.parquet")
    assert list(errors["error_type"]) == ["DuplicateBuildingError"]
    assert errors["file"].iloc[0].endswith("2-a-again.json") and errors["building"].iloc[0] == "A"
    scored = pd.read_parquet(tmp_path / "out" / "summary.parquet")
    assert sorted(scored["building"]) == ["A", "B"]
    assert scored.set_index("building").loc["A", "file"].endswith("1-a.json")
    receipts = sorted(path.name for path in (tmp_path / "out" / "receipts").iterdir())
    assert len(receipts) == 2 and not any("again" in name for name in receipts)


def test_explanation_warns_when_a_variant_has_more_data_gaps():
    """B adds 1000 kg of t:brick (A1-A3 0.2/kg, A4 1 t × 50 km × 0.1, C2 1 t × 30 km × 0.1) and no waste
    category, so C1, C3 and C4 have no data on one of its three lines: 208 / 60 more, and a warning."""
    wall = Element(
        id="w",
        element_type="EW",
        quantity=10.0,
        layers=[Layer(product="t:brick", amount=100.0, unit="kg", service_life_years=60)],
    )
    with_brick = A.model_copy(deep=True, update={"id": "A+brick"})
    with_brick.elements.append(wall)
    comparison = mpeil.compare(A, with_brick, **_options())
    assert comparison.difference("A+brick") == pytest.approx((200.0 + 5.0 + 3.0) / YEARS, rel=1e-12)
    text = comparison.explanation
    assert "w [only in A+brick] +3.47" in text
    assert "A+brick has more lines without data than A in C1 33 %, C3 33 %, C4 33 %" in text  # 1 of 3 lines


def test_cli_compare_prints_the_explanation_and_the_table(tmp_path):
    """The CLI scores with the shipped library: check it against the Python API on the same files."""
    from mpeil.paths import scenarios_dir

    house = scenarios_dir() / "examples" / "terraced_house.json"
    flat = scenarios_dir() / "examples" / "apartment_building.json"
    run = _cli("compare", str(house), str(flat))
    assert run.returncode == 0, run.stderr
    expected = mpeil.compare(house, flat)
    # the explanation is wrapped to the terminal's width: the same words in the same order
    assert " ".join(run.stdout.split()).startswith(" ".join(expected.explanation.split()))
    assert "Element contributions [mPt/(m²·yr)]" in run.stdout
    as_json = json.loads(_cli("compare", str(house), str(flat), "-f", "json").stdout)
    assert [row["label"] for row in as_json] == list(expected.elements["label"])
    twice = _cli("compare", str(house), str(house))
    assert twice.returncode == 1 and twice.stderr.startswith("error DuplicateBuildingError")

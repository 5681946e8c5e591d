"""``mpeil batch`` on a corpus of good and deliberately broken inputs: one precise error row per bad
input, every good building scored, and the output files exactly as SCHEMAS.md documents them."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from batch_support import (
    CONCRETE,
    MINERAL_WOOL,
    REBAR,
    SAND_LIME,
    good_building,
    limits_for_tests,
    write_broken_corpus,
    write_good_corpus,
)

import mpeil
from mpeil.batch import run_batch
from mpeil.model.library import load_library
from mpeil.paths import data_dir
from mpeil.readers import write_building

SCHEMAS_MD = Path(mpeil.__file__).parent / "batch" / "SCHEMAS.md"
AS_OF = "2026-06-01"  # the four data sets of the good buildings are valid until (the end of) 2026


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    good = write_good_corpus(folder / "in")
    broken = write_broken_corpus(folder / "in")
    # a good building with a line that has no service life (takes the study period)
    no_life = good_building(50, "house-default-life")
    no_life.elements[0].layers[1].service_life_years = None
    write_building(no_life, folder / "in" / "good-default-life.json")
    good.append(os.path.abspath(folder / "in" / "good-default-life.json"))
    good.append(os.path.abspath(folder / "in" / "zip-mixed.zip") + "!/a-good.json")
    (folder / "in" / "notes.txt").write_text("not a building file: ignored in a folder")
    (folder / "in" / ".hidden.json").write_text("{ hidden files are ignored")
    out = folder / "out"
    summary = run_batch([folder / "in"], out, chunk_size=7, limits=limits_for_tests(), as_of=AS_OF, duckdb=True)
    return {"good": good, "broken": broken, "out": out, "summary": summary, "in": folder / "in"}


def _rows(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


# ============================================================================ errors and scores
def test_corpus_is_large_and_covers_every_kind(corpus):
    broken = corpus["broken"]
    assert len(broken) >= 50
    fields = {field for _, field in broken.values()}
    kinds = {kind for kind, _ in broken.values()}
    for field in (
        "amount",
        "unit",
        "product",
        "ratio",
        "gross_floor_area_m2",
        "file_size",
        "zip_compression_ratio",
        "zip_uncompressed_total",
        "member_path",
        "element_quantity",
        None,
    ):
        assert field in fields
    assert {
        "ParseError",
        "InputError",
        "UnitError",
        "ConversionError",
        "UnknownEPDError",
        "UnknownScenarioError",
    } <= kinds


def test_every_broken_input_gives_exactly_one_precise_error_row(corpus):
    rows = _rows(corpus["out"] / "errors.parquet")
    files = [row["file"] for row in rows]
    assert len(files) == len(set(files)), "an input has more than one error row"
    assert set(files) == set(corpus["broken"])
    for row in rows:
        error_type, field = corpus["broken"][row["file"]]
        assert (row["error_type"], row["field"]) == (error_type, field), row
        assert row["message"]


def test_error_rows_locate_the_problem(corpus):
    by_name = {row["file"].rsplit("/", 1)[-1]: row for row in _rows(corpus["out"] / "errors.parquet")}
    row = by_name["json-unknown-dataset.json"]
    assert (row["building"], row["element"], row["layer"]) == ("house-000", "wall", "C1 (line 1)")
    row = by_name["json-mass-absurd.json"]  # the rebar line of the floor
    assert (row["building"], row["element"], row["layer"]) == ("house-000", "floor", "C2 (line 2)")
    row = by_name["csv-text-amount.csv"]
    assert (row["building"], row["element"], row["layer"]) == ("house-000", "wall", "C1 (row 2)")
    assert (
        by_name["json-malformed.json"]["input_sha256"]
        == hashlib.sha256((corpus["in"] / "json-malformed.json").read_bytes()).hexdigest()
    )
    assert by_name["json-huge.json"]["input_sha256"] is None  # refused before reading


def test_every_good_input_is_scored_once(corpus):
    rows = _rows(corpus["out"] / "summary.parquet")
    assert sorted(row["file"] for row in rows) == sorted(corpus["good"])
    for row in rows:
        assert math.isfinite(row["score"]) and row["score"] > 0
        assert math.isfinite(row["gwp_per_m2_yr"]) and row["gwp_per_m2_yr"] > 0
        assert row["score_unit"] == "mPt/(m²·yr)" and row["gwp_unit"] == "kg CO2e/(m²·yr)"
    summary = corpus["summary"]
    assert (summary.files, summary.files_scored, summary.errors) == (
        len(corpus["good"]) + len(corpus["broken"]),
        len(corpus["good"]),
        len(corpus["broken"]),
    )
    assert summary.exit_code == 1


def test_ignored_files_are_in_no_table(corpus):
    labels = {r["file"] for r in _rows(corpus["out"] / "summary.parquet")} | {
        r["file"] for r in _rows(corpus["out"] / "errors.parquet")
    }
    assert not any(label.endswith(("notes.txt", ".hidden.json", "README.txt", "._house.json")) for label in labels)


def test_batch_scores_equal_mpeil_score_bit_for_bit(corpus):
    rows = {row["file"]: row for row in _rows(corpus["out"] / "summary.parquet")}
    library = load_library()
    for label in corpus["good"][:2]:
        alone = mpeil.score(label, library=library).scores.iloc[0]
        assert rows[label]["score"].hex() == float(alone["score"]).hex()
        gwp = mpeil.score(label, method="gwp", library=library).scores.iloc[0]
        assert rows[label]["gwp_per_m2_yr"].hex() == float(gwp["score"]).hex()


def test_results_rows_equal_result_to_frame(corpus):
    label = corpus["good"][1]  # a CSV bill of materials
    table = pq.read_table(corpus["out"] / "results").to_pandas()
    ours = table[table["file"] == label].drop(columns="file").reset_index(drop=True)
    expected = mpeil.score(label, library=load_library()).to_frame(include_missing=True).reset_index(drop=True)
    assert sorted(ours.columns) == sorted(expected.columns)
    for column in ("building", "element", "element_type", "module", "indicator", "unit"):
        assert ours[column].astype(object).tolist() == expected[column].astype(object).tolist(), column
    assert ours["missing_lines"].tolist() == expected["missing_lines"].tolist()
    hexes = [None if v != v else float(v).hex() for v in ours["value"]]
    assert hexes == [None if v != v else float(v).hex() for v in expected["value"]]


def test_error_rows_do_not_depend_on_the_chunking(corpus, tmp_path):
    # one chunk holding every input: the whole-chunk compile fails, bad files are found one by one
    run_batch([corpus["in"]], tmp_path / "one-chunk", chunk_size=1000, limits=limits_for_tests(), as_of=AS_OF)
    columns = ["file", "building", "element", "layer", "field", "error_type", "message", "input_sha256"]
    chunked = pq.read_table(corpus["out"] / "errors.parquet", columns=columns)
    whole = pq.read_table(tmp_path / "one-chunk" / "errors.parquet", columns=columns)
    assert whole.equals(chunked)
    scores = [
        pq.read_table(path / "summary.parquet", columns=["file", "building", "score", "gwp_per_m2_yr"])
        for path in (corpus["out"], tmp_path / "one-chunk")
    ]
    assert scores[0].equals(scores[1])


def test_data_quality_figures(corpus):
    rows = {row["building"]: row for row in _rows(corpus["out"] / "summary.parquet")}
    house = rows["house-000"]
    # 4 lines of 4 generic ÖKOBAUDAT data sets (data/epd/obd2024: data_type "generic", valid until 2026)
    datasets = pq.read_table(
        data_dir() / "epd" / "obd2024" / "datasets.parquet", columns=["dataset_id", "data_type", "valid_until"]
    ).to_pylist()
    ours = {d["dataset_id"]: d for d in datasets if d["dataset_id"] in (CONCRETE, REBAR, SAND_LIME, MINERAL_WOOL)}
    assert {d["data_type"] for d in ours.values()} == {"generic"}
    assert {d["valid_until"] for d in ours.values()} == {"2026"}
    assert (house["n_elements"], house["n_lines"]) == (2, 4)
    assert house["share_lines_mapped"] == 1.0
    shares = (house["share_generic_lines"], house["share_specific_lines"], house["share_average_lines"])
    assert shares == (1.0, 0.0, 0.0)
    assert house["expired_epd_lines"] == 0 and house["expired_epds"] == []  # 2026 is valid on 2026-06-01
    assert house["default_service_life_lines"] == 0
    assert rows["house-default-life"]["default_service_life_lines"] == 1
    assert any("study period" in w for w in rows["house-default-life"]["warnings"])
    # mass by hand: wall 120 m² × 0.15 m × 2000 kg/m³ = 36,000 kg; wool 120 × 0.12 × 30 = 432;
    # floor 50 × 0.2 × 2360 = 23,600; rebar 50 × 12 = 600 → 60,632 kg over 100 m² GFA
    assert house["share_lines_with_mass"] == 1.0
    assert house["mass_kg_per_m2"] == pytest.approx(606.32, rel=1e-12)
    assert house["gross_floor_area_m2"] == 100.0 and house["study_period_years"] == 60.0


def test_expired_epds_are_counted_at_the_as_of_date(tmp_path):
    write_building(good_building(0), tmp_path / "house.json")
    run_batch([tmp_path / "house.json"], tmp_path / "out", as_of="2027-01-01")
    row = _rows(tmp_path / "out" / "summary.parquet")[0]
    assert row["expired_epd_lines"] == 4
    assert row["expired_epds"] == sorted([CONCRETE, REBAR, SAND_LIME, MINERAL_WOOL])
    assert any("expired" in w for w in row["warnings"])


# ============================================================================ schemas
def _documented() -> dict[str, list[tuple[str, str]]]:
    """Every `| column | type | meaning |` table of SCHEMAS.md, by the heading above it."""
    tables: dict[str, list[tuple[str, str]]] = {}
    heading = None
    for line in SCHEMAS_MD.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            heading = line[3:].split(" ")[0]
        match = re.match(r"^\| ([a-z_0-9]+) \| ([^|]+) \|", line)
        if match and match.group(1) != "column" and heading:
            kind = match.group(2).strip().replace("&lt;", "<").replace("&gt;", ">")
            tables.setdefault(heading, []).append((match.group(1), kind))
    return tables


def _actual(path: Path) -> list[tuple[str, str]]:
    return [(f.name, str(f.type)) for f in pq.read_schema(path)]


def test_schemas_are_as_documented(corpus):
    documented = _documented()
    out = corpus["out"]
    assert _actual(out / "summary.parquet") == documented["summary.parquet"]
    assert _actual(out / "errors.parquet") == documented["errors.parquet"]
    parts = sorted((out / "results").glob("*.parquet"))
    assert len(parts) == corpus["summary"].chunks
    for part in parts:  # every part, also one whose chunk held only bad inputs
        assert _actual(part) == documented["results/part-&lt;chunk&gt;.parquet"]
    assert any(pq.read_metadata(p).num_rows == 0 for p in parts)  # chunk 0 is all broken inputs (sorted first)


def test_results_are_tidy_and_hold_each_row_once(corpus):
    table = pq.read_table(corpus["out"] / "results")  # the folder as one data set
    rows = table.select(["file", "building", "element", "module", "indicator"]).to_pylist()
    keys = [tuple(r.values()) for r in rows]
    assert len(keys) == len(set(keys))
    summary = _rows(corpus["out"] / "summary.parquet")
    assert {(r["file"], r["building"]) for r in rows} == {(r["file"], r["building"]) for r in summary}
    # 2 elements × 13 modules × 19 report indicators per building
    assert len(rows) == len(summary) * 2 * 13 * 19


def test_duckdb_holds_the_tables(corpus):
    import duckdb

    out = corpus["out"]
    with duckdb.connect(str(out / "mpeil.duckdb"), read_only=True) as connection:
        for name, path in (("summary", out / "summary.parquet"), ("errors", out / "errors.parquet")):
            assert connection.execute(f"SELECT count(*) FROM {name}").fetchone()[0] == pq.read_metadata(path).num_rows
            columns = [r[0] for r in connection.execute(f"DESCRIBE {name}").fetchall()]
            assert columns == pq.read_schema(path).names
        n_results = connection.execute("SELECT count(*) FROM results").fetchone()[0]
        assert n_results == pq.read_table(out / "results").num_rows


def test_manifest_and_receipts(corpus):
    out = corpus["out"]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for key in (
        "engine_version",
        "method",
        "gwp_method",
        "library",
        "scenarios",
        "options",
        "inputs",
        "counts",
        "scores",
        "outputs",
        "exit_code",
    ):
        assert key in manifest
    assert (
        manifest["method"]["sha256"]
        == hashlib.sha256(
            (Path(mpeil.__file__).parent.parent / "scenarios" / "methods" / "mpeil-ef31.toml").read_bytes()
        ).hexdigest()
    )
    assert manifest["counts"]["errors"] == len(corpus["broken"])
    assert manifest["outputs"]["summary.parquet"] == hashlib.sha256((out / "summary.parquet").read_bytes()).hexdigest()
    for name, digest in manifest["outputs"]["results"].items():
        assert hashlib.sha256((out / "results" / name).read_bytes()).hexdigest() == digest
    summary = _rows(out / "summary.parquet")
    assert len(list((out / "receipts").glob("*.json"))) == len(summary)
    for row in summary:
        receipt = json.loads((out / row["receipt"]).read_text(encoding="utf-8"))
        assert receipt["building"] == row["building"] and receipt["input"]["file"] == row["file"]
        assert receipt["input"]["sha256"] == row["input_sha256"]
        assert float.fromhex(receipt["numbers"]["score"]["hex"]) == row["score"]
        assert float.fromhex(receipt["numbers"]["gwp_per_m2_yr"]["hex"]) == row["gwp_per_m2_yr"]
        assert receipt["options"]["as_of"] == AS_OF
    leftovers = [p for p in out.rglob(".*") if ".tmp-" in p.name]
    assert not leftovers

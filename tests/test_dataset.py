"""Benchmark datasets (issue 13): reproducible bytes, documented columns, schema, distributions, batch input."""

import json
import subprocess
import sys

import jsonschema
import numpy as np
import pandas as pd
import pytest

import mpeil
from mpeil.analysis.dataset import build_dataset, size_classes
from mpeil.batch import run_batch
from mpeil.synthetic import generate_stock, write_stock

TABLES = ("buildings", "elements", "stages", "distributions")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("ds") / "a"
    return out, build_dataset(out, n=40, seed=3)


def test_the_same_seed_gives_the_same_bytes(dataset, tmp_path):
    first, manifest = dataset
    build_dataset(tmp_path / "b", n=40, seed=3)
    for path in sorted(first.iterdir()):
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes(), path.name
    other = build_dataset(tmp_path / "c", n=40, seed=4)
    assert other["hashes"]["input"] != manifest["hashes"]["input"]
    assert other["files"]["buildings.parquet"] != manifest["files"]["buildings.parquet"]


def test_manifest_hashes_the_files_and_names_inputs_library_method(dataset):
    folder, manifest = dataset
    import hashlib

    for name, digest in manifest["files"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    assert set(manifest["hashes"]) == {"input", "method", "library", "scenarios"}
    assert manifest["seed"] == 3 and manifest["n_buildings"] == 40
    assert json.loads((folder / "manifest.json").read_text()) == manifest


def test_the_datacard_and_the_schema_explain_every_column(dataset):
    folder, _ = dataset
    card = (folder / "datacard.md").read_text()
    schema = json.loads((folder / "schema.json").read_text())
    for table in TABLES:
        frame = pd.read_parquet(folder / f"{table}.parquet")
        for column in frame.columns:
            assert f"| `{column}` |" in card, (table, column)
        definition = schema["$defs"][table]
        assert list(definition["properties"]) == list(frame.columns)
        for row in frame.head(5).to_dict(orient="records"):
            clean = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
            clean = {k: (int(v) if isinstance(v, np.integer) else v) for k, v in clean.items()}
            jsonschema.validate(clean, definition)


def test_buildings_match_a_direct_score_and_nothing_undeclared_is_zero(dataset):
    folder, _ = dataset
    buildings = pd.read_parquet(folder / "buildings.parquet").set_index("building_id")
    direct = mpeil.score(generate_stock(40, seed=3))
    np.testing.assert_allclose(buildings["score"], direct.scores["score"].reindex(buildings.index), rtol=1e-12)
    # an indicator no line has data for is null, not 0 (ÖKOBAUDAT generic data do not declare PM;
    # with a gap policy that fills peer estimates it has values)
    missing = direct.scores["indicators_missing"].reindex(buildings.index).map(lambda codes: "PM" in codes)
    assert (buildings["PM_per_m2_yr"].isna() == missing).all()
    assert missing.any() or buildings["PM_per_m2_yr"].notna().all()
    assert (buildings["gwp_per_m2_yr"] > 0).all()
    stages = pd.read_parquet(folder / "stages.parquet")
    counted = stages[stages["stage"] != "beyond (D)"].groupby("building_id")["score"].sum()
    np.testing.assert_allclose(counted.reindex(buildings.index), buildings["score"], rtol=1e-9)
    elements = pd.read_parquet(folder / "elements.parquet").groupby("building_id")["score"].sum()
    np.testing.assert_allclose(elements.reindex(buildings.index), buildings["score"], rtol=1e-9)


def test_distributions_are_the_percentiles_of_the_groups(dataset):
    folder, _ = dataset
    buildings = pd.read_parquet(folder / "buildings.parquet")
    table = pd.read_parquet(folder / "distributions.parquet")
    classes = size_classes()
    for _, row in table[table["metric"] == "score"].iterrows():
        part = buildings
        if row["archetype"] != "all":
            part = part[part["archetype"] == row["archetype"]]
        if row["size_class"] != "all":
            part = part[part["size_class"] == row["size_class"]]
        values = np.sort(part["score"].to_numpy())
        assert row["n"] == len(values)
        assert row["p50"] == pytest.approx(np.median(values), rel=1e-12)
        assert row["p5"] <= row["p25"] <= row["p50"] <= row["p75"] <= row["p95"]
    assert set(buildings["size_class"]) <= set(classes["size_class"])
    for _, b in buildings.iterrows():  # size class from the bounds, by hand
        cls = classes[
            (classes["min_gfa_m2"] <= b["gross_floor_area_m2"]) & (b["gross_floor_area_m2"] < classes["max_gfa_m2"])
        ]
        assert b["size_class"] == cls["size_class"].iloc[0]


def test_dataset_from_batch_outputs_has_the_same_scores(tmp_path):
    write_stock(6, tmp_path / "in", seed=8)
    run_batch([tmp_path / "in"], tmp_path / "batch", as_of="2027-01-01")
    manifest = build_dataset(tmp_path / "ds", batch=tmp_path / "batch")
    buildings = pd.read_parquet(tmp_path / "ds" / "buildings.parquet").set_index("building_id")
    direct = mpeil.score(generate_stock(6, seed=8))
    np.testing.assert_allclose(buildings["score"], direct.scores["score"].reindex(buildings.index), rtol=1e-12)
    np.testing.assert_allclose(
        buildings["GWP-total_per_m2_yr"], direct.per_m2_year()["GWP-total"].reindex(buildings.index), rtol=1e-9
    )
    elements = pd.read_parquet(tmp_path / "ds" / "elements.parquet").groupby("building_id")["score"].sum()
    np.testing.assert_allclose(elements.reindex(buildings.index), buildings["score"], rtol=1e-9)
    assert manifest["source"].startswith("batch outputs")
    summary = pd.read_parquet(tmp_path / "batch" / "summary.parquet").set_index("building")
    assert list(summary["label"].reindex(buildings.index)) == list(direct.scores["label"].reindex(buildings.index))
    assert list(buildings["label"]) == list(direct.scores["label"].reindex(buildings.index))
    missing = direct.scores["indicators_missing"].reindex(buildings.index).map(lambda codes: "PM" in codes)
    assert (buildings["PM_per_m2_yr"].isna() == missing).all()


def test_cli_builds_a_dataset_and_reports_a_bad_folder_in_one_line(tmp_path):
    ok = subprocess.run(
        [sys.executable, "-m", "mpeil", "dataset", "build", "--n", "5", "--seed", "1", "--out", str(tmp_path / "d")],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "d" / "datacard.md").is_file()
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "mpeil",
            "dataset",
            "build",
            "--out",
            str(tmp_path / "e"),
            "--from-batch",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "summary.parquet" in bad.stderr and "Traceback" not in bad.stderr

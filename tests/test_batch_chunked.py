"""The chunked path of ``mpeil batch``: a chunk's files are read one by one, then flattened, compiled
and scored together, under one budget per chunk. A bad file is one error row and leaves the rest of
its chunk scored; a chunk over its budget is scored again file by file; and the numbers, rows and
receipts are those of scoring each file on its own (a chunk of one file), bit for bit."""

from __future__ import annotations

import json
import multiprocessing
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from batch_support import assert_same_outputs, building_dict, limits_for_tests

from mpeil.batch import run_batch, runner
from mpeil.batch.tables import label_column
from mpeil.readers.guards import check_json

AS_OF = "2026-06-01"


def _write(path: Path, data) -> None:
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Five one-building files and, between them, one whose layer has an unknown unit."""
    root = tmp_path_factory.mktemp("chunked") / "in"
    root.mkdir()
    for i in range(5):
        _write(root / f"house-{i}.json", building_dict(i))
    bad = building_dict(7)
    bad["elements"][1]["layers"][0]["unit"] = "blorp"
    _write(root / "house-2-bad.json", bad)
    return root


@pytest.fixture(scope="module")
def outputs(folder, tmp_path_factory) -> dict[str, Path]:
    """The folder scored as one chunk and as chunks of one file."""
    out = tmp_path_factory.mktemp("chunked-out")
    for name, size in (("one-chunk", 10), ("per-file", 1)):
        run_batch([folder], out / name, chunk_size=size, limits=limits_for_tests(), as_of=AS_OF)
    return {"one-chunk": out / "one-chunk", "per-file": out / "per-file"}


def test_a_bad_file_in_a_chunk_is_one_typed_error_row_and_the_rest_is_scored(outputs):
    errors = pq.read_table(outputs["one-chunk"] / "errors.parquet").to_pylist()
    assert len(errors) == 1
    (row,) = errors
    assert row["file"].endswith("house-2-bad.json")
    assert (row["building"], row["element"], row["error_type"], row["chunk"]) == ("house-007", "floor", "UnitError", 0)
    assert row["message"] and "\n" not in row["message"]
    summary = pq.read_table(outputs["one-chunk"] / "summary.parquet").to_pylist()
    assert sorted(r["building"] for r in summary) == [f"house-{i:03d}" for i in range(5)]
    assert {r["chunk"] for r in summary} == {0}


def test_one_chunk_gives_the_rows_and_receipts_of_each_file_scored_alone(outputs):
    whole, alone = outputs["one-chunk"], outputs["per-file"]
    columns = ["file", "building", "element", "layer", "field", "error_type", "message", "input_sha256"]
    assert pq.read_table(whole / "errors.parquet", columns=columns).equals(
        pq.read_table(alone / "errors.parquet", columns=columns)
    )
    left = pq.read_table(whole / "summary.parquet").drop_columns(["chunk"]).sort_by("file")
    right = pq.read_table(alone / "summary.parquet").drop_columns(["chunk"]).sort_by("file")
    assert left.equals(right)
    for column in ("score", "gwp_per_m2_yr", "weight_covered", "mass_kg_per_m2"):
        assert [v.hex() for v in left[column].to_pylist()] == [v.hex() for v in right[column].to_pylist()]
    results = [pq.read_table(path / "results").sort_by([("file", "ascending")]) for path in (whole, alone)]
    assert results[0].num_rows == results[1].num_rows > 0
    assert results[0].equals(results[1])
    receipts = {p.name: p.read_bytes() for p in (whole / "receipts").iterdir()}
    assert len(receipts) == 5
    assert receipts == {p.name: p.read_bytes() for p in (alone / "receipts").iterdir()}


def test_results_parts_read_back_as_the_documented_plain_columns(outputs):
    part = pq.read_table(outputs["one-chunk"] / "results" / "part-000000.parquet")
    assert part.schema.field("file").type == pa.string()  # not a dictionary column
    assert part.schema.field("missing_lines").type == pa.int32()
    assert part.column("building").unique().to_pylist() == [f"house-{i:03d}" for i in range(5)]


def test_a_chunk_over_its_budget_is_scored_again_file_by_file(folder, outputs, tmp_path, monkeypatch):
    calls: list[tuple[int, str]] = []
    budgeted = runner.run_with_budget

    def recording(function, args, seconds, memory):
        outcome = budgeted(function, args, seconds, memory)
        calls.append((len(args[0]), outcome.status))
        return outcome

    monkeypatch.setattr(runner, "run_with_budget", recording)
    monkeypatch.setattr(runner, "_chunk_seconds", lambda seconds, files: 0.0)  # no chunk fits its budget
    run_batch([folder], tmp_path / "retried", chunk_size=10, limits=limits_for_tests(), as_of=AS_OF)
    assert calls == [(6, "timeout")] + [(1, "ok")] * 6
    assert_same_outputs(outputs["one-chunk"], tmp_path / "retried")


def test_a_file_that_hangs_in_a_chunk_is_the_only_file_over_budget(folder, tmp_path, monkeypatch):
    read = runner.read_item

    def slow_for_one(item, *args):
        if item.label.endswith("house-3.json"):
            time.sleep(60)  # killed at its budget
        return read(item, *args)

    monkeypatch.setattr(runner, "read_item", slow_for_one)
    limits = limits_for_tests().replace(seconds_per_file=1.5)
    summary = run_batch([folder], tmp_path / "out", chunk_size=10, limits=limits, as_of=AS_OF)
    errors = {Path(r["file"]).name: r for r in pq.read_table(tmp_path / "out" / "errors.parquet").to_pylist()}
    assert sorted(errors) == ["house-2-bad.json", "house-3.json"]
    assert errors["house-3.json"]["field"] == "seconds_per_file"
    assert errors["house-2-bad.json"]["error_type"] == "UnitError"
    assert (summary.files, summary.buildings, summary.errors) == (6, 4, 2)


def test_label_column_reads_back_as_its_labels_with_nulls(tmp_path):
    column = label_column(np.array([0, 1, 0, 2], dtype=np.int32), ["a", None, "c"])
    table = pa.table({"label": column})
    path = tmp_path / "labels.parquet"
    pq.write_table(table, path, store_schema=False)
    back = pq.read_table(path).column("label")
    assert back.type == pa.string()
    assert back.to_pylist() == ["a", None, "a", "c"]


@pytest.mark.parametrize(
    "text, counts",
    [
        # braces and commas inside strings do not count; nothing is escaped (the guard's quick path)
        ('{"a": "[[{,", "b": [{"c": 1}, 2]}', (3, 3, 5, 4)),
        # the same with an escaped quote inside the first string (the guard's escape path)
        ('{"a": "[[\\"{,", "b": [{"c": 1}, 2]}', (3, 3, 5, 6)),
    ],
)
def test_json_guard_counts_outside_strings(text, counts):
    guard = check_json(text.encode(), limits_for_tests())
    assert (guard.max_depth, guard.containers, guard.values, guard.longest_string) == counts


@pytest.mark.parametrize("method", [m for m in ("fork", "spawn") if m in multiprocessing.get_all_start_methods()])
def test_pool_workers_forked_or_spawned_give_the_serial_outputs(folder, outputs, tmp_path, monkeypatch, method):
    started: list[str] = []
    start_pool = runner._start_pool

    def recording(jobs: int):
        pool = start_pool(jobs)
        started.append(pool._mp_context.get_start_method())
        return pool

    monkeypatch.setattr(runner, "_start_method", lambda: method)
    monkeypatch.setattr(runner, "_start_pool", recording)
    summary = run_batch([folder], tmp_path / method, chunk_size=1, limits=limits_for_tests(), as_of=AS_OF, jobs=2)
    assert started == [method] and summary.executor == "processes:2"
    assert_same_outputs(outputs["per-file"], tmp_path / method)

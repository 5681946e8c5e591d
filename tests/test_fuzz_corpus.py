"""The hostile-input corpus (tests/fuzz/corpus.py): 0 tracebacks, 0 hangs, 0 absurd inputs scored,
0 batch stops, and every input gets the outcome decided for it when it was built.

Most cases run in-process through the readers, the validation layer and ``mpeil.score`` (in forked
groups, so a hang is counted, not waited for); the zip archives and a sample of the files run
through one ``mpeil batch`` subprocess, where each input must give exactly one error row or its
summary rows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fuzz.corpus import base_building, build_corpus
from fuzz.run import run_in_process, tally

from mpeil.batch.inputs import item_label
from mpeil.model.library import load_library

BATCH_SAMPLE = 8  # every 8th file case joins the zip archives in the batch run


@pytest.fixture(scope="module")
def corpus():
    return build_corpus()


def test_the_corpus_has_2000_hostile_inputs_across_formats(corpus):
    kinds = Counter(case.kind for case in corpus)
    assert len(corpus) >= 2000
    assert {"json", "csv", "xlsx", "zip", "unit"} <= set(kinds)
    assert min(kinds.values()) >= 15
    assert {case.expect for case in corpus} == {"error", "score", "either"}


@pytest.fixture(scope="module")
def in_process(corpus, tmp_path_factory):
    rows = run_in_process([case for case in corpus if case.kind != "zip"], load_library())
    counts = tally(rows)
    report = tmp_path_factory.mktemp("fuzz") / "report.json"
    report.write_text(json.dumps(counts, indent=1, default=str), encoding="utf-8")
    return counts


def test_no_traceback_and_no_hang(in_process):
    assert in_process["tracebacks"] == []
    assert in_process["hangs"] == []


def test_no_absurd_input_is_scored(in_process):
    assert in_process["absurd_scored"] == []


def test_hostile_but_valid_inputs_still_score(in_process):
    assert in_process["valid_refused"] == []
    assert in_process["scored"] >= 50


def test_every_refusal_is_typed(in_process, corpus):
    non_zip = sum(case.kind != "zip" for case in corpus)
    assert in_process["cases"] == non_zip
    assert in_process["typed_errors"] + in_process["scored"] == non_zip
    assert in_process["file_errors_not_naming_the_file"] == []


# ------------------------------------------------------------------ through mpeil batch
def _batch_folder(corpus, folder: Path) -> dict[str, str]:
    """Write the batch cases; returns label → expected outcome (error | score | either)."""
    folder.mkdir()
    expected: dict[str, str] = {}
    files = [case for case in corpus if case.kind in ("json", "csv", "xlsx")][::BATCH_SAMPLE]
    for case in files + [case for case in corpus if case.kind == "zip"]:
        path = folder / (case.name + case.suffix)
        path.write_bytes(case.data)
        absolute = os.path.abspath(path)
        if case.kind != "zip":
            expected[item_label(absolute, None)] = case.expect
        for member, expect in case.zip_expect:
            expected[item_label(absolute, member or None)] = expect
    odd = folder / os.fsdecode(b"non-utf8-\xff\xfe.json")  # a file name that is not UTF-8
    odd.write_text(json.dumps(base_building(3)), encoding="utf-8")
    expected[item_label(os.path.abspath(odd), None)] = "score"
    outside = folder.parent / "outside.json"
    outside.write_text(json.dumps(base_building(4)), encoding="utf-8")
    (folder / "link-outside.json").symlink_to(outside)
    expected[item_label(os.path.abspath(folder / "link-outside.json"), None)] = "error"
    return expected


def test_the_batch_never_stops_and_gives_one_row_per_bad_input(corpus, tmp_path):
    expected = _batch_folder(corpus, tmp_path / "in")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "mpeil", "batch", str(tmp_path / "in"), "--out", str(out)]
    done = subprocess.run([*command, "--chunk-size", "40", "--no-progress"], capture_output=True, timeout=900)
    assert done.returncode == 1, done.stderr.decode(errors="replace")[-2000:]  # 1: some inputs refused
    errors = pq.read_table(out / "errors.parquet").to_pylist()
    scored = set(pq.read_table(out / "summary.parquet", columns=["file"])["file"].to_pylist())
    error_files = Counter(row["file"] for row in errors)
    assert [f for f, n in error_files.items() if n > 1] == []
    assert not [row for row in errors if row["error_type"].startswith("InternalError")]
    assert set(error_files) | scored == set(expected), "an input is missing from both tables"
    wrong = {
        label: (want, "error" if label in error_files else "score")
        for label, want in expected.items()
        if want != "either" and (label in error_files) != (want == "error")
    }
    assert wrong == {}
    assert not set(error_files) & scored

"""A batch killed midway (SIGKILL, the process really dies) and resumed gives the same outputs as an
uninterrupted run: finished chunks are neither recomputed nor duplicated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
from batch_support import assert_same_outputs, building_dict, write_good_corpus

from mpeil.batch import run_batch
from mpeil.batch.runner import TEST_DELAY_VARIABLE

AS_OF = "2026-06-01"


def _batch_command(inputs: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mpeil",
        "batch",
        str(inputs),
        "--out",
        str(out),
        "--chunk-size",
        "3",
        "--as-of",
        AS_OF,
        "--no-progress",
        *extra,
    ]


def _finished(out: Path) -> list[Path]:
    return sorted((out / "_journal").glob("chunk-*.json"))


def test_resume_after_kill_gives_the_uninterrupted_outputs(tmp_path):
    inputs = tmp_path / "in"
    write_good_corpus(inputs, n=10)  # 12 good buildings (one archive holds two)
    (inputs / "broken.json").write_text("{", encoding="utf-8")
    bad = building_dict(3)
    bad["elements"][0]["layers"][0]["product"] = "obd2024:no-such-data-set"
    (inputs / "unknown.json").write_text(json.dumps(bad), encoding="utf-8")
    killed, reference = tmp_path / "killed", tmp_path / "reference"

    # ---- start, wait for two finished chunks, kill -9
    environment = dict(os.environ, **{TEST_DELAY_VARIABLE: "1.0"})
    process = subprocess.Popen(
        _batch_command(inputs, killed), env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 180
    while len(_finished(killed)) < 2:
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "the batch did not finish two chunks in time"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    process.stderr.close()

    done_before = {path.name: path.read_bytes() for path in _finished(killed)}
    assert 2 <= len(done_before) < 5  # 14 inputs in chunks of 3: the run was cut short
    assert not (killed / "summary.parquet").exists()
    parts_before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (killed / "results").glob("part-*.parquet")}
    finished_chunks = {int(name[6:12]) for name in done_before}

    # ---- the same command without --resume refuses to touch the earlier run
    refused = subprocess.run(_batch_command(inputs, killed), capture_output=True)
    assert refused.returncode == 2 and b"--resume" in refused.stderr

    # ---- resume
    resumed = subprocess.run(_batch_command(inputs, killed, "--resume"), capture_output=True)
    assert resumed.returncode == 1, resumed.stderr.decode()  # two inputs cannot be scored
    manifest = json.loads((killed / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["chunks_resumed"] == len(done_before)
    for name, content in done_before.items():  # finished chunks: not redone
        assert (killed / "_journal" / name).read_bytes() == content
    for chunk in finished_chunks:
        name = f"part-{chunk:06d}.parquet"
        assert (killed / "results" / name).stat().st_mtime_ns == parts_before[name][0]
        assert (killed / "results" / name).read_bytes() == parts_before[name][1]

    # ---- an uninterrupted run (in this process) gives the same outputs
    summary = run_batch([inputs], reference, chunk_size=3, as_of=AS_OF)
    assert summary.exit_code == 1 and summary.chunks == 5
    assert_same_outputs(killed, reference)

    # ---- no duplicated rows, no leftovers
    results = pq.read_table(killed / "results").select(["file", "building", "element", "module", "indicator"])
    keys = list(zip(*(results[c].to_pylist() for c in results.column_names)))
    assert len(keys) == len(set(keys))
    assert pq.read_table(killed / "summary.parquet").num_rows == 12
    assert pq.read_table(killed / "errors.parquet").num_rows == 2
    assert len(list((killed / "results").glob("*.parquet"))) == 5
    assert not [p for p in killed.rglob("*") if ".tmp-" in p.name]

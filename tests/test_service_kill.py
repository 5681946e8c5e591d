"""SIGKILL the server (its whole process group, workers included) in the middle of a batch; on restart
the job resumes from its journal: every building scored exactly once, finished chunks not redone."""

from __future__ import annotations

import json
import time

import httpx
import pyarrow.parquet as pq
from service_support import EXAMPLES, auth, start_server, stop_server

FILES = 8


def _files() -> list:
    base = json.loads((EXAMPLES / "terraced_house.json").read_text(encoding="utf-8"))
    files = []
    for i in range(FILES):
        building = {**base, "id": f"house-{i}", "gross_floor_area_m2": 100.0 + i}
        files.append(("files", (f"house-{i}.json", json.dumps(building).encode(), "application/json")))
    return files


def _status(base: str, job_id: str) -> dict:
    return httpx.get(f"{base}/v1/batches/{job_id}", headers=auth(), timeout=10).json()


def test_sigkill_mid_batch_resumes_without_loss_or_duplicates(tmp_path):
    store = tmp_path / "store"
    slow = {"MPEIL_CHUNK_SIZE": "1", "MPEIL_BATCH_TEST_DELAY": "1.5"}  # 8 chunks, 1.5 s apart
    server, base = start_server(store, slow, tmp_path / "server.log")
    try:
        created = httpx.post(f"{base}/v1/batches", files=_files(), headers=auth(), timeout=60)
        assert created.status_code == 202
        job_id = created.json()["job_id"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and _status(base, job_id)["progress"]["chunks_done"] < 2:
            time.sleep(0.2)
        before = _status(base, job_id)
        assert before["status"] == "running" and 2 <= before["progress"]["chunks_done"] < FILES
    finally:
        stop_server(server, kill=True)
    journal = store / "jobs" / job_id / "out" / "_journal"
    done_before = {p.name: p.stat().st_mtime_ns for p in journal.glob("chunk-*.json")}
    assert 2 <= len(done_before) < FILES

    server, base = start_server(store, {"MPEIL_CHUNK_SIZE": "1"}, tmp_path / "server.log")
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and _status(base, job_id)["status"] not in ("done", "failed"):
            time.sleep(0.5)
        after = _status(base, job_id)
        assert after["status"] == "done", after
        assert (after["buildings"], after["errors"]) == (FILES, 0)
        rows = httpx.get(f"{base}/v1/batches/{job_id}/results?limit=100", headers=auth(), timeout=30).json()["rows"]
    finally:
        stop_server(server)
    assert sorted(r["building"] for r in rows) == sorted(f"house-{i}" for i in range(FILES))
    assert sorted(r["file"] for r in rows) == sorted(f"house-{i}.json" for i in range(FILES))
    # chunks finished before the kill were not redone (their journal entries are untouched)
    for name, mtime in done_before.items():
        assert (journal / name).stat().st_mtime_ns == mtime
    results = pq.read_table(store / "jobs" / job_id / "out" / "results").to_pandas()
    per_building = results.groupby("building").size()
    assert len(per_building) == FILES and per_building.nunique() == 1  # no building's rows twice
    manifest = json.loads((store / "jobs" / job_id / "out" / "manifest.json").read_text())
    assert manifest["counts"]["chunks_resumed"] == len(done_before)

"""Fair batches (issue 21): tenants take turns, a long batch yields its slice to another tenant's
waiting batch (it resumes from its journal), a batch can be cancelled, quota counts accepted files only.

The runner's worker process is replaced here by a stand-in that sleeps and then marks its job done,
so the scheduling is tested in seconds; the real worker is tested in test_service_api and _kill."""

from __future__ import annotations

import io
import subprocess
import sys
import time
import zipfile

import pytest
from fastapi.testclient import TestClient
from service_support import EXAMPLES, OTHER_KEY, auth, settings_for

from mpeil.service import create_app
from mpeil.service.jobs import JobRunner
from mpeil.service.store import Store, new_id

HOUSE = (EXAMPLES / "terraced_house.json").read_bytes()
STAND_IN = (
    "import sqlite3, sys, time\n"
    "time.sleep(float(sys.argv[3]))\n"
    "db = sqlite3.connect(sys.argv[1])\n"
    "db.execute(\"UPDATE jobs SET status = 'done', finished = ? WHERE id = ? AND status = 'running'\","
    " (time.time(), sys.argv[2]))\n"
    "db.commit()\n"
)


def _job(owner: str, created: float, files: int = 1) -> dict:
    return {
        "id": new_id(), "owner": owner, "status": "queued", "created": created, "method": "mpeil-ef31",
        "options": {}, "as_of": "2026-01-01", "files": files, "chunk_size": 50, "names": ["a.json"] * files,
    }  # fmt: skip


def test_tenants_take_turns(tmp_path):
    store = Store(tmp_path / "store")
    first = [store.add_job(_job("big-city", 1.0 + i)) for i in range(3)]
    other = store.add_job(_job("small-town", 10.0))
    order = []
    for _ in range(4):
        job = store.claim_job()
        order.append(job["id"])
        store.finish_job(job["id"], "done", None)
    # big-city's first, then small-town's (queued last, but its owner has not had a turn), then big-city's rest
    assert order == [first[0], other, first[1], first[2]]


def test_a_second_tenants_small_batch_finishes_before_the_first_ones_large_one(tmp_path, monkeypatch):
    store = Store(tmp_path / "store")
    settings = settings_for(tmp_path / "store", batch_slice_seconds=1)
    durations = {}

    def stand_in(self, job_id):
        return subprocess.Popen([sys.executable, "-c", STAND_IN, str(store.path), job_id, str(durations[job_id])])

    monkeypatch.setattr(JobRunner, "_spawn", stand_in)
    large = store.add_job(_job("big-city", time.time(), files=1000))
    durations[large] = 2.5  # per start: a paused batch starts again (the real one resumes from its journal)
    runner = JobRunner(store, settings)
    runner.start()
    try:
        time.sleep(0.3)
        small = store.add_job(_job("small-town", time.time(), files=2))
        durations[small] = 0.2
        deadline = time.monotonic() + 20
        while store.job(large)["status"] != "done" and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        runner.stop()
    large_job, small_job = store.job(large), store.job(small)
    assert large_job["status"] == small_job["status"] == "done"
    assert small_job["finished"] < large_job["finished"]
    assert large_job["attempts"] == 1  # a pause is not an attempt (the start-up's requeue counts attempts)


def test_a_running_batch_is_cancelled_within_a_second(tmp_path, monkeypatch):
    store = Store(tmp_path / "store")
    settings = settings_for(tmp_path / "store")
    started = []

    def stand_in(self, job_id):
        process = subprocess.Popen([sys.executable, "-c", STAND_IN, str(store.path), job_id, "30"])
        started.append(process)
        return process

    monkeypatch.setattr(JobRunner, "_spawn", stand_in)
    job_id = store.add_job(_job("big-city", time.time()))
    runner = JobRunner(store, settings)
    runner.start()
    try:
        while not started:
            time.sleep(0.05)
        assert store.cancel_job(job_id)
        began = time.monotonic()
        started[0].wait(timeout=5)
        assert time.monotonic() - began < 2.0
    finally:
        runner.stop()
    assert store.job(job_id)["status"] == "cancelled"


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(settings_for(tmp_path / "store", run_jobs=False)), raise_server_exceptions=False) as c:
        yield c


def _zip(count: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for number in range(count):
            archive.writestr(f"houses/{number}.json", HOUSE)
        archive.writestr("houses/readme.txt", b"not a building")
    return out.getvalue()


def test_cancel_through_the_api(client):
    files = [("files", ("a.json", HOUSE, "application/json"))]
    job_id = client.post("/v1/batches", files=files, headers=auth()).json()["job_id"]
    assert client.delete(f"/v1/batches/{job_id}", headers=auth(OTHER_KEY)).status_code == 404
    assert client.delete(f"/v1/batches/{job_id}", headers=auth()).json() == {"job_id": job_id, "status": "cancelled"}
    assert client.get(f"/v1/batches/{job_id}", headers=auth()).json()["status"] == "cancelled"
    again = client.delete(f"/v1/batches/{job_id}", headers=auth())
    assert again.status_code == 409 and "cancelled" in again.json()["message"]


def test_quota_counts_archive_members_and_only_accepted_work(client):
    store = client.app.state.store
    files = [("files", ("houses.zip", _zip(3), "application/zip")), ("files", ("b.json", HOUSE, "application/json"))]
    headers = {**auth(), "Idempotency-Key": "upload-1"}
    first = client.post("/v1/batches", files=files, headers=headers)
    assert first.status_code == 202 and first.json()["files"] == 4  # 3 members (not the .txt) + 1 file
    assert store.used_today("city") == 4
    replay = client.post("/v1/batches", files=files, headers=headers)
    assert replay.json()["job_id"] == first.json()["job_id"]
    assert store.used_today("city") == 4  # a replay is not charged
    refused = client.post("/v1/batches", files=[("files", ("x.sh", b"echo", "text/x-sh"))], headers=auth())
    assert refused.status_code == 415 and store.used_today("city") == 4
    bad = client.post("/v1/score", content=b'{"id": ', headers={**auth(), "content-type": "application/json"})
    assert bad.status_code == 422 and store.used_today("city") == 4  # a refused score is not charged
    headers = {**auth(), "content-type": "application/json", "Idempotency-Key": "score-1"}
    assert client.post("/v1/score", content=HOUSE, headers=headers).status_code == 200
    assert client.post("/v1/score", content=HOUSE, headers=headers).status_code == 200
    assert store.used_today("city") == 5  # one scored file; its replay is free


def test_idempotency_keys_are_per_anonymous_caller(tmp_path):
    settings = settings_for(tmp_path / "store", run_jobs=False)
    headers = {"content-type": "application/json", "Idempotency-Key": "same-key"}
    app = create_app(settings)
    with TestClient(app, client=("192.0.2.1", 1000)) as one, TestClient(app, client=("192.0.2.2", 1000)) as two:
        first = one.post("/v1/score", content=HOUSE, headers=headers).json()["receipt_id"]
        other_body = HOUSE.replace(b"example-terraced-house", b"another-house")
        second = two.post("/v1/score", content=other_body, headers=headers)
        assert second.status_code == 200  # not a 409: another caller's key space
        assert second.json()["receipt_id"] != first
        assert one.post("/v1/score", content=HOUSE, headers=headers).json()["receipt_id"] == first


def test_an_archive_is_listed_off_the_event_loop(client, monkeypatch):
    """A 400,000-member zip took 3.6 s to list on the event loop; now the listing runs in a thread and
    other requests are answered meanwhile (the listing is slowed to 2 s here by a stand-in)."""
    import threading

    import mpeil.service.routes as routes

    real = routes.check_batch_file

    def slow_listing(*args):
        time.sleep(2.0)
        return real(*args)

    monkeypatch.setattr(routes, "check_batch_file", slow_listing)
    done = {}
    upload = threading.Thread(
        target=lambda: done.update(
            response=client.post(
                "/v1/batches", files=[("files", ("h.zip", _zip(2), "application/zip"))], headers=auth()
            )
        )
    )
    upload.start()
    time.sleep(0.5)
    began = time.monotonic()
    assert client.get("/v1/healthz").status_code == 200
    answered = time.monotonic() - began
    upload.join()
    assert done["response"].status_code == 202
    assert answered < 1.0, f"health took {answered:.1f} s while an archive was being listed"

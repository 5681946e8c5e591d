"""Metrics (issue 21): requests in flight, memory, open files, scored buildings, queue length and age per
tenant, batch durations, client disconnects as 499, and counters summed over HTTP processes."""

from __future__ import annotations

import json
import re
import time

import pytest
from fastapi.testclient import TestClient
from service_support import ADMIN_KEY, EXAMPLES, OTHER_KEY, auth, settings_for

from mpeil.service import create_app
from mpeil.service.scoring import ScoringEngine

HOUSE = (EXAMPLES / "terraced_house.json").read_bytes()


@pytest.fixture
def client(tmp_path):
    engine = ScoringEngine()
    with TestClient(create_app(settings_for(tmp_path / "store", run_jobs=False), engine=engine)) as test_client:
        yield test_client
    engine.close()


def _value(text: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    assert found, f"{name} not in the metrics"
    return float(found.group(1))


def test_metrics_name_what_an_operator_needs(client):
    for _ in range(2):
        assert client.post("/v1/score", content=HOUSE, headers={"content-type": "application/json"}).status_code == 200
    files = [("files", ("a.json", HOUSE, "application/json"))]
    for key in (auth(), auth(), auth(OTHER_KEY)):
        assert client.post("/v1/batches", files=files, headers=key).status_code == 202
    text = client.get("/v1/metrics", headers=auth(ADMIN_KEY)).text
    assert _value(text, "mpeil_scored_buildings_total") == 2.0  # two houses, one building each
    assert _value(text, 'mpeil_batch_queue_length{tenant="city"}') == 2.0
    assert _value(text, 'mpeil_batch_queue_length{tenant="other-city"}') == 1.0
    assert 0.0 <= _value(text, 'mpeil_batch_queue_age_seconds{tenant="city"}') < 60.0
    assert _value(text, "mpeil_http_requests_in_flight") == 1.0  # the scrape itself
    assert _value(text, "mpeil_process_resident_memory_bytes") > 50e6  # the library alone is larger
    assert _value(text, "mpeil_process_open_files") >= 3.0
    assert _value(text, "mpeil_jobs_queued") == 3.0
    assert "# TYPE mpeil_batch_duration_seconds histogram" in text
    assert 'mpeil_http_requests_total{route="/v1/score",method="POST",status="200"} 2' in text
    # every upload's scratch file is gone
    assert list((client.app.state.store.root / "scratch").iterdir()) == []


def test_counters_are_summed_over_http_processes(client):
    client.post("/v1/score", content=HOUSE, headers={"content-type": "application/json"})
    other = {  # what a second HTTP process (pid 999999) wrote to the store
        "requests": [["/v1/score", "POST", 200, 5]],
        "latency": [["/v1/score", "POST", [0] * 11, 1.0, 5]],
        "scored_buildings": 5,
        "in_flight": 2,
    }
    client.app.state.store.put_metrics(999_999, json.dumps(other))
    text = client.get("/v1/metrics", headers=auth(ADMIN_KEY)).text
    assert _value(text, "mpeil_scored_buildings_total") == 6.0  # 1 here + 5 there
    assert 'mpeil_http_requests_total{route="/v1/score",method="POST",status="200"} 6' in text
    assert _value(text, "mpeil_http_requests_in_flight") == 3.0  # the scrape + 2 there


def test_batch_durations_are_a_histogram(client):
    store = client.app.state.store
    job_id = client.post(
        "/v1/batches", files=[("files", ("a.json", HOUSE, "application/json"))], headers=auth()
    ).json()["job_id"]
    claimed = store.claim_job()
    assert claimed["id"] == job_id
    with store.connect() as db:  # a batch that ran 90 s (set by hand: 60 < 90 <= 300)
        db.execute("UPDATE jobs SET started = ? WHERE id = ?", (time.time() - 90, job_id))
    store.finish_job(job_id, "done", None, 1, 0)
    text = client.get("/v1/metrics", headers=auth(ADMIN_KEY)).text
    assert _value(text, 'mpeil_batch_duration_seconds_bucket{le="60.0"}') == 0.0
    assert _value(text, 'mpeil_batch_duration_seconds_bucket{le="300.0"}') == 1.0
    assert _value(text, "mpeil_batch_duration_seconds_count") == 1.0

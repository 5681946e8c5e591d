"""The web service's API: scoring equals the library and the CLI, receipts verify bit for bit,
batches run to completion, keys and owners are enforced, metrics are Prometheus text."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from service_support import ADMIN_KEY, EXAMPLES, OTHER_KEY, auth, settings_for

from mpeil.service import create_app
from mpeil.service.scoring import ScoringEngine

HOUSE = (EXAMPLES / "terraced_house.json").read_bytes()
FLATS = (EXAMPLES / "apartment_building.json").read_bytes()
FORMULA_ID = '=HYPERLINK("http://evil.example","x")'
FORMULA_HOUSE = HOUSE.replace(b'"example-terraced-house"', json.dumps(FORMULA_ID).encode(), 1)


@pytest.fixture(scope="module")
def engine():
    shared = ScoringEngine()
    yield shared
    shared.close()


@pytest.fixture
def client(tmp_path, engine):
    app = create_app(settings_for(tmp_path / "store", chunk_size=1), engine=engine)
    with TestClient(app) as test_client:
        yield test_client


def _cli_scores(path) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "mpeil", "score", str(path), "-f", "json"], capture_output=True, text=True, check=True
    )
    return {row["building_id"]: row for row in json.loads(done.stdout)}


def test_score_equals_cli_for_upload_and_raw_body(client):
    cli = _cli_scores(EXAMPLES / "terraced_house.json")["example-terraced-house"]
    upload = client.post("/v1/score", files={"file": ("house.json", HOUSE, "application/json")})
    raw = client.post("/v1/score", content=HOUSE, headers={"content-type": "application/json"})
    for response in (upload, raw):
        assert response.status_code == 200
        building = response.json()["buildings"][0]
        assert building["building"] == "example-terraced-house"
        # the CLI's JSON (pandas) writes 10 decimals: the service's float rounds to exactly that
        assert round(building["score"], 10) == cli["score"]
        assert round(building["coverage"]["weight_covered"], 10) == cli["weight_covered"]
        assert building["indicators_missing"] == cli["indicators_missing"]


def test_trust_fields_are_the_clis_for_the_terraced_house(client):
    """The data-quality grade, the estimated indicators and their data sets, the unit and the shares are
    what ``mpeil score -f json`` says; the notes are the lines the CLI's score table prints."""
    path = EXAMPLES / "terraced_house.json"
    cli = _cli_scores(path)["example-terraced-house"]
    body = client.post("/v1/score", files={"file": ("house.json", HOUSE, "application/json")}).json()
    building = body["buildings"][0]
    assert cli["quality_grade"] == "C" and cli["label"] == "D"  # the new-user trial's values
    for key in ("quality_grade", "label", "indicators_estimated", "estimated_datasets", "indicators_missing"):
        assert building[key] == cli[key], key
    assert building["indicators_partial"] == cli["indicators_partial"]
    assert building["module_gaps"] == cli["module_gaps"]
    assert len(building["estimated_datasets"]) > 0 and len(building["indicators_estimated"]) > 0
    assert body["score_unit"] == building["score_unit"] == cli["score_unit"] == "mPt/(m²·yr)"
    for key in ("weight_declared", "weight_estimated", "weight_missing", "weight_covered"):
        assert building["coverage"][key] == cli[key], key  # the CLI's decimals: no float noise
    assert building["coverage"]["weight_declared"] == 0.6309
    estimated = ", ".join(cli["indicators_estimated"])
    assert f"estimated from peers: {estimated}" in building["notes"]
    assert f"example-terraced-house: estimated from peers: {estimated}" in body["notes"]
    table = subprocess.run(
        [sys.executable, "-m", "mpeil", "score", str(path)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "2000"},  # one line per building's notes
    ).stdout
    assert "example-terraced-house: " + "; ".join(building["notes"]) in table.splitlines()


def test_csv_variant_scores_like_json(client):
    csv_score = client.post(
        "/v1/score", files={"file": ("house.csv", (EXAMPLES / "terraced_house.csv").read_bytes(), "text/csv")}
    ).json()["buildings"][0]["score"]
    json_score = client.post("/v1/score", files={"file": ("house.json", HOUSE, "application/json")}).json()
    assert csv_score == json_score["buildings"][0]["score"]


def test_stages_add_up_to_the_score_without_d(client):
    building = client.post("/v1/score", content=HOUSE, headers={"content-type": "application/json"}).json()
    stages = building["buildings"][0]["stages"]
    counted = sum(v for k, v in stages.items() if k != "beyond (D)")
    assert building["include_d"] is False
    assert counted == pytest.approx(building["buildings"][0]["score"], rel=1e-12)
    share = building["buildings"][0]["coverage"]
    assert share["weight_covered"] + share["weight_missing"] == pytest.approx(1.0)


def test_elements_sum_to_the_building_score(client):
    building = client.post("/v1/score", content=HOUSE, headers={"content-type": "application/json"}).json()[
        "buildings"
    ][0]
    assert len(building["elements"]) == 21  # scenarios/examples/README.md: 21 elements (6 of them services)
    assert sum(e["score"] for e in building["elements"]) == pytest.approx(building["score"], rel=1e-9)


def test_method_and_options_change_the_score(client):
    gwp = client.post("/v1/score?method=gwp", content=HOUSE, headers={"content-type": "application/json"}).json()
    with_d = client.post(
        "/v1/score",
        params={"options": json.dumps({"include_d": True})},
        content=HOUSE,
        headers={"content-type": "application/json"},
    ).json()["buildings"][0]
    assert gwp["method"] == "gwp"
    assert gwp["buildings"][0]["score"] == pytest.approx(6.58, abs=0.005)  # README: 6.58 kg CO2e/(m²·yr)
    assert with_d["score"] == pytest.approx(sum(with_d["stages"].values()), rel=1e-12)


def test_flagged_values_is_a_request_option(client):
    """Issue 22: the service takes flagged_values like any other method option."""
    scores = {}
    for choice in ("keep", "estimate"):
        reply = client.post(
            "/v1/score",
            params={"options": json.dumps({"flagged_values": choice})},
            content=HOUSE,
            headers={"content-type": "application/json"},
        )
        assert reply.status_code == 200, reply.text
        scores[choice] = reply.json()["buildings"][0]["score"]
    # estimating the concrete data sets' flagged ODP/EP-freshwater (far below peers) raises the score
    assert scores["estimate"] > scores["keep"]


def test_receipt_verifies_bit_for_bit_and_needs_a_key(client):
    scored = client.post("/v1/score", files={"file": ("house.json", HOUSE, "application/json")}).json()
    receipt_id = scored["receipt_id"]
    assert client.get(f"/v1/receipts/{receipt_id}").status_code == 401
    receipt = client.get(f"/v1/receipts/{receipt_id}", headers=auth()).json()
    assert receipt["numbers"]["example-terraced-house/score"]["hex"] == float.hex(scored["buildings"][0]["score"])
    import hashlib

    assert receipt["input"]["sha256"] == hashlib.sha256(HOUSE).hexdigest()
    check = client.post("/v1/verify", json={"receipt_id": receipt_id}, headers=auth()).json()
    assert check["ok"] is True and check["problems"] == []
    assert check["numbers_compared"] == len(receipt["numbers"]) + 1


def test_report_is_served_for_a_scored_building(client):
    scored = client.post("/v1/score", files={"file": ("house.json", HOUSE, "application/json")}).json()
    response = client.get(scored["report"] + "?download=1")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "attachment" in response.headers["content-disposition"]
    assert "example-terraced-house" in response.text


def test_idempotency_key_returns_the_same_receipt_and_refuses_another_body(client):
    headers = {"content-type": "application/json", "Idempotency-Key": "upload-1"}
    first = client.post("/v1/score", content=HOUSE, headers=headers).json()["receipt_id"]
    again = client.post("/v1/score", content=HOUSE, headers=headers).json()["receipt_id"]
    other = client.post("/v1/score", content=FLATS, headers=headers)
    assert first == again
    assert other.status_code == 409


def test_methods_search_health_and_metrics(client):
    names = [m["name"] for m in client.get("/v1/methods").json()]
    assert {"mpeil-ef31", "gwp", "br18"} <= set(names)
    found = client.get("/v1/epd/search", params={"q": "Transportbeton", "limit": 5}).json()
    assert 1 <= len(found) <= 5 and all(f["dataset_id"] for f in found)
    assert client.get("/v1/healthz").json()["status"] == "ok"
    assert client.get("/v1/metrics", headers=auth()).status_code == 403  # an authority key is not admin
    text = client.get("/v1/metrics", headers=auth(ADMIN_KEY)).text
    assert "# TYPE mpeil_http_requests_total counter" in text
    assert 'mpeil_http_requests_total{route="/v1/healthz",method="GET",status="200"} 1' in text
    assert "mpeil_jobs_queued 0" in text


def test_openapi_documents_every_endpoint(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/score",
        "/v1/compare",
        "/v1/batches",
        "/v1/batches/{job_id}",
        "/v1/batches/{job_id}/{table}",
        "/v1/reports/{receipt_id}.html",
        "/v1/receipts/{receipt_id}",
        "/v1/verify",
        "/v1/epd/search",
        "/v1/methods",
        "/v1/healthz",
        "/v1/metrics",
    ):
        assert path in paths


def _wait(client, job_id, key=None, seconds=240):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = client.get(f"/v1/batches/{job_id}", headers=auth(*([key] if key else []))).json()
        if status["status"] in ("done", "failed"):
            return status
        time.sleep(0.5)
    raise AssertionError("batch did not finish")


def test_batch_runs_to_completion_with_tables_in_three_formats(client):
    import zipfile

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("permits/flats.json", FLATS)
    files = [
        ("files", ("house.json", HOUSE, "application/json")),
        ("files", ("archive.zip", archive.getvalue(), "application/zip")),
        ("files", ("broken.json", b'{"id": ', "application/json")),
        ("files", ("formula.json", FORMULA_HOUSE, "application/json")),
    ]
    created = client.post("/v1/batches", files=files, headers=auth())
    assert created.status_code == 202
    assert created.json()["files"] == 4  # quota counts building files: 2 files + 1 archive member + 1 broken file
    job_id = created.json()["job_id"]
    status = _wait(client, job_id)
    assert status["status"] == "done", status
    assert (status["buildings"], status["errors"]) == (3, 1)
    assert status["progress"]["files_done"] == status["progress"]["files"] == 4
    results = client.get(f"/v1/batches/{job_id}/results", headers=auth()).json()
    by_file = {row["file"]: row for row in results["rows"]}
    assert set(by_file) == {"house.json", "archive.zip!/permits/flats.json", "formula.json"}
    single = client.post("/v1/score", content=HOUSE, headers={"content-type": "application/json"}).json()
    assert by_file["house.json"]["score"] == single["buildings"][0]["score"]
    errors = client.get(f"/v1/batches/{job_id}/errors", headers=auth()).json()["rows"]
    assert [(e["file"], e["error_type"]) for e in errors] == [("broken.json", "ParseError")]
    csv_text = client.get(f"/v1/batches/{job_id}/results?format=csv", headers=auth()).text
    import csv

    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert sorted(r["file"] for r in rows) == sorted(by_file)
    assert len(csv_text.strip().splitlines()) == 4  # one line per building: lists are JSON text
    # the CLI's csv_cell: an id that is a formula is written as text (a leading apostrophe), never raw
    assert [r["building"] for r in rows if r["file"] == "formula.json"] == ["'" + FORMULA_ID]
    assert "\n=HYPERLINK" not in csv_text and ",=HYPERLINK" not in csv_text
    parquet = client.get(f"/v1/batches/{job_id}/results?format=parquet", headers=auth()).content
    assert pq.read_table(io.BytesIO(parquet)).num_rows == 3
    page = client.get(f"/v1/batches/{job_id}/results?offset=1&limit=1", headers=auth()).json()
    assert (page["total"], len(page["rows"])) == (3, 1)
    _tampering_is_detected(client, job_id)
    # another key's job is not found, and an admin sees every job
    assert client.get(f"/v1/batches/{job_id}", headers=auth(OTHER_KEY)).status_code == 404
    assert job_id in [j["id"] for j in client.get("/v1/admin/jobs", headers=auth(ADMIN_KEY)).json()]


def _tampering_is_detected(client, job_id: str) -> None:
    """The batch verify endpoint: the outputs as written check out; a changed table or receipt does not."""
    verified = client.post(f"/v1/batches/{job_id}/verify", headers=auth()).json()
    assert verified == {"job_id": job_id, "ok": True, "problems": [], "signature": "ok"}
    out = client.app.state.store.job_dir(job_id) / "out"
    receipt = sorted((out / "receipts").glob("*.json"))[0]
    receipt.write_text(receipt.read_text(encoding="utf-8").replace('"receipt_version"', '"receipt_version" '))
    verified = client.post(f"/v1/batches/{job_id}/verify", headers=auth()).json()
    assert not verified["ok"] and verified["signature"] == "bad"
    summary = out / "summary.parquet"
    summary.write_bytes(summary.read_bytes() + b"tampered")
    problems = client.post(f"/v1/batches/{job_id}/verify", headers=auth()).json()["problems"]
    assert any("summary.parquet differs from the manifest" in p for p in problems)
    served = client.get(f"/v1/batches/{job_id}/results?format=csv", headers=auth())  # never served as if sound
    assert served.status_code == 500 and served.json()["title"] == "StoreCorrupt"


def test_serve_key_prints_a_key_and_its_hashed_line(tmp_path):
    import hashlib

    done = subprocess.run(
        [sys.executable, "-m", "mpeil", "serve-key", "gent", "--quota", "50"],
        capture_output=True,
        text=True,
        check=True,
    )
    key = done.stdout.splitlines()[0].split()[1]
    line = done.stdout.splitlines()[1].split()[1]
    assert line == f"gent,{hashlib.sha256(key.encode()).hexdigest()},50,authority"
    assert key not in line
    from mpeil.service.keys import KeyRing

    keys = tmp_path / "keys.csv"
    keys.write_text(f"# name,sha256,quota,role\n{line}\n", encoding="utf-8")
    ring = KeyRing.load(keys, "", 7)
    assert ring.find(key).name == "gent" and ring.find(key).quota_files_per_day == 50
    assert ring.find(key + "x") is None and ring.find(None) is None


def test_a_malformed_key_file_is_one_typed_error(tmp_path):
    from mpeil.errors import InputError
    from mpeil.service.keys import KeyRing

    keys = tmp_path / "keys.csv"
    keys.write_text("gent,not-a-hash,10\n", encoding="utf-8")
    with pytest.raises(InputError, match="SHA-256"):
        KeyRing.load(keys, "", 7)
    with pytest.raises(InputError, match="role"):
        KeyRing.load(None, "x," + "0" * 64 + ",1,root", 7)


def test_batch_on_a_dask_scheduler_gives_the_same_scores(tmp_path, engine):
    """MPEIL_DASK_SCHEDULER=local: the job's chunks run on a local Dask cluster, with the same numbers."""
    settings = settings_for(tmp_path / "store", chunk_size=1, scheduler="local")
    files = [("files", ("house.json", HOUSE, "application/json")), ("files", ("flats.json", FLATS, "application/json"))]
    with TestClient(create_app(settings, engine=engine)) as dask_client:
        job_id = dask_client.post("/v1/batches", files=files, headers=auth()).json()["job_id"]
        status = _wait(dask_client, job_id)
        assert status["status"] == "done", status
        rows = dask_client.get(f"/v1/batches/{job_id}/results", headers=auth()).json()["rows"]
        single = {
            name: dask_client.post("/v1/score", content=data, headers={"content-type": "application/json"}).json()
            for name, data in (("house.json", HOUSE), ("flats.json", FLATS))
        }
    manifest = json.loads((tmp_path / "store" / "jobs" / job_id / "out" / "manifest.json").read_text())
    assert manifest["batch_options"]["executor"] == "dask"
    assert {r["file"]: r["score"] for r in rows} == {n: s["buildings"][0]["score"] for n, s in single.items()}


def test_orphaned_jobs_are_requeued_until_their_attempts_run_out(tmp_path):
    from mpeil.service.store import Store

    store = Store(tmp_path / "store")
    job = {"id": "j" * 22, "owner": "city", "status": "queued", "created": 1.0, "method": "gwp", "options": {},
           "as_of": "2026-01-01", "files": 1, "chunk_size": 1, "names": ["a.json"]}  # fmt: skip
    store.add_job(job)
    for attempt in (1, 2, 3):
        claimed = store.claim_job()
        assert (claimed["status"], claimed["attempts"]) == ("running", attempt)
        store.requeue_orphans(max_attempts=3)  # this process's own pid counts as a server that is gone
    after = store.job(job["id"])
    assert after["status"] == "failed" and "3 starts" in after["message"]
    store.add_job({**job, "id": "k" * 22})
    store.claim_job()
    with store.connect() as db:  # a job held by another live server process (pid 1 always exists)
        db.execute("UPDATE jobs SET server_pid = 1 WHERE id = ?", ("k" * 22,))
    store.requeue_orphans(max_attempts=3)
    assert store.job("k" * 22)["status"] == "running"


def test_an_idempotency_key_is_claimed_once_even_by_racing_requests(tmp_path):
    from mpeil.service.store import Store

    store = Store(tmp_path / "store")
    job = {"id": "a" * 22, "owner": "city", "status": "queued", "created": 1.0, "method": "gwp", "options": {},
           "as_of": "2026-01-01", "files": 1, "chunk_size": 1, "names": ["a.json"]}  # fmt: skip
    assert store.add_job(job, ("key-1", "digest")) == "a" * 22
    assert store.add_job({**job, "id": "b" * 22}, ("key-1", "digest")) == "a" * 22  # the second one loses
    assert [j["id"] for j in store.jobs()] == ["a" * 22]
    assert store.add_receipt("r" * 22, "", "a.json", ".json", b"{}", {}, ("key-2", "d")) == "r" * 22
    assert store.add_receipt("s" * 22, "", "a.json", ".json", b"{}", {}, ("key-2", "d")) == "r" * 22
    assert store.receipt("s" * 22) is None


def test_a_batch_sent_twice_with_one_idempotency_key_is_one_job(tmp_path, engine):
    settings = settings_for(tmp_path / "store", run_jobs=False)
    headers = {**auth(), "Idempotency-Key": "permit-2026-0042"}
    files = [("files", ("house.json", HOUSE, "application/json"))]
    with TestClient(create_app(settings, engine=engine)) as app_client:
        first = app_client.post("/v1/batches", files=files, headers=headers).json()["job_id"]
        again = app_client.post("/v1/batches", files=files, headers=headers).json()["job_id"]
        other = app_client.post(
            "/v1/batches", files=[("files", ("f.json", FLATS, "application/json"))], headers=headers
        )
        jobs = app_client.get("/v1/admin/jobs", headers=auth(ADMIN_KEY)).json()
    assert first == again and other.status_code == 409
    assert [j["id"] for j in jobs] == [first]


def test_compare_two_variants_matches_their_single_scores(client):
    files = {"a": ("house.json", HOUSE, "application/json"), "b": ("flats.json", FLATS, "application/json")}
    compared = client.post("/v1/compare", files=files).json()
    single = [
        client.post("/v1/score", content=data, headers={"content-type": "application/json"}).json()["buildings"][0]
        for data in (HOUSE, FLATS)
    ]
    assert compared["baseline"] == "example-terraced-house"
    assert [b["score"] for b in compared["buildings"]] == [s["score"] for s in single]
    assert compared["difference"] == pytest.approx(single[1]["score"] - single[0]["score"], rel=1e-12)
    assert compared["explanation"].startswith("example-apartment-building is ")


def test_compare_two_versions_with_one_building_id(client):
    files = {"a": ("v1.json", HOUSE, "application/json"), "b": ("v2.json", HOUSE, "application/json")}
    compared = client.post("/v1/compare", files=files).json()
    assert [b["building"] for b in compared["buildings"]] == [
        "example-terraced-house",
        "example-terraced-house (v2.json)",
    ]
    assert compared["difference"] == 0.0  # the same file twice


def test_compare_refuses_a_file_of_several_buildings(client):
    two = json.dumps([json.loads(HOUSE), json.loads(FLATS)]).encode()
    files = {"a": ("two.json", two, "application/json"), "b": ("flats.json", FLATS, "application/json")}
    response = client.post("/v1/compare", files=files)
    assert response.status_code == 422 and "one building per file" in response.json()["message"]
    assert client.post("/v1/compare", files={"a": ("a.json", HOUSE, "application/json")}).status_code == 400


IFC_MODEL = EXAMPLES.parent.parent / "tests" / "fixtures" / "ifc" / "ac20-fzk-haus.ifc"


def test_an_ifc_model_scores_like_the_cli_and_says_what_it_left_out(client):
    cli = _cli_scores(IFC_MODEL)
    scored = client.post("/v1/score", files={"file": ("haus.ifc", IFC_MODEL.read_bytes(), "application/x-step")})
    assert scored.status_code == 200
    building = scored.json()["buildings"][0]
    assert round(building["score"], 10) == cli[building["building"]]["score"]
    notes = scored.json()["notes"]
    # issue 19: FZK-Haus is fully mapped now (its placeholders take their class's template); how the
    # model was read comes first, then the building's own notes (the CLI's table lines, with its id)
    assert notes[0] == (
        "Mapped share of the volume: 100.0%: every material mapped or filled by a documented default (data/ifc)"
    )
    assert notes[1:] == [f"{building['building']}: {note}" for note in building["notes"]]
    assert building["notes"][-1].startswith("IFC model: 100.0% of the volume mapped")
    assert not any("/tmp" in note for note in notes)  # no server path leaks into a message


def test_a_broken_ifc_model_is_a_parse_error(client):
    for body in (
        b"ISO-10303-21;\nHEADER;\nENDSEC;\nDATA;\n#1=IFCWALL(;\nENDSEC;\nEND-ISO-10303-21;\n",
        b"not ifc at all",
    ):
        response = client.post("/v1/score", files={"file": ("broken.ifc", body, "application/x-step")})
        assert response.status_code == 422, response.text
        assert "broken.ifc" in response.json()["message"] and "/tmp" not in response.json()["message"]

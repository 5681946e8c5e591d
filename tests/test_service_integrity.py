"""Integrity of stored results (issue 21): receipts signed with the server's key and checked by the
service and by `mpeil verify`; reports rendered once, stored, and a keyed receipt's report needs its
key; anonymous inputs deleted after their retention; a corrupt store answers a typed problem."""

from __future__ import annotations

import json
import sqlite3

import pytest
from fastapi.testclient import TestClient
from service_support import EXAMPLES, OTHER_KEY, auth, settings_for
from typer.testing import CliRunner

from mpeil.service import create_app
from mpeil.service.scoring import ScoringEngine
from mpeil.service.signing import check, sign

HOUSE = (EXAMPLES / "terraced_house.json").read_bytes()
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def engine():
    shared = ScoringEngine()
    yield shared
    shared.close()


@pytest.fixture
def client(tmp_path, engine):
    app = create_app(settings_for(tmp_path / "store", run_jobs=False), engine=engine)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _rewrite_receipt(client, receipt_id: str, change) -> None:
    with sqlite3.connect(client.app.state.store.path) as db:
        text = db.execute("SELECT receipt FROM receipts WHERE id = ?", (receipt_id,)).fetchone()[0]
        receipt = json.loads(text)
        change(receipt)
        db.execute("UPDATE receipts SET receipt = ? WHERE id = ?", (json.dumps(receipt), receipt_id))


def test_signature_round_trip_and_any_change_breaks_it():
    key = b"k" * 32
    signed = sign({"numbers": {"a/score": {"hex": "0x1.0p+0"}}, "receipt_version": 1}, key)
    assert check(signed, key) is None
    assert "changed after it was signed" in check({**signed, "receipt_version": 2}, key)
    assert "not this server's key" in check(signed, b"x" * 32)
    assert check({"receipt_version": 1}, key) == "the receipt is not signed"


def test_a_receipt_is_signed_and_verifies(client):
    receipt_id = client.post("/v1/score", content=HOUSE, headers={**JSON, **auth()}).json()["receipt_id"]
    receipt = client.get(f"/v1/receipts/{receipt_id}", headers=auth()).json()
    assert receipt["signature"]["algorithm"] == "HMAC-SHA256" and len(receipt["signature"]["value"]) == 64
    verified = client.post("/v1/verify", json={"receipt_id": receipt_id}, headers=auth()).json()
    assert verified["ok"] and verified["signature"] == "ok" and verified["problems"] == []


def test_a_consistently_tampered_receipt_fails_on_its_signature(client):
    receipt_id = client.post("/v1/score", content=HOUSE, headers={**JSON, **auth()}).json()["receipt_id"]

    def halve_the_score(receipt):  # the number and its bits changed together, as a careful forger would
        number = receipt["numbers"]["example-terraced-house/score"]
        number["value"] /= 2
        number["hex"] = float(number["value"]).hex()

    _rewrite_receipt(client, receipt_id, halve_the_score)
    verified = client.post("/v1/verify", json={"receipt_id": receipt_id}, headers=auth()).json()
    assert not verified["ok"] and verified["signature"] == "bad"
    assert "changed after it was signed" in verified["problems"][0]


def test_mpeil_verify_checks_a_service_receipt_signature(client, tmp_path):
    from mpeil.cli import app as cli

    receipt_id = client.post("/v1/score", content=HOUSE, headers={**JSON, **auth()}).json()["receipt_id"]
    receipt = client.get(f"/v1/receipts/{receipt_id}", headers=auth()).json()
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(receipt), encoding="utf-8")
    bad.write_text(json.dumps({**receipt, "engine_version": "9.9.9"}), encoding="utf-8")
    key_file = client.app.state.store.root / "receipt-key"
    runner = CliRunner()
    ok = runner.invoke(cli, ["verify", str(good), "--receipt-key", str(key_file)])
    assert ok.exit_code == 0 and "OK" in ok.output, ok.output
    failed = runner.invoke(cli, ["verify", str(bad), "--receipt-key", str(key_file)])
    assert failed.exit_code == 1 and "changed after it was signed" in failed.output


def test_a_keyed_report_needs_its_key_and_is_rendered_once(client, engine, monkeypatch):
    receipt_id = client.post("/v1/score", content=HOUSE, headers={**JSON, **auth()}).json()["receipt_id"]
    assert client.get(f"/v1/reports/{receipt_id}.html").status_code == 404
    assert client.get(f"/v1/reports/{receipt_id}.html", headers=auth(OTHER_KEY)).status_code == 404
    first = client.get(f"/v1/reports/{receipt_id}.html", headers=auth())
    assert first.status_code == 200 and "<html" in first.text.lower()

    def no_scoring(*args, **kwargs):
        raise AssertionError("a stored report must not be scored again")

    monkeypatch.setattr(engine, "score", no_scoring)
    again = client.get(f"/v1/reports/{receipt_id}.html", headers=auth())
    assert again.status_code == 200 and again.text == first.text


def test_anonymous_inputs_are_deleted_after_their_retention(client):
    receipt_id = client.post("/v1/score", content=HOUSE, headers=JSON).json()["receipt_id"]
    store = client.app.state.store
    assert store.receipt(receipt_id)["input"] == HOUSE
    assert store.delete_anonymous_inputs(older_than_seconds=0) == 1
    assert store.receipt(receipt_id)["input"] == b""
    gone = client.get(f"/v1/reports/{receipt_id}.html")
    assert gone.status_code == 410 and "retention" in gone.json()["message"]
    keyed = client.post("/v1/score", content=HOUSE, headers={**JSON, **auth()}).json()["receipt_id"]
    assert store.delete_anonymous_inputs(older_than_seconds=0) == 0  # a key's inputs stay
    assert store.receipt(keyed)["input"] == HOUSE


def test_a_corrupt_row_is_a_typed_problem(client):
    receipt_id = client.post("/v1/score", content=HOUSE, headers={**JSON, **auth()}).json()["receipt_id"]
    with sqlite3.connect(client.app.state.store.path) as db:
        db.execute("UPDATE receipts SET receipt = '{not json' WHERE id = ?", (receipt_id,))
    response = client.get(f"/v1/receipts/{receipt_id}", headers=auth())
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["title"] == "StoreCorrupt" and receipt_id in response.json()["detail"]


def test_a_truncated_store_is_a_typed_problem(client):
    files = [("files", ("a.json", HOUSE, "application/json"))]
    job_id = client.post("/v1/batches", files=files, headers=auth()).json()["job_id"]
    path = client.app.state.store.path
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    response = client.get(f"/v1/batches/{job_id}", headers=auth())
    assert response.status_code == 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["title"] == "StoreCorrupt"

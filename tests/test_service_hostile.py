"""Hostile requests: each gets a clear 4xx with a one-line message, never a 500, and leaves no file
named by the request anywhere."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from fastapi.testclient import TestClient
from service_support import EXAMPLES, OTHER_KEY, auth, settings_for

from mpeil.service import create_app
from mpeil.service.scoring import ScoringEngine
from mpeil.service.store import new_id

HOUSE = (EXAMPLES / "terraced_house.json").read_bytes()
SMALL_FILE_LIMIT = 100_000  # bytes: above the example house (about 20 kB), far below the bodies sent here


@pytest.fixture(scope="module")
def engine():
    shared = ScoringEngine()
    yield shared
    shared.close()


@pytest.fixture
def client(tmp_path, engine):
    from mpeil.batch.limits import load_limits

    settings = settings_for(
        tmp_path / "store",
        limits=load_limits().replace(file_size=SMALL_FILE_LIMIT),
        upload_size=400_000,
        run_jobs=False,
    )
    with TestClient(create_app(settings, engine=engine), raise_server_exceptions=False) as test_client:
        yield test_client


def _refused(response, status: int, words: str = "") -> dict:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert body["message"] and "\n" not in body["message"]
    assert words.lower() in body["message"].lower(), body["message"]
    return body


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _xlsx_with_external_link() -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["building_id", "gross_floor_area_m2"])
    plain = io.BytesIO()
    book.save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(plain.getvalue())) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        target.writestr(
            "xl/externalLinks/externalLink1.xml", b'<externalLink xmlns="x"><externalBook r:id="rId1"/></externalLink>'
        )
    return out.getvalue()


# ---------------------------------------------------------------- sizes
def test_oversized_body_by_declared_length(client):
    _refused(
        client.post("/v1/score", content=b" " * 200_000, headers={"content-type": "application/json"}), 413, "above"
    )


def test_oversized_body_without_length_is_cut_off(client):
    def chunks():
        for _ in range(40):
            yield b" " * 10_000

    _refused(client.post("/v1/score", content=chunks(), headers={"content-type": "application/json"}), 413, "above")


def test_oversized_file_in_a_batch(client):
    big = b"{" + b" " * (SMALL_FILE_LIMIT + 10) + b"}"
    response = client.post("/v1/batches", files=[("files", ("big.json", big, "application/json"))], headers=auth())
    _refused(response, 413, "file-size limit")


def test_bad_content_length_header(client):
    _refused(
        client.post("/v1/score", content=HOUSE, headers={"content-type": "application/json", "content-length": "abc"}),
        413,
    )


# ---------------------------------------------------------------- content types
def test_wrong_content_types(client):
    _refused(client.post("/v1/score", content=b"hello", headers={"content-type": "text/plain"}), 415, "content type")
    _refused(
        client.post("/v1/score", files={"file": ("tool.exe", b"MZ", "application/octet-stream")}), 415, "file type"
    )
    _refused(client.post("/v1/batches", json={"files": []}, headers=auth()), 415, "multipart")
    _refused(client.post("/v1/batches", files=[("files", ("x.sh", b"rm -rf /", "text/x-sh"))], headers=auth()), 415)


def test_compare_needs_multipart_with_two_building_files(client):
    _refused(client.post("/v1/compare", json={"a": 1}), 415, "multipart")
    files = {"a": ("a.json", HOUSE, "application/json"), "b": ("b.exe", b"MZ", "application/octet-stream")}
    _refused(client.post("/v1/compare", files=files), 415, "file type")


def test_multipart_without_the_file_field(client):
    _refused(client.post("/v1/score", files={"other": ("a.json", HOUSE, "application/json")}), 400, "'file'")


# ---------------------------------------------------------------- archives
def test_zip_slip_is_refused(client, tmp_path):
    for name in ("../../evil.json", "/etc/evil.json", "a/../../evil.json"):
        archive = _zip({name: HOUSE})
        response = client.post(
            "/v1/batches", files=[("files", ("slip.zip", archive, "application/zip"))], headers=auth()
        )
        _refused(response, 400, "path")
    assert not list(tmp_path.rglob("evil.json"))


def test_zip_bomb_is_refused(client):
    bomb = _zip({"bomb.json": b"0" * 5_000_000})  # deflates about 1000 times
    response = client.post("/v1/batches", files=[("files", ("bomb.zip", bomb, "application/zip"))], headers=auth())
    _refused(response, 413)


def test_nested_archive_and_broken_zip(client):
    nested = _zip({"inner.zip": _zip({"a.json": HOUSE})})
    _refused(
        client.post("/v1/batches", files=[("files", ("n.zip", nested, "application/zip"))], headers=auth()),
        400,
        "inside",
    )
    _refused(
        client.post("/v1/batches", files=[("files", ("b.zip", b"PK\x03\x04junk", "application/zip"))], headers=auth()),
        400,
        "zip",
    )


# ---------------------------------------------------------------- malformed input
def test_malformed_json_building(client):
    body = _refused(client.post("/v1/score", content=b'{"id": ', headers={"content-type": "application/json"}), 422)
    assert body["error"] == "ParseError"
    nested = b"[" * 40_000 + b"]" * 40_000  # deeper than any parser recursion, within the size limit
    _refused(client.post("/v1/score", files={"file": ("deep.json", nested, "application/json")}), 422)


def test_malformed_options_and_verify_bodies(client):
    _refused(
        client.post("/v1/score?options={nope", content=HOUSE, headers={"content-type": "application/json"}), 400, "json"
    )
    _refused(client.post("/v1/score?options=[1]", content=HOUSE, headers={"content-type": "application/json"}), 400)
    _refused(
        client.post("/v1/verify", content=b"{not json", headers={**auth(), "content-type": "application/json"}), 400
    )
    _refused(client.post("/v1/verify", json={"receipt_id": ["x"]}, headers=auth()), 404)


def test_unknown_method_and_option(client):
    headers = {"content-type": "application/json"}
    _refused(client.post("/v1/score?method=../../etc/passwd", content=HOUSE, headers=headers), 422, "unknown method")
    _refused(client.post("/v1/score?method=x.toml", content=HOUSE, headers=headers), 422, "unknown method")
    options = json.dumps({"indicators": "x"})
    _refused(
        client.post("/v1/score", params={"options": options}, content=HOUSE, headers=headers), 422, "unknown option"
    )
    _refused(
        client.post(
            "/v1/score", params={"options": json.dumps({"replacement_rule": "never"})}, content=HOUSE, headers=headers
        ),
        422,
    )


def test_xlsx_with_external_links(client):
    book = _xlsx_with_external_link()
    kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    _refused(client.post("/v1/score", files={"file": ("linked.xlsx", book, kind)}), 422, "external")
    _refused(
        client.post("/v1/batches", files=[("files", ("linked.xlsx", book, kind))], headers=auth()), 422, "external"
    )
    _refused(client.post("/v1/score", files={"file": ("fake.xlsx", b"not a zip", kind)}), 422)


def test_bad_idempotency_key(client):
    headers = {"content-type": "application/json", "Idempotency-Key": "bad key with spaces"}
    _refused(client.post("/v1/score", content=HOUSE, headers=headers), 422)


# ---------------------------------------------------------------- keys and ids
def test_unauthenticated_calls(client):
    some_id = new_id()
    files = [("files", ("a.json", HOUSE, "application/json"))]
    _refused(client.post("/v1/batches", files=files), 401, "api key")
    _refused(client.post("/v1/batches", files=files, headers=auth("not-a-key")), 401, "unknown")
    _refused(client.get(f"/v1/batches/{some_id}"), 401)
    _refused(client.get(f"/v1/receipts/{some_id}"), 401)
    _refused(client.post("/v1/verify", json={"receipt_id": some_id}), 401)
    _refused(client.get("/v1/metrics"), 401)
    _refused(client.get("/v1/admin/jobs", headers=auth()), 403, "admin")
    assert client.post("/v1/batches", files=files).headers["www-authenticate"] == "Bearer"


def test_guessing_job_and_receipt_ids(client):
    created = client.post("/v1/batches", files=[("files", ("a.json", HOUSE, "application/json"))], headers=auth())
    job_id = created.json()["job_id"]
    _refused(client.get(f"/v1/batches/{job_id}", headers=auth(OTHER_KEY)), 404, "no such batch")
    _refused(client.get(f"/v1/batches/{job_id}/results", headers=auth(OTHER_KEY)), 404)
    _refused(client.get(f"/v1/batches/{new_id()}", headers=auth()), 404)
    _refused(client.get(f"/v1/receipts/{new_id()}", headers=auth()), 404)
    _refused(client.get(f"/v1/reports/{new_id()}.html"), 404)
    for guess in ("1", "..%2F..%2Fetc%2Fpasswd", "%2e%2e", "0" * 200):
        response = client.get(f"/v1/batches/{guess}", headers=auth())
        assert response.status_code in (404, 422), (guess, response.status_code)
    _refused(client.get(f"/v1/batches/{job_id}/results", headers=auth()), 409, "queued")
    _refused(client.get(f"/v1/batches/{job_id}/summary.parquet", headers=auth()), 422)


def test_other_keys_receipt_is_not_found(client):
    receipt_id = client.post("/v1/score", content=HOUSE, headers={**auth(), "content-type": "application/json"}).json()[
        "receipt_id"
    ]
    assert client.get(f"/v1/receipts/{receipt_id}", headers=auth()).status_code == 200
    _refused(client.get(f"/v1/receipts/{receipt_id}", headers=auth(OTHER_KEY)), 404)


def test_quota_is_enforced(tmp_path, engine):
    from service_support import KEY_LINES

    settings = settings_for(
        tmp_path / "s", run_jobs=False, keys_text=KEY_LINES.replace(",1000,authority;other", ",2,authority;other", 1)
    )
    with TestClient(create_app(settings, engine=engine)) as small:
        files = [("files", (f"{i}.json", HOUSE, "application/json")) for i in range(3)]
        _refused(small.post("/v1/batches", files=files, headers=auth()), 429, "quota")
        assert small.post("/v1/batches", files=files[:2], headers=auth()).status_code == 202


def test_no_request_path_reaches_the_file_system(client, tmp_path):
    for path in (
        "/static/../mpeil-service.sqlite",
        "/static/%2e%2e/%2e%2e/pyproject.toml",
        "/v1/reports/..%2F..%2Fx.html",
    ):
        assert client.get(path).status_code == 404
    files = [("files", ("../../../../escape.json", HOUSE, "application/json"))]
    created = client.post("/v1/batches", files=files, headers=auth())
    assert created.status_code == 202
    stored = sorted(p.name for p in (tmp_path / "store" / "jobs").rglob("*") if p.is_file())
    assert stored == ["00000.json"]
    assert not list(tmp_path.rglob("escape.json"))


def test_cors_off_and_security_headers(client):
    response = client.get("/v1/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers
    preflight = client.options(
        "/v1/score", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code in (405, 400)
    assert "access-control-allow-origin" not in preflight.headers
    page = client.get("/")
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "unsafe-inline" not in page.headers["content-security-policy"]

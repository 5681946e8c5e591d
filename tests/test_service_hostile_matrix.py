"""The hostile-request matrix (issue 21): over 200 requests an attacker or a broken client sends, each
answered with a 4xx (or 503) and a clear one-line message in a problem+json body: never a 500, never a
hang, never a score. One app serves them all (in-process ASGI client; connection-level cases are in
test_service_connections)."""

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
HOUSE_DICT = json.loads(HOUSE)
FILE_LIMIT = 100_000  # bytes (the example house is about 20 kB)
JSON = {"content-type": "application/json"}
SOME_ID = "A" * 22


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from mpeil.limits import load_limits

    engine = ScoringEngine()
    settings = settings_for(
        tmp_path_factory.mktemp("matrix") / "store",
        limits=load_limits().replace(file_size=FILE_LIMIT),
        upload_size=400_000,
        run_jobs=False,
    )
    with TestClient(create_app(settings, engine=engine), raise_server_exceptions=False) as test_client:
        yield test_client
    engine.close()


def _house(**changes) -> bytes:
    data = json.loads(HOUSE)
    data.update(changes)
    return json.dumps(data).encode()


def _element(**changes) -> bytes:
    data = json.loads(HOUSE)
    data["elements"][0].update(changes)
    return json.dumps(data).encode()


def _layer(**changes) -> bytes:
    data = json.loads(HOUSE)
    data["elements"][0]["layers"][0].update(changes)
    return json.dumps(data).encode()


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


# ---------------------------------------------------------------- paths nobody serves, and ids nobody made
PROBES = [
    "/../../etc/passwd", "/v1/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/static/../app.py",
    "/static/..%2f..%2fapp.py", "/static/%2e%2e/settings.py", "/v1/reports/../../etc/passwd",
    "/v1/reports/" + "A" * 21 + ".html", "/v1/reports/" + "A" * 23 + ".html", "/v1/reports/" + SOME_ID,
    "/v1/reports/" + SOME_ID + ".htm", "/v1/reports/%00" + "A" * 21 + ".html", "/v1/receipts/../jobs",
    "/v1/batches/" + SOME_ID + "/summary", "/v1/batches/" + SOME_ID + "/../../x", "/v1/admin", "/admin",
    "/v1/admin/jobs/../../metrics", "/.env", "/.git/config", "/mpeil-store/mpeil-service.sqlite",
    "/server-status", "/wp-login.php", "/v2/score", "/v1/SCORE", "/v1/score/", "/v1//score", "/docs", "/redoc",
    "/v1/epd/search/../../x", "/static/", "/static/nope.js", "/v1/reports/" + SOME_ID + ".html.zip",
    "/v1/reports/" + "%41" * 22 + ".htm",
]  # fmt: skip


@pytest.mark.parametrize("path", PROBES)
def test_probes_are_not_found(client, path):
    response = client.get(path)
    assert response.status_code in (401, 404, 405, 422), (path, response.status_code)  # 401: a keyed route
    _clear(response)


# ---------------------------------------------------------------- methods the routes do not take
WRONG_METHODS = [
    ("PUT", "/v1/score"), ("PATCH", "/v1/score"), ("DELETE", "/v1/score"), ("GET", "/v1/score"),
    ("PUT", "/v1/compare"), ("GET", "/v1/compare"), ("PUT", "/v1/verify"), ("GET", "/v1/verify"),
    ("POST", "/v1/healthz"), ("DELETE", "/v1/healthz"), ("POST", "/v1/methods"), ("PUT", "/v1/methods"),
    ("POST", "/v1/epd/search"), ("POST", "/v1/metrics"), ("PUT", "/v1/batches"), ("PATCH", "/v1/batches"),
    ("POST", f"/v1/receipts/{SOME_ID}"), ("DELETE", f"/v1/receipts/{SOME_ID}"), ("POST", f"/v1/reports/{SOME_ID}.html"),
    ("POST", "/v1/admin/jobs"), ("TRACE", "/v1/score"), ("POST", "/"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path"), WRONG_METHODS)
def test_wrong_methods_are_405(client, method, path):
    response = client.request(method, path, headers=auth())
    assert response.status_code == 405, (method, path, response.status_code)
    _clear(response)


# ---------------------------------------------------------------- content types of a raw body
CONTENT_TYPES = [
    "text/plain", "text/html", "application/xml", "application/octet-stream", "image/png", "application/zip",
    "application/x-www-form-urlencoded", "application/javascript", "", "application/json-patch+json",
    "application/jsonx", "text/csvx", "multipart/mixed", "application/vnd.ms-excel", "*/*", "json",
]  # fmt: skip


@pytest.mark.parametrize("kind", CONTENT_TYPES)
def test_unsupported_content_types_are_415(client, kind):
    headers = {"content-type": kind} if kind else {}
    response = client.post("/v1/score", content=HOUSE, headers=headers)
    assert response.status_code == 415, (kind, response.status_code, response.text[:200])
    _clear(response, "content type")


# ---------------------------------------------------------------- malformed or hostile JSON buildings
BAD_JSON = {
    "empty": b"", "spaces": b"   \n\t ", "truncated": HOUSE[: len(HOUSE) // 2], "one-brace": b"{",
    "not-json": b"hello", "null": b"null", "number": b"42", "string": b'"house"', "true": b"true",
    "empty-object": b"{}", "empty-array": b"[]", "array-of-numbers": b"[1, 2, 3]", "nan": b"NaN",
    "trailing-comma": b'{"id": "a",}', "single-quotes": b"{'id': 'a'}", "comments": b'{"id": "a" /* x */}',
    "deep-arrays": b"[" * 100_000 + b"]" * 100_000, "deep-objects": b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    "long-integer": b'{"id": "a", "gross_floor_area_m2": ' + b"9" * 5000 + b"}", "nul-bytes": b"\x00" * 100,
    "utf16": HOUSE.decode().encode("utf-16"), "latin1": '{"id": "café"}'.encode("latin-1"),
    "lone-surrogate": b'{"id": "\\ud800"}', "bom-only": b"\xef\xbb\xbf", "binary": bytes(range(256)) * 10,
    "gfa-zero": _house(gross_floor_area_m2=0), "gfa-negative": _house(gross_floor_area_m2=-150),
    "gfa-string": _house(gross_floor_area_m2="lots"), "gfa-nan": _house(gross_floor_area_m2=float("nan")),
    "gfa-infinite": HOUSE.replace(b'"gross_floor_area_m2": 150', b'"gross_floor_area_m2": Infinity', 1),
    "gfa-huge": _house(gross_floor_area_m2=1e300), "period-zero": _house(reference_study_period_years=0),
    "period-huge": _house(reference_study_period_years=10_000), "elements-not-list": _house(elements="many"),
    "elements-null": _house(elements=None), "elements-of-numbers": _house(elements=[1, 2]),
    "id-empty": _house(id=""), "id-long": _house(id="x" * 10_000), "id-object": _house(id={"a": 1}),
    "unknown-field": _house(rm_rf=True), "element-quantity-negative": _element(quantity=-5),
    "element-quantity-string": _element(quantity="five"), "element-layers-null": _element(layers=None),
    "element-type-unknown": _element(element_type="wormhole"), "layer-epd-unknown": _layer(epd="no-such-epd"),
    "layer-epd-traversal": _layer(epd="../../etc/passwd"), "layer-thickness-huge": _layer(thickness_m=1e9),
    "layer-thickness-negative": _layer(thickness_m=-1), "layer-amount-string": _layer(thickness_m="thick"),
    "layer-service-life-zero": _layer(service_life_years=0), "layer-service-life-huge": _layer(service_life_years=1e6),
    "layer-loss-rate-above-1": _layer(loss_rate=5), "layer-transport-huge": _layer(transport_distance_km=1e12),
    "over-file-limit": b'{"id": "' + b"a" * (FILE_LIMIT + 10) + b'"}',
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(BAD_JSON))
def test_bad_json_buildings_are_refused(client, name):
    response = client.post("/v1/score", content=BAD_JSON[name], headers=JSON)
    assert response.status_code in (400, 413, 422), (name, response.status_code, response.text[:300])
    _clear(response)


# ---------------------------------------------------------------- malformed CSV bills of materials
BAD_CSV = {
    "header-only": b"building_id,gross_floor_area_m2\n", "no-header": b"a,b,c\n1,2,3\n", "empty": b"",
    "binary": b"\x00\x01\x02" * 100, "formula-only": b"=cmd|' /C calc'!A0\n", "one-column": b"x\n1\n2\n",
    "unclosed-quote": b'building_id,name\n"a,b\n', "utf16": "building_id\nA\n".encode("utf-16"),
    "huge-field": b"building_id\n" + b"a" * (FILE_LIMIT + 10), "many-columns": b",".join([b"c"] * 20_000) + b"\n",
    "gfa-text": b"building_id,gross_floor_area_m2,element_id,epd,amount\nb,lots,e,x,1\n",
    "unknown-epd": b"building_id,gross_floor_area_m2,element_id,epd,amount,unit\nb,100,e,nope,1,kg\n",
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(BAD_CSV))
def test_bad_csv_buildings_are_refused(client, name):
    response = client.post("/v1/score", content=BAD_CSV[name], headers={"content-type": "text/csv"})
    assert response.status_code in (400, 413, 422), (name, response.status_code, response.text[:300])
    _clear(response)


# ---------------------------------------------------------------- method and options in the query
BAD_QUERIES = [
    "method=nope", "method=../../etc/passwd", "method=mpeil-ef31.toml", "method=" + "m" * 65,
    "method=%00", "method=mpeil-ef31%0a", "options={", "options=[]", "options=null", "options=1",
    'options={"include_d":[1]}', 'options={"include_d":{"a":1}}', 'options={"nope":1}', 'options={"__class__":1}',
    'options={"gap_policy":"invent"}', 'options={"replacement_rule":"never-ever"}', "options=" + "x" * 2001,
    'options={"include_d":"maybe"}', 'options={"loss_basis":42}',
]  # fmt: skip


@pytest.mark.parametrize("query", BAD_QUERIES)
def test_bad_method_and_options_are_refused(client, query):
    response = client.post(f"/v1/score?{query}", content=HOUSE, headers=JSON)
    assert response.status_code in (400, 422), (query, response.status_code, response.text[:300])
    _clear(response)


# ---------------------------------------------------------------- keys
BAD_AUTH = [
    {"Authorization": "Bearer"}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "Bearer " + "k" * 300}, {"X-API-Key": "nope"}, {"X-API-Key": ""},
    {"Authorization": "bearer test-authority-key-012345678"}, {"Authorization": "Bearer test-authority-key-0123456789x"},
    {"Authorization": "Token test-authority-key-0123456789"}, {"X-API-Key": "test-authority-key-0123456789x"},
]  # fmt: skip
KEYED_ROUTES = [
    ("GET", f"/v1/batches/{SOME_ID}"), ("GET", f"/v1/receipts/{SOME_ID}"), ("POST", "/v1/verify"),
    ("GET", "/v1/metrics"), ("GET", "/v1/admin/jobs"), ("DELETE", f"/v1/batches/{SOME_ID}"),
    ("POST", f"/v1/batches/{SOME_ID}/verify"),
]  # fmt: skip


@pytest.mark.parametrize("headers", BAD_AUTH)
@pytest.mark.parametrize(("method", "path"), KEYED_ROUTES)
def test_keyed_routes_refuse_bad_keys(client, headers, method, path):
    response = client.request(method, path, headers=headers, json={"receipt_id": SOME_ID})
    assert response.status_code == 401, (headers, method, path, response.status_code)
    _clear(response)


@pytest.mark.parametrize(("method", "path"), KEYED_ROUTES)
def test_keyed_routes_refuse_no_key(client, method, path):
    response = client.request(method, path, json={"receipt_id": SOME_ID})
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    _clear(response, "api key")


# ---------------------------------------------------------------- idempotency keys
BAD_IDEMPOTENCY = ["", " ", "a b", "x" * 101, "cl%C3%A9", "a/b", "a;b", "<script>", "a\tb", "'; DROP TABLE jobs;--"]


@pytest.mark.parametrize("key", BAD_IDEMPOTENCY)
def test_bad_idempotency_keys_are_422(client, key):
    response = client.post("/v1/score", content=HOUSE, headers={**JSON, "Idempotency-Key": key})
    assert response.status_code == 422, (key, response.status_code)
    _clear(response)


# ---------------------------------------------------------------- multipart single uploads and compare
BAD_MULTIPART = {
    "no-file-field": {"files": {"other": ("a.json", HOUSE, "application/json")}},
    "exe": {"files": {"file": ("tool.exe", b"MZ", "application/octet-stream")}},
    "no-suffix": {"files": {"file": ("house", HOUSE, "application/json")}},
    "double-suffix": {"files": {"file": ("house.json.exe", HOUSE, "application/json")}},
    "traversal-name-bad-json": {"files": {"file": ("../../etc/passwd.json", b"{", "application/json")}},
    "zip-as-single": {"files": {"file": ("a.zip", _zip({"a.json": HOUSE}), "application/zip")}},
    "fake-xlsx": {"files": {"file": ("a.xlsx", b"not a zip", "application/vnd.ms-excel")}},
    "fake-ifc": {"files": {"file": ("a.ifc", b"ISO-10303-21;\nnonsense", "application/x-step")}},
    "empty-file": {"files": {"file": ("a.json", b"", "application/json")}},
    "text-field-only": {"data": {"file": "not a file"}},
    "bad-options-field": {"files": {"file": ("a.json", HOUSE, "application/json")}, "data": {"options": "{"}},
    "bad-method-field": {"files": {"file": ("a.json", HOUSE, "application/json")}, "data": {"method": "nope"}},
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(BAD_MULTIPART))
def test_bad_multipart_uploads_are_refused(client, name):
    response = client.post("/v1/score", **BAD_MULTIPART[name])
    assert response.status_code in (400, 415, 422), (name, response.status_code, response.text[:300])
    _clear(response)


BROKEN_MULTIPART = [
    b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.json"\r\n\r\n{',  # no closing boundary
    b"garbage without boundaries",
    b"--x--\r\n",
    b'--y\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc\r\n--y--\r\n',
]


@pytest.mark.parametrize("body", BROKEN_MULTIPART)
def test_broken_multipart_framing_is_refused(client, body):
    response = client.post("/v1/score", content=body, headers={"content-type": "multipart/form-data; boundary=x"})
    assert response.status_code in (400, 422), (body[:30], response.status_code, response.text[:200])
    _clear(response)


BAD_COMPARE = {
    "json-body": {"json": {"a": 1}},
    "one-variant": {"files": {"a": ("a.json", HOUSE, "application/json")}},
    "exe-variant": {"files": {"a": ("a.json", HOUSE, "application/json"), "b": ("b.exe", b"MZ", "x/y")}},
    "broken-variant": {"files": {"a": ("a.json", HOUSE, "application/json"), "b": ("b.json", b"{", "application/json")}},
    "unknown-method": {"files": {"a": ("a.json", HOUSE, "application/json"), "b": ("b.json", HOUSE, "application/json")},
                       "data": {"method": "nope"}},
    "two-buildings-in-one": {"files": {"a": ("a.csv", b"building_id\nA\nB\n", "text/csv"),
                                       "b": ("b.json", HOUSE, "application/json")}},
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(BAD_COMPARE))
def test_bad_compares_are_refused(client, name):
    response = client.post("/v1/compare", **BAD_COMPARE[name])
    assert response.status_code in (400, 415, 422), (name, response.status_code, response.text[:300])
    _clear(response)


# ---------------------------------------------------------------- batches
BAD_BATCHES = {
    "json-body": {"json": {"files": []}},
    "no-files": {"data": {"method": "mpeil-ef31"}},
    "shell-script": {"files": [("files", ("x.sh", b"rm -rf /", "text/x-sh"))]},
    "zip-slip": {"files": [("files", ("s.zip", _zip({"../../evil.json": HOUSE}), "application/zip"))]},
    "zip-absolute": {"files": [("files", ("s.zip", _zip({"/etc/evil.json": HOUSE}), "application/zip"))]},
    "nested-zip": {"files": [("files", ("n.zip", _zip({"inner.zip": _zip({"a.json": HOUSE})}), "application/zip"))]},
    "broken-zip": {"files": [("files", ("b.zip", b"PK\x03\x04junk", "application/zip"))]},
    "zip-bomb": {"files": [("files", ("bomb.zip", _zip({"a.json": b"0" * 5_000_000}), "application/zip"))]},
    "big-file": {"files": [("files", ("big.json", b" " * (FILE_LIMIT + 1), "application/json"))]},
    "unknown-method": {"files": [("files", ("a.json", HOUSE, "application/json"))], "data": {"method": "nope"}},
    "bad-options": {"files": [("files", ("a.json", HOUSE, "application/json"))], "data": {"options": "[1]"}},
    "unknown-option": {"files": [("files", ("a.json", HOUSE, "application/json"))], "data": {"options": '{"x":1}'}},
    "fake-xlsx": {"files": [("files", ("a.xlsx", b"not a zip", "application/vnd.ms-excel"))]},
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(BAD_BATCHES))
def test_bad_batches_are_refused(client, name):
    response = client.post("/v1/batches", headers=auth(), **BAD_BATCHES[name])
    assert response.status_code in (400, 413, 415, 422), (name, response.status_code, response.text[:300])
    _clear(response)


# ---------------------------------------------------------------- verify bodies
BAD_VERIFY = [
    b"", b"{not json", b"[]", b"null", b'"receipt"', b"{}", b'{"receipt_id": null}', b'{"receipt_id": 42}',
    b'{"receipt_id": ["x"]}', b'{"receipt_id": "../../etc/passwd"}', b'{"receipt_id": "' + b"A" * 22 + b'"}',
    b'{"receipt_id": "' + b"A" * 5000 + b'"}', b'{"receipt_id": {"$ne": ""}}', b'{"id": "x"}',
]  # fmt: skip


@pytest.mark.parametrize("body", BAD_VERIFY)
def test_bad_verify_bodies_are_refused(client, body):
    response = client.post("/v1/verify", content=body, headers={**auth(), **JSON})
    assert response.status_code in (400, 404), (body[:40], response.status_code)
    _clear(response)


# ---------------------------------------------------------------- query parameters of reads
BAD_READS = [
    "/v1/epd/search", "/v1/epd/search?q=", "/v1/epd/search?q=" + "x" * 201, "/v1/epd/search?q=a&limit=0",
    "/v1/epd/search?q=a&limit=101", "/v1/epd/search?q=a&limit=-1", "/v1/epd/search?q=a&limit=lots",
    f"/v1/batches/{SOME_ID}/results?format=xlsx", f"/v1/batches/{SOME_ID}/results?offset=-1",
    f"/v1/batches/{SOME_ID}/results?limit=0", f"/v1/batches/{SOME_ID}/results?limit=100000",
    f"/v1/batches/{SOME_ID}/secrets", f"/v1/batches/{SOME_ID}/results",
]  # fmt: skip


@pytest.mark.parametrize("path", BAD_READS)
def test_bad_reads_are_refused(client, path):
    response = client.get(path, headers=auth())
    assert response.status_code in (404, 422), (path, response.status_code)
    _clear(response)


def test_another_keys_receipt_report_and_batch_are_not_found(client):
    receipt_id = client.post("/v1/score", content=HOUSE, headers={**JSON, **auth()}).json()["receipt_id"]
    job_id = client.post(
        "/v1/batches", files=[("files", ("a.json", HOUSE, "application/json"))], headers=auth()
    ).json()["job_id"]
    for method, path in [
        ("GET", f"/v1/receipts/{receipt_id}"), ("GET", f"/v1/reports/{receipt_id}.html"),
        ("GET", f"/v1/batches/{job_id}"), ("DELETE", f"/v1/batches/{job_id}"), ("POST", f"/v1/batches/{job_id}/verify"),
        ("GET", f"/v1/batches/{job_id}/results"),
    ]:  # fmt: skip
        response = client.request(method, path, headers=auth(OTHER_KEY))
        assert response.status_code == 404, (method, path, response.status_code)
        _clear(response)
    assert client.get(f"/v1/reports/{new_id()}.html").status_code == 404


def test_a_busy_server_answers_503_with_retry_after(tmp_path):
    settings = settings_for(tmp_path / "store", run_jobs=False, max_in_flight=0)
    with TestClient(create_app(settings), raise_server_exceptions=False) as busy:
        response = busy.post("/v1/score", content=HOUSE, headers=JSON)
        assert busy.get("/v1/healthz").status_code == 200  # health is answered even when busy
    assert response.status_code == 503 and response.headers["retry-after"] == "1"
    _clear(response, "busy")


def _clear(response, words: str = "") -> None:
    """A problem+json body with a one-line message (no traceback, no server path)."""
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers["content-type"]
    body = response.json()
    assert body["status"] == response.status_code and body["title"] and body["type"].startswith("urn:mpeil:problem:")
    message = body["message"]
    assert message and "\n" not in message and "Traceback" not in message
    assert "/tmp/" not in message and "scratch" not in message
    assert words.lower() in message.lower(), message

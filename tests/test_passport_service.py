"""POST /v1/passport: each key gets its role's view of the passport (issue 24)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from service_support import EXAMPLES, settings_for

from mpeil.outputs.passport import verify_view
from mpeil.service import create_app
from mpeil.service.keys import hash_key

KEYS = {role: f"test-{role}-key-0123456789abcdef" for role in ("authority", "owner", "public")}


@pytest.fixture(scope="module")
def answers(tmp_path_factory) -> dict[str, dict]:
    lines = ";".join(f"{role},{hash_key(key)},1000,{role}" for role, key in KEYS.items())
    app = create_app(settings_for(tmp_path_factory.mktemp("store"), keys_text=lines))
    body = (EXAMPLES / "terraced_house.json").read_bytes()
    with TestClient(app) as client:
        out = {
            role: client.post(
                "/v1/passport",
                content=body,
                headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            ).json()
            for role, key in KEYS.items()
        }
        refused = client.post("/v1/passport", content=body, headers={"Content-Type": "application/json"})
        out["none"] = {"status": refused.status_code, **refused.json()}
    return out


def test_each_key_gets_its_roles_view(answers):
    public, owner, authority = (answers[r]["passports"][0] for r in ("public", "owner", "authority"))
    assert public["view"]["role"] == "public" and "building" not in public
    assert "impacts" not in public["components"][0] and "impacts" in authority["components"][0]
    assert "replacement_years" in owner["components"][0] and "replacement_years" not in authority["components"][0]
    # one passport: all views name the same content hash, none shows the confidential source_layer
    assert public["content_sha256"] == owner["content_sha256"] == authority["content_sha256"]
    assert all("source_layer" not in v["components"][0] for v in (public, owner, authority))


def test_a_view_from_the_service_verifies_against_the_cli_passport(answers):
    import mpeil
    from mpeil.readers import read_building

    full = mpeil.passport_of(read_building(EXAMPLES / "terraced_house.json"))
    assert verify_view(answers["public"]["passports"][0], full) == []


def test_without_a_key_there_is_no_passport(answers):
    assert answers["none"]["status"] == 401 and "passports" not in answers["none"]

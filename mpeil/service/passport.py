"""``POST /v1/passport``: the building passport of an uploaded building file or passport, in the
view of the key's role (issue 24). Each key sees what its role may: ``data/passport/roles.csv``
maps service roles to passport levels; hidden fields come back as their SHA-256 only."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from .keys import ApiKey
from .routes import _single_upload, require_key

router = APIRouter()


def _passport_views(state, data: bytes, suffix: str, name: str, method: str, role: str) -> list[dict]:
    from ..api import passport_of
    from ..outputs.passport import passport_view

    buildings, _notes = state.engine.read(data, suffix, name, state.settings.limits)
    scorer = state.engine.scorer(method, {})
    return [
        passport_view(passport_of(b, method=scorer.method, library=scorer.library, scenarios=scorer.scenarios), role)
        for b in buildings
    ]


@router.post("/v1/passport", tags=["passports"])
async def passport(
    request: Request,
    key: Annotated[ApiKey, Depends(require_key)],
    method: Annotated[str, Query(max_length=64)] = "mpeil-ef31",
) -> dict:
    """The passport of one building file (or a passport, any version) sent as multipart field
    ``file`` or as the body, as the key's role may see it: ``{"passports": [view, …]}``."""
    path, _digest, suffix, name, _fields = await _single_upload(request)  # spooled to a scratch file
    try:
        data = await run_in_threadpool(Path(path).read_bytes)
    finally:
        Path(path).unlink(missing_ok=True)
    views = await run_in_threadpool(_passport_views, request.app.state, data, suffix, name, method, key.role)
    return {"role": key.role, "passports": views}

"""The ``/v1`` endpoints and the page. Every handler is short: the work is in scoring/store/jobs."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from .. import __version__
from .keys import ApiKey
from .store import ID_PATTERN, new_id
from .uploads import SUFFIXES, UploadRefused, check_batch_file, clean_name, content_suffix, suffix_of

router = APIRouter()

ItemId = Annotated[str, Path(pattern=ID_PATTERN, description="An id returned by this service")]
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$", description="Retry-safe upload key"),
]


# ============================================================================ keys
def _presented(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key")


def optional_key(request: Request) -> ApiKey | None:
    presented = _presented(request)
    if presented is None:
        return None
    key = request.app.state.keys.find(presented)
    if key is None:
        raise HTTPException(401, "unknown API key", headers={"WWW-Authenticate": "Bearer"})
    return key


def require_key(key: Annotated[ApiKey | None, Depends(optional_key)]) -> ApiKey:
    if key is None:
        raise HTTPException(
            401, "this endpoint needs an API key (Authorization: Bearer …)", headers={"WWW-Authenticate": "Bearer"}
        )
    return key


def require_admin(key: Annotated[ApiKey, Depends(require_key)]) -> ApiKey:
    if key.role != "admin":
        raise HTTPException(403, "this endpoint needs an admin key")
    return key


# ============================================================================ page and health
@router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
def page() -> HTMLResponse:
    html = (resources.files("mpeil.service") / "static" / "index.html").read_text(encoding="utf-8")
    return HTMLResponse(html)


@router.get("/v1/healthz", tags=["operations"])
def healthz(request: Request) -> dict:
    """Liveness and readiness: the library is loaded and the store answers."""
    state = request.app.state
    queued = state.store.count_jobs(("queued", "running"))
    return {"status": "ok", "engine_version": __version__, "library": state.engine.library.name, "jobs_active": queued}


@router.get("/v1/metrics", tags=["operations"], response_class=PlainTextResponse)
def metrics(request: Request, key: Annotated[ApiKey, Depends(require_admin)]) -> PlainTextResponse:
    """Prometheus text format: requests, latency histograms, jobs by status (admin key)."""
    state = request.app.state
    gauges = {
        f"mpeil_jobs_{status}": (f"batch jobs {status}", float(state.store.count_jobs((status,))))
        for status in ("queued", "running", "done", "failed")
    }
    text = state.metrics.render(gauges)
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")


@router.get("/v1/methods", tags=["scoring"])
def methods(request: Request) -> list[dict]:
    """The shipped scoring methods and the options a request may set."""
    from .scoring import REQUEST_OPTIONS

    engine = request.app.state.engine
    found = []
    for name in engine.method_names:
        method = engine.method(name, {})
        options = {k: getattr(method, k) for k in REQUEST_OPTIONS if hasattr(method, k)}
        found.append(
            {
                "name": name,
                "title": method.title,
                "score_unit": method.score_unit,
                "study_period_years": method.reference_study_period_years,
                "options": options,
            }
        )
    return found


@router.get("/v1/epd/search", tags=["scoring"])
def epd_search(
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=200, description="Words to look for")],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[dict]:
    """EPD data sets matching the words (name, category)."""
    from .epd import search

    return search(request.app.state.engine.library, q, limit)


# ============================================================================ single buildings
def _options(text: str | None) -> dict:
    if not text:
        return {}
    try:
        options = json.loads(text)
    except ValueError:
        raise UploadRefused(400, 'options must be a JSON object, e.g. {"include_d": true}') from None
    if not isinstance(options, dict) or not all(isinstance(v, (str, bool, int, float)) for v in options.values()):
        raise UploadRefused(400, "options must be a JSON object of plain values")
    return options


async def _single_upload(request: Request) -> tuple[bytes, str, str, dict]:
    """(bytes, suffix, display name, form fields) of a multipart file or a raw body."""
    content_type = request.headers.get("content-type", "")
    if content_type.lower().startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise UploadRefused(400, "send the building as the form field 'file'")
        name = clean_name(upload.filename, "building")
        suffix = suffix_of(name, SUFFIXES)
        data = await upload.read()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        return data, suffix, name, fields
    suffix = content_suffix(content_type)
    return await request.body(), suffix, f"body{suffix}", {}


def _idempotent(state, owner: str, kind: str, key: str | None, digest: str) -> str | None:
    if key is None:
        return None
    known = state.store.idempotent(owner, kind, key)
    if known is None:
        return None
    if known["request_sha256"] != digest:
        raise HTTPException(409, "this Idempotency-Key was used for a different request")
    return known["target"]


@router.post("/v1/score", tags=["scoring"])
async def score(
    request: Request,
    key: Annotated[ApiKey | None, Depends(optional_key)],
    method: Annotated[str | None, Query(max_length=64)] = None,
    options: Annotated[str | None, Query(max_length=2000, description="JSON object of method options")] = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Score one building file (JSON, CSV, XLSX or IFC) sent as multipart field ``file`` or as the body.
    Returns score, stages, coverage split, flags, elements and a receipt id (also the report id)."""
    state = request.app.state
    data, suffix, name, fields = await _single_upload(request)
    method = method or fields.get("method") or "mpeil-ef31"
    chosen = _options(options or fields.get("options"))
    owner = key.name if key else ""
    digest = hashlib.sha256(json.dumps([method, chosen, suffix]).encode() + data).hexdigest()
    if key is not None and not state.store.use_quota(owner, 1, key.quota_files_per_day):
        raise HTTPException(429, f"the daily quota of key {key.name!r} is used up")
    scored = await run_in_threadpool(state.engine.score, data, suffix, name, method, chosen, state.settings.limits)
    _idempotent(state, owner, "score", idempotency_key, digest)  # the same key for another body: 409
    claim = (idempotency_key, digest) if idempotency_key else None
    receipt_id = state.store.add_receipt(new_id(), owner, name, suffix, data, scored.receipt, claim)
    body = {"receipt_id": receipt_id, "report": f"/v1/reports/{receipt_id}.html", **scored.summary}
    return JSONResponse(body)


@router.post("/v1/compare", tags=["scoring"])
async def compare(request: Request) -> dict:
    """Two variants as multipart files ``a`` (baseline) and ``b``, plus ``method`` and ``options`` fields:
    both summaries, the score difference (b − a) and an explanation element by element. Nothing is stored."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise UploadRefused(415, "send the variants as multipart/form-data fields 'a' and 'b'")
    form = await request.form(max_files=2, max_fields=10)
    uploads = []
    for field in ("a", "b"):
        upload = form.get(field)
        if upload is None or isinstance(upload, str):
            raise UploadRefused(400, "send the two variants as the form fields 'a' and 'b'")
        name = clean_name(upload.filename, field)
        uploads.append((await upload.read(), suffix_of(name, SUFFIXES), name))
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    state = request.app.state
    method, options = fields.get("method") or "mpeil-ef31", _options(fields.get("options"))
    return await run_in_threadpool(state.engine.compare, uploads, method, options, state.settings.limits)


def _stored(state, receipt_id: str, key: ApiKey | None) -> dict:
    """A stored receipt; anonymous ones are readable by any key, a key's own only by that key."""
    found = state.store.receipt(receipt_id)
    if found is None or (key is not None and found["owner"] not in ("", key.name)):
        raise HTTPException(404, "no such receipt")
    return found


async def _rescore(state, found: dict):
    receipt = found["receipt"]
    method = receipt["method"]
    return await run_in_threadpool(
        state.engine.score,
        found["input"],
        found["suffix"],
        found["name"],
        method["name"],
        method["options"],
        state.settings.limits,
    )


@router.get("/v1/reports/{receipt_id}.html", tags=["scoring"], response_class=HTMLResponse)
async def report(request: Request, receipt_id: ItemId) -> HTMLResponse:
    """The designer's report of a scored building (its id is the unguessable receipt id)."""
    state = request.app.state
    found = _stored(state, receipt_id, None)
    scored = await _rescore(state, found)
    html = await run_in_threadpool(state.engine.report_html, scored.result)
    disposition = f'attachment; filename="mpeil-report-{receipt_id[:8]}.html"'
    if request.query_params.get("download") == "1":
        return HTMLResponse(html, headers={"content-disposition": disposition})
    return HTMLResponse(html)


@router.get("/v1/receipts/{receipt_id}", tags=["receipts"])
def receipt(request: Request, receipt_id: ItemId, key: Annotated[ApiKey, Depends(require_key)]) -> dict:
    """A score receipt: input hash, engine, method, library and scenario hashes, the numbers' bits."""
    found = _stored(request.app.state, receipt_id, key)
    return {"receipt_id": receipt_id, "created": found["created"], **found["receipt"]}


@router.post("/v1/verify", tags=["receipts"])
async def verify(request: Request, key: Annotated[ApiKey, Depends(require_key)]) -> dict:
    """Re-score a receipt's stored input and compare every number bit for bit.
    Body: ``{"receipt_id": "…"}``."""
    try:
        body = json.loads(await request.body())
        receipt_id = body["receipt_id"]
    except (ValueError, KeyError, TypeError):
        raise UploadRefused(400, 'send a JSON object {"receipt_id": "…"}') from None
    import re

    from .store import ID_PATTERN as pattern

    if not isinstance(receipt_id, str) or not re.match(pattern, receipt_id):
        raise HTTPException(404, "no such receipt")
    state = request.app.state
    found = _stored(state, receipt_id, key)
    scored = await _rescore(state, found)
    return compare_receipts(receipt_id, found["receipt"], scored.receipt)


def compare_receipts(receipt_id: str, was: dict, now: dict) -> dict:
    problems = []
    for what in ("engine_version",):
        if was[what] != now[what]:
            problems.append(f"{what} {now[what]} now, {was[what]} in the receipt")
    for part in ("method", "library", "scenarios", "input"):
        if was[part]["sha256"] != now[part]["sha256"]:
            problems.append(f"{part} changed: SHA-256 {now[part]['sha256']} now, {was[part]['sha256']} in the receipt")
    for name, number in was["numbers"].items():
        again = now["numbers"].get(name)
        if again is None or again["hex"] != number["hex"]:
            problems.append(f"{name}: {again and again['hex']} now, {number['hex']} in the receipt")
    if was["results_sha256"] != now["results_sha256"]:
        problems.append("element × module × indicator results differ (results_sha256)")
    return {
        "receipt_id": receipt_id,
        "ok": not problems,
        "problems": problems,
        "numbers_compared": len(was["numbers"]) + 1,
    }


# ============================================================================ batches
async def _batch_files(request: Request, limits, max_files: int) -> tuple[list[tuple[bytes, str, str]], dict]:
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise UploadRefused(415, "send the files as multipart/form-data (field 'files', repeated)")
    form = await request.form(max_files=max_files, max_fields=10)
    uploads = [u for u in form.getlist("files") if not isinstance(u, str)]
    if not uploads:
        raise UploadRefused(400, "send at least one file in the form field 'files'")
    files = []
    for number, upload in enumerate(uploads):
        name = clean_name(upload.filename, f"file-{number}")
        data = await upload.read()
        files.append((data, check_batch_file(data, name, limits), name))
    return files, {k: v for k, v in form.items() if isinstance(v, str)}


@router.post("/v1/batches", tags=["batches"], status_code=202)
async def create_batch(
    request: Request, key: Annotated[ApiKey, Depends(require_key)], idempotency_key: IdempotencyKey = None
) -> dict:
    """Queue a batch: building files and/or zip archives of them (form field ``files``, repeated),
    ``method`` and ``options`` form fields. Returns the job id; follow it with ``GET /v1/batches/{id}``."""
    state = request.app.state
    settings = state.settings
    files, fields = await _batch_files(request, settings.limits, settings.upload_files)
    method, options = fields.get("method") or "mpeil-ef31", _options(fields.get("options"))
    state.engine.method(method, options)  # an unknown method or option is refused now, not in the worker
    digest = hashlib.sha256(json.dumps([method, options]).encode())
    for data, suffix, name in files:
        digest.update(f"{name}\0{suffix}\0".encode() + hashlib.sha256(data).digest())
    known = _idempotent(state, key.name, "batch", idempotency_key, digest.hexdigest())
    if known is not None:
        return {"job_id": known, "status": state.store.job(known)["status"]}
    if not state.store.use_quota(key.name, len(files), key.quota_files_per_day):
        raise HTTPException(429, f"the daily quota of key {key.name!r} does not cover {len(files)} more files")
    job_id = new_id()
    await run_in_threadpool(_write_inputs, state.store.job_dir(job_id), files)
    job = {
        "id": job_id,
        "owner": key.name,
        "status": "queued",
        "created": time.time(),
        "method": method,
        "options": options,
        "as_of": time.strftime("%Y-%m-%d"),
        "files": len(files),
        "chunk_size": settings.chunk_size,
        "names": [name for _, _, name in files],
    }
    claim = (idempotency_key, digest.hexdigest()) if idempotency_key else None
    created = state.store.add_job(job, claim)
    if created != job_id:  # the same upload, sent twice at once: the first one's job
        await run_in_threadpool(shutil.rmtree, state.store.job_dir(job_id), True)
        return {"job_id": created, "status": state.store.job(created)["status"]}
    state.runner.wake()
    return {"job_id": job_id, "status": "queued"}


def _write_inputs(folder, files) -> None:
    """Inputs under names this service makes (``00000.json`` …); the uploaded names are only data."""
    inputs = folder / "inputs"
    inputs.mkdir(parents=True)
    for number, (data, suffix, _) in enumerate(files):
        (inputs / f"{number:05d}{suffix}").write_bytes(data)


def _job(request: Request, job_id: str, key: ApiKey) -> dict:
    job = request.app.state.store.job(job_id, owner=key.name)
    if job is None:
        raise HTTPException(404, "no such batch")
    return job


@router.get("/v1/batches/{job_id}", tags=["batches"])
def batch_status(request: Request, job_id: ItemId, key: Annotated[ApiKey, Depends(require_key)]) -> dict:
    """Status (queued, running, done, failed), progress from the batch journal, counts when done."""
    from .jobs import job_progress

    job = _job(request, job_id, key)
    fields = ("status", "method", "options", "created", "started", "finished", "message", "buildings", "errors")
    return {"job_id": job_id, **{k: job[k] for k in fields}, "progress": job_progress(request.app.state.store, job)}


@router.get("/v1/batches/{job_id}/{table}", tags=["batches"])
def batch_table(
    request: Request,
    job_id: ItemId,
    table: Annotated[str, Path(pattern="^(results|errors)$")],
    key: Annotated[ApiKey, Depends(require_key)],
    format: Annotated[str, Query(pattern="^(json|csv|parquet)$")] = "json",
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> Response:
    """A finished batch's results (one row per building) or errors (one row per bad input);
    JSON pages with ``offset``/``limit``, CSV and Parquet whole."""
    from .tables import table_response

    job = _job(request, job_id, key)
    if job["status"] != "done":
        raise HTTPException(409, f"the batch is {job['status']}; tables are ready when it is done")
    folder = request.app.state.store.job_dir(job_id) / "out"
    path = folder / ("summary.parquet" if table == "results" else "errors.parquet")
    return table_response(path, job["names"], format, offset, limit, f"{table}-{job_id[:8]}")


@router.get("/v1/admin/jobs", tags=["operations"])
def admin_jobs(request: Request, key: Annotated[ApiKey, Depends(require_admin)]) -> list[dict]:
    """Every job of every key (admin key)."""
    fields = ("id", "owner", "status", "created", "finished", "files", "buildings", "errors", "attempts")
    return [{k: job[k] for k in fields} for job in request.app.state.store.jobs()]

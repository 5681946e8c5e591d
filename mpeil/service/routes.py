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


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    """The page's icon (SVG) where browsers look for it first."""
    icon = (resources.files("mpeil.service") / "static" / "favicon.svg").read_bytes()
    return Response(icon, media_type="image/svg+xml", headers={"cache-control": "public, max-age=86400"})


@router.get("/v1/healthz", tags=["operations"])
def healthz(request: Request) -> dict:
    """Liveness and readiness: the library is loaded and the store answers."""
    state = request.app.state
    queued = state.store.count_jobs(("queued", "running"))
    return {"status": "ok", "engine_version": __version__, "library": state.engine.library.name, "jobs_active": queued}


@router.get("/v1/metrics", tags=["operations"], response_class=PlainTextResponse)
def metrics(request: Request, key: Annotated[ApiKey, Depends(require_admin)]) -> PlainTextResponse:
    """Prometheus text format (admin key): requests, latency histograms, requests in flight, memory and
    open files of the server and its scoring workers, scored buildings, jobs by status, queue length and
    age per tenant, batch durations. Counters of every HTTP worker process are summed (see metrics.py)."""
    from .metrics import process_gauges

    state = request.app.state
    gauges = {
        f"mpeil_jobs_{status}": (f"batch jobs {status}", float(state.store.count_jobs((status,))))
        for status in ("queued", "running", "done", "failed", "cancelled")
    }
    gauges.update(process_gauges(state))
    text = state.metrics.render(gauges, state.store)
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


def _owner(request: Request, key: ApiKey | None) -> str:
    """Who a request is for idempotency, receipts and retention: a key's name, or ``anon:<address>``."""
    if key is not None:
        return key.name
    return "anon:" + (request.client.host if request.client else "unknown")


def _scratch(request: Request):
    """A fresh scratch file under the store (a name this service makes); the caller deletes it."""
    import tempfile

    folder = request.app.state.store.root / "scratch"
    folder.mkdir(exist_ok=True)
    handle, path = tempfile.mkstemp(prefix="upload-", dir=folder)
    return handle, path


async def _spool(request: Request, upload=None) -> tuple[str, str]:
    """The request body (or a multipart upload) written to a scratch file: (path, SHA-256).
    Memory stays at one chunk whatever the size (the body limit is the Guard's)."""
    import os

    handle, path = _scratch(request)
    digest = hashlib.sha256()
    try:
        with os.fdopen(handle, "wb") as out:
            if upload is None:
                async for chunk in request.stream():
                    digest.update(chunk)
                    out.write(chunk)
            else:
                while chunk := await upload.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
    except BaseException:
        os.unlink(path)
        raise
    return path, digest.hexdigest()


async def _single_upload(request: Request) -> tuple[str, str, str, str, dict]:
    """(scratch path, SHA-256, suffix, display name, form fields) of a multipart file or a raw body."""
    content_type = request.headers.get("content-type", "")
    if content_type.lower().startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise UploadRefused(400, "send the building as the form field 'file'")
        name = clean_name(upload.filename, "building")
        suffix = suffix_of(name, SUFFIXES)
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        path, digest = await _spool(request, upload)
        return path, digest, suffix, name, fields
    suffix = content_suffix(content_type)
    path, digest = await _spool(request)
    return path, digest, suffix, f"body{suffix}", {}


def _idempotent(state, owner: str, kind: str, key: str | None, digest: str) -> str | None:
    if key is None:
        return None
    known = state.store.idempotent(owner, kind, key)
    if known is None:
        return None
    if known["request_sha256"] != digest:
        raise HTTPException(409, "this Idempotency-Key was used for a different request")
    return known["target"]


def _check_method(state, method: str, options: dict) -> None:
    """An unknown method or option is refused before anything is scored or charged."""
    state.engine.method(method, options)


def _replay(state, receipt_id: str) -> JSONResponse:
    found = state.store.receipt(receipt_id)
    if found is None or found["summary"] is None:
        raise HTTPException(409, "this Idempotency-Key names a receipt this service no longer holds")
    return JSONResponse({"receipt_id": receipt_id, "report": f"/v1/reports/{receipt_id}.html", **found["summary"]})


@router.post("/v1/score", tags=["scoring"])
async def score(
    request: Request,
    key: Annotated[ApiKey | None, Depends(optional_key)],
    method: Annotated[str | None, Query(max_length=64)] = None,
    options: Annotated[str | None, Query(max_length=2000, description="JSON object of method options")] = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Score one building file (JSON, CSV, XLSX or IFC) sent as multipart field ``file`` or as the body.
    Returns score, stages, coverage split, flags, elements and a receipt id (also the report id).

    Scored in a worker process under the caller class's memory and time budget; quota is charged
    only for a scored file (not for a refusal, nor for an idempotent replay)."""
    import os

    state = request.app.state
    path, sha256, suffix, name, fields = await _single_upload(request)
    try:
        method = method or fields.get("method") or "mpeil-ef31"
        chosen = _options(options or fields.get("options"))
        _check_method(state, method, chosen)
        owner = _owner(request, key)
        digest = hashlib.sha256(json.dumps([method, chosen, suffix]).encode() + sha256.encode()).hexdigest()
        known = await run_in_threadpool(_idempotent, state, owner, "score", idempotency_key, digest)  # other body: 409
        if known is not None:
            return await run_in_threadpool(_replay, state, known)
        if key is not None and not await run_in_threadpool(state.store.quota_left, owner, 1, key.quota_files_per_day):
            raise HTTPException(429, f"the daily quota of key {key.name!r} is used up")
        task = {
            "kind": "score", "path": path, "suffix": suffix, "name": name, "method": method, "options": chosen,
            "limits": state.settings.limits, "store": str(state.store.root), "receipt_id": new_id(), "owner": owner,
            "claim": (idempotency_key, digest) if idempotency_key else None,
        }  # fmt: skip
        done = await state.pool.run(task, state.settings.budget(key is not None))
    finally:
        os.unlink(path)
    if key is not None and done["buildings"]:
        await run_in_threadpool(state.store.charge, owner, 1)
    state.metrics.scored(done["buildings"])
    receipt_id = done["receipt_id"]
    return JSONResponse({"receipt_id": receipt_id, "report": f"/v1/reports/{receipt_id}.html", **done["summary"]})


@router.post("/v1/compare", tags=["scoring"])
async def compare(request: Request, key: Annotated[ApiKey | None, Depends(optional_key)]) -> dict:
    """Two variants as multipart files ``a`` (baseline) and ``b``, plus ``method`` and ``options`` fields:
    both summaries, the score difference (b − a) and an explanation element by element. Nothing is stored."""
    import os

    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise UploadRefused(415, "send the variants as multipart/form-data fields 'a' and 'b'")
    form = await request.form(max_files=2, max_fields=10)
    named = []
    for field in ("a", "b"):
        upload = form.get(field)
        if upload is None or isinstance(upload, str):
            raise UploadRefused(400, "send the two variants as the form fields 'a' and 'b'")
        name = clean_name(upload.filename, field)
        named.append((upload, suffix_of(name, SUFFIXES), name))
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    state = request.app.state
    method, options = fields.get("method") or "mpeil-ef31", _options(fields.get("options"))
    _check_method(state, method, options)
    uploads = []
    try:
        for upload, suffix, name in named:
            uploads.append(((await _spool(request, upload))[0], suffix, name))
        task = {"kind": "compare", "uploads": uploads, "method": method, "options": options}
        return await state.pool.run({**task, "limits": state.settings.limits}, state.settings.budget(key is not None))
    finally:
        for path, _, _ in uploads:
            os.unlink(path)


def _stored(state, receipt_id: str, key: ApiKey | None) -> dict:
    """A stored receipt: an anonymous one is readable with its (unguessable) id, a key's own only with that key."""
    found = state.store.receipt(receipt_id)
    if found is None:
        raise HTTPException(404, "no such receipt")
    owner = found["owner"]
    anonymous = owner == "" or owner.startswith("anon:")
    if not anonymous and (key is None or key.name != owner):
        raise HTTPException(404, "no such receipt")
    return found


@router.get("/v1/reports/{receipt_id}.html", tags=["scoring"], response_class=HTMLResponse)
async def report(
    request: Request, receipt_id: ItemId, key: Annotated[ApiKey | None, Depends(optional_key)]
) -> HTMLResponse:
    """The designer's report of a scored building (its id is the unguessable receipt id; a keyed
    receipt's report needs its key). Rendered once, at the first view, and stored."""
    state = request.app.state
    await run_in_threadpool(_stored, state, receipt_id, key)
    html = await run_in_threadpool(state.store.report, receipt_id)
    if html is None:
        task = {"kind": "report", "receipt_id": receipt_id, "store": str(state.store.root)}
        done = await state.pool.run({**task, "limits": state.settings.limits}, state.settings.budget(key is not None))
        html = done["html"]
    if request.query_params.get("download") == "1":
        disposition = f'attachment; filename="mpeil-report-{receipt_id[:8]}.html"'
        return HTMLResponse(html, headers={"content-disposition": disposition})
    return HTMLResponse(html)


@router.get("/v1/receipts/{receipt_id}", tags=["receipts"])
def receipt(request: Request, receipt_id: ItemId, key: Annotated[ApiKey, Depends(require_key)]) -> dict:
    """A score receipt: input hash, engine, method, library and scenario hashes, the numbers' bits,
    and the server's signature (HMAC-SHA256)."""
    found = _stored(request.app.state, receipt_id, key)
    return {"receipt_id": receipt_id, "created": found["created"], **found["receipt"]}


@router.post("/v1/verify", tags=["receipts"])
async def verify(request: Request, key: Annotated[ApiKey, Depends(require_key)]) -> dict:
    """Check a receipt's signature, then re-score its stored input and compare every number bit for bit.
    Body: ``{"receipt_id": "…"}``."""
    import re

    try:
        body = json.loads(await request.body())
        receipt_id = body["receipt_id"]
    except (ValueError, KeyError, TypeError):
        raise UploadRefused(400, 'send a JSON object {"receipt_id": "…"}') from None
    if not isinstance(receipt_id, str) or not re.match(ID_PATTERN, receipt_id):
        raise HTTPException(404, "no such receipt")
    state = request.app.state
    found = await run_in_threadpool(_stored, state, receipt_id, key)
    from .signing import check

    signature_problem = check(found["receipt"], state.signing_key)
    task = {"kind": "rescore", "receipt_id": receipt_id, "store": str(state.store.root)}
    done = await state.pool.run({**task, "limits": state.settings.limits}, state.settings.budget(True))
    checked = compare_receipts(receipt_id, found["receipt"], done["receipt"])
    if signature_problem:
        checked["problems"].insert(0, signature_problem)
        checked["ok"] = False
    checked["signature"] = "ok" if signature_problem is None else "bad"
    return checked


def compare_receipts(receipt_id: str, was: dict, now: dict) -> dict:
    problems = []
    try:
        for what in ("engine_version",):
            if was[what] != now[what]:
                problems.append(f"{what} {now[what]} now, {was[what]} in the receipt")
        for part in ("method", "library", "scenarios", "input"):
            if was[part]["sha256"] != now[part]["sha256"]:
                problems.append(
                    f"{part} changed: SHA-256 {now[part]['sha256']} now, {was[part]['sha256']} in the receipt"
                )
        for name, number in was["numbers"].items():
            again = now["numbers"].get(name)
            if again is None or again["hex"] != number["hex"]:
                problems.append(f"{name}: {again and again['hex']} now, {number['hex']} in the receipt")
        if was["results_sha256"] != now["results_sha256"]:
            problems.append("element × module × indicator results differ (results_sha256)")
    except (KeyError, TypeError, AttributeError):
        problems.append("the stored receipt is malformed (a field is missing or of the wrong type)")
    return {
        "receipt_id": receipt_id,
        "ok": not problems,
        "problems": problems,
        "numbers_compared": len(was.get("numbers") or {}) + 1,
    }


# ============================================================================ batches
async def _batch_files(request: Request, limits, max_files: int) -> tuple[list[tuple[str, str, str, int, str]], dict]:
    """The uploads spooled to scratch files and checked (archives listed off the event loop):
    (path, suffix, name, building files, SHA-256) each, and the form's text fields."""
    import os

    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise UploadRefused(415, "send the files as multipart/form-data (field 'files', repeated)")
    form = await request.form(max_files=max_files, max_fields=10)
    uploads = [u for u in form.getlist("files") if not isinstance(u, str)]
    if not uploads:
        raise UploadRefused(400, "send at least one file in the form field 'files'")
    files: list[tuple[str, str, str, int, str]] = []
    try:
        for number, upload in enumerate(uploads):
            name = clean_name(upload.filename, f"file-{number}")
            path, sha256 = await _spool(request, upload)
            files.append((path, "", name, 0, sha256))
            suffix, count = await run_in_threadpool(check_batch_file, path, name, limits)
            files[-1] = (path, suffix, name, count, sha256)
    except BaseException:
        for path, *_ in files:
            os.unlink(path)
        raise
    return files, {k: v for k, v in form.items() if isinstance(v, str)}


@router.post("/v1/batches", tags=["batches"], status_code=202)
async def create_batch(
    request: Request, key: Annotated[ApiKey, Depends(require_key)], idempotency_key: IdempotencyKey = None
) -> dict:
    """Queue a batch: building files and/or zip archives of them (form field ``files``, repeated),
    ``method`` and ``options`` form fields. Returns the job id; follow it with ``GET /v1/batches/{id}``.

    The quota counts building files (each member of an archive), charged when the batch is accepted:
    never for a refused upload or an idempotent replay."""
    import os

    state = request.app.state
    settings = state.settings
    files, fields = await _batch_files(request, settings.limits, settings.upload_files)
    try:
        method, options = fields.get("method") or "mpeil-ef31", _options(fields.get("options"))
        _check_method(state, method, options)  # an unknown method or option is refused now, not in the worker
        digest = hashlib.sha256(json.dumps([method, options]).encode())
        for _, suffix, name, _, sha256 in files:
            digest.update(f"{name}\0{suffix}\0{sha256}".encode())
        known = await run_in_threadpool(_idempotent, state, key.name, "batch", idempotency_key, digest.hexdigest())
        if known is not None:
            return {"job_id": known, "status": (await run_in_threadpool(state.store.job, known))["status"]}
        count = sum(f[3] for f in files)
        if not await run_in_threadpool(state.store.quota_left, key.name, count, key.quota_files_per_day):
            raise HTTPException(429, f"the daily quota of key {key.name!r} does not cover {count:,} more files")
        job_id = new_id()
        await run_in_threadpool(_write_inputs, state.store.job_dir(job_id), files)
    finally:
        for path, *_ in files:
            if os.path.exists(path):
                os.unlink(path)
    job = {
        "id": job_id, "owner": key.name, "status": "queued", "created": time.time(), "method": method,
        "options": options, "as_of": time.strftime("%Y-%m-%d"), "files": len(files),
        "chunk_size": settings.chunk_size, "names": [name for _, _, name, _, _ in files],
    }  # fmt: skip
    claim = (idempotency_key, digest.hexdigest()) if idempotency_key else None
    created = await run_in_threadpool(state.store.add_job, job, claim)  # SQLite commits: off the event loop
    if created != job_id:  # the same upload, sent twice at once: the first one's job
        await run_in_threadpool(shutil.rmtree, state.store.job_dir(job_id), True)
        return {"job_id": created, "status": (await run_in_threadpool(state.store.job, created))["status"]}
    await run_in_threadpool(state.store.charge, key.name, count)
    state.runner.wake()
    return {"job_id": job_id, "status": "queued", "files": count}


def _write_inputs(folder, files) -> None:
    """Inputs under names this service makes (``00000.json`` …); the uploaded names are only data."""
    import os

    inputs = folder / "inputs"
    inputs.mkdir(parents=True)
    for number, (path, suffix, *_) in enumerate(files):
        os.replace(path, inputs / f"{number:05d}{suffix}")


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
    from .tables import checked_table

    folder = request.app.state.store.job_dir(job_id) / "out"
    name = "summary.parquet" if table == "results" else "errors.parquet"
    path = checked_table(folder, name, request.app.state.signing_key)  # a changed table is refused, not served
    return table_response(path, job["names"], format, offset, limit, f"{table}-{job_id[:8]}")


@router.delete("/v1/batches/{job_id}", tags=["batches"])
def cancel_batch(request: Request, job_id: ItemId, key: Annotated[ApiKey, Depends(require_key)]) -> dict:
    """Cancel a queued or running batch (a running one stops within a second; its chunks done stay)."""
    job = _job(request, job_id, key)
    if not request.app.state.store.cancel_job(job_id):
        raise HTTPException(409, f"the batch is {job['status']}; only a queued or running batch can be cancelled")
    request.app.state.runner.wake()
    return {"job_id": job_id, "status": "cancelled"}


@router.post("/v1/batches/{job_id}/verify", tags=["batches", "receipts"])
async def verify_batch(request: Request, job_id: ItemId, key: Annotated[ApiKey, Depends(require_key)]) -> dict:
    """Check a finished batch's outputs against its receipts (tables, per-file receipts) and the
    server's signature over them: whatever was changed in the store after the batch is named."""
    from .jobs import verify_job

    job = _job(request, job_id, key)
    if job["status"] != "done":
        raise HTTPException(409, f"the batch is {job['status']}; a batch is verified when it is done")
    state = request.app.state
    return await run_in_threadpool(verify_job, state.store, job, state.signing_key)


@router.get("/v1/admin/jobs", tags=["operations"])
def admin_jobs(request: Request, key: Annotated[ApiKey, Depends(require_admin)]) -> list[dict]:
    """Every job of every key (admin key)."""
    fields = ("id", "owner", "status", "created", "finished", "files", "buildings", "errors", "attempts")
    return [{k: job[k] for k in fields} for job in request.app.state.store.jobs()]

"""The FastAPI app of ``mpeil serve``: factory, middleware (body limit, security headers, metrics), errors.

Nothing is built at import; :func:`create_app` returns an app whose lifespan loads the EPD library,
the scenarios and the method list once and keeps them, the store and the job runner on ``app.state``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import MpeilError
from .settings import Settings
from .uploads import UploadRefused

__all__ = ["create_app", "BodyTooLarge", "problem_response"]

log = logging.getLogger("mpeil.service")

#: set on every response; the page needs nothing beyond its own origin
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
}
#: reports are self-contained HTML (inline styles, SVG); they run no script and load nothing
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


class BodyTooLarge(Exception):
    """A request body above the limit (answered 413)."""


class BodyTimeout(Exception):
    """A client that stopped sending its body (answered 408)."""


#: problems answered with their HTTP status and a Retry-After (seconds)
PROBLEM_MEDIA_TYPE = "application/problem+json"


def _presented_key(scope) -> str | None:
    headers = dict(scope["headers"])
    auth = headers.get(b"authorization", b"").decode("latin-1")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    key = headers.get(b"x-api-key")
    return key.decode("latin-1") if key is not None else None


class Guard:
    """Pure ASGI middleware: in-flight limit (503 + Retry-After), body-size limit per route and caller
    class, body timeout, security headers, request metrics."""

    def __init__(self, app, settings: Settings) -> None:
        self.app, self.settings = app, settings
        self.in_flight = 0

    def limit(self, scope) -> int:
        """Bytes of body this request may send: batches, keyed calls, anonymous calls."""
        if scope["path"].startswith("/v1/batches"):
            return self.settings.upload_size
        one_file = self.settings.limits.file_size + 65536  # one building file plus multipart framing
        keys = getattr(scope["app"].state, "keys", None) if scope.get("app") else None
        if keys is not None and keys.find(_presented_key(scope)) is not None:
            return one_file
        return min(one_file, self.settings.anonymous_body_size)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), [500]
        if self.in_flight >= self.settings.max_in_flight and scope["path"] != "/v1/healthz":
            response = problem_response("Busy", "the service is busy; try again in a second", 503, {"retry-after": "1"})
            return await self._finish(response, {**scope, "route_label": "(busy)"}, receive, send, started)
        limit = self.limit(scope)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            response = problem_response("BodyTooLarge", f"the request body is above {limit:,} bytes", 413)
            return await self._finish(response, {**scope, "route_label": "(body limit)"}, receive, send, started)
        seen, done = [0], [False]
        timeout = float(self.settings.body_timeout)

        async def counted_receive():
            if done[0]:
                return await receive()  # after the body: waits for a disconnect, as long as it takes
            try:
                message = await asyncio.wait_for(receive(), timeout)
            except TimeoutError:
                raise BodyTimeout(f"no part of the request body came for {timeout:g} s") from None
            seen[0] += len(message.get("body", b""))
            done[0] = message["type"] != "http.request" or not message.get("more_body", False)
            if seen[0] > limit:
                raise BodyTooLarge(f"the request body is above {limit:,} bytes")
            return message

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message = {**message, "headers": _with_security_headers(scope["path"], message.get("headers", []))}
            await send(message)

        metrics = getattr(scope["app"].state, "metrics", None) if scope.get("app") else None
        self.in_flight += 1
        if metrics is not None:
            metrics.in_flight = self.in_flight
        try:
            await self.app(scope, counted_receive, send_with_headers)
        finally:
            self.in_flight -= 1
            if metrics is not None:
                metrics.in_flight = self.in_flight
            self._observe(scope, status[0], started)

    async def _finish(self, response, scope, receive, send, started):
        for name, value in SECURITY_HEADERS.items():
            response.headers[name] = value
        await response(scope, receive, send)
        self._observe(scope, response.status_code, started)

    def _observe(self, scope, status: int, started: float) -> None:
        metrics = getattr(scope.get("app").state, "metrics", None) if scope.get("app") else None
        route = scope.get("route")
        label = getattr(route, "path", None) or scope.get("route_label") or "(unmatched)"
        if metrics is not None:
            metrics.observe(label, scope["method"], status, time.perf_counter() - started)


def _with_security_headers(path: str, headers: list) -> list:
    kept = [(k, v) for k, v in headers if k.decode().lower() not in SECURITY_HEADERS]
    csp = REPORT_CSP if path.startswith("/v1/reports/") else SECURITY_HEADERS["content-security-policy"]
    for name, value in SECURITY_HEADERS.items():
        kept.append((name.encode(), (csp if name == "content-security-policy" else value).encode()))
    if path.startswith("/v1/"):
        kept.append((b"cache-control", b"no-store"))
    return kept


def _problem(kind: str, message: str, status: int = 400, **fields) -> dict:
    """An RFC 9457 problem (``type``, ``title``, ``status``, ``detail``), with ``error`` and ``message``
    kept for clients of the first version."""
    extra = {k: v for k, v in fields.items() if v is not None}
    return {
        "type": f"urn:mpeil:problem:{kind}",
        "title": kind,
        "status": status,
        "detail": message,
        "error": kind,
        "message": message,
        **extra,
    }


def problem_response(kind: str, message: str, status: int, headers: dict | None = None, **fields) -> JSONResponse:
    return JSONResponse(
        _problem(kind, message, status, **fields), status, headers=headers, media_type=PROBLEM_MEDIA_TYPE
    )


def _install_errors(app: FastAPI) -> None:
    from starlette.requests import ClientDisconnect

    from .store import StoreCorrupt
    from .workers import TaskFailed

    @app.exception_handler(MpeilError)
    async def mpeil_error(request: Request, error: MpeilError):
        fields = {k: getattr(error, k, None) for k in ("file", "field")}
        return problem_response(type(error).__name__, _one_line(str(error)), 422, **fields)

    @app.exception_handler(TaskFailed)
    async def task_failed(request: Request, error: TaskFailed):
        fields = {k: v for k, v in error.fields.items() if k in ("file", "field")}
        headers = {"retry-after": "60"} if error.status == 503 else None
        return problem_response(error.kind, _one_line(error.message), error.status, headers, **fields)

    @app.exception_handler(UploadRefused)
    async def refused(request: Request, error: UploadRefused):
        return problem_response("UploadRefused", error.message, error.status)

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, error: BodyTooLarge):
        return problem_response("BodyTooLarge", str(error), 413)

    @app.exception_handler(BodyTimeout)
    async def too_slow(request: Request, error: BodyTimeout):
        return problem_response("BodyTimeout", str(error), 408, {"connection": "close"})

    @app.exception_handler(ClientDisconnect)
    async def gone(request: Request, error: ClientDisconnect):
        # the client went away mid-request: nobody reads this answer; counted as 499, never logged as an error
        return Response(status_code=499)

    @app.exception_handler(StoreCorrupt)
    async def corrupt(request: Request, error: StoreCorrupt):
        log.error("store: %s", error)
        return problem_response("StoreCorrupt", str(error), 500)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError):
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return problem_response("InvalidRequest", _one_line(f"{where}: {first.get('msg', 'invalid request')}"), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        headers = getattr(error, "headers", None)
        return problem_response("HTTPError", str(error.detail), error.status_code, headers)

    @app.exception_handler(Exception)
    async def internal(request: Request, error: Exception):
        return problem_response("InternalError", f"the service failed: {type(error).__name__}", 500)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:2000]


def create_app(settings: Settings | None = None, engine=None, pool=None) -> FastAPI:
    """The service app. ``settings``: default from the environment; ``engine``: a shared
    :class:`~mpeil.service.scoring.ScoringEngine` (tests), else one is built at start-up; ``pool``:
    a started :class:`~mpeil.service.workers.ScoringPool` to share (tests), else one is started with
    ``settings.scoring_workers`` processes (0: score in this process)."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state = await _start(app, settings, engine, pool)
        try:
            yield
        finally:
            state["purge"].cancel()
            app.state.runner.stop()
            if pool is None:
                app.state.pool.close()
            if engine is None:
                app.state.engine.close()

    app = FastAPI(
        title="mpeil service",
        version=__version__,
        description="Score buildings with the Flemish M-peil: single buildings, batches, receipts, reports.",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI would load scripts from a CDN: the schema is at /openapi.json
        redoc_url=None,
    )
    _install_errors(app)
    from .passport import router as passport_router
    from .routes import router

    app.include_router(router)
    app.include_router(passport_router)  # issue 24: POST /v1/passport, a view per key role
    static = resources.files("mpeil.service") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"])
    app.add_middleware(Guard, settings=settings)
    return app


async def _start(app: FastAPI, settings: Settings, engine, pool) -> dict:
    """Everything on ``app.state``: keys, store, engine, scoring pool, job runner, metrics."""
    from .jobs import JobRunner
    from .keys import KeyRing
    from .metrics import Metrics
    from .scoring import ScoringEngine
    from .signing import load_key
    from .store import Store
    from .workers import InProcess, ScoringPool

    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.keys = KeyRing.load(settings.keys_file, settings.keys_text, settings.quota_files_per_day)
    app.state.store = Store(settings.store_dir)
    app.state.signing_key = load_key(settings.receipt_key_file, settings.store_dir)
    app.state.engine = engine if engine is not None else ScoringEngine()
    if pool is None and settings.scoring_workers > 0:
        sized = ScoringPool(
            settings.scoring_workers,
            app.state.signing_key,
            batch_size=settings.score_batch_size,
            batch_wait=settings.score_batch_wait_ms / 1000.0,
            batch_bytes=settings.score_batch_bytes,
        )
        pool = await asyncio.get_running_loop().run_in_executor(None, sized.start)
    app.state.pool = pool if pool is not None else InProcess(app.state.engine, app.state.signing_key)
    app.state.runner = JobRunner(app.state.store, settings)
    if settings.run_jobs:
        app.state.runner.start()
    return {"purge": asyncio.get_running_loop().create_task(_purge_anonymous_inputs(app.state))}


async def _purge_anonymous_inputs(state) -> None:
    """Delete anonymous inputs older than ``anonymous_retention_hours`` (at start and every 10 minutes);
    write this process's counters to the store every 5 s (for a scrape answered by another process)."""
    seconds = state.settings.anonymous_retention_hours * 3600.0
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, state.store.drop_metrics_of_dead)
    rounds = 0
    while True:
        try:
            if rounds % 120 == 0:
                await loop.run_in_executor(None, state.store.delete_anonymous_inputs, seconds)
            await loop.run_in_executor(None, state.metrics.flush, state.store)
        except Exception:  # a busy or broken store: tried again next time, never fatal
            log.exception("store housekeeping failed")
        rounds += 1
        await asyncio.sleep(5)

"""The FastAPI app of ``mpeil serve``: factory, middleware (body limit, security headers, metrics), errors.

Nothing is built at import; :func:`create_app` returns an app whose lifespan loads the EPD library,
the scenarios and the method list once and keeps them, the store and the job runner on ``app.state``.
"""

from __future__ import annotations

import logging
import time
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import MpeilError
from .settings import Settings
from .uploads import UploadRefused

__all__ = ["create_app", "BodyTooLarge"]

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


class Guard:
    """Pure ASGI middleware: body-size limit, security headers, request metrics."""

    def __init__(self, app, settings: Settings) -> None:
        self.app, self.settings = app, settings

    def limit(self, path: str) -> int:
        if path.startswith("/v1/batches"):
            return self.settings.upload_size
        return self.settings.limits.file_size + 65536  # one building file plus multipart framing

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, limit, status = time.perf_counter(), self.limit(scope["path"]), [500]
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            response = JSONResponse(_problem("BodyTooLarge", f"the request body is above {limit:,} bytes"), 413)
            scope = {**scope, "route_label": "(body limit)"}
            return await self._finish(response, scope, receive, send, started)
        seen = [0]

        async def counted_receive():
            message = await receive()
            seen[0] += len(message.get("body", b""))
            if seen[0] > limit:
                raise BodyTooLarge(f"the request body is above {limit:,} bytes")
            return message

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.decode().lower() not in SECURITY_HEADERS]
                csp = (
                    REPORT_CSP
                    if scope["path"].startswith("/v1/reports/")
                    else SECURITY_HEADERS["content-security-policy"]
                )
                for name, value in SECURITY_HEADERS.items():
                    headers.append((name.encode(), (csp if name == "content-security-policy" else value).encode()))
                if scope["path"].startswith("/v1/"):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, counted_receive, send_with_headers)
        finally:
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


def _problem(kind: str, message: str) -> dict:
    return {"error": kind, "message": message}


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(MpeilError)
    async def mpeil_error(request: Request, error: MpeilError):
        return JSONResponse(_problem(type(error).__name__, str(error)), 422)

    @app.exception_handler(UploadRefused)
    async def refused(request: Request, error: UploadRefused):
        return JSONResponse(_problem("UploadRefused", error.message), error.status)

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, error: BodyTooLarge):
        return JSONResponse(_problem("BodyTooLarge", str(error)), 413)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError):
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse(_problem("InvalidRequest", f"{where}: {first.get('msg', 'invalid request')}"), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        headers = getattr(error, "headers", None)
        return JSONResponse(_problem("HTTPError", str(error.detail)), error.status_code, headers=headers)


def create_app(settings: Settings | None = None, engine=None) -> FastAPI:
    """The service app. ``settings``: default from the environment; ``engine``: a shared
    :class:`~mpeil.service.scoring.ScoringEngine` (tests), else one is built at start-up."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from .jobs import JobRunner
        from .keys import KeyRing
        from .metrics import Metrics
        from .scoring import ScoringEngine
        from .store import Store

        app.state.settings = settings
        app.state.metrics = Metrics()
        app.state.keys = KeyRing.load(settings.keys_file, settings.keys_text, settings.quota_files_per_day)
        app.state.store = Store(settings.store_dir)
        app.state.engine = engine if engine is not None else ScoringEngine()
        app.state.runner = JobRunner(app.state.store, settings)
        if settings.run_jobs:
            app.state.runner.start()
        try:
            yield
        finally:
            app.state.runner.stop()
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

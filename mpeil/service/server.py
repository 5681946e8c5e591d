"""Connection hygiene at the server itself (not only behind nginx): ``mpeil serve`` runs uvicorn with

- a header size cap (``header_size``): a request whose headers grow past it is answered 431 and closed;
- a header timeout (``header_timeout``): a connection that has not sent a whole request head within it
  (slow-loris) is answered 408 and closed; an idle keep-alive connection is closed after
  ``keep_alive_timeout`` (uvicorn's own setting);
- a body timeout (``body_timeout``, per chunk; in :class:`mpeil.service.app.Guard`): 408;
- a concurrency limit: ``max_in_flight`` requests per process are handled, the next ones answered 503 with
  ``Retry-After`` (by the Guard); uvicorn's ``limit_concurrency`` a little above it is a backstop that
  counts running requests only: connections that never become requests are closed by the header timeout
  and bounded by the open-file limit, and do not make real requests or the health check 503.

The limits are those of :class:`~mpeil.service.settings.Settings` (``data/service_defaults.csv``, environment).
"""

from __future__ import annotations

import asyncio
import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["GuardedHttpProtocol", "run"]


def _answer(status: int, reason: str, kind: str, message: str) -> bytes:
    body = json.dumps(
        {"type": f"urn:mpeil:problem:{kind}", "title": kind, "status": status, "detail": message, "error": kind,
         "message": message}
    ).encode()  # fmt: skip
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header size cap and a header timeout."""

    header_timeout = 10.0
    header_size = 16384
    _configured = False

    @classmethod
    def configure(cls) -> None:
        """Limits from the settings, once per process (uvicorn makes one protocol object per connection)."""
        if not cls._configured:
            from .settings import Settings

            settings = Settings.from_env()
            cls.header_timeout, cls.header_size = float(settings.header_timeout), settings.header_size
            cls._configured = True

    def connection_made(self, transport) -> None:
        self.configure()
        super().connection_made(transport)
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._await_head(self.header_timeout)

    def _await_head(self, seconds: float) -> None:
        self._awaiting_head = True
        self._head_bytes = 0
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._head_timer = self.loop.call_later(seconds, self._head_too_slow)

    def _refuse(self, status: int, reason: str, kind: str, message: str) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        if not self.transport.is_closing():
            self.transport.write(_answer(status, reason, kind, message))
            self.transport.close()

    def _head_too_slow(self) -> None:
        if self._awaiting_head:
            message = f"the request head did not arrive within {self.header_timeout:g} s"
            self._refuse(408, "Request Timeout", "HeaderTimeout", message)

    def send_400_response(self, msg: str) -> None:
        if getattr(self, "_head_too_large", False):
            message = f"the request headers are above {self.header_size:,} bytes"
            self._refuse(431, "Request Header Fields Too Large", "HeadersTooLarge", message)
            return
        super().send_400_response(msg)

    def data_received(self, data: bytes) -> None:
        if self._awaiting_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._awaiting_head and self._head_bytes > self.header_size:
            message = f"the request headers are above {self.header_size:,} bytes"
            self._refuse(431, "Request Header Fields Too Large", "HeadersTooLarge", message)

    def on_headers_complete(self) -> None:
        size = len(self.url or b"") + sum(len(name) + len(value) + 4 for name, value in self.headers or [])
        if size > self.header_size:  # a head that came in one piece: refused here, answered by send_400_response
            self._head_too_large = True
            raise ValueError("request headers above the limit")
        self._awaiting_head = False
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        self._handle_within_backstop()

    def _handle_within_backstop(self) -> None:
        """uvicorn answers 503 when its open connections *or* running requests reach ``limit_concurrency``;
        idle connections (closed by the header timeout) must not refuse real requests and the health check
        (3,000 idle connections turned every request into a 503 for 10 s, benchmarks/service_connections.py),
        so only requests count here, and the health check (exempt from the Guard's limit too) never does."""
        limit = self.limit_concurrency
        health = (self.url or b"").split(b"?", 1)[0] == b"/v1/healthz"
        if limit is None or (len(self.tasks) >= limit and not health):
            super().on_headers_complete()
            return
        self.limit_concurrency = None  # this connection's own attribute, for this one call
        try:
            super().on_headers_complete()
        finally:
            self.limit_concurrency = limit

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():  # the next request's head: within keep-alive + header timeout
            self._await_head(self.timeout_keep_alive + self.header_timeout)

    def connection_lost(self, exc) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)


def run(host: str, port: int, workers: int) -> None:
    """uvicorn with the settings' connection limits (blocks until the server stops)."""
    import uvicorn

    from .settings import Settings

    settings = Settings.from_env()
    uvicorn.run(
        "mpeil.service.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=GuardedHttpProtocol,
        proxy_headers=True,
        server_header=False,
        log_level="info",
        timeout_keep_alive=settings.keep_alive_timeout,
        limit_concurrency=settings.max_in_flight + 50,
        h11_max_incomplete_event_size=settings.header_size,
        timeout_graceful_shutdown=30,
    )

"""Connection hygiene of a real `mpeil serve` on 127.0.0.1 (issue 21): header size cap, header, body and
keep-alive timeouts, and client disconnects that are not errors. Limits are set small by environment."""

from __future__ import annotations

import socket
import struct
import time

import httpx
import pytest
from service_support import ADMIN_KEY, auth, start_server, stop_server

LIMITS = {
    "MPEIL_HEADER_TIMEOUT": "1",
    "MPEIL_BODY_TIMEOUT": "1",
    "MPEIL_KEEP_ALIVE_TIMEOUT": "1",
    "MPEIL_HEADER_SIZE": "4096",
    "MPEIL_SCORING_WORKERS": "1",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("connections")
    log = folder / "server.log"
    process, base = start_server(folder / "store", LIMITS, log=log)
    host, port = base.removeprefix("http://").split(":")
    yield base, (host, int(port)), log
    stop_server(process)


def _connect(address) -> socket.socket:
    sock = socket.create_connection(address, timeout=5)
    return sock


def _read_all(sock: socket.socket, seconds: float = 4.0) -> bytes:
    sock.settimeout(seconds)
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except TimeoutError:
        return b"".join(chunks) + b"(still open)"
    return b"".join(chunks)


def test_slow_headers_are_answered_408_and_closed(server):
    _, address, _ = server
    with _connect(address) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /v1/healthz HTTP/1.1\r\nHost: x\r\n")  # never finishes the head
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"HeaderTimeout" in answer and not answer.endswith(b"(still open)")
    assert time.monotonic() - started < 3.5  # the limit is 1 s


def test_oversized_headers_are_answered_431(server):
    _, address, _ = server
    with _connect(address) as sock:
        sock.sendall(b"GET /v1/healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 8000 + b"\r\n\r\n")
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert b"above 4,096 bytes" in answer


def test_a_stalled_body_is_answered_408(server):
    _, address, _ = server
    with _connect(address) as sock:
        sock.sendall(
            b'POST /v1/score HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"id"'
        )
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"BodyTimeout" in answer


def test_an_idle_keep_alive_connection_is_closed(server):
    _, address, _ = server
    with _connect(address) as sock:
        sock.sendall(b"GET /v1/healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        rest = _read_all(sock)
    assert not rest.endswith(b"(still open)")
    assert time.monotonic() - started < 3.5  # keep-alive limit 1 s


def test_client_aborts_are_not_server_errors(server):
    base, address, log = server
    for _ in range(300):  # each sends half a body, then resets the connection
        sock = _connect(address)
        sock.sendall(
            b"POST /v1/score HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n"
            + b" " * 5000
        )
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    time.sleep(0.5)
    health = httpx.get(base + "/v1/healthz", timeout=10)
    assert health.status_code == 200
    text = httpx.get(base + "/v1/metrics", headers=auth(ADMIN_KEY), timeout=10).text
    assert 'status="500"' not in text
    assert "Traceback" not in log.read_text(encoding="utf-8", errors="replace")


def test_idle_connections_do_not_refuse_requests(server):
    # uvicorn's backstop (max_in_flight + 50 = 250) counted idle connections: 300 of them made the health
    # check and every request a 503 until the header timeout closed them (benchmarks/service_connections.py)
    base, address, _ = server
    idle = [_connect(address) for _ in range(300)]
    try:
        health = httpx.get(base + "/v1/healthz", timeout=10)
        score = httpx.post(base + "/v1/score", content=b"{}", headers={"content-type": "application/json"}, timeout=10)
    finally:
        for sock in idle:
            sock.close()
    assert health.status_code == 200
    assert score.status_code != 503, score.text[:200]


def _answer_with_running_requests(path: bytes, running: int) -> bytes:
    """What GuardedHttpProtocol answers to ``GET path`` while ``running`` requests are running (uvicorn's
    backstop limit is 10 here), with a one-line ASGI app that answers 200."""
    import asyncio

    from uvicorn.config import Config
    from uvicorn.server import ServerState

    from mpeil.service.server import GuardedHttpProtocol

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    class Transport(asyncio.Transport):
        def __init__(self):
            super().__init__()
            self.written, self.closing = b"", False

        def get_extra_info(self, name, default=None):
            return ("127.0.0.1", 8000) if name in ("sockname", "peername") else default

        def write(self, data):
            self.written += data

        def is_closing(self):
            return self.closing

        def close(self):
            self.closing = True

    async def run() -> bytes:
        config = Config(app, limit_concurrency=10, log_level="critical")
        config.load()
        state = ServerState()
        state.tasks.update(object() for _ in range(running))
        protocol = GuardedHttpProtocol(config=config, server_state=state, app_state={})
        transport = Transport()
        protocol.connection_made(transport)
        protocol.data_received(b"GET " + path + b" HTTP/1.1\r\nhost: x\r\n\r\n")
        await asyncio.sleep(0.05)
        protocol.connection_lost(None)
        return transport.written

    return asyncio.run(run())


def test_the_backstop_counts_running_requests_and_spares_the_health_check():
    assert _answer_with_running_requests(b"/v1/score", 3).startswith(b"HTTP/1.1 200")
    assert _answer_with_running_requests(b"/v1/score", 10).startswith(b"HTTP/1.1 503")  # at uvicorn's limit
    assert _answer_with_running_requests(b"/v1/healthz", 10).startswith(b"HTTP/1.1 200")

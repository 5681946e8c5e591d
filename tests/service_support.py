"""Shared helpers of the service tests: settings, keys, and a real `mpeil serve` on a random port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from mpeil.service.keys import hash_key
from mpeil.service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "scenarios" / "examples"
AUTHORITY_KEY = "test-authority-key-0123456789"
OTHER_KEY = "test-other-authority-key-987654"
ADMIN_KEY = "test-admin-key-abcdefghijklmn"
KEY_LINES = (
    f"city,{hash_key(AUTHORITY_KEY)},1000,authority;"
    f"other-city,{hash_key(OTHER_KEY)},1000,authority;"
    f"ops,{hash_key(ADMIN_KEY)},,admin"
)


def settings_for(store: Path, **overrides) -> Settings:
    # scoring in this process by default (fast); tests of the worker pool pass a started pool to create_app
    return Settings.from_env(environ={}, store_dir=store, **{"keys_text": KEY_LINES, "scoring_workers": 0, **overrides})


def auth(key: str = AUTHORITY_KEY) -> dict:
    return {"Authorization": f"Bearer {key}"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(
    store: Path, extra_env: dict | None = None, log: Path | None = None, cwd: Path | None = None
) -> tuple[subprocess.Popen, str]:
    """`python -m mpeil serve` in its own process group on 127.0.0.1:<free port>; waits until healthy.
    ``cwd``: where it runs (``python -m`` imports ``mpeil`` from there first: another checkout's code)."""
    port = free_port()
    env = {**os.environ, "MPEIL_STORE": str(store), "MPEIL_API_KEYS": KEY_LINES, **(extra_env or {})}
    out = open(log, "ab") if log else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "mpeil", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=out,
        stderr=out,
        start_new_session=True,
        cwd=cwd,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mpeil serve exited with {process.returncode}")
        try:
            if httpx.get(base + "/v1/healthz", timeout=2).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop_server(process)
    raise RuntimeError("mpeil serve did not become healthy in 90 s")


def stop_server(process: subprocess.Popen, kill: bool = False) -> None:
    """SIGTERM (or SIGKILL) the server's whole process group, as a service manager would."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL if kill else signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

"""Scoring in worker processes under a memory and time budget (issue 21): hostile bodies that cost
gigabytes before (a 50 MB JSON string, a 4-million-key object) are answered 4xx, and neither the HTTP
process nor the scoring worker grows by more than 256 MB while doing so (measured: peak resident memory,
``VmHWM`` reset through ``/proc/self/clear_refs``, and the worker's resident memory sampled every 5 ms)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_support import EXAMPLES, auth, settings_for

from mpeil.service import create_app
from mpeil.service.workers import Budget, ScoringPool, TaskFailed

HOUSE = (EXAMPLES / "terraced_house.json").read_bytes()
MB = 2**20
GROWTH_LIMIT = 256 * MB


@pytest.fixture(scope="module")
def pool():
    started = ScoringPool(1, b"k" * 32).start()
    yield started
    started.close()


@pytest.fixture(scope="module")
def client(tmp_path_factory, pool):
    store = tmp_path_factory.mktemp("budget") / "store"
    settings = settings_for(store, run_jobs=False, anonymous_body_size=64 * MB)  # let 50 MB reach the worker
    with TestClient(create_app(settings, pool=pool), raise_server_exceptions=False) as test_client:
        yield test_client


def _status(pid: int | str, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for process {pid}")


class _Peak:
    """The peak resident memory of this process (VmHWM, reset first) and of the pool's worker (sampled)."""

    def __init__(self, pool) -> None:
        self.worker = pool.pids()[0]
        self.worker_base = _status(self.worker, "VmRSS")
        self.worker_peak = self.worker_base
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current resident size
        self.base = _status("self", "VmRSS")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self.worker_peak = max(self.worker_peak, _status(self.worker, "VmRSS"))
            except (OSError, AssertionError):
                return  # the worker ended (over budget): its last sample stands
            time.sleep(0.005)

    def growth(self) -> tuple[int, int]:
        self._stop.set()
        self._thread.join()
        return _status("self", "VmHWM") - self.base, self.worker_peak - self.worker_base


def _one_long_string() -> bytes:
    return b'{"id": "' + b"a" * (50 * MB) + b'"}'  # 50 MB, one JSON string


def _four_million_keys() -> bytes:
    return b"{" + b",".join(b'"k%d":0' % i for i in range(4_000_000)) + b"}"


@pytest.mark.parametrize("body", [_one_long_string, _four_million_keys], ids=["50MB-string", "4M-keys"])
def test_a_hostile_body_costs_the_server_less_than_256_MB(client, pool, body):
    data = body()
    peak = _Peak(pool)
    response = client.post("/v1/score", content=data, headers={"content-type": "application/json"})
    server, worker = peak.growth()
    assert response.status_code in (413, 422), response.text[:300]  # a refusal (a limit) or over the budget
    assert response.json()["message"]
    assert server < GROWTH_LIMIT, f"the HTTP process grew {server / MB:.0f} MB"
    assert worker < GROWTH_LIMIT, f"the scoring worker grew {worker / MB:.0f} MB"


def test_the_house_still_scores_after_a_worker_was_replaced(client):
    response = client.post("/v1/score", content=HOUSE, headers={"content-type": "application/json"})
    assert response.status_code == 200
    # 0.5304560237… mPt/(m²·yr): the value test_service_api checks against the CLI; here: finite and positive
    assert response.json()["buildings"][0]["score"] > 0


def test_a_keyed_caller_may_send_more_than_an_anonymous_one(tmp_path, pool):
    settings = settings_for(tmp_path / "store", run_jobs=False, anonymous_body_size=1000)
    with TestClient(create_app(settings, pool=pool), raise_server_exceptions=False) as small:
        anonymous = small.post("/v1/score", content=HOUSE, headers={"content-type": "application/json"})
        keyed = small.post("/v1/score", content=HOUSE, headers={"content-type": "application/json", **auth()})
    assert anonymous.status_code == 413 and "1,000 bytes" in anonymous.json()["message"]
    assert keyed.status_code == 200


def test_a_scoring_over_its_time_budget_is_422_and_the_worker_replaced(pool, tmp_path):
    import asyncio
    import shutil

    from mpeil.limits import load_limits

    shutil.copy(EXAMPLES / "terraced_house.json", tmp_path / "house")
    task = {
        "kind": "score", "path": str(tmp_path / "house"), "suffix": ".json", "name": "house.json",
        "method": "mpeil-ef31", "options": {}, "limits": load_limits(), "store": str(tmp_path / "store"),
        "receipt_id": "a" * 22, "owner": "anon:test", "claim": None,
    }  # fmt: skip
    before = pool.pids()
    with pytest.raises(TaskFailed) as caught:
        asyncio.run(pool.run(task, Budget(192 * MB, 0.001)))  # the house takes ~40 ms, far above 1 ms
    assert caught.value.status == 422 and "longer than the budget of 0.001 s" in caught.value.message
    deadline = time.monotonic() + 60
    while (not pool.pids() or pool.pids() == before) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pool.pids() and pool.pids() != before  # a fresh worker took the killed one's place


def test_no_worker_left_is_a_503_not_a_hang(tmp_path):
    idle = ScoringPool(1, b"k" * 32, start_seconds=0.5)  # never started: no worker will come
    settings = settings_for(tmp_path / "store", run_jobs=False)
    try:
        with TestClient(create_app(settings, pool=idle), raise_server_exceptions=False) as test_client:
            began = time.monotonic()
            response = test_client.post("/v1/score", content=HOUSE, headers={"content-type": "application/json"})
        assert response.status_code == 503 and response.headers["retry-after"] == "60"
        assert "no scoring worker" in response.json()["message"]
        assert time.monotonic() - began < 5.0
    finally:
        idle.close()

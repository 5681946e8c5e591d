"""Load and latency of ``mpeil serve`` on localhost (issue 15). A benchmark, not a test.

    nice python benchmarks/service_load.py              # about 1-2 minutes
    python benchmarks/service_load.py --requests 50     # smaller

Starts a real server (uvicorn, one HTTP worker, one batch worker) on 127.0.0.1 with a throw-away store,
then measures, with the shipped terraced house (69 layer lines) as the building:

1. warm, one request at a time: the latency a single designer sees (the issue's target: p50 ≤ 50 ms);
2. ``--requests`` (200) single-building requests sent at once (all in flight together);
3. the same burst while a batch of ``--batch-files`` (100) synthetic buildings runs alongside.

Latency is from sending a request to its full response, per request; throughput is requests
completed per second of wall time of the burst; errors are responses other than 200 (or failures).
Prints a Markdown table and writes ``benchmarks/results/service_load.json``. Bounded: every phase
has a fixed count and a timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from service_support import AUTHORITY_KEY, EXAMPLES, auth, start_server, stop_server  # noqa: E402

HOUSE = (EXAMPLES / "terraced_house.json").read_bytes()
HEADERS = {"content-type": "application/json"}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), independent of other load on the machine."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _stats(name: str, latencies: list[float], errors: int, wall: float) -> dict:
    return {
        "phase": name,
        "requests": len(latencies) + errors,
        "errors": errors,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else None,
        "p95_ms": 1000 * _percentile(latencies, 0.95) if latencies else None,
        "max_ms": 1000 * max(latencies) if latencies else None,
        "throughput_per_s": (len(latencies) / wall) if wall > 0 else None,
        "wall_s": wall,
    }


async def _one(client: httpx.AsyncClient, base: str) -> float | None:
    started = time.perf_counter()
    try:
        response = await client.post(f"{base}/v1/score", content=HOUSE, headers=HEADERS)
    except httpx.HTTPError:
        return None
    return time.perf_counter() - started if response.status_code == 200 else None


async def _sequential(base: str, count: int) -> dict:
    async with httpx.AsyncClient(timeout=60) as client:
        for _ in range(5):  # warm-up: methods cached, code paths hot
            await _one(client, base)
        started, results = time.perf_counter(), []
        for _ in range(count):
            results.append(await _one(client, base))
    latencies = [r for r in results if r is not None]
    return _stats("warm, one at a time", latencies, len(results) - len(latencies), time.perf_counter() - started)


async def _burst(base: str, count: int, name: str) -> dict:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(timeout=300, limits=limits) as client:
        started = time.perf_counter()
        results = await asyncio.gather(*(_one(client, base) for _ in range(count)))
    latencies = [r for r in results if r is not None]
    return _stats(name, latencies, len(results) - len(latencies), time.perf_counter() - started)


def _batch_files(count: int, folder: Path) -> list:
    from mpeil.synthetic import write_stock

    paths = write_stock(count, folder, seed=15, per_file=1)
    return [("files", (p.name, p.read_bytes(), "application/octet-stream")) for p in paths]


def _wait_batch(base: str, job_id: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = httpx.get(f"{base}/v1/batches/{job_id}", headers=auth(), timeout=30).json()
        if status["status"] in ("done", "failed"):
            return status
        time.sleep(0.5)
    return status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--sequential", type=int, default=50)
    parser.add_argument("--batch-files", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mpeil-load-") as scratch:
        store = Path(scratch) / "store"
        server, base = start_server(store, {"MPEIL_CHUNK_SIZE": "20"}, Path(scratch) / "server.log")
        try:
            cpu_before = _cpu_seconds(server.pid)
            rows = [asyncio.run(_sequential(base, args.sequential))]
            cpu_per_request = (_cpu_seconds(server.pid) - cpu_before) / (args.sequential + 5)
            rows.append(asyncio.run(_burst(base, args.requests, f"{args.requests} at once")))
            files = _batch_files(args.batch_files, Path(scratch) / "stock")
            started = time.perf_counter()
            job = httpx.post(f"{base}/v1/batches", files=files, headers=auth(AUTHORITY_KEY), timeout=120).json()
            rows.append(asyncio.run(_burst(base, args.requests, f"{args.requests} at once, batch alongside")))
            status = _wait_batch(base, job["job_id"], 600)
            batch = {
                "files": len(files),
                "status": status["status"],
                "buildings": status.get("buildings"),
                "errors": status.get("errors"),
                "seconds": time.perf_counter() - started,
            }
        finally:
            stop_server(server)
    print("| phase | requests | errors | p50 (ms) | p95 (ms) | max (ms) | throughput (req/s) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['phase']} | {r['requests']} | {r['errors']} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | "
            f"{r['max_ms']:.0f} | {r['throughput_per_s']:.1f} |"
        )
    print(f"\nserver CPU time per warm request: {1000 * cpu_per_request:.0f} ms")
    print(f"batch alongside: {batch}")
    out = ROOT / "benchmarks" / "results" / "service_load.json"
    out.write_text(
        json.dumps(
            {
                "phases": rows,
                "batch": batch,
                "server_cpu_ms_per_request": 1000 * cpu_per_request,
                "load_average": os.getloadavg(),
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()

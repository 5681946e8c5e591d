"""Load and latency of ``mpeil serve`` on localhost (issues 15 and 21). A benchmark, not a test.

    nice python benchmarks/service_load.py                       # about 3-6 minutes on 2 busy cores
    nice python benchmarks/service_load.py --baseline HEAD~1     # the same phases for another commit, side by side
    python benchmarks/service_load.py --requests 50 --batch-files 100   # smaller

Starts a real server (uvicorn, one HTTP process, its scoring workers, one batch worker) on 127.0.0.1
with a throw-away store, then measures, with the shipped terraced house (69 layer lines) as the building:

1. warm, one at a time: the latency a single designer sees (issue 21's target: p50 ≤ 20 ms);
2. ``--requests`` (100) single-building requests sent at once (target: ≥ 50 requests/s, 0 errors);
3. the same burst while a batch of ``--batch-files`` (1,000) synthetic buildings of another tenant runs;
4. fairness: a third tenant's 5-file batch, sent after the large one started, and which finishes first.

Latency is from sending a request to its full response; throughput is requests completed per second of
the burst's wall time; errors are responses other than 200 (or failures). With ``--baseline REV`` the
same phases run first against ``git archive REV`` (another server, same machine, same run) and the table
shows both and their ratio. Prints a Markdown table and writes ``benchmarks/results/service_load.json``.
Bounded: every phase has a fixed count and a timeout; loopback only.
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

from service_support import EXAMPLES, OTHER_KEY, auth, start_server, stop_server  # noqa: E402

THIRD_KEY = "bench-third-tenant-key-0123456789"

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


def _wait_batch(base: str, job_id: str, key: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    status: dict = {}
    while time.monotonic() < deadline:
        status = httpx.get(f"{base}/v1/batches/{job_id}", headers=auth(key), timeout=30).json()
        if status["status"] in ("done", "failed", "cancelled"):
            return status
        time.sleep(0.5)
    return status


def _env(source: Path | None) -> dict:
    from service_support import KEY_LINES

    from mpeil.service.keys import hash_key

    env = {"MPEIL_CHUNK_SIZE": "50", "MPEIL_API_KEYS": KEY_LINES + f";third,{hash_key(THIRD_KEY)},100000,authority"}
    if source is not None:  # its code, data and tests' helpers (the server runs there, see start_server)
        env["PYTHONPATH"] = str(source)
    return env


def _phases(args, scratch: Path, source: Path | None) -> tuple[list[dict], dict, float]:
    """Every phase against one server (this checkout, or ``source``: another commit's files)."""
    store = scratch / ("store-baseline" if source else "store")
    server, base = start_server(store, _env(source), scratch / "server.log", cwd=source)
    try:
        # which code answers: /favicon.ico is 404 before issue 21 and 200 after (two servers, two checkouts)
        favicon = httpx.get(f"{base}/favicon.ico", timeout=30).status_code
        cpu_before = _cpu_seconds(server.pid)
        rows = [asyncio.run(_sequential(base, args.sequential))]
        cpu_per_request = (_cpu_seconds(server.pid) - cpu_before) / (args.sequential + 5)
        rows.append(asyncio.run(_burst(base, args.requests, f"{args.requests} at once")))
        files = _batch_files(args.batch_files, scratch / "stock")
        started = time.perf_counter()
        large = httpx.post(f"{base}/v1/batches", files=files, headers=auth(OTHER_KEY), timeout=300).json()
        rows.append(asyncio.run(_burst(base, args.requests, f"{args.requests} at once, batch alongside")))
        small = httpx.post(f"{base}/v1/batches", files=files[:5], headers=auth(THIRD_KEY), timeout=60).json()
        small_status = _wait_batch(base, small["job_id"], THIRD_KEY, 900)
        small_seconds = time.perf_counter() - started
        status = _wait_batch(base, large["job_id"], OTHER_KEY, 1800)
        batch = {
            "files": len(files),
            "status": status["status"],
            "buildings": status.get("buildings"),
            "errors": status.get("errors"),
            "seconds": time.perf_counter() - started,
            "small_batch_status": small_status["status"],
            "small_batch_seconds_after_large_started": small_seconds,
            "favicon_status": favicon,
            "small_finished_first": bool(small_status.get("finished") or 0)
            and (small_status.get("finished") or 0) < (status.get("finished") or float("inf")),
        }
    finally:
        stop_server(server)
    return rows, batch, cpu_per_request


def _baseline_source(revision: str, scratch: Path) -> Path:
    """The files of ``revision`` (``git archive``), to run its server beside this one."""
    import subprocess

    folder = scratch / "baseline"
    folder.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def _print(rows: list[dict], baseline: list[dict] | None) -> None:
    if baseline is None:
        print("| phase | requests | errors | p50 (ms) | p95 (ms) | max (ms) | throughput (req/s) |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(
                f"| {r['phase']} | {r['requests']} | {r['errors']} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | "
                f"{r['max_ms']:.0f} | {r['throughput_per_s']:.1f} |"
            )
        return
    print("| phase | p50 ms (baseline → now) | p50 ratio | req/s (baseline → now) | req/s ratio | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for was, now in zip(baseline, rows, strict=True):
        print(
            f"| {now['phase']} | {was['p50_ms']:.0f} → {now['p50_ms']:.0f} | {now['p50_ms'] / was['p50_ms']:.2f} | "
            f"{was['throughput_per_s']:.1f} → {now['throughput_per_s']:.1f} | "
            f"{now['throughput_per_s'] / was['throughput_per_s']:.2f} | {was['errors']} → {now['errors']} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--sequential", type=int, default=50)
    parser.add_argument("--batch-files", type=int, default=1000)
    parser.add_argument("--baseline", help="a git revision to measure first, in the same run (e.g. HEAD~1)")
    args = parser.parse_args()
    baseline = None
    with tempfile.TemporaryDirectory(prefix="mpeil-load-") as folder:
        scratch = Path(folder)
        if args.baseline:
            baseline, baseline_batch, _ = _phases(args, scratch, _baseline_source(args.baseline, scratch))
            print(f"baseline {args.baseline}: batch {baseline_batch}")
        rows, batch, cpu_per_request = _phases(args, scratch, None)
    _print(rows, baseline)
    print(f"\nserver CPU time per warm request (HTTP process only): {1000 * cpu_per_request:.0f} ms")
    print(f"batches: {batch}")
    out = ROOT / "benchmarks" / "results" / "service_load.json"
    result = {
        "phases": rows,
        "baseline": {"revision": args.baseline, "phases": baseline} if baseline else None,
        "batch": batch,
        "server_cpu_ms_per_request": 1000 * cpu_per_request,
        "load_average": os.getloadavg(),
        "cores": os.cpu_count(),
    }
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

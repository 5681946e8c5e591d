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
the burst's wall time; errors are responses other than 200 (or failures). CPU per request is the user +
system time of the HTTP process and its scoring workers over the phase divided by its requests (a
batch job's processes counted apart): it does not depend on what else runs on a shared machine, and
two idle cores give at most 2,000 / (CPU ms per request) requests/s. The 1-minute load average is taken
at the end of each phase. With ``--baseline REV`` the
same phases run first against ``git archive REV`` (another server, same machine, same run) and the table
shows both and their ratio. Prints a Markdown table and writes ``benchmarks/results/service_load.json``.
Bounded: every phase has a fixed count and a timeout; loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _processes(server: int) -> tuple[list[int], list[int]]:
    """(the HTTP process and its scoring workers, batch job processes and their children) of a server."""
    scoring, batch, todo = [server], [], _children(server)
    while todo:
        pid = todo.pop()
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"mpeil.service.jobs" in command:
            batch.append(pid)
            stack = _children(pid)
            while stack:  # everything a batch job starts is the batch's
                child = stack.pop()
                batch.append(child)
                stack += _children(child)
        else:
            scoring.append(pid)
            todo += _children(pid)
    return scoring, batch


class _Cpu:
    """CPU seconds the server's processes use from now on: scoring (HTTP + scoring workers) and batch."""

    def __init__(self, server: int) -> None:
        self.server = server
        self.start = {pid: _cpu_seconds(pid) for group in _processes(server) for pid in group}

    def used(self) -> tuple[float, float]:
        scoring, batch = _processes(self.server)
        spent = [sum(_cpu_seconds(p) - self.start.get(p, 0.0) for p in group) for group in (scoring, batch)]
        return spent[0], spent[1]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _stats(name: str, latencies: list[float], errors: int, wall: float, cpu: tuple[float, float]) -> dict:
    count = len(latencies) + errors
    return {
        "phase": name,
        "requests": count,
        "errors": errors,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else None,
        "p95_ms": 1000 * _percentile(latencies, 0.95) if latencies else None,
        "max_ms": 1000 * max(latencies) if latencies else None,
        "throughput_per_s": (len(latencies) / wall) if wall > 0 else None,
        "wall_s": wall,
        # CPU of the HTTP process and its scoring workers per request (the batch's apart): what a request
        # costs whatever else runs on the machine; 2 cores / this = the requests/s two idle cores would give
        "cpu_ms_per_request": 1000 * cpu[0] / count if count else None,
        "batch_cpu_s": cpu[1],
        "load_average_1min": os.getloadavg()[0],
    }


async def _one(client: httpx.AsyncClient, base: str) -> float | None:
    started = time.perf_counter()
    try:
        response = await client.post(f"{base}/v1/score", content=HOUSE, headers=HEADERS)
    except httpx.HTTPError:
        return None
    return time.perf_counter() - started if response.status_code == 200 else None


async def _sequential(base: str, count: int, server: int | None = None) -> dict:
    async with httpx.AsyncClient(timeout=60) as client:
        for _ in range(5):  # warm-up: methods cached, code paths hot
            await _one(client, base)
        cpu = _Cpu(server) if server else None
        started, results = time.perf_counter(), []
        for _ in range(count):
            results.append(await _one(client, base))
        wall = time.perf_counter() - started
    latencies = [r for r in results if r is not None]
    used = cpu.used() if cpu else (0.0, 0.0)
    return _stats("warm, one at a time", latencies, len(results) - len(latencies), wall, used)


async def _burst(base: str, count: int, name: str, server: int | None = None) -> dict:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(timeout=300, limits=limits) as client:
        cpu = _Cpu(server) if server else None
        started = time.perf_counter()
        results = await asyncio.gather(*(_one(client, base) for _ in range(count)))
        wall = time.perf_counter() - started
    latencies = [r for r in results if r is not None]
    used = cpu.used() if cpu else (0.0, 0.0)
    return _stats(name, latencies, len(results) - len(latencies), wall, used)


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
        rows = [asyncio.run(_sequential(base, args.sequential, server.pid))]
        cpu_per_request = (_cpu_seconds(server.pid) - cpu_before) / (args.sequential + 5)
        rows.append(asyncio.run(_burst(base, args.requests, f"{args.requests} at once", server.pid)))
        files = _batch_files(args.batch_files, scratch / "stock")
        started = time.perf_counter()
        large = httpx.post(f"{base}/v1/batches", files=files, headers=auth(OTHER_KEY), timeout=300).json()
        rows.append(asyncio.run(_burst(base, args.requests, f"{args.requests} at once, batch alongside", server.pid)))
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
        print("| phase | requests | errors | p50 (ms) | p95 (ms) | max (ms) | req/s | CPU ms/request | load |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(
                f"| {r['phase']} | {r['requests']} | {r['errors']} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | "
                f"{r['max_ms']:.0f} | {r['throughput_per_s']:.1f} | {r['cpu_ms_per_request']:.1f} | "
                f"{r['load_average_1min']:.1f} |"
            )
        return
    print(
        "| phase | p50 ms (baseline → now) | p50 ratio | req/s (baseline → now) | req/s ratio | "
        "CPU ms/request (baseline → now) | errors | load (baseline, now) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for was, now in zip(baseline, rows, strict=True):
        print(
            f"| {now['phase']} | {was['p50_ms']:.0f} → {now['p50_ms']:.0f} | {now['p50_ms'] / was['p50_ms']:.2f} | "
            f"{was['throughput_per_s']:.1f} → {now['throughput_per_s']:.1f} | "
            f"{now['throughput_per_s'] / was['throughput_per_s']:.2f} | "
            f"{was['cpu_ms_per_request']:.1f} → {now['cpu_ms_per_request']:.1f} | {was['errors']} → {now['errors']} | "
            f"{was['load_average_1min']:.1f}, {now['load_average_1min']:.1f} |"
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

"""Connection hygiene of ``mpeil serve`` at full size (issue 21's connection findings). A benchmark, not a test.

    nice python benchmarks/service_connections.py                  # 3,000 connections per phase, about a minute
    python benchmarks/service_connections.py --connections 300     # smaller

Starts a real server (``benchmarks/service_load.py``'s helpers: uvicorn, one HTTP process, its scoring workers)
on 127.0.0.1 with a throw-away store and the shipped settings (``data/service_defaults.csv``: header timeout
10 s, body timeout 30 s, 200 requests in flight), then, loopback only, every phase bounded by a count and a
timeout:

1. ``--connections`` idle TCP connections (no request sent): how many the server still holds after its header
   timeout, ``GET /v1/healthz`` latency and status while they are open, the server's open file descriptors
   (``/proc/<pid>/fd``) before, during and after;
2. ``--connections`` clients that send a request head and part of a ``POST /v1/score`` body, then stop: answered
   or closed within the body timeout? responses by status;
3. ``--connections`` clients that send a whole ``POST /v1/score`` and close before the answer: the server's
   request counters afterwards (``/v1/metrics``: no 500, the aborts counted as 499), error-log lines with a
   traceback, health-check latency during and after;
4. ``--slow`` clients sending their headers one byte per second: when the server closes them.

The soft file-descriptor limit of this process (and so of the server it starts) is raised to the hard limit;
both are reported. Prints a Markdown table and writes ``benchmarks/results/service_connections.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from service_load import HOUSE, ROOT, _env
from service_support import ADMIN_KEY, auth, start_server, stop_server

HEALTH = "/v1/healthz"
#: seconds granted beyond a server timeout before a connection counts as held (scheduling on busy cores)
GRACE = 5.0
#: connections opened at once (the listen backlog is uvicorn's 2,048)
WAVE = 500


def raise_fd_limit() -> dict:
    """Raise this process's soft ``RLIMIT_NOFILE`` to its hard limit (the server inherits it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return {"soft_before": soft, "hard": hard, "soft_now": resource.getrlimit(resource.RLIMIT_NOFILE)[0]}


def open_fds(pid: int) -> int:
    """Open file descriptors of a process (``/proc/<pid>/fd``), -1 where unreadable."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def _port(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


async def _health(base: str) -> tuple[float, int]:
    started = time.perf_counter()
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            status = (await client.get(base + HEALTH)).status_code
    except httpx.HTTPError:
        status = 0
    return time.perf_counter() - started, status


async def _probe(base: str, until: asyncio.Event, pid: int, every: float = 1.0) -> dict:
    """Health checks and descriptor counts once per ``every`` s until ``until`` is set."""
    latencies, statuses, fds = [], collections.Counter(), []
    while not until.is_set():
        seconds, status = await _health(base)
        latencies.append(seconds)
        statuses[status] += 1
        fds.append(open_fds(pid))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(until.wait(), every)
    return _health_summary(latencies, statuses, fds)


def _health_summary(latencies: list[float], statuses: collections.Counter, fds: list[int]) -> dict:
    return {
        "checks": len(latencies),
        "p50_ms": 1000 * statistics.median(latencies) if latencies else None,
        "max_ms": 1000 * max(latencies) if latencies else None,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "fds_max": max(fds) if fds else None,
    }


async def _connect(port: int, first: bytes = b"", timeout: float = 30.0):
    """(reader, writer, when it connected) after sending ``first``; None if the connect failed."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    except (OSError, TimeoutError):
        return None
    opened = time.perf_counter()
    if first:
        writer.write(first)
        with contextlib.suppress(OSError):
            await writer.drain()
    return reader, writer, opened


async def _open_many(port: int, count: int, first: bytes = b"") -> list:
    """``count`` connections, ``WAVE`` at a time, each sending ``first``; failed connects are left out."""
    opened: list = []
    for start in range(0, count, WAVE):
        batch = await asyncio.gather(*(_connect(port, first) for _ in range(min(WAVE, count - start))))
        opened += [pair for pair in batch if pair is not None]
    return opened


async def _await_answer(reader, opened: float, within: float) -> tuple[float | None, int | None]:
    """(seconds from ``opened`` until the server answered or closed, the status it answered or None if it only
    closed); (None, None) if nothing came within ``within`` s of ``opened``."""
    try:
        data = await asyncio.wait_for(reader.read(4096), max(0.1, opened + within - time.perf_counter()))
    except TimeoutError:
        return None, None
    except OSError:
        data = b""
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.") else None
    return time.perf_counter() - opened, status


def _close_all(pairs: list) -> None:
    for _, writer, _ in pairs:
        with contextlib.suppress(Exception):
            writer.transport.abort()


def _answers(results: list, limit: float) -> dict:
    seconds = [s for s, _ in results if s is not None]
    statuses = collections.Counter("held" if s is None else str(st) if st else "closed" for s, st in results)
    return {
        "answered_or_closed": len(seconds),
        "within_timeout": sum(s <= limit for s in seconds),
        "held": statuses.pop("held", 0),
        "by_status": dict(sorted(statuses.items())),
        "p50_s": statistics.median(seconds) if seconds else None,
        "max_s": max(seconds) if seconds else None,
    }


async def _held_phase(base: str, pid: int, count: int, limit_s: float, first: bytes = b"") -> dict:
    """``count`` connections that send ``first`` (maybe nothing) and then wait: how each was answered
    within ``limit_s``, the health check meanwhile, and the server's open file descriptors."""
    before, done = open_fds(pid), asyncio.Event()
    probe = asyncio.create_task(_probe(base, done, pid))
    started = time.perf_counter()
    pairs = await _open_many(_port(base), count, first)
    opened_s, during = time.perf_counter() - started, open_fds(pid)
    results = await asyncio.gather(*(_await_answer(r, t, limit_s + GRACE) for r, _, t in pairs))
    done.set()
    health = await probe
    _close_all(pairs)
    await asyncio.sleep(2)
    return {
        "connected": len(pairs),
        "open_s": opened_s,
        "limit_s": limit_s,
        **_answers(results, limit_s + 1),
        "health": health,
        "fds": {"before": before, "all_open": during, "max": health["fds_max"], "after": open_fds(pid)},
    }


async def idle_phase(base: str, pid: int, count: int, header_timeout: float) -> dict:
    """Phase 1: ``count`` connections that send nothing."""
    return {"phase": f"{count:,} idle connections", **await _held_phase(base, pid, count, header_timeout)}


def _score_head(length: int) -> bytes:
    return (
        f"POST /v1/score HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        f"content-length: {length}\r\n\r\n"
    ).encode("ascii")


async def partial_body_phase(base: str, pid: int, count: int, body_timeout: float) -> dict:
    """Phase 2: ``count`` clients that send a head and half the body of ``POST /v1/score``, then stop."""
    first = _score_head(len(HOUSE)) + HOUSE[: len(HOUSE) // 2]
    return {"phase": f"{count:,} partial bodies", **await _held_phase(base, pid, count, body_timeout, first)}


async def _abort_one(port: int) -> bool:
    pair = await _connect(port, _score_head(len(HOUSE)) + HOUSE)
    if pair is None:
        return False
    await asyncio.sleep(0.02)  # the request is on its way; the client goes before the answer
    pair[1].close()
    return True


def _counters(base: str) -> collections.Counter:
    """``{(route, method, status): count}`` of the server's ``mpeil_http_requests_total``."""
    text = httpx.get(base + "/v1/metrics", headers=auth(ADMIN_KEY), timeout=60).text
    counts: collections.Counter = collections.Counter()
    for line in text.splitlines():
        if line.startswith("mpeil_http_requests_total{"):
            labels, value = line[len("mpeil_http_requests_total{") :].rsplit("} ", 1)
            fields = dict(part.split("=", 1) for part in labels.split('",'))
            key = tuple(fields[k].strip('"') for k in ("route", "method", "status"))
            counts[key] += int(float(value))
    return counts


def _in_flight(base: str) -> float:
    text = httpx.get(base + "/v1/metrics", headers=auth(ADMIN_KEY), timeout=60).text
    for line in text.splitlines():
        if line.startswith("mpeil_http_requests_in_flight "):
            return float(line.split()[1])
    return float("inf")  # the scrape itself was refused (a 503 while the server is full): still busy


async def abort_phase(base: str, pid: int, count: int, log: Path) -> dict:
    """Phase 3: ``count`` whole ``POST /v1/score`` requests whose clients close before the answer."""
    counters, log_from, before = _counters(base), log.stat().st_size, open_fds(pid)
    done = asyncio.Event()
    probe = asyncio.create_task(_probe(base, done, pid, every=0.25))
    started, sent = time.perf_counter(), 0
    for start in range(0, count, WAVE):
        sent += sum(await asyncio.gather(*(_abort_one(_port(base)) for _ in range(min(WAVE, count - start)))))
    deadline = time.monotonic() + 120
    while await asyncio.to_thread(_in_flight, base) > 1 and time.monotonic() < deadline:  # 1: the scrape itself
        await asyncio.sleep(0.5)
    settled_s = time.perf_counter() - started
    done.set()
    during = await probe
    after = [await _health(base) for _ in range(5)]
    delta = _counters(base) - counters
    with open(log, "rb") as handle:
        handle.seek(log_from)
        lines = handle.read().decode("utf-8", "replace").splitlines()
    return {
        "phase": f"{count:,} aborted requests",
        "sent": sent,
        "settled_s": settled_s,
        "score_by_status": {k[2]: v for k, v in sorted(delta.items()) if k[0] == "/v1/score"},
        "all_by_status": dict(sorted(_by_status(delta).items())),
        "counted": sum(delta.values()),  # requests whose head the server read before the client went
        "status_500": sum(v for k, v in delta.items() if k[2] == "500"),
        "traceback_lines": sum("Traceback" in line for line in lines),
        "error_lines": sum(" ERROR" in line or "ERROR:" in line for line in lines),
        "health": during,
        "health_after_ms": [1000 * s for s, _ in after],
        "health_after_statuses": [st for _, st in after],
        "fds": {"before": before, "max": during["fds_max"], "after": open_fds(pid)},
    }


def _by_status(delta: collections.Counter) -> collections.Counter:
    out: collections.Counter = collections.Counter()
    for (_, _, status), value in delta.items():
        out[status] += value
    return out


async def _slow_one(port: int, header_timeout: float) -> tuple[float | None, int | None]:
    pair = await _connect(port)
    if pair is None:
        return None, None
    reader, writer, opened = pair
    head = b"GET /v1/healthz HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: " + b"a" * 200
    answer = asyncio.create_task(_await_answer(reader, opened, header_timeout + GRACE))
    for byte in head:
        if answer.done() or writer.is_closing():
            break
        with contextlib.suppress(OSError):
            writer.write(bytes([byte]))
        await asyncio.wait([answer], timeout=1.0)
    result = await answer
    writer.transport.abort()
    return result


async def slow_phase(base: str, pid: int, count: int, header_timeout: float) -> dict:
    """Phase 4: ``count`` clients that send their request head one byte per second."""
    before = open_fds(pid)
    results = await asyncio.gather(*(_slow_one(_port(base), header_timeout) for _ in range(count)))
    await asyncio.sleep(1)
    return {
        "phase": f"{count} slow headers (1 byte/s)",
        "connected": count,
        "limit_s": header_timeout,
        **_answers(results, header_timeout + 1),
        "fds": {"before": before, "after": open_fds(pid)},
    }


def _fmt(value, pattern: str = "{:.0f}") -> str:
    return "–" if value is None else pattern.format(value)


def _print(rows: list[dict]) -> None:
    print("| phase | connected | answered/closed within limit | held | by status | p50 / max s | "
          "health p50 / max ms (statuses) | server fds before → max → after | load |")  # fmt: skip
    print("|---|---:|---:|---:|---|---:|---|---|---:|")
    for r in rows:
        health = r.get("health") or {}
        fds = r["fds"]
        statuses = r.get("by_status") or r.get("score_by_status")
        print(
            f"| {r['phase']} | {r.get('connected', r.get('sent'))} | {_fmt(r.get('within_timeout'))} "
            f"(limit {_fmt(r.get('limit_s'))} s) | {_fmt(r.get('held'))} | {statuses} | "
            f"{_fmt(r.get('p50_s'), '{:.1f}')} / {_fmt(r.get('max_s'), '{:.1f}')} | "
            f"{_fmt(health.get('p50_ms'))} / {_fmt(health.get('max_ms'))} ({health.get('statuses', '–')}) | "
            f"{fds['before']} → {fds.get('max', '–')} → {fds['after']} | {r['load_average_1min']:.1f} |"
        )


def _run(args, scratch: Path) -> list[dict]:
    from mpeil.service.settings import Settings

    settings = Settings.from_env()
    header, body = float(settings.header_timeout), float(settings.body_timeout)
    log = scratch / "server.log"
    server, base = start_server(scratch / "store", _env(None), log)
    pid, rows = server.pid, []
    try:
        httpx.post(base + "/v1/score", content=HOUSE, headers={"content-type": "application/json"}, timeout=60)
        phases = (
            lambda: idle_phase(base, pid, args.connections, header),
            lambda: partial_body_phase(base, pid, args.connections, body),
            lambda: abort_phase(base, pid, args.connections, log),
            lambda: slow_phase(base, pid, args.slow, header),
        )
        for phase in phases:
            started, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
            row = asyncio.run(phase())
            used = resource.getrusage(resource.RUSAGE_SELF)
            row["wall_s"] = time.perf_counter() - started
            row["client_cpu_s"] = used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime
            row["load_average_1min"] = os.getloadavg()[0]
            rows.append(row)
            print(json.dumps(row), flush=True)
        rows.append({"server_limits": Path(f"/proc/{pid}/limits").read_text().splitlines()})
    finally:
        stop_server(server)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=3000)
    parser.add_argument("--slow", type=int, default=20, help="slow-header clients (one byte per second)")
    args = parser.parse_args()
    fd_limit = raise_fd_limit()
    print(f"file descriptors: {fd_limit}", flush=True)
    with tempfile.TemporaryDirectory(prefix="mpeil-conn-") as folder:
        rows = _run(args, Path(folder))
    limits = rows.pop()["server_limits"]
    _print(rows)
    result = {
        "phases": rows,
        "fd_limit": fd_limit,
        "server_open_files_limit": next((x for x in limits if x.startswith("Max open files")), None),
        "load_average": os.getloadavg(),
        "cores": os.cpu_count(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out = ROOT / "benchmarks" / "results" / "service_connections.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

"""Request counters and latency histograms, written as Prometheus text (exposition format 0.0.4).

With ``mpeil serve --workers N`` each HTTP process counts its own requests; every process writes its
counters to the store (table ``metrics``, one row per process, every few seconds and at each scrape)
and a scrape sums the rows, so whichever process answers ``/v1/metrics`` reports the whole server.
Gauges (memory, open files, requests in flight) are summed over the processes alive.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import defaultdict

__all__ = ["Metrics", "BUCKETS", "process_gauges"]

#: latency histogram bucket bounds in seconds (Prometheus' default buckets)
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: batch duration histogram bounds in seconds (a minute to a day)
BATCH_BUCKETS = (10.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 24 * 3600.0)


def _labels(route: str, method: str) -> str:
    route = route.replace("\\", "\\\\").replace('"', '\\"')
    return f'route="{route}",method="{method}"'


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.buckets: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * len(BUCKETS))
        self.sums: dict[tuple[str, str], float] = defaultdict(float)
        self.counts: dict[tuple[str, str], int] = defaultdict(int)
        self.scored_buildings = 0
        self.in_flight = 0

    def scored(self, buildings: int) -> None:
        with self._lock:
            self.scored_buildings += buildings

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(route, method, status)] += 1
            key = (route, method)
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    self.buckets[key][i] += 1
            self.sums[key] += seconds
            self.counts[key] += 1

    def snapshot(self) -> dict:
        """This process's counters as JSON-able data (what it writes to the store)."""
        with self._lock:
            return {
                "requests": [[*k, v] for k, v in self.requests.items()],
                "latency": [[*k, self.buckets[k], self.sums[k], self.counts[k]] for k in self.counts],
                "scored_buildings": self.scored_buildings,
                "in_flight": self.in_flight,
            }

    def flush(self, store) -> None:
        store.put_metrics(os.getpid(), json.dumps(self.snapshot()))

    def render(self, gauges: dict[str, tuple[str, float]], store=None) -> str:
        """The text of a scrape; with ``store``, the counters of every HTTP process summed."""
        snapshots = [self.snapshot()]
        if store is not None:
            self.flush(store)
            snapshots = [json.loads(text) for text in store.all_metrics()] or snapshots
        merged = _merge(snapshots)
        lines = _request_lines(merged)
        gauges = {
            **gauges,
            "mpeil_scored_buildings_total": ("buildings scored by POST /v1/score", float(merged["scored"])),
            "mpeil_http_requests_in_flight": ("requests being handled now", float(merged["in_flight"])),
        }
        for name, (help_text, value) in sorted(gauges.items()):
            kind = "counter" if name.endswith("_total") else "gauge"
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value}"]
        if store is not None:
            lines += _store_lines(store)
        return "\n".join(lines) + "\n"


def _merge(snapshots: list[dict]) -> dict:
    requests: dict[tuple, int] = defaultdict(int)
    latency: dict[tuple, list] = {}
    scored = in_flight = 0
    for snap in snapshots:
        for route, method, status, count in snap["requests"]:
            requests[(route, method, int(status))] += int(count)
        for route, method, buckets, total, count in snap["latency"]:
            was = latency.setdefault((route, method), [[0] * len(BUCKETS), 0.0, 0])
            was[0] = [a + b for a, b in zip(was[0], buckets, strict=True)]
            was[1] += total
            was[2] += count
        scored += int(snap["scored_buildings"])
        in_flight += int(snap.get("in_flight", 0))
    return {"requests": requests, "latency": latency, "scored": scored, "in_flight": in_flight}


def _request_lines(merged: dict) -> list[str]:
    lines = [
        "# HELP mpeil_http_requests_total HTTP requests by route, method and status (499: the client went away).",
        "# TYPE mpeil_http_requests_total counter",
    ]
    for (route, method, status), count in sorted(merged["requests"].items()):
        lines.append(f'mpeil_http_requests_total{{{_labels(route, method)},status="{status}"}} {count}')
    lines += [
        "# HELP mpeil_http_request_duration_seconds Time from request to response.",
        "# TYPE mpeil_http_request_duration_seconds histogram",
    ]
    for key in sorted(merged["latency"]):
        buckets, total, count = merged["latency"][key]
        labels = _labels(*key)
        for bound, seen in zip(BUCKETS, buckets, strict=True):
            lines.append(f'mpeil_http_request_duration_seconds_bucket{{{labels},le="{bound}"}} {seen}')
        lines.append(f'mpeil_http_request_duration_seconds_bucket{{{labels},le="+Inf"}} {count}')
        lines.append(f"mpeil_http_request_duration_seconds_sum{{{labels}}} {total}")
        lines.append(f"mpeil_http_request_duration_seconds_count{{{labels}}} {count}")
    return lines


def _store_lines(store) -> list[str]:
    """Queue length and age per tenant, batch durations (from the jobs table)."""
    lines = [
        "# HELP mpeil_batch_queue_length Batches waiting, per tenant.",
        "# TYPE mpeil_batch_queue_length gauge",
    ]
    queues = store.queue_by_owner()
    for owner, (count, _age) in sorted(queues.items()):
        lines.append(f'mpeil_batch_queue_length{{tenant="{_escape(owner)}"}} {count}')
    lines += [
        "# HELP mpeil_batch_queue_age_seconds Age of the oldest waiting batch, per tenant.",
        "# TYPE mpeil_batch_queue_age_seconds gauge",
    ]
    for owner, (_count, age) in sorted(queues.items()):
        lines.append(f'mpeil_batch_queue_age_seconds{{tenant="{_escape(owner)}"}} {age:.3f}')
    durations = store.batch_durations()
    lines += [
        "# HELP mpeil_batch_duration_seconds Wall time of finished batches, from first start to end.",
        "# TYPE mpeil_batch_duration_seconds histogram",
    ]
    for bound in BATCH_BUCKETS:
        lines.append(f'mpeil_batch_duration_seconds_bucket{{le="{bound}"}} {sum(d <= bound for d in durations)}')
    lines.append(f'mpeil_batch_duration_seconds_bucket{{le="+Inf"}} {len(durations)}')
    lines.append(f"mpeil_batch_duration_seconds_sum {sum(durations)}")
    lines.append(f"mpeil_batch_duration_seconds_count {len(durations)}")
    return lines


def _status_value(pid: int, field: str) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return float(line.split()[1]) * 1024.0  # kB
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def _open_files(pid: int) -> float:
    try:
        return float(len(os.listdir(f"/proc/{pid}/fd")))
    except OSError:
        return 0.0


def process_gauges(state) -> dict[str, tuple[str, float]]:
    """Memory and open files of this HTTP process and its scoring workers; tasks waiting for a worker."""
    pids = [os.getpid(), *state.pool.pids()]
    return {
        "mpeil_process_resident_memory_bytes": (
            "resident memory of this HTTP process and its scoring workers",
            sum(_status_value(pid, "VmRSS") for pid in pids),
        ),
        "mpeil_process_open_files": (
            "open file descriptors of this HTTP process and its workers",
            sum(map(_open_files, pids)),
        ),
        "mpeil_scoring_workers": ("scoring worker processes alive", float(len(pids) - 1)),
        "mpeil_scoring_waiting": ("scoring tasks sent to the pool and not yet answered", float(state.pool.waiting)),
        "mpeil_metrics_time_seconds": ("when these metrics were taken (Unix time)", time.time()),
    }

"""Request counters and latency histograms, written as Prometheus text (exposition format 0.0.4)."""

from __future__ import annotations

import threading
from collections import defaultdict

__all__ = ["Metrics", "BUCKETS"]

#: latency histogram bucket bounds in seconds (Prometheus' default buckets)
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _labels(route: str, method: str) -> str:
    route = route.replace("\\", "\\\\").replace('"', '\\"')
    return f'route="{route}",method="{method}"'


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.buckets: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * len(BUCKETS))
        self.sums: dict[tuple[str, str], float] = defaultdict(float)
        self.counts: dict[tuple[str, str], int] = defaultdict(int)
        self.scored_buildings = 0

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(route, method, status)] += 1
            key = (route, method)
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    self.buckets[key][i] += 1
            self.sums[key] += seconds
            self.counts[key] += 1

    def render(self, gauges: dict[str, tuple[str, float]]) -> str:
        lines = [
            "# HELP mpeil_http_requests_total HTTP requests by route, method and status.",
            "# TYPE mpeil_http_requests_total counter",
        ]
        with self._lock:
            for (route, method, status), count in sorted(self.requests.items()):
                lines.append(f'mpeil_http_requests_total{{{_labels(route, method)},status="{status}"}} {count}')
            lines += [
                "# HELP mpeil_http_request_duration_seconds Time from request to response.",
                "# TYPE mpeil_http_request_duration_seconds histogram",
            ]
            for key in sorted(self.counts):
                labels = _labels(*key)
                for bound, count in zip(BUCKETS, self.buckets[key], strict=True):
                    lines.append(f'mpeil_http_request_duration_seconds_bucket{{{labels},le="{bound}"}} {count}')
                lines.append(f'mpeil_http_request_duration_seconds_bucket{{{labels},le="+Inf"}} {self.counts[key]}')
                lines.append(f"mpeil_http_request_duration_seconds_sum{{{labels}}} {self.sums[key]}")
                lines.append(f"mpeil_http_request_duration_seconds_count{{{labels}}} {self.counts[key]}")
        for name, (help_text, value) in sorted(gauges.items()):
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value}"]
        return "\n".join(lines) + "\n"

"""The JSON guard of issue 23 beside the regex pre-check it replaced, on the inputs that broke it.

``python benchmarks/json_guard.py`` prints seconds per input size for both, side by side, and the
new guard's bytes per second on 20 MB. The old check (``re.sub`` of JSON strings, then numpy over
the skeleton) is reproduced here as it was (commit a4e0776, ``mpeil/readers/guards.py``); it is
run only on the small sizes (it is quadratic: minutes at 200 KB).
"""

from __future__ import annotations

import re
import sys
import time

import numpy as np

from mpeil.limits import load_limits
from mpeil.readers.guards import check_json

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def old_depth(data: bytes) -> int:
    skeleton = np.frombuffer(_JSON_STRING.sub(b'""', data), dtype=np.uint8)
    step = np.zeros(len(skeleton), dtype=np.int64)
    step[(skeleton == ord("[")) | (skeleton == ord("{"))] = 1
    step[(skeleton == ord("]")) | (skeleton == ord("}"))] = -1
    return int(np.cumsum(step).max(initial=0))


def attack(size: int) -> bytes:
    """Deep nesting, then an unterminated string of escaped quotes (issue 23)."""
    return b"[" * 60 + b'"' + b'\\"' * ((size - 61) // 2)


def seconds(function, data: bytes) -> float:
    started = time.perf_counter()
    function(data)
    return time.perf_counter() - started


def main() -> None:
    limits = load_limits().replace(json_string_bytes=2**62, json_containers=2**62, json_values=2**62)
    print(f"{'bytes':>12} {'old s':>10} {'new s':>10}")
    for size in (5_000, 10_000, 20_000):
        data = attack(size)
        print(f"{size:>12,} {seconds(old_depth, data):>10.3f} {seconds(lambda d: check_json(d, limits), data):>10.4f}")
    for size in (200_000, 2_000_000, 20_000_000):
        data = attack(size)
        print(f"{size:>12,} {'(minutes)':>10} {seconds(lambda d: check_json(d, limits), data):>10.4f}")
    data = attack(20_000_000)
    rate = len(data) / seconds(lambda d: check_json(d, limits), data)
    print(f"new guard: {rate / 1e6:.0f} MB/s on 20 MB", file=sys.stderr)


if __name__ == "__main__":
    main()

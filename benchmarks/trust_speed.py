"""Issue 8 speed check: ``mpeil.score(frame, library=lib).scores`` on a synthetic stock.

Run it once per source tree and compare (the numbers go to docs/readme/issue-8.md)::

    PYTHONPATH=/path/to/main  nice python benchmarks/trust_speed.py 1000
    PYTHONPATH=/path/to/issue-8 nice python benchmarks/trust_speed.py 1000

Prints one JSON line: the first call (loads estimates and flags once per library) and the best of
three warm calls, in seconds.
"""

from __future__ import annotations

import json
import sys
import time


def main(n: int) -> dict:
    import mpeil
    from mpeil.api import score
    from mpeil.model.library import load_library
    from mpeil.synthetic import generate_stock

    library = load_library()
    frame = generate_stock(n, seed=3)
    times = []
    for _ in range(4):
        start = time.perf_counter()
        scores = score(frame, library=library).scores
        times.append(time.perf_counter() - start)
    return {
        "code": mpeil.__file__,
        "buildings": n,
        "lines": len(frame),
        "first_s": round(times[0], 3),
        "warm_best_s": round(min(times[1:]), 3),
        "score_median": float(scores["score"].median()),
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)))

"""Compile, engine and the rest of frame → scores, and one building warm: source trees side by side.

    nice python benchmarks/stage_times.py --trees /path/to/base /path/to/current --rounds 3

Each measurement runs in a fresh subprocess with ``PYTHONPATH`` and the working directory on one
tree; the trees alternate round by round (the first tree first in odd rounds, last in even ones)
and the best CPU time (process time) of each number over the rounds is kept. Only the public API
every revision since issue 15 has is used (``Scorer.compile_frame``, ``Scorer.run``,
``Scorer.score``, ``mpeil.synthetic.generate_stock``), so one script measures both trees.

- ``compile``: ``scorer.compile_frame(frame)`` of ``generate_stock(N, seed=1)`` (best of ``--repeat``);
- ``run_engine``: ``scorer.run(compiled)``;
- ``end_to_end``: ``scorer.score(frame).scores``; ``rest`` = end to end − compile − run_engine
  (read, trust assessment, weighting, grades, labels and the result checks);
- ``one_building``: ``scorer.score(example).scores`` of ``scenarios/examples/terraced_house.json``
  with a warm scorer, best and median of ``--calls`` calls.

Digests of the per-building scores show whether the trees give the same numbers. Not a test module.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

MARKER = "STAGE-TIMES "


def _cpu(fn, repeat: int) -> tuple[float, object]:
    """Best CPU seconds of ``repeat`` calls and the last result."""
    import gc

    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        result = fn()
        best = min(best, time.process_time() - start)
    return best, result


def _digest(scores) -> str:
    import numpy as np

    h = hashlib.sha256()
    for column in sorted(c for c in scores.columns if c == "score" or c.endswith(" per area")):
        h.update(np.ascontiguousarray(scores[column].to_numpy(dtype=np.float64)).tobytes())
    return h.hexdigest()[:16]


def worker(args) -> dict:
    """The measurements on the tree this process imports ``mpeil`` from."""
    from mpeil.api import Scorer
    from mpeil.synthetic import generate_stock

    scorer = Scorer()
    _ = scorer.score(generate_stock(20, seed=2)).scores  # warm: library caches, first-call costs
    out: dict = {}
    if args.buildings:
        frame = generate_stock(args.buildings, seed=1)
        out["compile_cpu_s"], compiled = _cpu(lambda: scorer.compile_frame(frame), args.repeat)
        out["run_engine_cpu_s"], _ = _cpu(lambda: scorer.run(compiled), args.repeat)
        out["end_to_end_cpu_s"], scores = _cpu(lambda: scorer.score(frame).scores, args.repeat)
        out["rest_cpu_s"] = out["end_to_end_cpu_s"] - out["compile_cpu_s"] - out["run_engine_cpu_s"]
        out["stock_digest"] = _digest(scores)
    example = str(Path.cwd() / "scenarios" / "examples" / "terraced_house.json")
    for _ in range(5):
        scores = scorer.score(example).scores
    times = []
    for _ in range(args.calls):
        start = time.process_time()
        scores = scorer.score(example).scores
        times.append(time.process_time() - start)
    out["one_building_best_cpu_ms"] = 1000 * min(times)
    out["one_building_median_cpu_ms"] = 1000 * statistics.median(times)
    out["one_building_digest"] = _digest(scores)
    out["load_average"] = os.getloadavg()[0]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trees", nargs="+", type=Path, help="source trees (e.g. a base worktree and this one)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--buildings", type=int, default=5000, help="0: one building only")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--calls", type=int, default=100, help="one-building calls per round")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.worker:
        print(MARKER + json.dumps(worker(args)))
        return 0
    best: dict[str, dict] = {str(t): {} for t in args.trees}
    extra = ["--buildings", str(args.buildings), "--repeat", str(args.repeat), "--calls", str(args.calls)]
    for r in range(args.rounds):
        for tree in args.trees if r % 2 == 0 else list(reversed(args.trees)):
            env = {**os.environ, "PYTHONPATH": str(tree)}
            done = subprocess.run(
                [sys.executable, __file__, "--worker", *extra], cwd=tree, env=env, capture_output=True, text=True
            )
            if done.returncode != 0:
                raise RuntimeError(f"{tree}: {done.stderr[-2000:]}")
            got = json.loads(next(x for x in done.stdout.splitlines() if x.startswith(MARKER))[len(MARKER) :])
            for key, value in got.items():
                keep = best[str(tree)].get(key)
                if isinstance(value, float) and key != "load_average":
                    best[str(tree)][key] = value if keep is None else min(keep, value)
                else:
                    best[str(tree)][key] = value
            print(f"round {r + 1} {tree}: {got}", flush=True)
    print(json.dumps(best, indent=2))
    if args.out:
        args.out.write_text(json.dumps(best, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

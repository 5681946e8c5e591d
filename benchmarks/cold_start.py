"""Cold start of ``mpeil score one.json`` and where its time goes (issue 9).

    nice python benchmarks/cold_start.py [--repeat 5]

Runs ``python -m mpeil score <example> --format csv`` in fresh processes (best and median wall
time), then, in fresh processes too, the parts: import of the CLI, ``Scorer()`` (method, library,
scenarios, checks), the first ``score`` and a second one with the same scorer. Numbers depend on
the load of the machine: compare runs made side by side.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "examples" / "terraced_house.json"

PARTS = """
import json, time
t0 = time.perf_counter()
import mpeil.cli
t1 = time.perf_counter()
from mpeil.api import Scorer
scorer = Scorer()
t2 = time.perf_counter()
scorer.score({path!r}).scores
t3 = time.perf_counter()
scorer.score({path!r}).scores
t4 = time.perf_counter()
print(json.dumps({{"import_cli_s": t1 - t0, "scorer_s": t2 - t1, "first_score_s": t3 - t2, "next_score_s": t4 - t3}}))
"""


def _wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    cli = [sys.executable, "-m", "mpeil", "score", str(EXAMPLE), "--format", "csv"]
    walls = [_wall(cli) for _ in range(args.repeat)]
    parts = []
    for _ in range(args.repeat):
        out = subprocess.run(
            [sys.executable, "-c", PARTS.format(path=str(EXAMPLE))],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        parts.append(json.loads(out.stdout.strip().splitlines()[-1]))
    result = {
        "cli_wall_best_s": min(walls),
        "cli_wall_median_s": statistics.median(walls),
        **{key: min(p[key] for p in parts) for key in parts[0]},
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Cold start of ``mpeil score one.json`` and where its time goes (issue 9).

    nice python benchmarks/cold_start.py [--repeat 5]

Runs ``python -m mpeil score <example> --format csv`` in fresh processes (best and median wall
time, and CPU time of the process and its budget child), then, in fresh processes too, the parts
as the command runs them, in CPU seconds: importing numpy and pandas, the CLI, the API; the
scorer (:func:`mpeil.stages.context.prepare_stored`: the stored library read back from the user
cache, method, scenarios, checks); the first ``score`` and a second one with the same scorer
(in-process, ``MPEIL_BUDGET=off``). The first run fills the cache (``MPEIL_CACHE_DIR``, a fresh
temporary folder unless set) and is not counted. Numbers depend on the load of the machine:
compare runs made side by side (``benchmarks/compare_commits.py --workloads cold``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "examples" / "terraced_house.json"

PARTS = """
import json, time
marks = [time.process_time()]
import numpy, pandas
marks.append(time.process_time())
import mpeil.cli
marks.append(time.process_time())
import mpeil.api
marks.append(time.process_time())
from mpeil.api import Scorer
from mpeil.stages.context import prepare_stored
scorer = Scorer.from_context(prepare_stored())
marks.append(time.process_time())
scorer.score({path!r}).scores
marks.append(time.process_time())
scorer.score({path!r}).scores
marks.append(time.process_time())
names = ["numpy_pandas_cpu_s", "import_cli_cpu_s", "import_api_cpu_s", "scorer_cpu_s", "first_score_cpu_s",
         "next_score_cpu_s"]
print(json.dumps(dict(zip(names, [b - a for a, b in zip(marks, marks[1:])]))))
"""


def _run(command: list[str], env: dict) -> tuple[float, float]:
    """Wall and CPU seconds (the process and its children: the budget's fork) of one run."""
    before = os.times()
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT, env=env)
    wall = time.perf_counter() - start
    after = os.times()
    return wall, (after.children_user - before.children_user) + (after.children_system - before.children_system)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mpeil-cold-") as cache:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.setdefault("MPEIL_CACHE_DIR", cache)
        cli = [sys.executable, "-m", "mpeil", "score", str(EXAMPLE), "--format", "csv"]
        _run(cli, env)  # fills the cache
        runs = [_run(cli, env) for _ in range(args.repeat)]
        parts = []
        for _ in range(args.repeat):
            out = subprocess.run(
                [sys.executable, "-c", PARTS.format(path=str(EXAMPLE))],
                check=True,
                capture_output=True,
                text=True,
                cwd=ROOT,
                env={**env, "MPEIL_BUDGET": "off"},
            )
            parts.append(json.loads(out.stdout.strip().splitlines()[-1]))
    walls = [wall for wall, _cpu in runs]
    result = {
        "cli_wall_best_s": min(walls),
        "cli_wall_median_s": statistics.median(walls),
        "cli_cpu_best_s": min(cpu for _wall, cpu in runs),
        **{key: min(p[key] for p in parts) for key in parts[0]},
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Speed of this tree next to a base revision, measured side by side in one run (issue 20).

    nice python benchmarks/compare_commits.py                      # base HEAD~1
    nice python benchmarks/compare_commits.py --base a4e0776 --rounds 3
    nice python benchmarks/compare_commits.py --workloads engine --buildings 1000 --rounds 1   # quick

The base revision is checked out into a temporary ``git worktree`` (removed afterwards). Each
workload (``benchmarks/_compare_worker.py``) runs in a fresh subprocess with ``PYTHONPATH`` and the
working directory pointing at one tree; base and current alternate round by round (base first in
odd rounds, current first in even ones), so a change in the machine's load hits both. The best time
of each side over the rounds is kept, and the ratio base ÷ current printed (> 1: current is faster).
Digests of the scores and engine arrays are compared too: equal digests mean bit-for-bit equal
results. Both trees get their own empty ``MPEIL_CACHE_DIR``, filled by a warm-up run.

Workloads: ``engine`` (5,000 synthetic buildings: frame → scores with a warm scorer, ``run_engine``,
a bare ``scipy.sparse`` product of the same size), ``cold`` (``python -m mpeil score one.json`` in a
fresh process as the environment runs it, then with bytecode compiled: each tree's ``mpeil`` and
libraries compiled into its own ``PYTHONPYCACHEPREFIX`` with ``PYTHONDONTWRITEBYTECODE`` unset, as
a pip-installed user has it, ``cold_score_bytecode_*``; and ``import mpeil.cli``), ``batch`` (``mpeil batch`` of one-building JSON files,
``--jobs 1`` and ``2``). Results: ``benchmarks/results/compare-<base>.json`` (or ``--out``).
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKER = HERE / "_compare_worker.py"
MARKER = "COMPARE-RESULT "
#: numbers where bigger is better (the ratio is then current ÷ base); all others are times
_RATES = ("_per_s",)


def _git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def _run(tree: Path, cache: Path, workload: str, extra: list[str], timeout: float) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "MPEIL_CACHE_DIR": str(cache)}
    done = subprocess.run(
        [sys.executable, str(WORKER), workload, *extra],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    for line in done.stdout.splitlines():
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER) :])
    raise RuntimeError(f"{workload} in {tree} failed ({done.returncode}):\n{done.stderr[-3000:]}")


def _better(key: str, a: float, b: float) -> float:
    return max(a, b) if key.endswith(_RATES) else min(a, b)


def _merge(best: dict, new: dict) -> dict:
    """Keep the best of each number over the rounds; digests and counts as last seen."""
    out = dict(new)
    for key, value in best.items():
        if isinstance(value, float) and isinstance(new.get(key), float) and key != "load_average":
            out[key] = _better(key, value, new[key])
    return out


def _ratio(key: str, base: float, current: float) -> float:
    """How many times better the current tree is (> 1: faster)."""
    divisor = base if key.endswith(_RATES) else current
    if divisor == 0:  # e.g. reading an attribute that is already an array: below the clock's resolution
        return float("nan")
    return current / base if key.endswith(_RATES) else base / current


def compare(args) -> dict:
    base_sha = _git("rev-parse", args.base)
    current_sha = _git("rev-parse", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    work = Path(tempfile.mkdtemp(prefix="mpeil-compare-"))
    base_tree = work / "base"
    _git("worktree", "add", "--detach", str(base_tree), base_sha)
    trees = {"base": base_tree, "current": ROOT}
    caches = {side: work / f"cache-{side}" for side in trees}
    files_dir = work / "files"
    extra = ["--buildings", str(args.buildings), "--files", str(args.files), "--files-dir", str(files_dir)]
    extra += ["--repeat", str(args.repeat), "--seed", str(args.seed)]
    results: dict = {side: {} for side in trees}
    load = [os.getloadavg()]
    try:
        if "batch" in args.workloads:
            _run(ROOT, caches["current"], "write_files", extra, args.timeout)
        for side in trees:  # warm-up: fills each tree's cache dir (prepared library) and the OS file cache
            _run(trees[side], caches[side], "cold", ["--repeat", "1"], args.timeout)
        for r in range(args.rounds):
            order = ["base", "current"] if r % 2 == 0 else ["current", "base"]
            for workload in args.workloads:
                for side in order:
                    got = _run(trees[side], caches[side], workload, extra, args.timeout)
                    results[side][workload] = _merge(results[side].get(workload, {}), got)
                    print(f"round {r + 1} {workload:7s} {side:8s} {_short(got)}", flush=True)
            load.append(os.getloadavg())
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base_tree)], cwd=ROOT, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "base": {"revision": args.base, "sha": base_sha},
        "current": {"sha": current_sha, "uncommitted_changes": dirty},
        "cpus": os.cpu_count(),
        "load_average_per_round": load,
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "results": results,
        "ratios": _ratios(results),
    }


def _short(got: dict) -> str:
    return ", ".join(f"{k}={v:.3g}" for k, v in got.items() if isinstance(v, float) and k.endswith(("_s", "_per_s")))


def _ratios(results: dict) -> dict:
    out = {}
    for workload, base in results["base"].items():
        current = results["current"].get(workload, {})
        for key, value in base.items():
            if isinstance(value, float) and isinstance(current.get(key), float) and key != "load_average":
                out[f"{workload}.{key}"] = _ratio(key, value, current[key])
            elif key.endswith("_digest"):
                out[f"{workload}.{key}_equal"] = value == current.get(key)
    return out


def table(report: dict) -> str:
    """A Markdown table: base, current, ratio (× better) per number."""
    rows = ["| workload | number | base | current | speed-up (> 1: current better) |", "|---|---|---|---|---|"]
    base, current = report["results"]["base"], report["results"]["current"]
    for name, ratio in report["ratios"].items():
        workload, key = name.split(".", 1)
        if isinstance(ratio, bool):
            rows.append(f"| {workload} | {key} | | | {'equal' if ratio else '**DIFFERENT**'} |")
            continue
        b, c = base[workload][key], current[workload][key]
        rows.append(f"| {workload} | {key} | {b:.4g} | {c:.4g} | {ratio:.2f}× |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default="HEAD~1", help="base revision (default HEAD~1)")
    parser.add_argument("--workloads", nargs="+", default=["engine", "cold", "batch"])
    parser.add_argument("--buildings", type=int, default=5000)
    parser.add_argument("--files", type=int, default=600, help="one-building files of the batch workload")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (best of the rounds kept)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions inside one workload process")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    report = compare(args)
    text = table(report)
    print(f"\nbase {report['base']['sha'][:10]} vs current {report['current']['sha'][:10]}", end="")
    print(" (+ uncommitted changes)" if report["current"]["uncommitted_changes"] else "")
    print(f"load average per round: {[round(x[0], 2) for x in report['load_average_per_round']]}\n")
    print(text)
    out = args.out or HERE / "results" / f"compare-{args.base.replace('/', '_').replace('~', '-')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({**report, "table": text}, indent=2) + "\n")
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

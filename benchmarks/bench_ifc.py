"""IFC reading and scoring time per model (issues 12 and 19); writes results/ifc.json and prints a table.

    nice python benchmarks/bench_ifc.py                      # ~2 min on 2 busy cores
    nice python benchmarks/bench_ifc.py --baseline main      # the same run with `main`'s mpeil, side by side

Issue 19's mark: reading a 4 MB model and scoring it under 10 s on this machine (``office-a-20110811.ifc``,
4.1 MB: the *read + score* column). ``--baseline REV`` checks REV out into a temporary git worktree and
times it in a subprocess on the same models in the same run (the fixtures of this tree), then prints the
ratio this/baseline per model.

Per sample, best of ``--repeat`` runs (wall clock, seconds), the library loaded once beforehand:
- *open*: ``ifcopenshell.open`` alone (parsing the STEP file);
- *read*: ``mpeil.readers.ifc.read_ifc`` (open, elements, materials, quantities incl. geometry where
  a file has none, mapping, GFA) with the library already loaded;
- *score*: ``mpeil.score`` of the resulting Building (method ``mpeil-ef31``).
Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "ifc"
FIXTURES = Path(os.environ.get("MPEIL_BENCH_FIXTURES", FIXTURES))
#: model → gross floor area given (None: the file's own)
SAMPLES = {
    "ac20-fzk-haus.ifc": None,
    "duplex-a-20110907.ifc": None,
    "ifcopenhouse-ifc4.ifc": 50.0,
    "webifc-example-revit2021-mm.ifc": 500.0,
    "webifc-issue005-haus.ifc": None,
    "office-a-20110811.ifc": 4000.0,
    "webifc-issue021-mini-project.ifc": 1000.0,
}


def _best(function, repeat: int) -> tuple[float, Any]:
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = function()
        best = min(best, time.perf_counter() - start)
    return best, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "ifc.json")
    parser.add_argument("--baseline", help="git revision to time side by side (e.g. main, HEAD~1)")
    args = parser.parse_args()
    rows = _measure(args.repeat)
    _report(rows, args)
    if args.baseline:
        _compare(rows, _baseline(args.baseline, args.repeat))


def _measure(repeat: int) -> list[dict[str, Any]]:
    """Best-of-``repeat`` open, read and score seconds per model of :data:`SAMPLES` present."""
    import ifcopenshell

    import mpeil
    from mpeil.model.library import load_library
    from mpeil.readers.ifc import read_ifc

    library = load_library()
    rows: list[dict[str, Any]] = []
    for name, gfa in SAMPLES.items():
        path = FIXTURES / name
        if not path.exists():
            continue
        open_s, model = _best(lambda p=path: ifcopenshell.open(str(p)), repeat)
        read_s, reading = _best(lambda p=path, g=gfa: read_ifc(p, gfa_m2=g, library=library), repeat)
        score_s, result = _best(lambda r=reading: mpeil.score(r.building, library=library), repeat)
        rows.append(
            {
                "file": name,
                "bytes": path.stat().st_size,
                "entities": len(list(model)),
                "elements_scored": len(reading.building.elements),
                "open_s": round(open_s, 3),
                "read_s": round(read_s, 3),
                "score_s": round(score_s, 3),
                "read_and_score_s": round(read_s + score_s, 3),
                "mapped_volume_share": float(reading.mapped_share["volume"]),
                "score_mpt_m2_yr": float(result.scores["score"].iloc[0]),
            }
        )
    return rows


def _report(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    import ifcopenshell

    environment = {
        "python": platform.python_version(),
        "ifcopenshell": ifcopenshell.version,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "repeat": args.repeat,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"environment": environment, "samples": rows}, indent=2) + "\n")
    print(
        "| file | size | entities | elements scored | mapped volume | open (s) | read_ifc (s) | score (s) | read + score (s) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| `{r['file']}` | {r['bytes'] / 1e6:.2f} MB | {r['entities']:,} | {r['elements_scored']} "
            f"| {r['mapped_volume_share']:.1%} | {r['open_s']:.2f} | {r['read_s']:.2f} | {r['score_s']:.2f} "
            f"| {r['read_and_score_s']:.2f} |"
        )
    print(f"library loaded once beforehand; load average {environment['load_average']}")


def _baseline(revision: str, repeat: int) -> list[dict[str, Any]]:
    """The same measurement with ``revision``'s mpeil (a temporary git worktree, a subprocess)."""
    import subprocess
    import sys
    import tempfile

    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as scratch:
        tree, out = Path(scratch) / "tree", Path(scratch) / "baseline.json"
        subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", str(tree), revision], check=True)
        try:
            env = {**os.environ, "PYTHONPATH": str(tree), "MPEIL_BENCH_FIXTURES": str(FIXTURES)}
            script = [sys.executable, str(Path(__file__).resolve()), "--repeat", str(repeat), "--out", str(out)]
            subprocess.run(script, check=True, env=env, cwd=str(tree))
            return json.loads(out.read_text())["samples"]
        finally:
            subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(tree)], check=False)


def _compare(rows: list[dict[str, Any]], baseline: list[dict[str, Any]]) -> None:
    before = {r["file"]: r for r in baseline}
    print("| file | read + score now (s) | baseline (s) | ratio now/baseline | mapped now | mapped baseline |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        b = before.get(r["file"])
        if b is None:
            continue
        then = b.get("read_and_score_s", b["read_s"] + b["score_s"])
        print(
            f"| `{r['file']}` | {r['read_and_score_s']:.2f} | {then:.2f} | {r['read_and_score_s'] / then:.2f} "
            f"| {r['mapped_volume_share']:.1%} | {b.get('mapped_volume_share', float('nan')):.1%} |"
        )


if __name__ == "__main__":
    main()

"""IFC reading time per shipped sample model (issue 12); writes results/ifc.json and prints a table.

    nice python benchmarks/bench_ifc.py            # ~1 min on 2 busy cores

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
SAMPLES = {"ac20-fzk-haus.ifc": None, "duplex-a-20110907.ifc": None, "ifcopenhouse-ifc4.ifc": 50.0}


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
    args = parser.parse_args()

    import ifcopenshell

    import mpeil
    from mpeil.model.library import load_library
    from mpeil.readers.ifc import read_ifc

    load_start = time.perf_counter()
    library = load_library()
    load_seconds = time.perf_counter() - load_start
    rows: list[dict[str, Any]] = []
    for name, gfa in SAMPLES.items():
        path = FIXTURES / name
        open_s, model = _best(lambda p=path: ifcopenshell.open(str(p)), args.repeat)
        read_s, reading = _best(lambda p=path, g=gfa: read_ifc(p, gfa_m2=g, library=library), args.repeat)
        score_s, result = _best(lambda r=reading: mpeil.score(r.building, library=library), args.repeat)
        rows.append(
            {
                "file": name,
                "bytes": path.stat().st_size,
                "entities": len(list(model)),
                "elements_scored": len(reading.building.elements),
                "open_s": round(open_s, 3),
                "read_s": round(read_s, 3),
                "score_s": round(score_s, 3),
                "score_mpt_m2_yr": float(result.scores["score"].iloc[0]),
            }
        )
    environment = {
        "python": platform.python_version(),
        "ifcopenshell": ifcopenshell.version,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "library_load_s": round(load_seconds, 3),
        "repeat": args.repeat,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"environment": environment, "samples": rows}, indent=2) + "\n")
    print("| file | size | entities | elements scored | open (s) | read_ifc (s) | score (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| `{r['file']}` | {r['bytes'] / 1e6:.2f} MB | {r['entities']:,} | {r['elements_scored']} "
            f"| {r['open_s']:.2f} | {r['read_s']:.2f} | {r['score_s']:.2f} |"
        )
    print(f"library load {load_seconds:.2f} s (once); load average {environment['load_average']}")


if __name__ == "__main__":
    main()

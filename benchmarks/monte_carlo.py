"""Monte Carlo benchmark (issue 13): draws × buildings of a synthetic stock, timed end to end.

Not a test. ``nice python benchmarks/monte_carlo.py [--buildings 1000] [--draws 1000] [--seed 1]``
prints one Markdown row and writes ``results/monte_carlo.json``. Target: 1,000 × 1,000 in ≤ 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from mpeil.analysis.uncertainty import load_uncertainty, monte_carlo
from mpeil.model.library import load_library
from mpeil.synthetic import generate_stock

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--buildings", type=int, default=1000)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chunk", type=int, default=50)
    args = parser.parse_args()
    library = load_library()
    stock = generate_stock(args.buildings, seed=args.seed)
    spec = load_uncertainty()
    started = time.perf_counter()
    result = monte_carlo(stock, n_draws=args.draws, seed=args.seed, library=library, spec=spec, chunk=args.chunk)
    seconds = time.perf_counter() - started
    lines = len(stock)
    width = np.median((result.summary()["p95"] - result.summary()["p5"]) / result.deterministic)
    record = {
        "buildings": args.buildings,
        "lines": lines,
        "draws": args.draws,
        "seconds": round(seconds, 2),
        "draw_lines_per_second": round(args.draws * lines / seconds),
        "median_relative_p5_p95_width": round(float(width), 3),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "what": "generate_stock excluded; library loaded before; timed: compile, deterministic engine run, "
        "profile components, sampling, all draws, summary not included",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "monte_carlo.json").write_text(json.dumps(record, indent=2) + "\n")
    print(
        f"| {args.draws:,} draws × {args.buildings:,} buildings ({lines:,} lines) | {seconds:.1f} s | "
        f"{record['draw_lines_per_second'] / 1e6:.1f} M line-draws/s | p5–p95 width {width:.0%} of the score (median) |"
    )


if __name__ == "__main__":
    main()

"""Scaling benchmarks of mpeil, measured in one run: engine core (issue 3) and batch throughput (issue 5).

    nice python benchmarks/scaling.py            # full run, about 10-15 minutes on 2 cores
    python benchmarks/scaling.py --quick         # smoke run, about a minute

Every measurement runs in a fresh subprocess, so its peak memory is its own (peak RSS of the step,
reset before it where Linux allows, else the process's). Results go to ``benchmarks/results/``:
one JSON file per part and ``README-tables.md`` with the tables (also printed). See
``benchmarks/README.md`` for what each number means.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
MARKER = "SCALING-RESULT "


# ============================================================================ worker tasks (subprocesses)
def task_engine(n: int, seed: int) -> dict:
    """Issue 3: the core on n buildings, its parts, a bare sparse product, end to end, peak memory."""
    import _common as C

    s = C.setup()
    generated = C.measure(lambda: C.stock_frame(n, seed))
    frame = generated.result
    compiled_step = C.measure(lambda: C.compile_stock(frame, s))
    compiled = compiled_step.result
    first = C.measure(lambda compiled=compiled: C.run_engine_once(compiled, s))  # also the warm-up
    shape = first.result.values.shape
    del first.result
    best, times, _ = C.best_of(lambda compiled=compiled: C.run_engine_once(compiled, s), 3)
    parts = []
    for _ in range(3):  # keep only the timings (the profiles and weights are large)
        timed = C.engine_parts(compiled, s)
        parts.append({k: timed[k] for k in ("profiles_s", "weights_s", "aggregation_s", "n_profiles")})
        del timed
    n_profiles = parts[0]["n_profiles"]
    bare = C.bare_product(compiled, n_profiles, shape[1] * shape[2])
    lines = compiled.n_lines
    del compiled
    best_part = {k: min(p[k] for p in parts) for k in ("profiles_s", "weights_s", "aggregation_s")}
    end_to_end = C.measure(lambda: C.score_frame(frame, s))
    return {
        "buildings": n,
        "lines": int(lines),
        "elements": int(shape[0]),
        "modules": shape[1],
        "indicators": shape[2],
        "profiles": int(n_profiles),
        "lines_per_building": lines / n,
        "generate_s": generated.seconds,
        "generate_peak_increase_mb": generated.peak_increase_mb,
        "compile_s": compiled_step.seconds,
        "compile_peak_increase_mb": compiled_step.peak_increase_mb,
        "run_engine_s": best,
        "run_engine_all_s": times,
        "run_engine_first_s": first.seconds,
        "run_engine_lines_per_s": lines / best,
        "run_engine_peak_increase_mb": first.peak_increase_mb,
        "run_engine_rss_before_mb": first.rss_before_mb,
        **best_part,
        "aggregation_all_s": [p["aggregation_s"] for p in parts],
        "bare_product_s": bare,
        "bare_product_lines_per_s": lines / bare,
        "run_engine_over_bare": best / bare,
        "aggregation_over_bare": best_part["aggregation_s"] / bare,
        "end_to_end_s": end_to_end.seconds,
        "end_to_end_ms_per_building": 1000 * end_to_end.seconds / n,
        "end_to_end_peak_mb": end_to_end.peak_mb,
        "end_to_end_peak_increase_mb": end_to_end.peak_increase_mb,
        "end_to_end_rss_before_mb": end_to_end.rss_before_mb,
    }


def task_lcax(n: int, seed: int, sample: int) -> dict:
    """lcax.calculate_project next to mpeil on the same buildings, like for like (no replacements,
    A1-A3/C/D; lcax has no replacements and no transport)."""
    import _common as C
    import lcax
    import numpy as np

    from mpeil.engine.profiles import OUTPUT_MODULES
    from mpeil.methods.scoring import building_totals

    s = C.setup()
    frame = C.like_for_like_frame(C.stock_frame(n, seed))
    compiled = C.compile_stock(frame, s)
    C.run_engine_once(compiled, s)
    best, _, result = C.best_of(lambda: C.run_engine_once(compiled, s), 3)
    totals = building_totals(result).values
    sample = min(sample, n)
    start = time.perf_counter()
    projects = C.lcax_projects(compiled, s, buildings=range(sample))
    convert_s = time.perf_counter() - start
    start = time.perf_counter()
    calculated = [lcax.calculate_project(p) for p in projects]
    calculate_s = time.perf_counter() - start
    sample_lines = int(np.searchsorted(compiled.line_building, sample))
    j = [spec.code for spec in s.options.indicators].index("GWP-total")
    worst = 0.0
    for b, project in enumerate(calculated):
        for module in C.LCAX_COMPARED_MODULES:
            mine = float(np.nan_to_num(totals[b, OUTPUT_MODULES.index(module), j]))
            theirs = C.lcax_gwp(project, module)
            worst = max(worst, abs(theirs - mine) / max(abs(mine), 1e-9))
    return {
        "buildings": n,
        "lines": int(compiled.n_lines),
        "mpeil_run_engine_s": best,
        "mpeil_lines_per_s": compiled.n_lines / best,
        "lcax_sample_buildings": sample,
        "lcax_sample_lines": sample_lines,
        "lcax_convert_s": convert_s,
        "lcax_calculate_s": calculate_s,
        "lcax_convert_ms_per_building": 1000 * convert_s / sample,
        "lcax_calculate_ms_per_building": 1000 * calculate_s / sample,
        "lcax_lines_per_s": sample_lines / calculate_s,
        "lcax_all_buildings_estimate_s": (convert_s + calculate_s) * n / sample,
        "max_relative_difference_gwp": worst,
    }


def task_brightway(n: int, seed: int, sample: int) -> dict:
    """A per-building bw2calc LCA (bw2data project in a temporary folder), on a sample."""
    import numpy as np

    os.environ.setdefault("TQDM_DISABLE", "1")
    import _common as C

    from mpeil.engine.profiles import OUTPUT_MODULES
    from mpeil.methods.scoring import building_totals

    s = C.setup()
    frame = C.stock_frame(n, seed)
    compiled = C.compile_stock(frame, s)
    totals = building_totals(C.run_engine_once(compiled, s)).values
    parts = C.engine_parts(compiled, s)
    codes = [spec.code for spec in s.options.indicators]
    start = time.perf_counter()
    model = C.BrightwayModel(parts["profiles"], codes)
    setup_s = time.perf_counter() - start
    sample = min(sample, n)
    demands = C.building_demands(compiled, parts["keys_index"], parts["weights"], range(sample))
    scope = [
        OUTPUT_MODULES.index(m) for m in ("A1-A3", "A4", "A5", "B1", "B2", "B3", "B4", "B5", "C1", "C2", "C3", "C4")
    ]
    j = codes.index("GWP-total")
    write_s = calc_s = worst = 0.0
    for b in range(sample):
        start = time.perf_counter()
        activity = model.write_building(str(compiled.building_ids[b]), demands[b])
        write_s += time.perf_counter() - start
        start = time.perf_counter()
        score = model.score(activity, "GWP-total")
        calc_s += time.perf_counter() - start
        mine = float(np.nansum(totals[b, scope, j]))
        worst = max(worst, abs(score - mine) / max(abs(mine), 1e-9))
    return {
        "stock_buildings": n,
        "sample_buildings": sample,
        "background_activities": len(parts["profiles"].values) * 5,
        "setup_s": setup_s,
        "write_ms_per_building": 1000 * write_s / sample,
        "lca_ms_per_building": 1000 * calc_s / sample,
        "ms_per_building": 1000 * (write_s + calc_s) / sample,
        "max_relative_difference_gwp": worst,
    }


def task_end_to_end(n: int, seed: int) -> dict:
    """Issue 5: flat frame → compile → engine → scores for n buildings in one go."""
    import _common as C

    s = C.setup()
    generated = C.measure(lambda: C.stock_frame(n, seed))
    frame = generated.result
    scored = C.measure(lambda: C.score_frame(frame, s))
    return {
        "buildings": n,
        "lines": len(frame),
        "generate_s": generated.seconds,
        "end_to_end_s": scored.seconds,
        "buildings_per_s": n / scored.seconds,
        "lines_per_s": len(frame) / scored.seconds,
        "peak_mb": scored.peak_mb,
        "peak_increase_mb": scored.peak_increase_mb,
        "rss_before_mb": scored.rss_before_mb,
        "median_score": float(scored.result["score"].median()),
    }


def task_stream(n: int, seed: int, chunk: int, job: int, jobs: int) -> dict:
    """Issue 5, streaming: chunks job, job+jobs, … of the stock: generate → compile → score → discard."""
    import gc

    import _common as C

    s = C.setup()
    C.reset_peak()
    rss_start = C.rss_mb()
    chunks, rss_after, seconds, generate_s, lines = [], [], [], 0.0, 0
    scores_median = []
    for k in range(job, -(-n // chunk), jobs):
        first = k * chunk
        size = min(chunk, n - first)
        start = time.perf_counter()
        frame = C.generate_stock(size, seed=seed, start=first)
        generate_s += time.perf_counter() - start
        lines += len(frame)
        scores = C.score_frame(frame, s)
        scores_median.append(float(scores["score"].median()))
        del frame, scores
        gc.collect()
        seconds.append(time.perf_counter() - start)
        rss_after.append(C.rss_mb())
        chunks.append(k)
    return {
        "chunks": chunks,
        "chunk_seconds": seconds,
        "rss_after_chunk_mb": rss_after,
        "rss_start_mb": rss_start,
        "peak_mb": C.peak_mb(),
        "generate_s": generate_s,
        "lines": lines,
        "median_of_chunk_medians": scores_median,
    }


TASKS = {
    "engine": task_engine,
    "lcax": task_lcax,
    "brightway": task_brightway,
    "end_to_end": task_end_to_end,
    "stream": task_stream,
}


# ============================================================================ driver
def run_task(name: str, timeout: float = 3600, **kwargs) -> dict:
    """Run one task in a fresh interpreter; return its JSON result."""
    env = dict(os.environ)
    if name == "brightway":
        env["BRIGHTWAY2_DIR"] = tempfile.mkdtemp(prefix="mpeil-bw-")
        env["TQDM_DISABLE"] = "1"
    command = [sys.executable, str(Path(__file__).resolve()), "--task", name, "--kwargs", json.dumps(kwargs)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER) :])
    raise RuntimeError(f"task {name} {kwargs} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def run_stream(n: int, seed: int, chunk: int, jobs: int) -> dict:
    """The streaming run with ``jobs`` worker processes at once (chunks dealt round-robin)."""
    env = dict(os.environ)
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--task",
                "stream",
                "--kwargs",
                json.dumps({"n": n, "seed": seed, "chunk": chunk, "job": j, "jobs": jobs}),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for j in range(jobs)
    ]
    parts = []
    for proc in procs:
        out, err = proc.communicate()
        line = next((x for x in reversed(out.splitlines()) if x.startswith(MARKER)), None)
        if line is None:
            raise RuntimeError(f"stream worker failed:\n{out[-2000:]}\n{err[-3000:]}")
        parts.append(json.loads(line[len(MARKER) :]))
    wall = time.perf_counter() - start
    seconds = [t for p in parts for t in p["chunk_seconds"]]
    return {
        "buildings": n,
        "chunk": chunk,
        "jobs": jobs,
        "wall_s": wall,
        "buildings_per_s": n / wall,
        "lines": sum(p["lines"] for p in parts),
        "lines_per_s": sum(p["lines"] for p in parts) / wall,
        "chunk_s_mean": sum(seconds) / len(seconds),
        "chunk_s_max": max(seconds),
        "peak_mb_per_process": max(p["peak_mb"] for p in parts),
        "rss_after_first_chunk_mb": max(p["rss_after_chunk_mb"][0] for p in parts),
        "rss_after_last_chunk_mb": max(p["rss_after_chunk_mb"][-1] for p in parts),
        "generate_s": sum(p["generate_s"] for p in parts),
        "workers": parts,
    }


def _fmt(x, digits=2):
    if x is None:
        return "—"
    if isinstance(x, str):
        return x
    if abs(x) >= 1e6:
        return f"{x / 1e6:.{digits}f} M"
    if abs(x) >= 1e4:
        return f"{x / 1e3:.0f} k"
    if abs(x) >= 100:
        return f"{x:.0f}"
    return f"{x:.{digits}f}"


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def tables(env: dict, engine: dict, lcax: dict, brightway: dict, sizes: list[dict], args) -> str:
    e, lx, bw = engine, lcax, brightway
    out = [
        "# mpeil benchmark results",
        "",
        f"Measured {env['date']} on {env['cpus']} CPU ({env['cpu_model']}), {env['memory_gb']} GB RAM; "
        f"Python {env['python']}, numpy {env['numpy']}, scipy {env['scipy']}, pandas {env['pandas']}, "
        f"lcax {env['lcax']}, bw2calc {env['bw2calc']} / bw2data {env['bw2data']}. Load average at start "
        f"{', '.join(f'{x:.1f}' for x in env['load_average_at_start'])}"
        + (
            f", at end {', '.join(f'{x:.1f}' for x in env['load_average_at_end'])}"
            if "load_average_at_end" in env
            else ""
        )
        + ". "
        f"Synthetic stock (`mpeil.synthetic`, seed {args.seed}), method `mpeil-ef31` with the full "
        f"EN 15804+A2 report: {e['modules']} modules × {e['indicators']} indicators per element. "
        "Command: `nice python benchmarks/scaling.py" + (" --quick" if args.quick else "") + "`.",
        "",
        f"## Engine core (issue 3): {e['buildings']:,} buildings, {e['lines']:,} lines "
        f"({e['lines_per_building']:.0f} per building), {e['elements']:,} elements, {e['profiles']} unit profiles",
        "",
        "| what | time | lines/s | note |",
        "|---|---|---|---|",
        f"| `run_engine` on compiled buildings (best of 3) | {_duration(e['run_engine_s'])} | "
        f"{_fmt(e['run_engine_lines_per_s'])} | full module × indicator output, gaps counted; first call "
        f"{_duration(e['run_engine_first_s'])} |",
        f"| … unit profiles (keys + build) | {_duration(e['profiles_s'])} | | once per distinct (data set, scenarios) |",
        f"| … line weights (replacements) | {_duration(e['weights_s'])} | | |",
        f"| … sparse aggregation | {_duration(e['aggregation_s'])} | {_fmt(e['lines'] / e['aggregation_s'])} | "
        f"{e['aggregation_over_bare']:.1f}× the bare product |",
        f"| bare `scipy.sparse` product of the same size | {_duration(e['bare_product_s'])} | "
        f"{_fmt(e['bare_product_lines_per_s'])} | CSR {e['elements']:,} × {e['profiles']} (nnz = lines) @ dense "
        f"{e['profiles']} × {e['modules'] * e['indicators']}; `run_engine` = {e['run_engine_over_bare']:.1f}× |",
        f"| generate the stock (`generate_stock`) | {_duration(e['generate_s'])} | {_fmt(e['lines'] / e['generate_s'])} | |",
        f"| compile (`compile_frame`) | {_duration(e['compile_s'])} | {_fmt(e['lines'] / e['compile_s'])} | |",
        f"| end to end: flat frame → compile → engine → scores | {_duration(e['end_to_end_s'])} | "
        f"{_fmt(e['lines'] / e['end_to_end_s'])} | {e['end_to_end_ms_per_building']:.2f} ms per building |",
        "",
        f"Peak memory (RSS increase during the step): `run_engine` {e['run_engine_peak_increase_mb']:.0f} MB "
        f"(on top of {e['run_engine_rss_before_mb']:.0f} MB holding the library, frame and compiled arrays); "
        f"end to end {e['end_to_end_peak_increase_mb']:.0f} MB (process peak {e['end_to_end_peak_mb']:.0f} MB); "
        f"compile {e['compile_peak_increase_mb']:.0f} MB; generation {e['generate_peak_increase_mb']:.0f} MB.",
        "",
        f"Like for like with lcax ({lx['buildings']:,} buildings, every service life = study period so no "
        "replacements; lcax computes A1-A3, C1-C4 and D, mpeil computes all 13 modules):",
        "",
        "| tool | what is timed | time | lines/s |",
        "|---|---|---|---|",
        f"| mpeil `run_engine` | all {lx['buildings']:,} buildings | {_duration(lx['mpeil_run_engine_s'])} | "
        f"{_fmt(lx['mpeil_lines_per_s'])} |",
        f"| `lcax.calculate_project` | {lx['lcax_sample_buildings']:,} buildings, one project each | "
        f"{_duration(lx['lcax_calculate_s'])} ({lx['lcax_calculate_ms_per_building']:.1f} ms/building) | "
        f"{_fmt(lx['lcax_lines_per_s'])} |",
        f"| building the lcax objects | same sample | {_duration(lx['lcax_convert_s'])} "
        f"({lx['lcax_convert_ms_per_building']:.1f} ms/building) | |",
        "",
        f"lcax and mpeil agree on GWP-total per module (A1-A3, C1-C4, D) of every sampled building to "
        f"{lx['max_relative_difference_gwp']:.1e} (largest relative difference).",
        "",
        "## Batch throughput (issue 5)",
        "",
        "| buildings | path | mpeil end to end | buildings/s | peak memory | lcax (estimate) | bw2calc per building (estimate) |",
        "|---|---|---|---|---|---|---|",
    ]
    lcax_per_building = (lx["lcax_convert_s"] + lx["lcax_calculate_s"]) / lx["lcax_sample_buildings"]
    bw_per_building = bw["ms_per_building"] / 1000
    for row in sizes:
        n = row["buildings"]
        if row["path"] == "one go":
            memory = f"{row['peak_mb']:.0f} MB (+{row['peak_increase_mb']:.0f} MB)"
            time_s, rate = row["end_to_end_s"], row["buildings_per_s"]
        else:
            memory = (
                f"{row['peak_mb_per_process']:.0f} MB per process; RSS after first/last chunk "
                f"{row['rss_after_first_chunk_mb']:.0f}/{row['rss_after_last_chunk_mb']:.0f} MB"
            )
            time_s, rate = row["wall_s"], row["buildings_per_s"]
        out.append(
            f"| {n:,} | {row['path']} | {_duration(time_s)} | {rate:,.0f} | {memory} | "
            f"{_duration(n * lcax_per_building)} | {_duration(n * bw_per_building)} |"
        )
    out += [
        "",
        "- *mpeil end to end*: flat bill of materials (a `generate_stock` frame) → `compile_frame` → `run_engine` → "
        "`Result.scores` (one score row per building, with coverage and gaps). Generating the stock is not "
        "included. *one go*: all buildings in one call; *stream*: chunks of "
        f"{args.chunk:,} buildings generated → scored → discarded, {args.jobs} worker processes; memory is per process.",
        f"- *lcax (estimate)*: building the LCAx objects + `lcax.calculate_project`, measured on "
        f"{lx['lcax_sample_buildings']:,} buildings ({1000 * lcax_per_building:.1f} ms per building) and "
        "multiplied out. lcax computes quantity × EPD value per module and sums products and assemblies: no unit "
        "conversion (quantities in declared units come from mpeil), no replacements, no transport or end-of-life "
        "scenarios, no gap bookkeeping, no single score.",
        f"- *bw2calc (estimate)*: per building, write the building activity with bw2data "
        f"({bw['write_ms_per_building']:.1f} ms) and solve one `bw2calc.LCA` with LCIA "
        f"({bw['lca_ms_per_building']:.1f} ms), measured on {bw['sample_buildings']} buildings and multiplied out; "
        f"one-off setup of the background ({bw['background_activities']} activities, 1 per unit profile and weight "
        f"group) {_duration(bw['setup_s'])}. bw2calc solves the technosphere and characterises the inventory; the "
        "module values, unit conversions, replacements and line weights are mpeil's (Brightway has no EN 15804 "
        "modules, units or building elements). Its GWP-total (A1-A3 … C4) matches mpeil's to "
        f"{bw['max_relative_difference_gwp']:.1e}.",
    ]
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run of about a minute")
    parser.add_argument("--engine-buildings", type=int, help="buildings of the engine benchmark (default 10000)")
    parser.add_argument("--sizes", help="one-go end-to-end sizes, comma-separated (default 1000,10000)")
    parser.add_argument("--stream-sizes", help="streamed sizes, comma-separated (default 100000,1000000)")
    parser.add_argument("--chunk", type=int, help="buildings per chunk of a streamed run (default 10000)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes of a streamed run (default 2)")
    parser.add_argument("--lcax-buildings", type=int, help="buildings run through lcax (default 1000)")
    parser.add_argument("--bw-buildings", type=int, help="buildings run through bw2calc (default 100)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--out", type=Path, help="results folder (default benchmarks/results, benchmarks/results/quick with --quick)"
    )
    parser.add_argument("--task", help=argparse.SUPPRESS)
    parser.add_argument("--kwargs", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.task:  # a worker
        warnings.simplefilter("ignore")
        result = TASKS[args.task](**json.loads(args.kwargs))
        print(MARKER + json.dumps(result))
        return 0

    quick = args.quick
    engine_n = args.engine_buildings or (500 if quick else 10_000)
    sizes = [int(x) for x in (args.sizes or ("200,1000" if quick else "1000,10000")).split(",") if x]
    stream_sizes = [int(x) for x in (args.stream_sizes or ("4000" if quick else "100000,1000000")).split(",") if x]
    args.chunk = args.chunk or (1000 if quick else 10_000)
    lcax_n = args.lcax_buildings or (50 if quick else 1000)
    bw_n = args.bw_buildings or (10 if quick else 100)
    args.out = args.out or (HERE / "results" / "quick" if quick else HERE / "results")
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    def log(text):
        print(f"[{time.perf_counter() - started:7.1f} s] {text}", flush=True)

    import _common as C

    env = C.environment()
    log(f"engine benchmark, {engine_n:,} buildings")
    engine = run_task("engine", n=engine_n, seed=args.seed)
    log(
        f"  run_engine {engine['run_engine_s']:.2f} s = {engine['run_engine_lines_per_s'] / 1e6:.2f} M lines/s; "
        f"bare product {engine['bare_product_s']:.2f} s"
    )
    log(f"lcax like for like, {engine_n:,} buildings, lcax on {lcax_n:,}")
    lcax = run_task("lcax", n=engine_n, seed=args.seed, sample=lcax_n)
    log(f"  lcax {lcax['lcax_calculate_ms_per_building']:.1f} ms/building")
    log(f"bw2calc, {bw_n} buildings of a {min(sizes):,}-building stock")
    brightway = run_task("brightway", n=min(sizes), seed=args.seed, sample=bw_n)
    log(f"  bw2calc {brightway['ms_per_building']:.1f} ms/building")
    rows = []
    for n in sizes:
        log(f"end to end in one go, {n:,} buildings")
        row = run_task("end_to_end", n=n, seed=args.seed)
        rows.append({"path": "one go", **row})
        log(f"  {row['end_to_end_s']:.1f} s, {row['buildings_per_s']:.0f} buildings/s, peak {row['peak_mb']:.0f} MB")
    for n in stream_sizes:
        log(f"streamed, {n:,} buildings in chunks of {args.chunk:,}, {args.jobs} processes")
        row = run_stream(n, args.seed, args.chunk, args.jobs)
        rows.append({"path": "stream", **row})
        log(
            f"  {row['wall_s']:.1f} s, {row['buildings_per_s']:.0f} buildings/s, "
            f"peak {row['peak_mb_per_process']:.0f} MB per process"
        )
    env["load_average_at_end"] = os.getloadavg()
    env["total_s"] = time.perf_counter() - started
    for name, data in (
        ("environment", env),
        ("engine", engine),
        ("lcax", lcax),
        ("brightway", brightway),
        ("scaling", rows),
    ):
        (args.out / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    text = tables(env, engine, lcax, brightway, rows, args)
    (args.out / "README-tables.md").write_text(text)
    print()
    print(text)
    log(f"done; results in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

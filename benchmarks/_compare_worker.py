"""One workload of ``compare_commits.py``, run in a fresh process against one source tree.

    PYTHONPATH=<tree> python benchmarks/_compare_worker.py <workload> [--buildings N] ...

Prints one line ``COMPARE-RESULT <json>``. Only the public API that every revision since issue 15
has (``mpeil.synthetic.generate_stock``, ``mpeil.api.Scorer``, ``mpeil.engine.run_engine``) is used,
so the same script measures the base and the current tree. Not a test module.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MARKER = "COMPARE-RESULT "


#: CPU seconds of the last :func:`_best` (process time: less disturbed by other work on a loaded machine)
_CPU: dict[str, float] = {}


def _best(fn, repeat: int, name: str = "") -> tuple[float, object]:
    """Best wall time of ``repeat`` calls and the last result; the best CPU time goes to ``_CPU[name]``."""
    best, cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        gc.collect()
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        best = min(best, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    if name:
        _CPU[name] = cpu
    return best, result


def _digest(*arrays) -> str:
    """SHA-256 of the arrays' bytes (NaN patterns included): equal digests = bit-for-bit equal."""
    import numpy as np

    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def _scores_digest(scores) -> str:
    """Digest of the per-building score and per-area indicator columns (float64), in row order."""
    import numpy as np

    columns = [c for c in scores.columns if c == "score" or c.endswith(" per area") or c.startswith("weight_")]
    return _digest(*(np.asarray(scores[c], dtype=np.float64) for c in sorted(columns)))


def bare_product(compiled, n_profiles: int, n_columns: int, repeat: int) -> float:
    """A bare ``scipy.sparse`` product of the engine's size (the arithmetic floor of the aggregation):
    CSR elements × profiles with nnz = lines, times dense profiles × (modules · indicators)."""
    from _bare import bare_operands  # benchmarks/ is this script's folder, first on sys.path

    matrix, dense = bare_operands(compiled, n_profiles, n_columns)
    return _best(lambda: matrix @ dense, repeat, "bare_product")[0]


def engine(args) -> dict:
    """Frame → scores end to end with a warm scorer, and ``run_engine`` on compiled buildings."""
    from mpeil.api import Scorer
    from mpeil.engine.profiles import profile_keys
    from mpeil.synthetic import generate_stock

    frame = generate_stock(args.buildings, seed=args.seed)
    scorer = Scorer()
    _ = scorer.score(generate_stock(20, seed=args.seed + 1)).scores  # warm: library caches, first-call costs
    end_to_end, result = _best(lambda: scorer.score(frame).scores, args.repeat, "end_to_end")
    scores_digest = _scores_digest(result)
    del result
    compiled = scorer.compile_frame(frame)
    scorer.run(compiled)
    engine_s, elements = _best(lambda: scorer.run(compiled), args.repeat, "run_engine")
    # the dense element arrays, made on their first read where the engine keeps them compact: timed apart
    first_read = {}
    for name in ("values", "missing"):
        start, start_cpu = time.perf_counter(), time.process_time()
        getattr(elements, name)
        first_read[name] = (time.perf_counter() - start, time.process_time() - start_cpu)
    engine_digest = _digest(elements.values, elements.missing, elements.contributing)
    shape = elements.values.shape
    del elements
    n_profiles = int(profile_keys(compiled)[0].max()) + 1
    bare = bare_product(compiled, n_profiles, shape[1] * shape[2], args.repeat)
    lines = int(compiled.n_lines)
    return {
        "buildings": args.buildings,
        "lines": lines,
        "end_to_end_s": end_to_end,
        "end_to_end_lines_per_s": lines / end_to_end,
        "run_engine_s": engine_s,
        "run_engine_lines_per_s": lines / engine_s,
        "bare_product_s": bare,
        "run_engine_over_bare": engine_s / bare,
        "end_to_end_cpu_s": _CPU["end_to_end"],
        "run_engine_cpu_s": _CPU["run_engine"],
        "bare_product_cpu_s": _CPU["bare_product"],
        "run_engine_over_bare_cpu": _CPU["run_engine"] / _CPU["bare_product"],
        "element_values_first_read_s": first_read["values"][0],
        "element_values_first_read_cpu_s": first_read["values"][1],
        "element_missing_first_read_s": first_read["missing"][0],
        "element_missing_first_read_cpu_s": first_read["missing"][1],
        "scores_digest": scores_digest,
        "engine_digest": engine_digest,
    }


def _children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes of this one, and theirs."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cold(args) -> dict:
    """``python -m mpeil score <example> --format csv`` in fresh processes: best wall and CPU time,
    as the environment runs it and with bytecode compiled (what a pip-installed user sees)."""
    example = Path.cwd() / "scenarios" / "examples" / "terraced_house.json"
    command = [sys.executable, "-m", "mpeil", "score", str(example), "--format", "csv"]
    wall, cpu, output = _cold_runs(command, args.repeat, dict(os.environ))
    compiled = _bytecode_env()
    wall_bc, cpu_bc, output_bc = _cold_runs(command, args.repeat, compiled)
    importing = []
    for _ in range(args.repeat):
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                "import time; t = time.perf_counter(); import mpeil.cli; print(time.perf_counter() - t)",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        importing.append(float(out.stdout.strip().splitlines()[-1]))
    return {
        "cold_score_s": wall,
        "cold_score_cpu_s": cpu,
        "cold_score_bytecode_s": wall_bc,
        "cold_score_bytecode_cpu_s": cpu_bc,
        "import_cli_s": min(importing),
        "output_digest": hashlib.sha256(output.encode()).hexdigest()[:16],
        "output_bytecode_digest": hashlib.sha256(output_bc.encode()).hexdigest()[:16],
    }


def _cold_runs(command: list[str], repeat: int, env: dict) -> tuple[float, float, str]:
    """Best wall and CPU seconds (the process and its budget child) of ``repeat`` runs, and the output."""
    walls, cpus, output = [], [], ""
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), _children_cpu()
        out = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
        walls.append(time.perf_counter() - start)
        cpus.append(_children_cpu() - start_cpu)
        output = out.stdout
    return min(walls), min(cpus), output


def _bytecode_env() -> dict:
    """The environment with bytecode compiled for this tree: ``PYTHONPYCACHEPREFIX`` a folder in this
    tree's ``MPEIL_CACHE_DIR`` (each tree its own), ``PYTHONDONTWRITEBYTECODE`` unset; the tree's
    ``mpeil`` compiled there (``compileall``) and one untimed import of the CLI and the API writing
    the libraries' bytecode there too, as an installed wheel has it."""
    cache = os.environ.get("MPEIL_CACHE_DIR") or tempfile.mkdtemp(prefix="mpeil-pyc-")
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(Path(cache) / "pycache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-m", "compileall", "-q", "mpeil"], check=True, capture_output=True, env=env)
    subprocess.run([sys.executable, "-c", "import mpeil.cli, mpeil.api"], check=True, capture_output=True, env=env)
    return env


def _run_batch(folder: Path, jobs: int, repeat: int, digest: dict | None = None) -> tuple[float, float]:
    """Best wall and CPU seconds (the batch's processes) of ``repeat`` runs of ``mpeil batch``."""
    walls, cpus = [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="mpeil-batch-") as tmp:
            command = [sys.executable, "-m", "mpeil", "batch", str(folder), "-o", str(Path(tmp) / "out")]
            command += ["--jobs", str(jobs)]
            start, start_cpu = time.perf_counter(), _children_cpu()
            done = subprocess.run(command, capture_output=True, text=True)
            walls.append(time.perf_counter() - start)
            cpus.append(_children_cpu() - start_cpu)
            if done.returncode != 0:
                raise RuntimeError(f"mpeil batch failed ({done.returncode}): {done.stderr[-2000:]}")
            if digest is not None:
                digest["summary_digest"] = _batch_digest(Path(tmp) / "out")
    return min(walls), min(cpus)


def batch(args) -> dict:
    """``mpeil batch`` over a folder of one-building JSON files, ``--jobs`` 1 and 2: files per second.

    ``batch_one_file_*`` is the same command on one of the files (start-up: imports, library,
    one chunk); ``*_after_start_*`` are the rates over the other files, that fixed cost taken off
    (what a large archive sees: 1 M files are dominated by them, not by the start).
    """
    folder = Path(args.files_dir)
    n_files = len(list(folder.glob("*.json")))
    out: dict = {"files": n_files}
    with tempfile.TemporaryDirectory(prefix="mpeil-one-") as one:
        first = sorted(folder.glob("*.json"))[0]
        (Path(one) / first.name).write_bytes(first.read_bytes())
        one_wall, one_cpu = _run_batch(Path(one), 1, args.repeat)
    out["batch_one_file_s"], out["batch_one_file_cpu_s"] = one_wall, one_cpu
    for jobs in args.jobs:
        wall, cpu = _run_batch(folder, jobs, args.repeat, out if jobs == args.jobs[0] else None)
        out[f"batch_jobs{jobs}_s"] = wall
        out[f"batch_jobs{jobs}_files_per_s"] = n_files / wall
        out[f"batch_jobs{jobs}_cpu_ms_per_file"] = 1000 * cpu / n_files
        out[f"batch_jobs{jobs}_after_start_files_per_s"] = (n_files - 1) / max(wall - one_wall, 1e-9)
        out[f"batch_jobs{jobs}_after_start_cpu_ms_per_file"] = 1000 * (cpu - one_cpu) / (n_files - 1)
    return out


def _batch_digest(out: Path) -> str:
    """Digest of the batch's per-building scores (sorted by building id)."""
    import numpy as np
    import pandas as pd

    summary = pd.read_parquet(out / "summary.parquet")
    summary = summary.sort_values("building").reset_index(drop=True)
    return _digest(np.asarray(summary["score"], dtype=np.float64))


def write_files(args) -> dict:
    """Write the one-building JSON files of the batch workload (once, with this tree's generator)."""
    from mpeil.synthetic import write_stock

    paths = write_stock(args.files, args.files_dir, seed=args.seed, fmt="json", per_file=1)
    return {"files": len(paths)}


WORKLOADS = {"engine": engine, "cold": cold, "batch": batch, "write_files": write_files}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("--buildings", type=int, default=5000)
    parser.add_argument("--files", type=int, default=600)
    parser.add_argument("--files-dir", default=os.environ.get("TMPDIR", "/tmp") + "/mpeil-compare-files")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    result = WORKLOADS[args.workload](args)
    result["load_average"] = os.getloadavg()
    print(MARKER + json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Check a batch output directory against its manifest and receipts (``mpeil verify DIR``).

Receipts prove that each building scores again to the same bits. This module proves that the
tables beside them are the ones the run wrote and agree with the receipts:

- ``summary.parquet``, ``errors.parquet`` and every ``results/part-*.parquet`` have the SHA-256
  the manifest records, and ``results/`` holds no other part;
- every summary row's score (and GWP column) has the exact bits of its receipt's numbers;
- every building's rows in ``results/`` hash to its receipt's ``results_sha256`` (element ×
  module × indicator values and gap counts, in the order the batch wrote them).

An edited table fails even when the manifest is edited to match it (the receipts disagree).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from ..hashing import file_sha256
from .core import receipt_name

__all__ = ["check_outputs"]


def check_outputs(root: str | Path) -> list[str]:
    """Every problem found in batch output directory ``root`` (empty: the outputs check out)."""
    root = Path(root)
    try:
        manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
        outputs = manifest["outputs"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"no readable manifest.json in {root}: {type(exc).__name__}: {exc}"]
    problems = _check_hashes(root, outputs)
    receipts = _receipts(root)
    problems += _check_summary(root, receipts)
    problems += _check_results(root, receipts)
    return problems


def _check_hashes(root: Path, outputs: dict) -> list[str]:
    problems = []
    for name in ("summary.parquet", "errors.parquet"):
        path = root / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif file_sha256(path) != outputs.get(name):
            problems.append(f"{name} differs from the manifest (SHA-256 {file_sha256(path)})")
    recorded = outputs.get("results") or {}
    present = {path.name for path in (root / "results").glob("*.parquet")}
    for name in sorted(present - set(recorded)):
        problems.append(f"results/{name} is not in the manifest")
    for name, digest in sorted(recorded.items()):
        path = root / "results" / name
        if not path.is_file():
            problems.append(f"results/{name} is missing")
        elif file_sha256(path) != digest:
            problems.append(f"results/{name} differs from the manifest")
    return problems


def _receipts(root: Path) -> dict[str, dict]:
    out = {}
    for path in (root / "receipts").glob("*.json"):
        try:
            out[path.name] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # reported by the receipt's own verification
    return out


def _check_summary(root: Path, receipts: dict[str, dict]) -> list[str]:
    try:
        table = pq.read_table(root / "summary.parquet", columns=["file", "building", "score", "gwp_per_m2_yr"])
    except (OSError, ValueError) as exc:
        return [f"summary.parquet cannot be read: {exc}"]
    problems = []
    for file, building, score, gwp in zip(*(table[c].to_pylist() for c in table.column_names), strict=True):
        receipt = receipts.get(receipt_name(file, building))
        if receipt is None:
            problems.append(f"summary.parquet: building {building!r} of {file} has no receipt")
            continue
        numbers = receipt.get("numbers", {})
        for column, value in (("score", score), ("gwp_per_m2_yr", gwp)):
            recorded = numbers.get(column)
            now = math.nan if value is None else float(value)
            if recorded is None or (recorded["value"] is None and math.isnan(now)):
                continue
            if now.hex() != recorded["hex"]:
                problems.append(
                    f"summary.parquet: {column} of building {building!r} ({file}) is {value!r}, "
                    f"its receipt says {recorded['value']!r}"
                )
    return problems


def _check_results(root: Path, receipts: dict[str, dict]) -> list[str]:
    problems = []
    for part in sorted((root / "results").glob("*.parquet")):
        try:
            frame = pq.read_table(part, columns=["file", "building", "value", "missing_lines"]).to_pandas()
        except (OSError, ValueError) as exc:
            problems.append(f"results/{part.name} cannot be read: {exc}")
            continue
        for (file, building), rows in frame.groupby(["file", "building"], sort=False):
            receipt = receipts.get(receipt_name(str(file), str(building)))
            digest = hashlib.sha256()
            digest.update(rows["value"].to_numpy(dtype=np.float64, na_value=np.nan).tobytes())
            digest.update(rows["missing_lines"].to_numpy().astype("<i4").tobytes())
            if receipt is None:
                problems.append(f"results/{part.name}: building {building!r} of {file} has no receipt")
            elif digest.hexdigest() != receipt.get("results_sha256"):
                problems.append(
                    f"results/{part.name}: the rows of building {building!r} ({file}) differ from its receipt"
                )
    return problems

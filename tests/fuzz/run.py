"""Run the hostile-input corpus through the validation layer and ``mpeil.score``, and count outcomes.

Cases run in forked child processes in groups (:func:`mpeil.batch.budget.run_with_budget`), so a
case that hangs or eats memory is counted, never stops the run: a group over its budget is
run again case by case, and a case over its own budget is a hang.
"""

from __future__ import annotations

import math
import tempfile
from collections import Counter
from pathlib import Path

from .corpus import Case

GROUP = 100  # cases per child process
GROUP_SECONDS = 300.0
CASE_SECONDS = 60.0
MEMORY = 4 << 30


def _outcome(case: Case, library, folder: Path) -> dict:
    """What mpeil does with one case: ``scored``, ``typed`` error, or ``traceback``."""
    import mpeil
    from mpeil.errors import MpeilError
    from mpeil.units import parse_unit

    row = {"name": case.name, "kind": case.kind, "expect": case.expect, "error_type": None, "field": None}
    try:
        if case.kind == "unit":
            parse_unit(case.data)
            row["outcome"] = "scored"
            return row
        path = folder / (case.name + case.suffix)
        path.write_bytes(case.data if isinstance(case.data, bytes) else case.data.encode())
        scores = mpeil.score(path, library=library).scores["score"].to_numpy(dtype=float)
        row["outcome"] = "scored" if all(math.isfinite(s) for s in scores) else "scored-non-finite"
    except MpeilError as error:
        row.update(outcome="typed", error_type=type(error).__name__, field=error.field, file=error.file)
    except Exception as exc:  # what the corpus exists to find
        row.update(outcome="traceback", error_type=f"{type(exc).__name__}: {str(exc)[:200]}")
    return row


def _run_group(cases: list[Case], library) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="mpeil-fuzz-") as folder:
        return [_outcome(case, library, Path(folder)) for case in cases]


def run_in_process(cases: list[Case], library) -> list[dict]:
    """One outcome row per case, in order (``outcome`` ``hang`` for a case over its budget)."""
    from mpeil.batch.budget import isolation_available, run_with_budget

    if not isolation_available():
        return _run_group(cases, library)
    rows: list[dict] = []
    for start in range(0, len(cases), GROUP):
        group = cases[start : start + GROUP]
        outcome = run_with_budget(_run_group, (group, library), GROUP_SECONDS, MEMORY)
        if outcome.status == "ok":
            rows.extend(outcome.value)
            continue
        for case in group:
            one = run_with_budget(_run_group, ([case], library), CASE_SECONDS, MEMORY)
            if one.status == "ok":
                rows.extend(one.value)
            else:
                status = "hang" if one.status == "timeout" else f"crash:{one.status}"
                rows.append({"name": case.name, "kind": case.kind, "expect": case.expect, "outcome": status})
    return rows


def tally(rows: list[dict]) -> dict:
    """The counts the issue asks for, and the cases behind each non-zero one."""
    absurd = [r for r in rows if r["outcome"].startswith("scored") and r["expect"] == "error"]
    absurd += [r for r in rows if r["outcome"] == "scored-non-finite"]
    refused_valid = [r for r in rows if r["outcome"] == "typed" and r["expect"] == "score"]
    return {
        "cases": len(rows),
        "by_kind": dict(Counter(r["kind"] for r in rows)),
        "scored": sum(r["outcome"] == "scored" for r in rows),
        "typed_errors": sum(r["outcome"] == "typed" for r in rows),
        "typed_errors_naming_a_field": sum(r["outcome"] == "typed" and bool(r.get("field")) for r in rows),
        "file_errors_not_naming_the_file": [
            r for r in rows if r["outcome"] == "typed" and r["kind"] != "unit" and not r.get("file")
        ],
        "tracebacks": [r for r in rows if r["outcome"] == "traceback"],
        "hangs": [r for r in rows if r["outcome"] == "hang" or r["outcome"].startswith("crash")],
        "absurd_scored": absurd,
        "valid_refused": refused_valid,
    }

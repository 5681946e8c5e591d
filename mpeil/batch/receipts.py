"""Score receipts: check that a building scores again to the very same bits.

A receipt (``DIR/receipts/<building>-<hash>.json``, written by the batch) names the input
file (path, archive member, SHA-256 of its bytes), the engine version, the method file and its
SHA-256, the EPD library and scenario hashes, every option that decides the numbers, and the
numbers themselves with their exact bits (``float.hex``) plus a SHA-256 over the building's
element × module × indicator values. :func:`verify_receipt` re-reads the input, re-scores it
with the same options and compares all of that.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..errors import MpeilError
from ..model.library import EPDLibrary
from ..model.scenarios import ScenarioSet
from .core import ScoringOptions, build_context, score_inputs, scoring_context
from .inputs import InputItem, read_item

__all__ = ["Verification", "verify_receipt", "verify_receipts"]


@dataclass
class Verification:
    receipt: str
    building: str | None = None
    problems: list[str] = field(default_factory=list)
    numbers_compared: int = 0
    #: how the check differed from a plain re-score (a user library folder that is gone), not problems
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _library_sources(recorded: list[str] | None, given: Sequence[str] | None) -> tuple[list[str] | None, list[str]]:
    """The library sources to re-score with and the recorded user library folders left out.

    ``given`` (``mpeil verify --library``) replaces the recorded sources; otherwise a recorded
    folder that no longer exists is left out, so a building that used only shipped data sets
    still verifies (one that used the folder's data sets then fails naming ``--library``)."""
    if given:
        return list(given), []
    gone = [s for s in recorded or [] if ("/" in s or "\\" in s) and not Path(s).is_dir()]
    if not gone:
        return recorded, []
    kept = [s for s in recorded or [] if s not in gone]
    return kept or None, gone


def _options(receipt: dict, library_sources: list[str] | None) -> ScoringOptions:
    method, gwp, options = receipt["method"], receipt.get("gwp_method"), receipt["options"]
    return ScoringOptions.from_dict(
        {
            "method": method["source"],
            "method_options": method.get("options") or {},
            "gwp_method": None if gwp is None else gwp["source"],
            "library_sources": library_sources,
            "report_indicators": options.get("report_indicators"),
            "as_of": options["as_of"],
            "limits": options.get("limits"),
        }
    )


def verify_receipt(
    path: str | Path, library: EPDLibrary | None = None, scenarios: ScenarioSet | None = None
) -> Verification:
    """Re-score the input a receipt names and compare every recorded number bit for bit."""
    return verify_receipts([path], library=library, scenarios=scenarios)[0]


#: input files re-scored together (one ``score_inputs`` call), as a batch chunk is
VERIFY_CHUNK = 100


@dataclass
class _Pending:
    """A readable receipt waiting to be re-scored."""

    check: Verification
    receipt: dict
    options: ScoringOptions
    #: recorded user library folders that no longer exist (left out of the re-score)
    gone: tuple[str, ...] = ()
    #: the library was given by the caller (``--library``): a different hash is that library's fault
    library_given: bool = False

    @property
    def source(self) -> tuple[str, str | None]:
        return self.receipt["input"]["path"], self.receipt["input"].get("member")


def verify_receipts(
    paths: Sequence[str | Path],
    library: EPDLibrary | None = None,
    scenarios: ScenarioSet | None = None,
    jobs: int = 1,
    library_sources: Sequence[str] | None = None,
) -> list[Verification]:
    """Verify many receipts, in their order: each input file is read and scored once, files are
    scored together in chunks of :data:`VERIFY_CHUNK` (the batch's fast path; a building's numbers
    do not depend on the chunk), and ``jobs > 1`` spreads the chunks over worker processes.

    ``library_sources`` (shipped source names and/or library folders) replaces the sources each
    receipt recorded, e.g. a user library folder that moved; its hash must still be the receipt's.
    """
    checks: list[Verification] = []
    groups: dict[ScoringOptions, list[_Pending]] = {}
    for path in paths:
        check, pending = _load(Path(path), library_sources)
        checks.append(check)
        if pending is not None:
            groups.setdefault(pending.options, []).append(pending)
    work = []
    for options, pendings in groups.items():
        by_source: dict[tuple[str, str | None], list[_Pending]] = {}
        for pending in pendings:
            by_source.setdefault(pending.source, []).append(pending)
        sources = list(by_source.items())
        for start in range(0, len(sources), VERIFY_CHUNK):
            work.append((options, sources[start : start + VERIFY_CHUNK]))
    if jobs > 1 and len(work) > 1 and library is None and scenarios is None:
        from concurrent.futures import ProcessPoolExecutor

        from .budget import die_with_parent

        with ProcessPoolExecutor(max_workers=min(jobs, len(work)), initializer=die_with_parent) as pool:
            done = list(pool.map(_verify_chunk, work, [None] * len(work), [None] * len(work)))
    else:
        done = [_verify_chunk(item, library, scenarios) for item in work]
    return _merge(checks, done)


def _merge(checks: list[Verification], done: list) -> list[Verification]:
    """The checks in input order, the re-scored ones replaced by their verified copies."""
    verified = {p.check.receipt: p.check for item in done for _, pendings in item[1] for p in pendings}
    return [verified.get(check.receipt, check) for check in checks]


def _load(path: Path, given: Sequence[str] | None = None) -> tuple[Verification, _Pending | None]:
    check = Verification(str(path))
    try:
        receipt = json.loads(path.read_text(encoding="utf-8"))
        check.building = receipt["building"]
        sources, gone = _library_sources(receipt["library"].get("sources"), given)
        options = _options(receipt, sources)
        receipt["input"]["path"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        check.problems.append(f"not a readable score receipt: {type(exc).__name__}: {exc}")
        return check, None
    if receipt.get("engine_version") != __version__:
        check.problems.append(
            f"engine version {__version__} differs from the receipt's {receipt.get('engine_version')}"
        )
    for folder in gone:
        check.notes.append(f"library folder {folder} is gone: re-scored without it (--library FOLDER gives it)")
    return check, _Pending(check, receipt, options, tuple(gone), bool(given))


def _context(options: ScoringOptions, library: EPDLibrary | None, scenarios: ScenarioSet | None):
    if library is None and scenarios is None:
        return scoring_context(options)  # loaded once per process for many receipts
    return build_context(options, library, scenarios)


def _verify_chunk(item: tuple, library: EPDLibrary | None, scenarios: ScenarioSet | None) -> tuple:
    """Re-score the input files of one chunk together and check each of their receipts."""
    options, sources = item
    try:
        context = _context(options, library, scenarios)
    except (MpeilError, FileNotFoundError) as exc:
        for _, pendings in sources:
            for pending in pendings:
                pending.check.problems.append(f"cannot rebuild the scoring context: {exc}")
        return item
    for _, pendings in sources:
        for pending in pendings:
            _check_provenance(pending, context.provenance)
    reads = []
    for (path, member), pendings in sources:
        try:
            read = read_item(InputItem(path, member), options.limits)
        except MpeilError as error:
            for pending in pendings:
                pending.check.problems.append(f"cannot read the input again: {error}")
            continue
        for pending in pendings:
            if read.sha256 != pending.receipt["input"]["sha256"]:
                was = pending.receipt["input"]["sha256"]
                pending.check.problems.append(f"input file changed: SHA-256 {read.sha256} now, {was} in the receipt")
        reads.append((read, pendings))
    if reads:
        tables = score_inputs([read for read, _ in reads], context)
        errors = {row["file"]: row for row in tables.errors}
        again = {(r["receipt"]["input"]["file"], r["receipt"]["building"]): r["receipt"] for r in tables.receipts}
        for read, pendings in reads:
            for pending in pendings:
                _compare(pending, errors.get(read.label), again.get((read.label, pending.receipt["building"])))
    return item


def _check_provenance(pending: _Pending, now: dict) -> None:
    receipt, check = pending.receipt, pending.check
    for what, was, is_ in (
        ("method file", receipt["method"]["sha256"], now["method"]["sha256"]),
        (
            "GWP method file",
            (receipt.get("gwp_method") or {}).get("sha256"),
            (now.get("gwp_method") or {}).get("sha256"),
        ),
        ("scenarios", receipt["scenarios"]["sha256"], now["scenarios"]["sha256"]),
    ):
        if was != is_:
            check.problems.append(f"{what} changed: SHA-256 {is_} now, {was} in the receipt")
    was, is_ = receipt["library"]["sha256"], now["library"]["sha256"]
    if was == is_ or pending.gone:  # without a gone folder the hash differs; the numbers must not
        return
    if pending.library_given:
        check.problems.append(f"the library given (--library) is not the receipt's: SHA-256 {is_}, receipt {was}")
    else:
        check.problems.append(f"EPD library changed: SHA-256 {is_} now, {was} in the receipt")


def _compare(pending: _Pending, error: dict | None, again: dict | None) -> None:
    """Compare a receipt with its building scored again (``again``), number by number."""
    receipt, check = pending.receipt, pending.check
    if error is not None:
        check.problems.append(f"the input no longer scores: {error['error_type']}: {error['message']}")
        return
    if again is None:
        check.problems.append(f"building {receipt['building']!r} is no longer in the input")
        return
    for name, number in receipt["numbers"].items():
        new = again["numbers"].get(name)
        check.numbers_compared += 1
        if new is None:
            check.problems.append(f"{name}: no longer computed")
        elif new["hex"] != number["hex"]:
            check.problems.append(
                f"{name}: {new['value']!r} ({new['hex']}) now, {number['value']!r} ({number['hex']}) in the receipt"
            )
    check.numbers_compared += 1
    if again["results_sha256"] != receipt["results_sha256"]:
        check.problems.append("element × module × indicator results differ (results_sha256)")

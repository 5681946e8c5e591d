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
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..errors import MpeilError
from ..model.library import EPDLibrary
from ..model.scenarios import ScenarioSet
from .core import ScoringOptions, build_context, score_inputs, scoring_context
from .inputs import InputItem, read_item

__all__ = ["Verification", "verify_receipt"]


@dataclass
class Verification:
    receipt: str
    building: str | None = None
    problems: list[str] = field(default_factory=list)
    numbers_compared: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def _options(receipt: dict) -> ScoringOptions:
    method, gwp, library, options = receipt["method"], receipt.get("gwp_method"), receipt["library"], receipt["options"]
    return ScoringOptions.from_dict(
        {
            "method": method["source"],
            "method_options": method.get("options") or {},
            "gwp_method": None if gwp is None else gwp["source"],
            "library_sources": library.get("sources"),
            "report_indicators": options.get("report_indicators"),
            "as_of": options["as_of"],
            "limits": options.get("limits"),
        }
    )


def verify_receipt(
    path: str | Path, library: EPDLibrary | None = None, scenarios: ScenarioSet | None = None
) -> Verification:
    """Re-score the input a receipt names and compare every recorded number bit for bit."""
    path = Path(path)
    check = Verification(str(path))
    try:
        receipt = json.loads(path.read_text(encoding="utf-8"))
        check.building = receipt["building"]
        options = _options(receipt)
        source = receipt["input"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        check.problems.append(f"not a readable score receipt: {type(exc).__name__}: {exc}")
        return check
    if receipt.get("engine_version") != __version__:
        check.problems.append(
            f"engine version {__version__} differs from the receipt's {receipt.get('engine_version')}"
        )
    try:
        if library is None and scenarios is None:
            context = scoring_context(options)  # loaded once per process for many receipts
        else:
            context = build_context(options, library, scenarios)
    except (MpeilError, FileNotFoundError) as exc:
        check.problems.append(f"cannot rebuild the scoring context: {exc}")
        return check
    now = context.provenance
    for what, was, is_ in (
        ("method file", receipt["method"]["sha256"], now["method"]["sha256"]),
        (
            "GWP method file",
            (receipt.get("gwp_method") or {}).get("sha256"),
            (now.get("gwp_method") or {}).get("sha256"),
        ),
        ("EPD library", receipt["library"]["sha256"], now["library"]["sha256"]),
        ("scenarios", receipt["scenarios"]["sha256"], now["scenarios"]["sha256"]),
    ):
        if was != is_:
            check.problems.append(f"{what} changed: SHA-256 {is_} now, {was} in the receipt")
    try:
        read = read_item(InputItem(source["path"], source.get("member")), options.limits)
    except MpeilError as error:
        check.problems.append(f"cannot read the input again: {error}")
        return check
    if read.sha256 != source["sha256"]:
        check.problems.append(f"input file changed: SHA-256 {read.sha256} now, {source['sha256']} in the receipt")
    tables = score_inputs([read], context)
    if tables.errors:
        first = tables.errors[0]
        check.problems.append(f"the input no longer scores: {first['error_type']}: {first['message']}")
        return check
    again = next((r["receipt"] for r in tables.receipts if r["receipt"]["building"] == receipt["building"]), None)
    if again is None:
        check.problems.append(f"building {receipt['building']!r} is no longer in the input")
        return check
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
    return check

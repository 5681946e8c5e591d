"""The service's one scoring adapter: library, scenarios and methods loaded once, and one
:class:`mpeil.Scorer` kept per method and options (its stage context prepared once), which scores
each upload.

Uploaded bytes are written to a scratch file whose name this module makes (``mkstemp`` with a suffix
from a fixed list), read, and deleted: nothing from a request becomes a path.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import tempfile
import zipfile
from dataclasses import dataclass, field

import numpy as np

from .. import __version__
from ..batch.limits import Limits
from ..errors import InputError, MpeilError, ParseError, UnknownMethodError

__all__ = ["ScoringEngine", "Scored", "SUFFIXES", "check_xlsx", "number"]

#: the building file types the service reads (IFC once ``mpeil.readers`` reads it)
SUFFIXES = (".json", ".csv", ".xlsx", ".ifc")
#: method options a request may set (other fields of a method define it and are not options)
REQUEST_OPTIONS = (
    "replacement_rule",
    "include_d",
    "loss_basis",
    "eol_allocation",
    "multicycle_split",
    "gap_policy",
    "flagged_values",  # issue 22: "keep" scores a screened outlier as declared, "estimate" (EF default) not
)


def number(value) -> float | None:
    """A float for JSON: NaN (no data) becomes null, never 0."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def check_xlsx(data: bytes, limits: Limits) -> None:
    """Refuse an XLSX workbook that links to other workbooks or would unpack to a bomb."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            infos = book.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise ParseError("not a readable XLSX workbook (an XLSX file is a zip archive)") from None
    for info in infos:
        name = info.filename.lower()
        if name.startswith("xl/externallinks/") or name.endswith("externallink.xml"):
            raise InputError("the workbook links to external workbooks; save it without external links", field="xlsx")
        if info.file_size / max(info.compress_size, 1) > limits.zip_compression_ratio:
            raise InputError(f"part {info.filename!r} of the workbook is a zip bomb", field="zip_compression_ratio")
    if sum(i.file_size for i in infos) > limits.file_size:
        raise InputError("the workbook unpacks above the file-size limit", field="file_size")


@dataclass
class Scored:
    """One upload scored: the result, what the page shows, and the receipt."""

    result: object
    summary: dict
    receipt: dict = field(default_factory=dict)


class ScoringEngine:
    """Loads the EPD library and scenarios once; scores uploads with any shipped method."""

    def __init__(self, library=None, scenarios=None) -> None:
        from ..methods import available_methods
        from ..model.library import load_library
        from ..model.scenarios import load_scenarios

        self.library = library if library is not None else load_library()
        self.scenarios = scenarios if scenarios is not None else load_scenarios()
        self.library_sha256 = self.library.fingerprint()
        self.scenarios_sha256 = self.scenarios.fingerprint()
        self.method_names = tuple(available_methods())
        self._methods: dict = {}
        self._scorers: dict = {}  # method key → Scorer (its ScoringContext prepared once)
        self.scratch = tempfile.mkdtemp(prefix="mpeil-service-")

    def method(self, name: str, options: dict):
        """A shipped method (never a file named by a request) with request options, cached."""
        from ..methods import load_method

        if name not in self.method_names:
            raise UnknownMethodError(f"unknown method {name!r}; methods are {', '.join(self.method_names)}")
        unknown = sorted(set(options) - set(REQUEST_OPTIONS))
        if unknown:
            raise InputError(
                f"unknown option {unknown[0]!r}; options are {', '.join(REQUEST_OPTIONS)}", field="options"
            )
        key = (name, tuple(sorted((k, str(v)) for k, v in options.items())))
        if key not in self._methods:
            method = load_method(name)
            self._methods[key] = method.with_options(**options) if options else method
        return self._methods[key]

    def scorer(self, name: str, options: dict):
        """The :class:`~mpeil.Scorer` of a shipped method with request options, prepared once and kept."""
        from ..api import Scorer

        chosen = self.method(name, options)
        key = (name, tuple(sorted((k, str(v)) for k, v in options.items())))
        if key not in self._scorers:
            self._scorers[key] = Scorer(chosen, self.library, self.scenarios)
        return self._scorers[key]

    def read(self, data: bytes, suffix: str, name: str, limits: Limits) -> tuple[list, list[str]]:
        """The buildings in an upload and notes on how it was read (an IFC model's unmapped materials);
        errors name ``name`` (the upload's own file name) as file. Anything a reader raises on a
        hostile file becomes a :class:`ParseError` naming the exception (as in a batch)."""
        if suffix not in SUFFIXES:
            raise ParseError(f"unsupported file type {suffix!r}; send {', '.join(SUFFIXES)}", file=name)
        if not data.strip():
            raise ParseError("empty file", file=name)
        if suffix == ".xlsx":
            check_xlsx(data, limits)
        handle, path = tempfile.mkstemp(suffix=suffix, dir=self.scratch)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            return _ifc(path) if suffix == ".ifc" else (_read(path), [])
        except MpeilError as error:
            error.file = name
            raise
        except RecursionError:
            raise ParseError("the file is nested too deeply", file=name) from None
        except MemoryError:
            raise  # over the worker's memory budget: answered as such, and the worker replaced
        except Exception as exc:
            raise ParseError(f"cannot read the file: {type(exc).__name__}", file=name) from None
        finally:
            os.unlink(path)

    def score(self, data: bytes, suffix: str, name: str, method: str, options: dict, limits: Limits) -> Scored:
        """Score an upload; ``summary`` is what ``POST /v1/score`` returns (without the receipt id)."""
        scorer = self.scorer(method, options)
        buildings, notes = self.read(data, suffix, name, limits)
        if not buildings:
            raise ParseError("the file holds no building", file=name)
        try:
            result = scorer.score(buildings)
        except MpeilError as error:
            error.located(file=name)
            raise
        stages = result.by_stage()
        summary = {**summarize(result, stages), "notes": notes}
        receipt = self.receipt(result, data, name, method, options, stages)
        return Scored(result, summary, receipt)

    def compare(self, uploads: list[tuple[bytes, str, str]], method: str, options: dict, limits: Limits) -> dict:
        """Two variants (one building per file), scored together; the first is the baseline.

        Returns both summaries and ``mpeil.compare``'s explanation. Equal building ids get the
        file's name appended, so two versions of one house compare without renaming the files.
        """
        from ..outputs.compare import compare_result

        scorer = self.scorer(method, options)
        buildings: list = []
        notes: list[str] = []
        for data, suffix, name in uploads:
            found, read_notes = self.read(data, suffix, name, limits)
            notes += [f"{name}: {note}" for note in read_notes]
            if len(found) != 1:
                raise ParseError(f"compare takes one building per file; this file holds {len(found)}", file=name)
            building = found[0]
            if any(b.id == building.id for b in buildings):
                building = building.model_copy(update={"id": f"{building.id} ({name})"})
            buildings.append(building)
        result = scorer.score(buildings)
        comparison = compare_result(result, [b.id for b in buildings])
        return {
            **summarize(result),
            "baseline": comparison.baseline,
            "difference": number(comparison.difference()),
            "explanation": comparison.explanation,
            "notes": notes,
        }

    def receipt(self, result, data: bytes, name: str, method: str, options: dict, stages) -> dict:
        """Everything that decides the numbers, and the numbers' exact bits."""
        return {
            "receipt_version": 1,
            "engine_version": __version__,
            "method": {"name": method, "sha256": result.method.fingerprint, "options": options},
            "library": {"name": self.library.name, "sha256": self.library_sha256},
            "scenarios": {"sha256": self.scenarios_sha256},
            "input": {"name": name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)},
            "numbers": receipt_numbers(result, stages),
            "results_sha256": results_sha256(result),
        }

    def report_html(self, result) -> str:
        """The designer's report (issue 11b's renderer when present, else a minimal one)."""
        try:
            from ..outputs.report import render_report
        except ImportError:
            from .report import minimal_report

            return minimal_report(result)
        return render_report(result)

    def close(self) -> None:
        import shutil

        shutil.rmtree(self.scratch, ignore_errors=True)


def _read(path: str) -> list:
    from ..readers import read_buildings

    return read_buildings(path)


def _ifc(path: str) -> tuple[list, list[str]]:
    """An IFC model with the shipped mapping (issue 12's reader); its unmapped materials as notes."""
    from ..readers.ifc import read_ifc

    reading = read_ifc(path)
    if reading.building is None:
        raise reading.problem or InputError("the IFC model gives no building")
    notes = []
    unmapped = reading.unmapped
    share = f"Mapped share of the volume: {reading.mapped_share['volume']:.1%}"
    if not unmapped.empty:
        names = ", ".join(unmapped["material"].astype(str)[:5]) + (", …" if len(unmapped) > 5 else "")
        notes.append(f"{len(unmapped)} materials map to no data set ({names}); they are not in the score. {share}")
    else:  # issue 19: what the model leaves out is filled by documented defaults, named in the results
        notes.append(f"{share}: every material mapped or filled by a documented default (data/ifc)")
    return [reading.building], notes


def results_sha256(result) -> str:
    """SHA-256 over every element × module × indicator value and gap count."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(result.elements.values).tobytes())
    digest.update(np.ascontiguousarray(result.elements.missing).astype("<i4").tobytes())
    return digest.hexdigest()


def receipt_numbers(result, stages) -> dict:
    """The exact bits of each building's score and stage values (``stages``: ``result.by_stage()``)."""
    numbers = {}
    for building, row in result.scores.iterrows():
        numbers[f"{building}/score"] = _bits(row["score"])
        for stage, value in stages.loc[building].items():
            numbers[f"{building}/{stage}"] = _bits(value)
    return numbers


def _bits(value) -> dict:
    value = float(value)
    return {"value": None if math.isnan(value) else value, "hex": value.hex()}


def _coverage(row) -> dict:
    """Coverage split (issue 8's columns when the engine has them), else the covered share."""
    split = {k: number(row[k]) for k in ("weight_declared", "weight_estimated", "weight_missing") if k in row}
    if split:
        return {**split, "weight_covered": number(row["weight_covered"])}  # covered = declared + estimated
    covered = number(row["weight_covered"])
    return {"weight_covered": covered, "weight_missing": None if covered is None else 1.0 - covered}


def summarize(result, stages=None) -> dict:
    """The JSON the page and API clients read: per building score, stages, coverage, flags, elements."""
    stages = result.by_stage() if stages is None else stages
    elements = result.by_element()
    buildings = []
    for building, row in result.scores.iterrows():
        rows = elements[elements["building"] == building]
        flags = row.get("flags", [])
        replaced = row.get("flags_replaced", [])
        buildings.append(
            {
                "building": str(building),
                "score": number(row["score"]),
                "score_unit": row["score_unit"],
                "gross_floor_area_m2": number(row["gross_floor_area_m2"]),
                "stages": {str(k): number(v) for k, v in stages.loc[building].items()},
                "coverage": _coverage(row),
                "complete": bool(row["complete"]) if "complete" in row else None,
                "flags": [str(f) for f in (flags if isinstance(flags, (list, tuple, np.ndarray)) else [])],
                # flagged values replaced by their peer estimate (flagged_values = "estimate"), with the
                # share the declared value would have carried
                "flags_replaced": [
                    str(f) for f in (replaced if isinstance(replaced, (list, tuple, np.ndarray)) else [])
                ],
                "indicators_missing": [str(i) for i in row["indicators_missing"]],
                "module_gaps": {str(k): number(v) for k, v in dict(row["module_gaps"]).items()},
                "label": row["label"] if isinstance(row.get("label"), str) else None,
                "label_note": row["label_note"] if isinstance(row.get("label_note"), str) else None,
                "elements": [
                    {
                        "element": str(e.element),
                        "name": None if e.name != e.name else str(e.name),
                        "element_type": str(e.element_type),
                        "score": number(e.score),
                    }
                    for e in rows.itertuples(index=False)
                ],
            }
        )
    method = result.method
    return {
        "method": method.name,
        "method_title": method.title,
        "score_unit": method.score_unit,
        "include_d": bool(method.include_d),
        "buildings": buildings,
    }

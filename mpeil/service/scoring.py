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
        summary = with_notes(summarize(result, stages), notes)
        receipt = self.receipt(result, data, name, method, options, stages)
        return Scored(result, summary, receipt)

    def score_many(
        self, uploads: list[tuple[bytes, str, str]], method: str, options: dict, limits: Limits
    ) -> list[Scored | MpeilError]:
        """Several uploads under one method, scored together as one frame (the service's micro-batch).

        Each upload's :class:`Scored` (summary and receipt) is exactly what :meth:`score` gives for it
        alone: every number of a building depends only on its own lines (the engine sums per element
        and per building), and the buildings are renamed apart for the joint scoring and named back.
        An upload that cannot be read gets its error; when the joint scoring refuses anything (one
        building over a plausibility limit, say) each upload is scored alone, so each gets its own
        answer. Uploads whose buildings bring their own data sets or libraries are scored alone
        (their data sets must not serve another upload). ``Scored.result`` is None for an upload
        scored jointly (the service renders reports from the stored input, alone).
        """
        scorer = self.scorer(method, options)
        out: list[Scored | MpeilError | None] = [None] * len(uploads)
        joint: list[tuple[int, list, list[str]]] = []
        for i, (data, suffix, name) in enumerate(uploads):
            try:
                buildings, notes = self.read(data, suffix, name, limits)
                if not buildings:
                    raise ParseError("the file holds no building", file=name)
            except MpeilError as error:
                out[i] = error
                continue
            if suffix == ".json" and not any(b.libraries or b.datasets for b in buildings):
                joint.append((i, buildings, notes))
        if len(joint) > 1:
            for i, scored in self._score_jointly(scorer, joint, uploads, method, options):
                out[i] = scored
        for i, (data, suffix, name) in enumerate(uploads):
            if out[i] is None:  # read, not scored jointly: alone (it may still raise its own error)
                try:
                    out[i] = self.score(data, suffix, name, method, options, limits)
                except MpeilError as error:
                    out[i] = error
        return [item for item in out if item is not None]

    def _score_jointly(self, scorer, joint: list, uploads: list, method: str, options: dict):
        """(upload index, Scored) of each upload in ``joint`` scored as one frame; none when refused."""
        renamed, members = [], []
        for k, (i, buildings, notes) in enumerate(joint):
            names = {}
            for building in buildings:
                alias = f"{k:04d}~{building.id}"  # the upload's position first: buildings stay in order
                names[alias] = str(building.id)
                renamed.append(building.model_copy(update={"id": alias}))
            members.append((i, names, notes))
        try:
            result = scorer.score(renamed)
        except MpeilError:
            return []
        stages = result.by_stage()
        codes = {str(b): k for k, b in enumerate(result.building_ids)}
        done = []
        for i, names, notes in members:
            data, _suffix, name = uploads[i]
            part = _Part(names, [codes[alias] for alias in names])
            elements = _part_result(result, part.rows).by_element()  # its elements alone: the same sums
            summary = with_notes(summarize(result, stages, part, elements), notes)
            receipt = self.receipt(result, data, name, method, options, stages, part)
            done.append((i, Scored(None, summary, receipt)))
        return done

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
        return with_notes(
            {
                **summarize(result),
                "baseline": comparison.baseline,
                "difference": number(comparison.difference()),
                "explanation": comparison.explanation,
            },
            notes,
        )

    def receipt(
        self, result, data: bytes, name: str, method: str, options: dict, stages, part: _Part | None = None
    ) -> dict:
        """Everything that decides the numbers, and the numbers' exact bits (of ``part``'s buildings
        of a jointly scored result, named as in their upload)."""
        return {
            "receipt_version": 1,
            "engine_version": __version__,
            "method": {"name": method, "sha256": result.method.fingerprint, "options": options},
            "library": {"name": self.library.name, "sha256": self.library_sha256},
            "scenarios": {"sha256": self.scenarios_sha256},
            "input": {"name": name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)},
            "numbers": receipt_numbers(result, stages, part),
            "results_sha256": results_sha256(result, part),
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


@dataclass(frozen=True)
class _Part:
    """One upload's buildings in a jointly scored result: alias → the building's own id, and their rows."""

    names: dict[str, str]
    rows: list[int]  # positions in ``result.building_ids``, in order


def _buildings(result, part: _Part | None):
    """(alias, id as named in its upload) of each building of ``part`` (default: every building)."""
    scores = result.scores
    if part is None:
        return [(b, str(b)) for b in scores.index]
    return [(alias, part.names[alias]) for alias in part.names]


def _part_result(result, rows: list[int]):
    """A light :class:`~mpeil.outputs.Result` of some buildings of ``result`` (their elements and
    scores only): its element views sum over exactly the arrays the buildings alone give."""
    import dataclasses

    from ..outputs import Result
    from ..stages.inventory import Scores

    elements = result.elements
    compiled = elements.compiled
    keep = np.zeros(compiled.n_buildings, dtype=bool)
    keep[rows] = True
    keep_element = keep[compiled.element_building]
    part = dataclasses.replace(
        elements,
        compiled=compiled.select_buildings(keep),
        values=elements.values[keep_element],
        missing=elements.missing[keep_element],
        contributing=elements.contributing[keep_element],
        replacements=elements.replacements[keep_element[compiled.line_element]],
        fallback_lines=elements.fallback_lines[keep],
        extra={},
        building_values=None,
        building_missing=None,
        building_contributing=None,
    )
    return Result(part, result.method, scored=Scores(result.scores.iloc[rows]))


def results_sha256(result, part: _Part | None = None) -> str:
    """SHA-256 over every element × module × indicator value and gap count (of ``part``'s buildings)."""
    values, missing = result.elements.values, result.elements.missing
    if part is not None:  # the buildings' elements, in the order scoring them alone gives
        chosen = np.isin(result.elements.compiled.element_building, part.rows)
        values, missing = values[chosen], missing[chosen]
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(values).tobytes())
    digest.update(np.ascontiguousarray(missing).astype("<i4").tobytes())
    return digest.hexdigest()


def receipt_numbers(result, stages, part: _Part | None = None) -> dict:
    """The exact bits of each building's score and stage values (``stages``: ``result.by_stage()``)."""
    numbers = {}
    scores = result.scores["score"]
    for alias, building in _buildings(result, part):
        numbers[f"{building}/score"] = _bits(scores.loc[alias])
        for stage, value in stages.loc[alias].items():
            numbers[f"{building}/{stage}"] = _bits(value)
    return numbers


def _bits(value) -> dict:
    value = float(value)
    return {"value": None if math.isnan(value) else value, "hex": value.hex()}


def share(value) -> float | None:
    """A share (0-1: a weight, a gap share) for JSON, at the decimals of ``mpeil score -f json``
    (:data:`mpeil.notes.JSON_DOUBLE_PRECISION`): 0.6309, never 0.6309000000000001; NaN is null.
    Scores are never rounded (their exact bits are in the receipt)."""
    from ..notes import JSON_DOUBLE_PRECISION

    value = number(value)
    return None if value is None else round(value, JSON_DOUBLE_PRECISION)


def _coverage(row) -> dict:
    """Coverage split (issue 8's columns when the engine has them), else the covered share."""
    split = {k: share(row[k]) for k in ("weight_declared", "weight_estimated", "weight_missing") if k in row}
    if split:
        return {**split, "weight_covered": share(row["weight_covered"])}  # covered = declared + estimated
    covered = number(row["weight_covered"])
    return {"weight_covered": share(covered), "weight_missing": None if covered is None else share(1.0 - covered)}


def with_notes(summary: dict, read_notes: list[str]) -> dict:
    """``summary`` with its ``notes``: how the files were read, then each building's notes as the
    CLI's score table prints them (``<building>: <note>``; :func:`mpeil.notes.building_notes`)."""
    notes = list(read_notes)
    for building in summary["buildings"]:
        notes += [f"{building['building']}: {note}" for note in building["notes"]]
    return {**summary, "notes": notes}


def summarize(result, stages=None, part: _Part | None = None, elements=None) -> dict:
    """The JSON the page and API clients read: per building score, stages, coverage, flags, elements
    (of ``part``'s buildings of a jointly scored result, named as in their upload)."""
    stages = result.by_stage() if stages is None else stages
    elements = result.by_element() if elements is None else elements
    table = result.scores
    buildings = [_building_summary(building, table.loc[alias], stages.loc[alias], elements, alias)
                 for alias, building in _buildings(result, part)]  # fmt: skip
    method = result.method
    return {
        "method": method.name,
        "method_title": method.title,
        "score_unit": str(table["score_unit"].iloc[0]),  # as each building's (and the CLI's JSON): mPt/(m²·yr)
        "include_d": bool(method.include_d),
        "buildings": buildings,
    }


def _building_summary(building: str, row, stages, elements, alias: str) -> dict:
    """One building's part of :func:`summarize` (``alias``: its name in ``elements``); the trust
    fields (``quality_grade``, ``indicators_estimated``, ``estimated_datasets``, ``notes``) are the
    CLI's: the same scores columns and the same notes function."""
    from ..notes import building_notes

    rows = elements[elements["building"] == alias]
    flags = row.get("flags", [])
    replaced = row.get("flags_replaced", [])
    return {
        "building": building,
        "score": number(row["score"]),
        "score_unit": row["score_unit"],
        "gross_floor_area_m2": number(row["gross_floor_area_m2"]),
        "stages": {str(k): number(v) for k, v in stages.items()},
        "coverage": _coverage(row),
        "complete": bool(row["complete"]) if "complete" in row else None,
        "flags": [str(f) for f in (flags if isinstance(flags, (list, tuple, np.ndarray)) else [])],
        # flagged values replaced by their peer estimate (flagged_values = "estimate"), with the
        # share the declared value would have carried
        "flags_replaced": [str(f) for f in (replaced if isinstance(replaced, (list, tuple, np.ndarray)) else [])],
        "indicators_missing": [str(i) for i in row["indicators_missing"]],
        "indicators_partial": [str(i) for i in row.get("indicators_partial", [])],
        "module_gaps": {str(k): share(v) for k, v in dict(row["module_gaps"]).items()},
        "label": row["label"] if isinstance(row.get("label"), str) else None,
        "label_note": row["label_note"] if isinstance(row.get("label_note"), str) else None,
        "quality_grade": row["quality_grade"] if isinstance(row.get("quality_grade"), str) else None,
        # indicator → number of lines whose value is a peer estimate; the data sets behind them
        "indicators_estimated": {str(k): int(v) for k, v in dict(row.get("indicators_estimated", {})).items()},
        "estimated_datasets": [str(d) for d in row.get("estimated_datasets", [])],
        "notes": [str(n) for n in building_notes(row)],
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

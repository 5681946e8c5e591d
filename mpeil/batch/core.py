"""The scoring core of a batch: read buildings in, tables out. No file or directory I/O here.

:func:`score_inputs` takes the buildings of many files (one chunk), compiles them together
(``compile_frame`` on the concatenated flat frames, then the plausibility check), isolates a
bad file as one error row (never the end of its chunk), then runs the engine **once** on the
chunk's good buildings with the indicators of the scoring method and of the report (plus a
second run for the GWP companion method when it cannot join the first), and returns the tidy
results, one summary row and one receipt per building, and the error rows.

Every number of one building depends only on that building's lines (the engine sums per
element and per building), so a building scores bit for bit the same alone (``mpeil verify``)
as in any chunk, on any worker.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as _dt
import functools
import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from ..api import Scorer
from ..compile import CompiledBuildings, flatten
from ..engine import ElementResults, EngineOptions, IndicatorSpec
from ..errors import MpeilError
from ..methods import Method
from ..methods.scoring import engine_options, indicator_specs, score_buildings
from ..model.indicators import EN15804_A2_CORE_AND_ADDITIONAL
from ..model.library import EPDLibrary, load_library
from ..model.scenarios import ScenarioSet
from ..outputs import Result
from .inputs import ReadInput
from .limits import Limits, check_plausibility, load_limits

__all__ = [
    "ScoringOptions",
    "ScoringContext",
    "freeze_options",
    "ChunkTables",
    "scoring_context",
    "score_inputs",
    "error_row",
    "receipt_name",
    "SPECIFIC_TYPES",
    "AVERAGE_TYPES",
    "GENERIC_TYPES",
]

#: ``datasets.data_type`` values counted as specific (one manufacturer's product), industry average
#: (sector EPDs: average / representative) and generic (generic data sets and templates).
SPECIFIC_TYPES = ("specific",)
AVERAGE_TYPES = ("average", "representative")
GENERIC_TYPES = ("generic", "template")


def _today() -> str:
    return _dt.date.today().isoformat()


def freeze_options(options: dict | None) -> tuple[tuple[str, object], ...]:
    """Method options as a sorted, hashable tuple (lists become tuples)."""

    def frozen(value):
        return tuple(frozen(v) for v in value) if isinstance(value, (list, tuple)) else value

    return tuple(sorted((str(k), frozen(v)) for k, v in (options or {}).items()))


@dataclass(frozen=True)
class ScoringOptions:
    """Everything that decides the numbers of a batch (it travels to every worker; keep it small)."""

    method: str = "mpeil-ef31"  # shipped method name or path of a TOML file
    method_options: tuple[tuple[str, object], ...] = ()  # e.g. (("replacement_rule", "fractional"),)
    gwp_method: str | None = "gwp"  # companion method for the GWP per m²·yr column; None = none
    library_sources: tuple[str, ...] | None = None  # shipped EPD sources; None = all
    report_indicators: tuple[str, ...] = EN15804_A2_CORE_AND_ADDITIONAL
    as_of: str = field(default_factory=_today)  # date EPD validity is judged at (ISO)
    limits: Limits = field(default_factory=load_limits)

    def as_dict(self) -> dict:
        return {
            "method": self.method,
            "method_options": dict(self.method_options),
            "gwp_method": self.gwp_method,
            "library_sources": None if self.library_sources is None else list(self.library_sources),
            "report_indicators": list(self.report_indicators),
            "as_of": self.as_of,
            "limits": self.limits.as_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> ScoringOptions:
        limits = data.get("limits")
        return cls(
            method=data["method"],
            method_options=freeze_options(data.get("method_options")),
            gwp_method=data.get("gwp_method"),
            library_sources=None if data.get("library_sources") is None else tuple(data["library_sources"]),
            report_indicators=tuple(
                EN15804_A2_CORE_AND_ADDITIONAL if data.get("report_indicators") is None else data["report_indicators"]
            ),
            as_of=data.get("as_of") or _today(),
            limits=load_limits()
            if limits is None
            else Limits(**{k: tuple(v) if isinstance(v, list) else v for k, v in limits.items()}),
        )


@dataclass(frozen=True, eq=False)
class _Run:
    """One engine run: the scorer that compiles for it, the engine options and the methods it scores."""

    scorer: Scorer  # compiles with its method's study period and default transport
    options: EngineOptions
    methods: dict[str, Method]  # role ("method", "gwp") → method whose indicator codes are in options

    @property
    def compile_key(self) -> tuple[float, str | None]:
        method = self.scorer.method
        return method.reference_study_period_years, method.default_transport


@dataclass(frozen=True, eq=False)
class ScoringContext:
    """A batch's scorers (the method's and the GWP companion's), engine runs and receipt provenance."""

    options: ScoringOptions
    scorer: Scorer
    gwp_scorer: Scorer | None  # the scorer itself when the companion is the same method
    runs: tuple[_Run, ...]
    report_codes: tuple[str, ...]  # output indicators of the tidy results (method's, then report's)
    dataset_specific: np.ndarray
    dataset_average: np.ndarray
    dataset_generic: np.ndarray
    dataset_expired: np.ndarray
    provenance: dict  # run-level part of every receipt

    @property
    def library(self) -> EPDLibrary:
        return self.scorer.library

    @property
    def scenarios(self) -> ScenarioSet:
        return self.scorer.scenarios

    @property
    def method(self) -> Method:
        return self.scorer.method

    @property
    def gwp_method(self) -> Method | None:
        return None if self.gwp_scorer is None else self.gwp_scorer.method


def _engine_options(scorer: Scorer, specs: Sequence[IndicatorSpec]) -> EngineOptions:
    """The options ``Scorer.score`` runs the engine with, with these indicators."""
    return dataclasses.replace(scorer.engine_options, indicators=tuple(specs))


def _same_run(a: Method, b: Method) -> bool:
    """Whether two methods compile and run the engine alike (apart from their indicators)."""
    return (
        a.reference_study_period_years == b.reference_study_period_years
        and a.default_transport == b.default_transport
        and dataclasses.replace(engine_options(a, ()), indicators=())
        == dataclasses.replace(engine_options(b, ()), indicators=())
    )


def _plan_runs(scorer: Scorer, gwp_scorer: Scorer | None) -> tuple[tuple[_Run, ...], tuple[str, ...]]:
    """The engine runs: one for the method and the report, joined by the GWP companion when it can.

    The companion joins the first run when it runs alike and each of its indicators is either new
    or supplied by the same source codes as the indicator of that code already there. Otherwise
    (the shipped ``gwp`` method accepts the EN 15804+A1 ``GWP-A1`` fallback for ``GWP-total``, the
    M-peil does not) it gets a second engine run, on the same compiled buildings, for its own
    indicators only (one, for ``gwp``). The engine keys some rules on an indicator's code (biogenic
    carbon of ``GWP-total``), so an indicator cannot join the first run under another name.
    """
    method = scorer.method
    specs = list(scorer.engine_options.indicators)
    report_codes = tuple(s.code for s in specs)
    runs: list[_Run] = []
    methods = {"method": method}
    if gwp_scorer is scorer:
        methods["gwp"] = method
    elif gwp_scorer is not None:
        gwp = gwp_scorer.method
        by_code = {s.code: s for s in specs}
        gwp_specs = indicator_specs(gwp)
        joins = _same_run(method, gwp) and all(by_code.get(s.code, s) == s for s in gwp_specs)
        if joins:
            specs += [s for s in gwp_specs if s.code not in by_code]
            methods["gwp"] = gwp
        else:
            runs.append(_Run(gwp_scorer, _engine_options(gwp_scorer, gwp_specs), {"gwp": gwp}))
    runs.insert(0, _Run(scorer, _engine_options(scorer, specs), methods))
    return tuple(runs), report_codes


def _valid_until(text) -> _dt.date | None:
    """The last day a data set is valid: an ISO date, or a bare year (valid through 31 December)."""
    if not isinstance(text, str) or not text.strip():
        return None
    text = text.strip()
    if re.fullmatch(r"\d{4}", text):
        return _dt.date(int(text), 12, 31)
    try:
        return _dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def _dataset_quality(library: EPDLibrary, as_of: str) -> tuple[np.ndarray, ...]:
    kinds = library.datasets["data_type"].astype("object").fillna("").str.strip().str.lower().to_numpy()
    today = _dt.date.fromisoformat(as_of)
    expired = np.array(
        [(d is not None and d < today) for d in map(_valid_until, library.datasets["valid_until"])], dtype=bool
    )
    return (np.isin(kinds, SPECIFIC_TYPES), np.isin(kinds, AVERAGE_TYPES), np.isin(kinds, GENERIC_TYPES), expired)


def build_context(
    options: ScoringOptions, library: EPDLibrary | None = None, scenarios: ScenarioSet | None = None
) -> ScoringContext:
    """Build the scorers (method, library, scenarios loaded once) and plan the engine runs."""
    library = library if library is not None else load_library(options.library_sources)
    scorer = Scorer(options.method, library, scenarios, options.report_indicators, **dict(options.method_options))
    gwp_scorer = None
    if options.gwp_method is not None:
        gwp_scorer = scorer.with_options(method=options.gwp_method)
        if gwp_scorer.method.name == scorer.method.name and gwp_scorer.method.fingerprint == scorer.method.fingerprint:
            gwp_scorer = scorer
    runs, report_codes = _plan_runs(scorer, gwp_scorer)
    specific, average, generic, expired = _dataset_quality(library, options.as_of)
    provenance = copy.deepcopy(scorer.provenance)  # the Scorer's shape, plus what a batch adds
    provenance["library"]["sources"] = None if options.library_sources is None else list(options.library_sources)
    provenance["gwp_method"] = (
        None
        if gwp_scorer is None
        else {"name": gwp_scorer.method.name, "source": options.gwp_method, "sha256": gwp_scorer.method.fingerprint}
    )
    provenance["options"].update(as_of=options.as_of, limits=options.limits.as_dict())
    return ScoringContext(
        options, scorer, gwp_scorer, runs, report_codes, specific, average, generic, expired, provenance
    )


@functools.lru_cache(maxsize=4)
def scoring_context(options: ScoringOptions) -> ScoringContext:
    """The context of the shipped library and scenarios, built once per process per options."""
    return build_context(options)


# ============================================================================ tables
@dataclass(frozen=True)
class _Owner:
    label: str
    path: str
    member: str | None
    sha256: str
    building: str


@dataclass
class ChunkTables:
    results: pa.Table | None  # None: no building scored
    summary: pd.DataFrame
    errors: list[dict]
    receipts: list[dict]


def error_row(error: BaseException, file: str, sha256: str | None, chunk: int) -> dict:
    """One row of the error table for an error on one input."""
    where = error.location() if isinstance(error, MpeilError) else {}
    message = error.message if isinstance(error, MpeilError) else str(error)
    return {
        "file": file,
        "building": _str_or_none(where.get("building")),
        "element": _str_or_none(where.get("element")),
        "layer": _str_or_none(where.get("layer")),
        "field": _str_or_none(where.get("field")),
        "error_type": type(error).__name__,
        "message": message,
        "input_sha256": sha256,
        "chunk": chunk,
    }


def _str_or_none(value) -> str | None:
    return None if value is None else str(value)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def receipt_name(file: str, building: str) -> str:
    """File name of a building's receipt: its id made safe, and a short hash of its file label
    (two files may hold buildings with the same id)."""
    safe = _UNSAFE.sub("_", str(building)).strip("._")[:80] or "building"
    return f"{safe}-{hashlib.sha256(file.encode('utf-8')).hexdigest()[:12]}.json"


def _number(value: float) -> dict:
    value = float(value)
    return {"value": value if math.isfinite(value) else None, "hex": value.hex()}


def _slice_indicators(results: ElementResults, count: int) -> ElementResults:
    """The first ``count`` output indicators (drop companion-only columns from the tidy results)."""
    if count == len(results.indicators):
        return results
    return dataclasses.replace(
        results,
        indicators=results.indicators[:count],
        values=results.values[:, :, :count],
        missing=results.missing[:, :, :count],
        fallback_lines=results.fallback_lines[:, :count],
        options=dataclasses.replace(results.options, indicators=results.options.indicators[:count]),
        building_values=None if results.building_values is None else results.building_values[:, :, :count],
        building_missing=None if results.building_missing is None else results.building_missing[:, :, :count],
    )


def _compilers(context: ScoringContext) -> dict[tuple[float, str | None], Scorer]:
    """The scorer that compiles for each distinct (study period, default transport) of the runs."""
    compilers: dict[tuple[float, str | None], Scorer] = {}
    for run in context.runs:
        compilers.setdefault(run.compile_key, run.scorer)
    return compilers


def compile_input(read: ReadInput, context: ScoringContext) -> pd.DataFrame:
    """One file's flat bill of materials, compiled and checked on its own (raises a located MpeilError).

    This is the reference for what is wrong with a file: its error row is exactly what this raises.
    """
    frame = flatten(read.buildings)
    for scorer in _compilers(context).values():
        compiled = scorer.compile_frame(frame, read.label)
        check_plausibility(frame, compiled, context.options.limits, read.label)
    return frame


#: after this many bad files found by compiling a chunk as a whole, the rest are compiled file by file
_WHOLE_CHUNK_RETRIES = 4


@dataclass
class _Flat:
    """The flat bill of materials of many files, buildings renamed to keys "000000000", "000000001", …"""

    frame: pd.DataFrame
    owners: list  # per key: _Owner
    file_of_key: np.ndarray  # per key: index into the reads


def _flat(reads: Sequence[ReadInput]) -> _Flat:
    buildings, owners, file_of_key, lines = [], [], [], []
    for position, read in enumerate(reads):
        for building in read.buildings:
            owners.append(_Owner(read.label, read.path, read.member, read.sha256, str(building.id)))
            file_of_key.append(position)
            buildings.append(building)
            lines.append(sum(len(element.layers) for element in building.elements))
    frame = flatten(buildings)
    if len(frame) != sum(lines):  # one row per layer line, buildings in order (mpeil.compile.flatten)
        raise RuntimeError("flatten() did not give one row per layer line")
    keys = np.array([f"{k:09d}" for k in range(len(owners))], dtype=object)
    frame["building_id"] = np.repeat(keys, lines)
    if "line" in frame:  # numbered per (building, element): two files may use the same building id
        frame["line"] = frame.groupby(["building_id", "element_id"], sort=False).cumcount() + 1
    return _Flat(frame, owners, np.asarray(file_of_key, dtype=np.int64))


def _compile_chunk(flat: _Flat, context: ScoringContext) -> dict:
    """Compile and check the whole chunk: (study period, transport) → CompiledBuildings."""
    compiled_for = {}
    for key, scorer in _compilers(context).items():
        compiled = scorer.compile_frame(flat.frame, None)
        check_plausibility(flat.frame, compiled, context.options.limits, None)
        compiled_for[key] = compiled
    return compiled_for


def _file_error(read: ReadInput, context: ScoringContext, chunk: int) -> dict | None:
    """The error row of one file compiled on its own, or None when it compiles."""
    try:
        compile_input(read, context)
    except MpeilError as error:
        return error_row(error.located(file=read.label), read.label, read.sha256, chunk)
    except Exception as exc:
        return _internal_error(exc, read, chunk)
    return None


def score_inputs(inputs: Sequence[ReadInput], context: ScoringContext, chunk: int = 0) -> ChunkTables:
    """Score the buildings of many files together; errors per file, one engine pass per run.

    The chunk is compiled as a whole (one ``compile_frame`` call, the fast path). When that raises,
    the error names a building, hence a file: that file is compiled on its own for its error row
    (the same row ``compile_input`` gives, whatever else is in the chunk), left out, and the rest
    compiled again; after a few bad files the remaining files are compiled one by one. Should the
    engine fail on the whole chunk (a bug, not an input error), each file is scored on its own, so
    only the file that triggers it becomes an error row.
    """
    errors: dict[int, dict] = {}  # position in inputs → error row
    pending = list(range(len(inputs)))
    compiled_for, flat = None, None
    for _ in range(_WHOLE_CHUNK_RETRIES + 1):
        if not pending:
            break
        try:
            flat = _flat([inputs[i] for i in pending])
            compiled_for = _compile_chunk(flat, context)
            break
        except MpeilError as error:
            compiled_for = None
            key = str(error.building) if error.building is not None else ""
            if not key.isdigit() or int(key) >= len(flat.owners):
                break
            position = pending[int(flat.file_of_key[int(key)])]
            row = _file_error(inputs[position], context, chunk)
            if row is None:  # compiles alone: do not guess, compile file by file
                break
            errors[position] = row
            pending.remove(position)
        except Exception:
            compiled_for = None
            break
    if compiled_for is None and pending:  # the slow path: every file on its own
        still = []
        for position in pending:
            row = _file_error(inputs[position], context, chunk)
            if row is None:
                still.append(position)
            else:
                errors[position] = row
        pending = still
    error_rows = [errors[i] for i in sorted(errors)]
    if not pending:
        return ChunkTables(None, pd.DataFrame(), error_rows, [])
    try:
        if compiled_for is None:
            flat = _flat([inputs[i] for i in pending])
            compiled_for = _compile_chunk(flat, context)
        tables = _score_together(flat, compiled_for, context, chunk)
    except Exception:
        parts = []
        for position in pending:
            read = inputs[position]
            try:
                one = _flat([read])
                parts.append(_score_together(one, _compile_chunk(one, context), context, chunk))
            except Exception as exc:
                errors[position] = _internal_error(exc, read, chunk)
        parts = [p for p in parts if len(p.summary)]
        tables = ChunkTables(
            pa.concat_tables([p.results for p in parts]) if parts else None,
            pd.concat([p.summary for p in parts], ignore_index=True) if parts else pd.DataFrame(),
            [],
            [r for p in parts for r in p.receipts],
        )
        error_rows = [errors[i] for i in sorted(errors)]
    tables.errors = error_rows
    return tables


def _internal_error(exc: Exception, read: ReadInput, chunk: int) -> dict:
    row = error_row(exc, read.label, read.sha256, chunk)
    row["error_type"] = f"InternalError:{type(exc).__name__}"
    return row


def _score_together(flat: _Flat, compiled_for: dict, context: ScoringContext, chunk: int) -> ChunkTables:
    owners = flat.owners
    per_run = []
    for run in context.runs:
        compiled = compiled_for[run.compile_key]
        per_run.append((run, compiled, run.scorer.run(compiled, run.options)))
    _, compiled, elements = per_run[0]
    keys = compiled.building_ids.astype(str)
    if not np.array_equal(keys.astype(np.int64), np.arange(len(owners))):
        raise RuntimeError("compiled buildings are not in file order")

    scores: dict[str, pd.DataFrame] = {}
    for run, _, run_elements in per_run:
        for role, method in run.methods.items():
            frame_scores = score_buildings(run_elements, method).set_index("building_id")
            scores[role] = frame_scores.loc[keys]
    report = _slice_indicators(elements, len(context.report_codes))
    result = Result(report, context.method)
    tidy = _tidy(result, owners)
    summary, receipts = _summary(compiled, report, scores, owners, context, chunk)
    return ChunkTables(tidy, summary, [], receipts)


def _tidy(result: Result, owners: list[_Owner]) -> pa.Table:
    """``Result.to_frame()`` (same rows, order and values) plus the file, built as Arrow dictionary
    columns: the labels repeat millions of times and are never materialised as Python strings."""
    elements = result.elements
    compiled = elements.compiled
    n_elements, n_modules, n_indicators = elements.values.shape
    per_element = n_modules * n_indicators
    element_index = np.repeat(np.arange(n_elements, dtype=np.int64), per_element)
    building_of_row = compiled.element_building[element_index]

    def labels(indices: np.ndarray, values) -> pa.Array:
        dictionary = pa.array([None if v is None else str(v) for v in values], type=pa.string())
        return pa.DictionaryArray.from_arrays(pa.array(indices, type=pa.int32()), dictionary).cast(pa.string())

    units = result.units()
    module_index = np.tile(np.repeat(np.arange(n_modules), n_indicators), n_elements)
    indicator_index = np.tile(np.arange(n_indicators), n_elements * n_modules)
    return pa.table(
        {
            "file": labels(building_of_row, [o.label for o in owners]),
            "building": labels(building_of_row, [o.building for o in owners]),
            "element": labels(element_index, compiled.element_ids),
            "element_type": labels(element_index, compiled.element_types),
            "module": labels(module_index, result.modules),
            "indicator": labels(indicator_index, result.indicators),
            "value": pa.array(elements.values.reshape(-1), type=pa.float64(), from_pandas=True),  # NaN → null
            "unit": labels(indicator_index, [units[code] for code in result.indicators]),
            "missing_lines": pa.array(elements.missing.reshape(-1).astype(np.int32), type=pa.int32()),
        }
    )


def _warnings(row: pd.Series, gwp_row: pd.Series | None, expired_lines: int, default_lives: int) -> list[str]:
    out = []
    if row["weight_covered"] < 1.0:
        out.append(f"the score covers {row['weight_covered']:.1%} of the method's weighting")
    if row["indicators_missing"]:
        out.append("no data for " + ", ".join(row["indicators_missing"]))
    if row["indicators_partial"]:
        out.append("data missing on some lines for " + ", ".join(row["indicators_partial"]))
    if row["module_gaps"]:
        out.append("module gaps: " + ", ".join(f"{m} {s:.0%} of lines" for m, s in row["module_gaps"].items()))
    for code, n in row["fallback_lines"].items():
        out.append(f"{n} line(s) use a fallback indicator for {code}")
    if gwp_row is not None:
        for code, n in gwp_row["fallback_lines"].items():
            out.append(f"GWP: {n} line(s) use the EN 15804+A1 GWP fallback for {code}")
    if expired_lines:
        out.append(f"{expired_lines} line(s) use an expired EPD")
    if default_lives:
        out.append(f"{default_lives} line(s) have no service life and take the study period")
    return out


def _summary(
    compiled: CompiledBuildings,
    report: ElementResults,
    scores: dict[str, pd.DataFrame],
    owners: list[_Owner],
    context: ScoringContext,
    chunk: int,
) -> tuple[pd.DataFrame, list[dict]]:
    n_b = compiled.n_buildings
    line_b = compiled.line_building
    n_lines = np.bincount(line_b, minlength=n_b)
    n_elements = np.bincount(compiled.element_building, minlength=n_b)

    def per_building(mask: np.ndarray) -> np.ndarray:
        return np.bincount(line_b, weights=mask.astype(np.float64), minlength=n_b)

    dataset = compiled.dataset
    with_mass = ~np.isnan(compiled.mass_kg)
    mass = np.bincount(line_b, weights=np.nan_to_num(compiled.mass_kg), minlength=n_b)
    specific = per_building(context.dataset_specific[dataset])
    average = per_building(context.dataset_average[dataset])
    generic = per_building(context.dataset_generic[dataset])
    expired_mask = context.dataset_expired[dataset]
    expired = per_building(expired_mask)
    default_lives = per_building(compiled.default_service_life)
    lines_with_mass = per_building(with_mass)
    library_ids = context.library.datasets["dataset_id"].to_numpy()
    expired_sets: dict[int, set] = {}
    for b, d in zip(line_b[expired_mask], dataset[expired_mask], strict=True):
        expired_sets.setdefault(int(b), set()).add(library_ids[d])
    gwp_apart = context.gwp_method is not None and context.gwp_method is not context.method

    # per-building digest of the tidy numbers (element × module × indicator values and gap counts)
    element_order = np.argsort(compiled.element_building, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(n_elements)))
    main = scores["method"]
    gwp = scores.get("gwp")
    rows, receipts = [], []
    for b in range(n_b):
        owner = owners[b]
        file, building, sha = owner.label, owner.building, owner.sha256
        row = main.iloc[b]
        gwp_row = gwp.iloc[b] if gwp is not None else None
        expired_ids = sorted(expired_sets.get(b, ()))
        warnings = _warnings(row, gwp_row if gwp_apart else None, int(expired[b]), int(default_lives[b]))
        name = receipt_name(file, building)
        summary = {
            "file": file,
            "building": building,
            "input_sha256": sha,
            "chunk": chunk,
            "method": context.method.name,
            "score": float(row["score"]),
            "score_unit": row["score_unit"],
            "weight_covered": float(row["weight_covered"]),
            "complete": bool(row["complete"]),
            "gwp_method": None if gwp_row is None else context.gwp_method.name,
            "gwp_per_m2_yr": math.nan if gwp_row is None else float(gwp_row["score"]),
            "gwp_unit": None if gwp_row is None else gwp_row["score_unit"],
            "gwp_weight_covered": math.nan if gwp_row is None else float(gwp_row["weight_covered"]),
            "gross_floor_area_m2": float(compiled.gross_floor_area_m2[b]),
            "study_period_years": float(compiled.study_period_years[b]),
            "use_type": None if compiled.use_type[b] is None else str(compiled.use_type[b]),
            "n_elements": int(n_elements[b]),
            "n_lines": int(n_lines[b]),
            "share_lines_mapped": 1.0,
            "share_lines_with_mass": float(lines_with_mass[b] / n_lines[b]),
            "mass_kg_per_m2": float(mass[b] / compiled.gross_floor_area_m2[b]),
            "share_specific_lines": float(specific[b] / n_lines[b]),
            "share_average_lines": float(average[b] / n_lines[b]),
            "share_generic_lines": float(generic[b] / n_lines[b]),
            "expired_epd_lines": int(expired[b]),
            "expired_epds": expired_ids,
            "default_service_life_lines": int(default_lives[b]),
            "fallback_lines": int(sum(row["fallback_lines"].values()))
            + (int(sum(gwp_row["fallback_lines"].values())) if gwp_apart else 0),
            "indicators_missing": list(row["indicators_missing"]),
            "indicators_partial": list(row["indicators_partial"]),
            "module_gaps": json.dumps(row["module_gaps"], sort_keys=True),
            "warnings": warnings,
            "receipt": f"receipts/{name}",
        }
        rows.append(summary)
        elements = element_order[bounds[b] : bounds[b + 1]]
        digest = hashlib.sha256()
        digest.update(np.ascontiguousarray(report.values[elements]).tobytes())
        digest.update(np.ascontiguousarray(report.missing[elements]).astype("<i4").tobytes())
        numbers = {
            "score": _number(row["score"]),
            "weight_covered": _number(row["weight_covered"]),
            **{column: _number(row[column]) for column in row.index if column.endswith(" per area")},
        }
        if gwp_row is not None:
            numbers["gwp_per_m2_yr"] = _number(gwp_row["score"])
            numbers["gwp_weight_covered"] = _number(gwp_row["weight_covered"])
        receipts.append(
            {
                "name": name,
                "receipt": {
                    "receipt_version": 1,
                    "building": building,
                    "input": {"file": file, "path": owner.path, "member": owner.member, "sha256": sha},
                    **context.provenance,
                    "numbers": numbers,
                    "results_sha256": digest.hexdigest(),
                    "data_quality": {
                        k: summary[k]
                        for k in (
                            "n_lines",
                            "share_lines_mapped",
                            "share_lines_with_mass",
                            "share_specific_lines",
                            "share_average_lines",
                            "share_generic_lines",
                            "expired_epd_lines",
                            "expired_epds",
                            "default_service_life_lines",
                        )
                    },
                    "warnings": warnings,
                },
            }
        )
    return pd.DataFrame(rows), receipts

"""A batch chunk's tables: tidy results (Arrow), one summary row and one receipt per building.

The chunk's files are flattened once (:class:`ChunkFrame`); the scored subset is renamed to keys
"000000000", "000000001", … so two files may hold buildings with the same id.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import stages
from ..compile import CompiledBuildings, flatten
from ..engine import ElementResults
from ..errors import MpeilError
from ..outputs import Result
from ..readers.ifc import coverage_of
from ..sanitize import unicode_text
from .context import ScoringContext
from .inputs import ReadInput

__all__ = ["ChunkFrame", "ChunkTables", "KeyedFrame", "error_row", "receipt_name", "score_keyed"]


@dataclass(frozen=True)
class _Owner:
    label: str
    path: str
    member: str | None
    sha256: str
    building: str
    #: an IFC model's mapped shares (mpeil.readers.ifc.coverage_of); empty for other buildings
    coverage: dict = field(default_factory=dict)


@dataclass
class ChunkTables:
    results: pa.Table | None  # None: no building scored
    summary: pd.DataFrame
    errors: list[dict]
    receipts: list[dict]
    #: the results part file is already written (by the budgeted child that scored the chunk); ``results`` is None
    results_written: bool = False


def error_row(error: BaseException, file: str, sha256: str | None, chunk: int) -> dict:
    """One row of the error table for an error on one input."""
    where = error.location() if isinstance(error, MpeilError) else {}
    message = error.message if isinstance(error, MpeilError) else str(error)
    return {
        "file": unicode_text(file),
        "building": _str_or_none(where.get("building")),
        "element": _str_or_none(where.get("element")),
        "layer": _str_or_none(where.get("layer")),
        "field": _str_or_none(where.get("field")),
        "error_type": type(error).__name__,
        "message": unicode_text(message)[:10_000],
        "input_sha256": sha256,
        "chunk": chunk,
    }


def _str_or_none(value) -> str | None:
    return None if value is None else unicode_text(value)


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


@dataclass
class KeyedFrame:
    """The flat bill of materials of some files, buildings renamed to keys "000000000", "000000001", …"""

    frame: pd.DataFrame
    owners: list[_Owner]  # per key
    file_of_key: np.ndarray  # per key: position of its file in the chunk


@dataclass
class ChunkFrame:
    """The flat bill of materials of a chunk's files, flattened once (original building ids)."""

    frame: pd.DataFrame
    owners: list[_Owner]  # per building, in frame order
    file_of_building: np.ndarray  # per building: position of its file in the chunk
    lines: np.ndarray  # per building: number of rows

    @classmethod
    def of(cls, reads: Sequence[ReadInput]) -> ChunkFrame:
        buildings, owners, file_of_building, lines = [], [], [], []
        for position, read in enumerate(reads):
            for building in read.buildings:
                coverage = coverage_of(building)
                owners.append(_Owner(read.label, read.path, read.member, read.sha256, str(building.id), coverage))
                file_of_building.append(position)
                buildings.append(building)
                lines.append(sum(len(element.layers) for element in building.elements))
        frame = flatten(buildings)
        if len(frame) != sum(lines):  # one row per layer line, buildings in order (mpeil.compile.flatten)
            raise RuntimeError("flatten() did not give one row per layer line")
        return cls(frame, owners, np.asarray(file_of_building, dtype=np.int64), np.asarray(lines, dtype=np.int64))

    def _rows(self, positions: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """(building mask, row mask) of the files at ``positions``."""
        keep = np.isin(self.file_of_building, np.asarray(positions, dtype=np.int64))
        return keep, np.repeat(keep, self.lines)

    def file_frame(self, position: int) -> pd.DataFrame:
        """One file's rows, as ``flatten(read.buildings)`` gives them."""
        _, rows = self._rows([position])
        frame = self.frame[rows].reset_index(drop=True)
        return _renumber(frame)

    def keyed(self, positions: Sequence[int]) -> KeyedFrame:
        """The rows of the files at ``positions``, buildings renamed to keys in order."""
        keep, rows = self._rows(positions)
        frame = self.frame[rows].reset_index(drop=True) if not rows.all() else self.frame.copy()
        owners = [o for o, k in zip(self.owners, keep, strict=True) if k]
        keys = np.array([f"{k:09d}" for k in range(len(owners))], dtype=object)
        frame["building_id"] = np.repeat(keys, self.lines[keep])
        return KeyedFrame(_renumber(frame), owners, self.file_of_building[keep])


def _renumber(frame: pd.DataFrame) -> pd.DataFrame:
    """``line`` numbered per (building, element): two files may use the same building id."""
    if "line" in frame:
        frame["line"] = frame.groupby(["building_id", "element_id"], sort=False).cumcount() + 1
    return frame


def score_keyed(flat: KeyedFrame, compiled_for: dict, context: ScoringContext, chunk: int) -> ChunkTables:
    """Run the engine once per planned run on compiled buildings; the chunk's tables.

    Each run's element results are characterised, weighed and assessed (graded, labelled, checked)
    by the stages under the context of each method they score (:mod:`mpeil.stages`).
    """
    owners = flat.owners
    per_run = []
    for run in context.runs:
        compiled = compiled_for[run.compile_key]
        per_run.append((run, compiled, stages.run(run.context, compiled, run.options)))
    _, compiled, elements = per_run[0]
    keys = compiled.building_ids.astype(str)
    if not np.array_equal(keys.astype(np.int64), np.arange(len(owners))):
        raise RuntimeError("compiled buildings are not in file order")

    scores: dict[str, pd.DataFrame] = {}
    coverage = {str(key): o.coverage for key, o in zip(keys, owners, strict=True) if o.coverage}
    for run, run_compiled, run_elements in per_run:
        if coverage:  # IFC models: the grade follows their mapped share (issue 19)
            run_elements.extra["coverage"] = coverage
        for role, role_context in run.methods.items():
            inventory = stages.characterise(role_context, run_compiled, elements=run_elements)
            assessed = stages.assess_scores(role_context, inventory, stages.weight(role_context, inventory))
            scores[role] = assessed.table.loc[keys]
    report = _slice_indicators(elements, len(context.report_codes))
    result = Result(report, context.method)
    tidy = _tidy(result, owners)
    # the receipt hashes exactly the values results/ holds (NaN where no line declares an indicator)
    summary, receipts = _summary(compiled, report, result.element_values, scores, owners, context, chunk)
    return ChunkTables(tidy, summary, [], receipts)


def _tidy(result: Result, owners: list[_Owner]) -> pa.Table:
    """``Result.to_frame()`` (same rows, order and values) plus the file, built as Arrow dictionary
    columns: the labels repeat millions of times and are never materialised as Python strings, nor
    as one Arrow string per row (the part file is written from the dictionaries: store.py)."""
    elements = result.elements
    compiled = elements.compiled
    n_elements, n_modules, n_indicators = elements.values.shape
    per_element = n_modules * n_indicators
    element_index = np.repeat(np.arange(n_elements, dtype=np.int32), per_element)
    building_of_row = np.repeat(compiled.element_building.astype(np.int32), per_element)

    def labels(indices: np.ndarray, values) -> pa.Array:
        return label_column(indices, [None if v is None else str(v) for v in values])

    units = result.units()
    module_index = np.tile(np.repeat(np.arange(n_modules, dtype=np.int32), n_indicators), n_elements)
    indicator_index = np.tile(np.arange(n_indicators, dtype=np.int32), n_elements * n_modules)
    return pa.table(
        {
            "file": labels(building_of_row, [o.label for o in owners]),
            "building": labels(building_of_row, [o.building for o in owners]),
            "element": labels(element_index, compiled.element_ids),
            "element_type": labels(element_index, compiled.element_types),
            "module": labels(module_index, result.modules),
            "indicator": labels(indicator_index, result.indicators),
            "value": pa.array(result.element_values.reshape(-1), type=pa.float64(), from_pandas=True),  # NaN → null
            "unit": labels(indicator_index, [units[code] for code in result.indicators]),
            "missing_lines": pa.array(elements.missing.reshape(-1).astype(np.int32), type=pa.int32()),
        }
    )


def label_column(indices: np.ndarray, values: Sequence[str | None]) -> pa.DictionaryArray:
    """A string column as an Arrow dictionary column: ``values[indices[i]]`` in row ``i`` (None → null).

    A null label is a null index (Parquet dictionaries hold no nulls); read back, the column is
    the plain string column ``[values[i] for i in indices]``.

    The dictionary holds each label once (first seen first): given a dictionary with repeated
    values, Parquet's writer leaves the unused tail of its dictionary page uninitialised, so the
    same results gave part files of different bytes from run to run.
    """
    position: dict[str | None, int] = {}
    codes = np.fromiter((position.setdefault(v, len(position)) for v in values), dtype=np.int32, count=len(values))
    if len(position) < len(values):
        indices = codes[indices]
    labels = list(position)
    nulls = np.fromiter((v is None for v in labels), dtype=bool, count=len(labels))
    dictionary = pa.array(["" if v is None else v for v in labels], type=pa.string())
    mask = nulls[indices] if nulls.any() else None
    return pa.DictionaryArray.from_arrays(pa.array(indices, type=pa.int32(), mask=mask), dictionary)


def _warnings(row: dict, gwp_row: dict | None, expired_lines: int, default_lives: int) -> list[str]:
    out = []
    if row["weight_covered"] < 1.0:
        out.append(f"the score covers {row['weight_covered']:.1%} of the method's weighting")
    if row["weight_estimated"] > 0:
        out.append(
            f"{row['weight_estimated']:.1%} of the weighting from peer estimates: {', '.join(row['indicators_estimated'])}"
        )
    out.extend(f"flagged value: {flag}" for flag in row["flags"])
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


@dataclass(frozen=True)
class _LineStats:
    """Per building: counts of its lines by kind, mass, expired data sets."""

    n_lines: np.ndarray
    n_elements: np.ndarray
    mass: np.ndarray  # kg
    with_mass: np.ndarray
    specific: np.ndarray
    average: np.ndarray
    generic: np.ndarray
    expired: np.ndarray
    default_lives: np.ndarray
    expired_sets: dict[int, set]

    @classmethod
    def of(cls, compiled: CompiledBuildings, context: ScoringContext) -> _LineStats:
        n_b = compiled.n_buildings
        line_b = compiled.line_building

        def per_building(mask: np.ndarray) -> np.ndarray:
            return np.bincount(line_b, weights=mask.astype(np.float64), minlength=n_b)

        dataset = compiled.dataset
        expired_mask = context.dataset_expired[dataset]
        library_ids = context.library.datasets["dataset_id"].to_numpy()
        expired_sets: dict[int, set] = {}
        for b, d in zip(line_b[expired_mask], dataset[expired_mask], strict=True):
            expired_sets.setdefault(int(b), set()).add(library_ids[d])
        return cls(
            n_lines=np.bincount(line_b, minlength=n_b),
            n_elements=np.bincount(compiled.element_building, minlength=n_b),
            mass=np.bincount(line_b, weights=np.nan_to_num(compiled.mass_kg), minlength=n_b),
            with_mass=per_building(~np.isnan(compiled.mass_kg)),
            specific=per_building(context.dataset_specific[dataset]),
            average=per_building(context.dataset_average[dataset]),
            generic=per_building(context.dataset_generic[dataset]),
            expired=per_building(expired_mask),
            default_lives=per_building(compiled.default_service_life),
            expired_sets=expired_sets,
        )


#: summary fields copied into a receipt's ``data_quality``
_DATA_QUALITY = (
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


def _records(frame: pd.DataFrame) -> list[dict]:
    """The rows of ``frame`` as dicts, columns in order (one pass per column, not one Series per row:
    the values are those ``frame.iloc[b][column]`` gives, numbers compared and formatted alike)."""
    columns = list(frame.columns)
    return [dict(zip(columns, values, strict=True)) for values in frame.itertuples(index=False, name=None)]


def _summary(
    compiled: CompiledBuildings,
    report: ElementResults,
    element_values: np.ndarray,
    scores: dict[str, pd.DataFrame],
    owners: list[_Owner],
    context: ScoringContext,
    chunk: int,
) -> tuple[pd.DataFrame, list[dict]]:
    """One summary row and one receipt per building."""
    stats = _LineStats.of(compiled, context)
    gwp_apart = context.gwp_method is not None and context.gwp_method is not context.method
    # per-building digest of the tidy numbers (element × module × indicator values and gap counts)
    element_order = np.argsort(compiled.element_building, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(stats.n_elements)))
    main = _records(scores["method"])
    gwp = _records(scores["gwp"]) if "gwp" in scores else None
    rows, receipts = [], []
    for b in range(compiled.n_buildings):
        owner = owners[b]
        row = main[b]
        gwp_row = gwp[b] if gwp is not None else None
        warnings = _warnings(row, gwp_row if gwp_apart else None, int(stats.expired[b]), int(stats.default_lives[b]))
        summary = _summary_row(b, owner, row, gwp_row, gwp_apart, stats, compiled, context, chunk, warnings)
        rows.append(summary)
        digest = hashlib.sha256()
        elements = element_order[bounds[b] : bounds[b + 1]]
        digest.update(np.ascontiguousarray(element_values[elements]).tobytes())
        digest.update(np.ascontiguousarray(report.missing[elements]).astype("<i4").tobytes())
        receipts.append(_receipt(owner, row, gwp_row, summary, digest.hexdigest(), context))
    return pd.DataFrame(rows), receipts


def _summary_row(
    b: int,
    owner: _Owner,
    row: dict,
    gwp_row: dict | None,
    gwp_apart: bool,
    stats: _LineStats,
    compiled: CompiledBuildings,
    context: ScoringContext,
    chunk: int,
    warnings: list[str],
) -> dict:
    """The summary row of building ``b``."""
    n_lines = stats.n_lines[b]
    gwp_method = context.gwp_method
    return {
        "file": owner.label,
        "building": owner.building,
        "input_sha256": owner.sha256,
        "chunk": chunk,
        "method": context.method.name,
        "score": float(row["score"]),
        "score_unit": row["score_unit"],
        "label": row.get("label"),
        "label_note": row.get("label_note"),
        "weight_covered": float(row["weight_covered"]),
        "weight_declared": float(row["weight_declared"]),
        "weight_estimated": float(row["weight_estimated"]),
        "weight_missing": float(row["weight_missing"]),
        "lines_missing_share": float(row.get("lines_missing_share", math.nan)),
        "complete": bool(row["complete"]),
        "quality_grade": str(row["quality_grade"]),
        "flags": list(row["flags"]),
        "indicators_estimated": sorted(row["indicators_estimated"]),
        "gwp_method": None if gwp_row is None or gwp_method is None else gwp_method.name,
        "gwp_per_m2_yr": math.nan if gwp_row is None else float(gwp_row["score"]),
        "gwp_unit": None if gwp_row is None else gwp_row["score_unit"],
        "gwp_weight_covered": math.nan if gwp_row is None else float(gwp_row["weight_covered"]),
        "gross_floor_area_m2": float(compiled.gross_floor_area_m2[b]),
        "study_period_years": float(compiled.study_period_years[b]),
        "use_type": None if compiled.use_type[b] is None else str(compiled.use_type[b]),
        "n_elements": int(stats.n_elements[b]),
        "n_lines": int(n_lines),
        "share_lines_mapped": 1.0,
        "mapped_volume_share": float(row.get("mapped_volume_share", math.nan)),
        "mapped_mass_share": float(row.get("mapped_mass_share", math.nan)),
        "share_lines_with_mass": float(stats.with_mass[b] / n_lines),
        "mass_kg_per_m2": float(stats.mass[b] / compiled.gross_floor_area_m2[b]),
        "share_specific_lines": float(stats.specific[b] / n_lines),
        "share_average_lines": float(stats.average[b] / n_lines),
        "share_generic_lines": float(stats.generic[b] / n_lines),
        "expired_epd_lines": int(stats.expired[b]),
        "expired_epds": sorted(stats.expired_sets.get(b, ())),
        "default_service_life_lines": int(stats.default_lives[b]),
        "fallback_lines": int(sum(row["fallback_lines"].values()))
        + (int(sum(gwp_row["fallback_lines"].values())) if gwp_apart and gwp_row is not None else 0),
        "indicators_missing": list(row["indicators_missing"]),
        "indicators_partial": list(row["indicators_partial"]),
        "module_gaps": json.dumps(row["module_gaps"], sort_keys=True),
        "warnings": warnings,
        "receipt": f"receipts/{receipt_name(owner.label, owner.building)}",
    }


def _receipt(
    owner: _Owner, row: dict, gwp_row: dict | None, summary: dict, digest: str, context: ScoringContext
) -> dict:
    """A building's score receipt: input, provenance, every number in hex, data quality."""
    numbers = {
        "score": _number(row["score"]),
        "weight_covered": _number(row["weight_covered"]),
        "weight_declared": _number(row["weight_declared"]),
        "weight_estimated": _number(row["weight_estimated"]),
        "weight_missing": _number(row["weight_missing"]),
        **{column: _number(row[column]) for column in row if column.endswith(" per area")},
    }
    if gwp_row is not None:
        numbers["gwp_per_m2_yr"] = _number(gwp_row["score"])
        numbers["gwp_weight_covered"] = _number(gwp_row["weight_covered"])
    return {
        "name": receipt_name(owner.label, owner.building),
        "receipt": {
            "receipt_version": 1,
            "building": owner.building,
            "input": {"file": owner.label, "path": owner.path, "member": owner.member, "sha256": owner.sha256},
            **context.provenance,
            "numbers": numbers,
            "results_sha256": digest,
            "data_quality": {k: summary[k] for k in _DATA_QUALITY},
            "warnings": summary["warnings"],
        },
    }

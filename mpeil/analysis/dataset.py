"""Benchmark datasets: documented, versioned Parquet tables of scored buildings (``mpeil dataset build``).

A dataset folder holds:

- ``buildings.parquet`` (one row per building), ``elements.parquet`` (per element), ``stages.parquet``
  (per building and stage) and ``distributions.parquet`` (p5 … p95 per archetype and size class);
- ``datacard.md`` (what every column means, where the data come from) and ``schema.json`` (JSON Schema);
- ``manifest.json``: dataset version, engine version, seed and the SHA-256 of the inputs, the EPD
  library, the method, the scenarios and every table.

Nothing in it depends on the time or the machine: the same seed gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import InputError
from ..methods import Method, load_method
from ..outputs.result import STAGES
from ..paths import scenarios_dir
from ._scoring import score_compiled, score_weights

__all__ = ["DATASET_VERSION", "COLUMNS", "QUANTILES", "build_dataset", "size_classes", "distributions"]

#: version of the dataset layout (tables, columns, meanings); bump when any of them changes
DATASET_VERSION = "1.0.0"
QUANTILES = (0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95)
GWP = "GWP-total"

#: table → column → (JSON type, unit, meaning); indicator columns are added per indicator
COLUMNS: dict[str, dict[str, tuple[str, str, str]]] = {
    "buildings": {
        "building_id": ("string", "", "building id (synthetic: s<seed>-<number>)"),
        "archetype": ("string", "", "archetype / use type (terraced, semi-detached, single-family, apartment, office)"),
        "building_name": ("string", "", "template name: archetype, construction type, storeys"),
        "size_class": ("string", "", "gross-floor-area class (scenarios/benchmark/size_classes.csv)"),
        "gross_floor_area_m2": ("number", "m²", "gross floor area (GFA), the reference area"),
        "construction_year": ("number", "year", "year of construction (null when not given)"),
        "study_period_years": ("number", "yr", "reference study period"),
        "method": ("string", "", "scoring method"),
        "score": ("number", "score_unit", "the method's single score (M-peil: mPt per m² GFA per year)"),
        "score_unit": ("string", "", "unit of score"),
        "label": ("string", "", "A-G label where the method's label scale covers the archetype, else null"),
        "weight_covered": ("number", "1", "share of the method's weighting declared by every line (1 = complete)"),
        "gwp_per_m2_yr": (
            "number",
            "kg CO2e/(m²·yr)",
            "GWP-total over the method's scored modules per m² GFA per year",
        ),
    },
    "elements": {
        "building_id": ("string", "", "building id"),
        "element_id": ("string", "", "element id within the building"),
        "element_name": ("string", "", "element name"),
        "element_type": ("string", "", "TOTEM element family (EW, PR, FoG, …)"),
        "quantity": ("number", "unit", "element quantity"),
        "unit": ("string", "", "unit of quantity (m2, m, piece)"),
        "score": ("number", "score_unit", "the element's part of the building score (per m² GFA per year)"),
        "gwp_per_m2_yr": ("number", "kg CO2e/(m²·yr)", "the element's GWP-total per m² GFA of the building per year"),
    },
    "stages": {
        "building_id": ("string", "", "building id"),
        "stage": (
            "string",
            "",
            "TOTEM stage: product (A1-A3), construction (A4-A5), use (B1-B5), end of life (C1-C4), beyond (D)",
        ),
        "score": (
            "number",
            "score_unit",
            "single-score contribution of the stage per m² GFA per year (D: reported, counted only if the method says)",
        ),
        "gwp_per_m2_yr": ("number", "kg CO2e/(m²·yr)", "GWP-total of the stage per m² GFA per year"),
    },
    "distributions": {
        "archetype": ("string", "", "archetype, or 'all'"),
        "size_class": ("string", "", "size class, or 'all'"),
        "metric": ("string", "", "score, gwp_per_m2_yr, or <indicator>_per_m2_yr"),
        "unit": ("string", "", "unit of the metric"),
        "n": ("integer", "1", "buildings with a value"),
        "mean": ("number", "unit", "mean"),
        **{
            f"p{round(q * 100)}": ("number", "unit", f"{round(q * 100)}th percentile (linear interpolation)")
            for q in QUANTILES
        },
    },
}


def size_classes(folder: str | Path | None = None) -> pd.DataFrame:
    """The GFA size classes (``scenarios/benchmark/size_classes.csv``): lower bound inclusive, upper exclusive."""
    path = (Path(folder) if folder else scenarios_dir() / "benchmark") / "size_classes.csv"
    table = pd.read_csv(path)
    if table["source"].isna().any() or not (table["max_gfa_m2"] > table["min_gfa_m2"]).all():
        raise InputError("every size class needs a source and max_gfa_m2 > min_gfa_m2", file=str(path))
    return table


def _classify(gfa: np.ndarray, classes: pd.DataFrame) -> np.ndarray:
    low, high = classes["min_gfa_m2"].to_numpy(float), classes["max_gfa_m2"].to_numpy(float)
    inside = (gfa[:, None] >= low[None, :]) & (gfa[:, None] < high[None, :])
    names = classes["size_class"].to_numpy(dtype=object)
    return np.asarray(np.where(inside.any(axis=1), names[np.argmax(inside, axis=1)], None))


def _indicator_column(code: str) -> str:
    return f"{code}_per_m2_yr"


# ============================================================================ tables from a synthetic stock
def _tables_from_result(scored, frame: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    result, compiled = scored.result, scored.compiled
    scores = result.scores
    # per indicator over the scored modules; NaN (not 0) where no line declares it (A1-A3 all gaps,
    # the scoring's "indicators_missing" rule), since B1-B3/B5 gaps read as 0 in the engine
    scoped = list(scored.method.scored_modules)
    per_area = pd.DataFrame(index=pd.Index([str(b) for b in compiled.building_ids], name="building"))
    for code in result.indicators:
        modules = result.by_module(code)
        per_area[code] = modules[scoped].sum(axis=1).where(modules["A1-A3"].notna()).to_numpy(float)
    units = result.units()
    ids = [str(b) for b in compiled.building_ids]
    buildings = pd.DataFrame(
        {
            "building_id": ids,
            "archetype": [None if u is None else str(u) for u in compiled.use_type],
            "building_name": None,
            "gross_floor_area_m2": compiled.gross_floor_area_m2,
            "construction_year": np.nan,
            "study_period_years": compiled.study_period_years,
            "method": scored.method.name,
            "score": scores["score"].to_numpy(float),
            "score_unit": scores["score_unit"].astype(str).to_numpy(),
            "label": scores["label"].to_numpy(dtype=object) if "label" in scores else None,
            "weight_covered": scores["weight_covered"].to_numpy(float),
            "gwp_per_m2_yr": per_area[GWP].to_numpy(float) if GWP in per_area else np.nan,
        }
    )
    if frame is not None:
        first = frame.drop_duplicates("building_id").set_index(
            frame.drop_duplicates("building_id")["building_id"].astype(str)
        )
        for column in ("building_name", "construction_year"):
            if column in first:
                buildings[column] = (
                    first[column].reindex(ids).to_numpy(dtype=object if column == "building_name" else float)
                )
    for code in result.indicators:
        buildings[_indicator_column(code)] = per_area[code].to_numpy(float)
    buildings.attrs["units"] = units
    return {"buildings": buildings, **_element_and_stage_tables(result, compiled)}


def _element_and_stage_tables(result, compiled) -> dict[str, pd.DataFrame]:
    ids = [str(b) for b in compiled.building_ids]
    element_score = result.by_element()
    denominator = (compiled.gross_floor_area_m2 * compiled.study_period_years)[compiled.element_building]
    element_gwp = (
        result.by_element(indicator=GWP)[GWP].to_numpy(float) / denominator if GWP in result.indicators else np.nan
    )
    elements = pd.DataFrame(
        {
            "building_id": element_score["building"].astype(str),
            "element_id": element_score["element"].astype(str),
            "element_name": element_score["name"].astype(object),
            "element_type": element_score["element_type"].astype(object),
            "quantity": element_score["quantity"].to_numpy(float),
            "unit": element_score["unit"].astype(str),
            "score": element_score["score"].to_numpy(float),
            "gwp_per_m2_yr": element_gwp,
        }
    )
    stage_score = result.by_stage()
    stage_gwp = result.by_stage(GWP) if GWP in result.indicators else stage_score * np.nan
    stages = pd.DataFrame(
        {
            "building_id": np.repeat(ids, len(STAGES)),
            "stage": np.tile(list(STAGES), len(ids)),
            "score": stage_score[list(STAGES)].to_numpy(float).reshape(-1),
            "gwp_per_m2_yr": stage_gwp[list(STAGES)].to_numpy(float).reshape(-1),
        }
    )
    return {"elements": elements, "stages": stages}


# ============================================================================ tables from batch outputs
def _tables_from_batch(folder: Path) -> tuple[dict[str, pd.DataFrame], Method, str]:
    summary_path = folder / "summary.parquet"
    if not summary_path.is_file():
        raise InputError("not a `mpeil batch` output folder (no summary.parquet)", file=str(folder))
    summary = pd.read_parquet(summary_path)
    tidy = pd.read_parquet(folder / "results")
    if summary.empty:
        raise InputError("the batch scored no building", file=str(summary_path))
    method = load_method(str(summary["method"].iloc[0]))
    ids = summary["building"].astype(str)
    gfa, rsp = summary["gross_floor_area_m2"].to_numpy(float), summary["study_period_years"].to_numpy(float)
    area = pd.Series(gfa * rsp, index=ids.to_numpy())  # per m² and year
    score_area = pd.Series(gfa * (rsp if method.per_year else 1.0), index=ids.to_numpy())
    scoped = tidy[tidy["module"].isin(method.scored_modules)]
    per_building = scoped.pivot_table(index="building", columns="indicator", values="value", aggfunc="sum").reindex(ids)
    per_area = per_building.div(area.reindex(per_building.index), axis=0)
    # NaN, not 0, where no line has data for the indicator (its A1-A3 is a gap everywhere)
    a13 = tidy[tidy["module"] == "A1-A3"].groupby(["building", "indicator"])["value"].sum(min_count=1)
    per_area = per_area.where(a13.unstack().reindex(index=per_area.index, columns=per_area.columns).notna())
    weights = pd.Series(score_weights(method, per_area.columns), index=per_area.columns)
    tables = {
        "buildings": _batch_buildings(summary, per_area, method),
        "elements": _batch_elements(scoped, weights, area, score_area),
        "stages": _batch_stages(tidy, weights, ids, area, score_area),
    }
    return tables, method, hashlib.sha256(summary_path.read_bytes()).hexdigest()


def _batch_buildings(summary: pd.DataFrame, per_area: pd.DataFrame, method: Method) -> pd.DataFrame:
    from ..model.indicators import indicator_catalogue

    buildings = pd.DataFrame(
        {
            "building_id": summary["building"].astype(str).to_numpy(),
            "archetype": summary["use_type"].astype(object).to_numpy(),
            "building_name": None,
            "gross_floor_area_m2": summary["gross_floor_area_m2"].to_numpy(float),
            "construction_year": np.nan,
            "study_period_years": summary["study_period_years"].to_numpy(float),
            "method": method.name,
            "score": summary["score"].to_numpy(float),
            "score_unit": summary["score_unit"].astype(str).to_numpy(),
            "label": summary["label"].to_numpy(dtype=object) if "label" in summary else None,
            "weight_covered": summary["weight_covered"].to_numpy(float),
            "gwp_per_m2_yr": per_area[GWP].to_numpy(float) if GWP in per_area else np.nan,
        }
    )
    for code in per_area.columns:
        buildings[_indicator_column(code)] = per_area[code].to_numpy(float)
    catalogue = indicator_catalogue()
    buildings.attrs["units"] = {c: catalogue[c].unit if c in catalogue else "" for c in per_area.columns}
    return buildings


def _batch_elements(scoped: pd.DataFrame, weights: pd.Series, area: pd.Series, score_area: pd.Series) -> pd.DataFrame:
    values = scoped.assign(weighted=scoped["value"].fillna(0.0) * scoped["indicator"].map(weights).fillna(0.0))
    element = (
        values.groupby(["building", "element", "element_type"], sort=False).agg(score=("weighted", "sum")).reset_index()
    )
    gwp = values[values["indicator"] == GWP].groupby(["building", "element"], sort=False)["value"].sum(min_count=1)
    building = element["building"].astype(str)
    return pd.DataFrame(
        {
            "building_id": building,
            "element_id": element["element"].astype(str),
            "element_name": None,
            "element_type": element["element_type"].astype(object),
            "quantity": np.nan,
            "unit": None,
            "score": element["score"].to_numpy(float) / score_area.reindex(building).to_numpy(),
            "gwp_per_m2_yr": gwp.reindex(pd.MultiIndex.from_frame(element[["building", "element"]])).to_numpy(float)
            / area.reindex(building).to_numpy(),
        }
    )


def _batch_stages(
    tidy: pd.DataFrame, weights: pd.Series, ids: pd.Series, area: pd.Series, score_area: pd.Series
) -> pd.DataFrame:
    """Building-major, stages in TOTEM order (as :func:`_tables_from_result`)."""
    per_stage = []
    for stage, modules in STAGES.items():
        part = tidy[tidy["module"].isin(modules)]
        weighted = part["value"].fillna(0.0) * part["indicator"].map(weights).fillna(0.0)
        score = weighted.groupby(part["building"]).sum().reindex(ids).to_numpy() / score_area.to_numpy()
        gwp = part[part["indicator"] == GWP].groupby("building")["value"].sum(min_count=1)
        per_stage.append((stage, score, gwp.reindex(ids).to_numpy() / area.to_numpy()))
    return pd.DataFrame(
        {
            "building_id": np.repeat(ids.to_numpy(), len(per_stage)),
            "stage": np.tile([stage for stage, _, _ in per_stage], len(ids)),
            "score": np.column_stack([score for _, score, _ in per_stage]).reshape(-1),
            "gwp_per_m2_yr": np.column_stack([gwp for _, _, gwp in per_stage]).reshape(-1),
        }
    )


# ============================================================================ distributions
def distributions(buildings: pd.DataFrame, units: dict[str, str] | None = None) -> pd.DataFrame:
    """p5 … p95 per archetype × size class (and 'all') of the score, GWP and every indicator column."""
    units = units or {}
    metrics = ["score", "gwp_per_m2_yr"]
    metrics += [str(c) for c in buildings.columns if str(c).endswith("_per_m2_yr") and c != "gwp_per_m2_yr"]
    unit_of = {
        "score": str(buildings["score_unit"].iloc[0]) if len(buildings) else "",
        "gwp_per_m2_yr": "kg CO2e/(m²·yr)",
    }
    for column in metrics[2:]:
        unit_of[column] = f"{units.get(column[: -len('_per_m2_yr')], '')}/(m²·yr)"
    keyed = buildings.assign(
        archetype=buildings["archetype"].fillna("(none)"), size_class=buildings["size_class"].fillna("(none)")
    )
    groups = [(a, s, part) for (a, s), part in keyed.groupby(["archetype", "size_class"], sort=True)]
    groups += [(a, "all", part) for a, part in keyed.groupby("archetype", sort=True)]
    groups += [("all", s, part) for s, part in keyed.groupby("size_class", sort=True)]
    groups.append(("all", "all", keyed))
    rows = []
    for archetype, size, part in groups:
        for metric in metrics:
            values = part[metric].to_numpy(dtype=np.float64)
            values = values[~np.isnan(values)]
            row = {
                "archetype": archetype,
                "size_class": size,
                "metric": metric,
                "unit": unit_of[metric],
                "n": int(values.size),
            }
            row["mean"] = float(values.mean()) if values.size else np.nan
            for q in QUANTILES:
                row[f"p{round(q * 100)}"] = float(np.quantile(values, q)) if values.size else np.nan
            rows.append(row)
    return pd.DataFrame(rows)


# ============================================================================ documentation and files
def _columns(units: dict[str, str]) -> dict[str, dict[str, tuple[str, str, str]]]:
    columns = {table: dict(spec) for table, spec in COLUMNS.items()}
    for code, unit in units.items():
        columns["buildings"][_indicator_column(code)] = (
            "number",
            f"{unit}/(m²·yr)",
            f"{code} over the method's scored modules, per m² GFA per year",
        )
    return columns


def json_schema(columns: dict) -> dict:
    """A JSON Schema (draft 2020-12) of one row of each table."""
    tables = {}
    for table, spec in columns.items():
        properties = {
            name: {"type": [kind, "null"], "description": meaning + (f" [{unit}]" if unit else "")}
            for name, (kind, unit, meaning) in spec.items()
        }
        tables[table] = {
            "type": "object",
            "properties": properties,
            "required": list(spec),
            "additionalProperties": False,
        }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "mpeil benchmark dataset, one row per table",
        "$defs": tables,
        "version": DATASET_VERSION,
    }


def _datacard(manifest: dict, columns: dict, counts: dict) -> str:
    lines = [
        f"# Datacard: {manifest['name']}",
        "",
        f"Dataset version {manifest['dataset_version']}, built by mpeil {manifest['engine_version']} "
        f"with method `{manifest['method']}`. Source: {manifest['source']}.",
        "",
        "**What it is.** Scores of buildings under the M-peil engine: one row per building, per element and per "
        "stage, and distributions (p5 … p95) per archetype and size class. Scores are per m² gross floor area "
        "per year over the study period. A value nobody declares is null, never 0.",
        "",
        "**What it is not.** "
        + (
            "A synthetic stock (`mpeil.synthetic`): buildings generated from the archetypes of "
            "`scenarios/archetypes/` with sampled sizes and construction types, scored with open generic data "
            "(ÖKOBAUDAT). It is not a sample of real Flemish permits: use it to test methods, not as evidence of "
            "what Flemish buildings score."
            if manifest["source"].startswith("synthetic")
            else "A random sample: it holds exactly the buildings that were given to `mpeil batch`."
        ),
        "",
        "**Reproduce.** `" + manifest["command"] + "` gives the same bytes (see `manifest.json` for hashes).",
        "",
        "## Provenance (SHA-256)",
        "",
        "| what | hash |",
        "|---|---|",
    ]
    lines += [f"| {k} | `{v}` |" for k, v in manifest["hashes"].items()]
    for table, spec in columns.items():
        lines += [
            "",
            f"## {table}.parquet ({counts.get(table, 0)} rows)",
            "",
            "| column | type | unit | meaning |",
            "|---|---|---|---|",
        ]
        lines += [f"| `{name}` | {kind} | {unit} | {meaning} |" for name, (kind, unit, meaning) in spec.items()]
    lines += [
        "",
        "## Licence",
        "",
        "Scores computed by mpeil (Apache-2.0) from ÖKOBAUDAT data (free of charge, cite ÖKOBAUDAT). The "
        "synthetic buildings are mpeil's own.",
        "",
    ]
    return "\n".join(lines)


def _write_parquet(frame: pd.DataFrame, path: Path) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False).replace_schema_metadata(None)
    pq.write_table(table, path, compression="zstd", write_statistics=True)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _frame_hash(frame: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()


def build_dataset(
    out: str | Path,
    n: int = 1000,
    seed: int = 0,
    method: str = "mpeil-ef31",
    batch: str | Path | None = None,
    library=None,
    scenarios=None,
) -> dict:
    """Write a benchmark dataset to ``out``; from a synthetic stock (``n``, ``seed``) or a ``batch`` folder.

    Returns the manifest (also written to ``out/manifest.json``).
    """
    from ..synthetic import generate_stock

    out = Path(out)
    if batch is not None:
        tables, loaded, input_hash = _tables_from_batch(Path(batch))
        method_hash, name, source = (
            loaded.fingerprint,
            f"mpeil-batch-{input_hash[:12]}",
            f"batch outputs {Path(batch).name}",
        )
        library_hash = scenario_hash = None
        command = f"mpeil dataset build --from-batch {Path(batch).name} --out DIR"
    else:
        stock = generate_stock(n, seed=seed)
        scored = score_compiled(stock, method, library, scenarios)
        tables = _tables_from_result(scored, stock)
        input_hash, method_hash = _frame_hash(stock), scored.method.fingerprint
        library_hash, scenario_hash = scored.library.fingerprint(), scored.scenarios.fingerprint()
        name, source = f"mpeil-synthetic-s{seed}-n{n}", f"synthetic stock (mpeil.synthetic, seed {seed}, {n} buildings)"
        command = f"mpeil dataset build --n {n} --seed {seed} --method {method} --out DIR"
    units = tables["buildings"].attrs.get("units", {})
    buildings = tables["buildings"]
    buildings["size_class"] = _classify(buildings["gross_floor_area_m2"].to_numpy(float), size_classes())
    columns = _columns(units)
    buildings = buildings[list(columns["buildings"])]
    tables["buildings"] = buildings
    tables["elements"] = tables["elements"][list(columns["elements"])]
    tables["distributions"] = distributions(buildings, units)[list(columns["distributions"])]
    out.mkdir(parents=True, exist_ok=True)
    hashes = {"input": input_hash, "method": method_hash, "library": library_hash, "scenarios": scenario_hash}
    manifest: dict = {
        "name": name,
        "dataset_version": DATASET_VERSION,
        "engine_version": __version__,
        "method": str(buildings["method"].iloc[0]) if len(buildings) else method,
        "source": source,
        "seed": None if batch is not None else int(seed),
        "n_buildings": len(buildings),
        "command": command,
        "hashes": {k: v for k, v in hashes.items() if v is not None},
    }
    return _write_dataset(out, tables, columns, manifest)


def _write_dataset(out: Path, tables: dict[str, pd.DataFrame], columns: dict, manifest: dict) -> dict:
    """Write the tables, schema, datacard and manifest; the manifest gets every file's SHA-256."""
    files: dict[str, str] = {}
    manifest["files"] = files
    for table, frame in tables.items():
        files[f"{table}.parquet"] = _write_parquet(frame, out / f"{table}.parquet")
    schema = json.dumps(json_schema(columns), indent=2, ensure_ascii=False) + "\n"
    (out / "schema.json").write_text(schema, encoding="utf-8")
    counts = {table: len(frame) for table, frame in tables.items()}
    card = _datacard(manifest, columns, counts)
    (out / "datacard.md").write_text(card, encoding="utf-8")
    files["schema.json"] = hashlib.sha256(schema.encode()).hexdigest()
    files["datacard.md"] = hashlib.sha256(card.encode()).hexdigest()
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest

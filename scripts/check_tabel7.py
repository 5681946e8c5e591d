"""Cross-check every BR18 Tabel 7 row against the ÖKOBAUDAT 2020-II data set its link names.

For each row whose ``Url (link)`` names an ÖKOBAUDAT UUID that ``data/epd/obd2020`` holds, every
module Tabel 7 gives (A1-A3, C3, C4, D; GWP) is compared with the source's GWP (EN 15804+A1),
converted to Tabel 7's declared unit with the source's own conversion properties, under every
scenario the source declares; and ``Masse faktor`` is compared with the source's mass per
Tabel 7 unit. A mismatch is classified:

- ``neighbour``: the published value is that of the data set another Tabel 7 row links (and at
  most two rows publish it: a value many rows share is a deliberate generic choice, ``shared``);
- ``eol_per_kg``: an end-of-life/D value of a row declared per m³, m², m or piece is a value per
  **kg**: the source's own per kg, or that of a data set declared per kg that another row links;
- ``mass_factor``: ``Masse faktor`` is off by a power of ten (unit slip);
- ``generic_per_kg``: a row declared per m², m or piece publishes, for a module its source does
  not declare (or without a source), the generic end-of-life value that at least
  ``GENERIC_MIN_ROWS`` rows declared per kg publish: a value per kg, corrected to the row's unit
  with its own mass factor;
- ``mass_grams``: a piece row of such a group whose A1-A3 per kg, with its mass factor, is 10³
  below the group's per-kg rows and within a decade of them with the mass read in grams;
- ``other``: none of these (reported, not corrected).

Writes ``data/epd/br18/corrections.csv`` (one row per corrected field with its evidence) and
``data/epd/br18/CHECK.md`` (counts and every unclassified mismatch). Usage, from the repository root:
``python scripts/check_tabel7.py``.
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mpeil.errors import ConversionError  # noqa: E402
from mpeil.model.library import EPDLibrary, load_library  # noqa: E402

OUT = ROOT / "data" / "epd" / "br18"
MODULES = ("A1-A3", "C3", "C4", "D")
CORRECTED = ("neighbour", "eol_per_kg", "mass_factor", "generic_per_kg", "mass_grams")  # corrected classes
GENERIC_MIN_ROWS = 5  # a value this many per-kg rows publish is a generic per-kg value (not a coincidence)
RTOL = 0.02  # Tabel 7 prints three significant figures
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=RTOL, abs_tol=1e-6)


def published(br18: EPDLibrary) -> pd.DataFrame:
    """Tabel 7 per row: declared amount, unit, mass factor, link UUID, values per module."""
    rows = br18.datasets[["dataset_id", "declared_amount", "declared_unit", "url"]].copy()
    rows["uuid"] = rows["url"].fillna("").astype(str).str.extract(f"({UUID.pattern})", expand=False)
    rows["mass_factor"] = [br18.mass_per_unit(i) for i in range(len(br18))]
    wide = br18.values.pivot_table(index="dataset_id", columns="module", values="value", aggfunc="first")
    return rows.join(wide.reindex(columns=list(MODULES)), on="dataset_id")


def source_values(obd: EPDLibrary, index: int, unit: str, amount: float) -> dict[str, list[tuple[str, float]]]:
    """GWP-A1 of one source data set per Tabel 7 declared amount × unit: module → [(scenario, value)]."""
    factor = obd.conversion_factor(index, unit) * amount  # source declared units per Tabel 7 amount
    per_unit = 1.0 / float(obd.datasets["declared_amount"].iloc[index])
    rows = obd.values[(obd.values["dataset_id"] == obd.datasets.at[index, "dataset_id"])]
    rows = rows[rows["indicator"] == "GWP-A1"]
    out: dict[str, list[tuple[str, float]]] = {}
    for r in rows.to_dict("records"):
        out.setdefault(str(r["module"]), []).append((str(r["scenario"]), float(r["value"]) * per_unit * factor))
    parts = [m for m in ("A1", "A2", "A3") if m in out]
    if "A1-A3" not in out and len(parts) == 3:
        out["A1-A3"] = [("A1+A2+A3", sum(out[m][0][1] for m in parts))]
    return out


def check_row(row, obd: EPDLibrary, linked: dict[str, dict]) -> list[dict]:
    """Findings (one per mismatching field) for one Tabel 7 row."""
    index = obd.resolve(f"obd2020:{row.uuid}")
    unit, amount = str(row.declared_unit), float(row.declared_amount)
    try:
        values = source_values(obd, index, unit, amount)
        mass = obd.mass_per_unit(index) * obd.conversion_factor(index, unit) * amount
    except ConversionError as error:
        return [_finding(row, "conversion", math.nan, math.nan, "other", f"source cannot be converted: {error}")]
    findings = []
    for module in MODULES:
        value = getattr(row, module.replace("-", "_"), math.nan)
        if isinstance(value, float) and math.isnan(value):
            continue
        candidates = values.get(module, [])
        if any(close(value, v) for _, v in candidates) or not candidates:
            continue
        findings.append(_classify(row, module, value, candidates, mass, linked))
    mass_factor = float(row.mass_factor)
    if unit != "kg" and math.isfinite(mass) and math.isfinite(mass_factor) and not close(mass_factor, mass / amount):
        ratio = mass_factor / (mass / amount)
        slip = round(math.log10(ratio)) if ratio > 0 else 0
        defect = "mass_factor" if slip and close(ratio, 10.0**slip) else "other"
        evidence = f"source mass {mass / amount:.6g} kg per {unit} (published {mass_factor:.6g}; ratio {ratio:.4g})"
        findings.append(_finding(row, "mass_factor", mass_factor, mass / amount, defect, evidence))
    return findings


def _classify(row, module: str, value: float, candidates, mass: float, linked: dict[str, dict]) -> dict:
    scenario, first = candidates[0]
    label = f"{module}{f' ({scenario})' if scenario else ''}"
    per_piece = str(row.declared_unit) != "kg"
    if per_piece and module != "A1-A3" and math.isfinite(mass) and mass > 0:
        for scen, v in candidates:  # the row's own source, per kg instead of per declared unit
            if close(value, v / mass * float(row.declared_amount)):
                evidence = (
                    f"published {value:.6g} = source {module} per kg ({v / mass:.6g}); per {row.declared_unit}: {v:.6g}"
                )
                return _finding(row, module, value, v, "eol_per_kg", evidence, scen)
    matches = [
        other_id
        for other_id, other in linked.items()
        if other_id not in (row.dataset_id, "__published__")
        and any(close(value, v) for v in other["values"].get(module, []))
    ]
    per_kg_rows = [m for m in matches if linked[m]["unit"] == "kg"]
    linked_published = linked.get("__published__", {})
    if per_piece and module != "A1-A3" and per_kg_rows:
        evidence = (
            f"published {value:.6g} per {row.declared_unit} is the per-kg {module} of the data set that "
            f"{per_kg_rows[0]} links (declared per kg); this row's source ({row.uuid}) has {first:.6g} per {row.declared_unit}"
        )
        return _finding(row, module, value, first, "eol_per_kg", evidence, scenario)
    shared = sum(math.isclose(value, v, rel_tol=1e-4) for v in linked_published.get(module, []))
    if matches and shared <= 2:  # one value copied from one other row (not a generic value many rows share)
        evidence = (
            f"published {value:.6g} is {module} of the data set that {matches[0]} links; "
            f"this row's source ({row.uuid}) has {first:.6g}"
        )
        return _finding(row, module, value, first, "neighbour", evidence, scenario)
    if matches:
        evidence = (
            f"published {value:.6g} is shared by {shared} Tabel 7 rows (a generic value); source {label} {first:.6g}"
        )
        return _finding(row, module, value, first, "shared", evidence, scenario)
    options = ", ".join(f"{s or '-'}: {v:.6g}" for s, v in candidates)
    return _finding(row, module, value, first, "other", f"source {label} {options}", scenario)


def _finding(row, field: str, value: float, source: float, defect: str, evidence: str, scenario: str = "") -> dict:
    return {
        "dataset_id": str(row.dataset_id),
        "field": field,
        "published": value,
        "source_value": source,
        "defect": defect,
        "source_uuid": row.uuid,
        "source_scenario": scenario,
        "declared_unit": f"{row.declared_amount:g} {row.declared_unit}",
        "evidence": evidence,
    }


def run() -> pd.DataFrame:
    br18, obd = load_library(["br18"], table="published"), load_library(["obd2020"])
    rows = published(br18)
    rows = rows[rows["uuid"].notna() & rows["uuid"].map(lambda u: f"obd2020:{u}" in obd)]
    rows = rows.rename(columns={"A1-A3": "A1_A3"})
    linked: dict[str, dict] = {}
    for row in rows.itertuples(index=False):
        try:
            index = obd.resolve(f"obd2020:{row.uuid}")
            amount = float(row.declared_amount)  # type: ignore[arg-type]
            values = source_values(obd, index, str(row.declared_unit), amount)
        except ConversionError:
            continue
        linked[str(row.dataset_id)] = {
            "unit": str(row.declared_unit),
            "values": {m: [v for _, v in vs if v != 0.0] for m, vs in values.items()},
        }
    linked["__published__"] = {m: rows[m.replace("-", "_")].dropna().tolist() for m in MODULES}
    findings = [f for row in rows.itertuples(index=False) for f in check_row(row, obd, linked)]
    findings += generic_findings(published(br18).rename(columns={"A1-A3": "A1_A3"}), linked, findings)
    table = pd.DataFrame(findings)
    table.attrs["checked"] = len(rows)
    table.attrs["rows"] = len(br18)
    return table


def generic_findings(rows: pd.DataFrame, linked: dict[str, dict], found: list[dict]) -> list[dict]:
    """``generic_per_kg`` and ``mass_grams`` findings (see the module docstring) over every row."""
    done = {(f["dataset_id"], f["field"]) for f in found}
    mass = {
        f["dataset_id"]: f["source_value"] for f in found if f["field"] == "mass_factor" and f["defect"] in CORRECTED
    }
    rows = rows.assign(uuid=rows["uuid"].fillna(""))
    out: list[dict] = []
    per_kg = rows[rows["declared_unit"] == "kg"]
    for module in ("C3", "C4"):
        counts = per_kg[module].dropna().round(9).value_counts()
        for value in counts[counts >= GENERIC_MIN_ROWS].index:
            if value == 0:
                continue  # zero per kg is zero per any unit
            group = per_kg[per_kg[module].round(9) == value]
            typical = float((group["A1_A3"] / group["declared_amount"]).median())  # A1-A3 per kg of the group
            others = rows[(rows["declared_unit"] != "kg") & (rows[module].round(9) == value)]
            for row in others.itertuples(index=False):
                out += _generic_row(row, module, float(value), typical, len(group), linked, done, mass)
    return out


def _generic_row(row, module, value, typical, n, linked, done, mass) -> list[dict]:
    """The generic per-kg findings of one row declared per m², m or piece (and its mass slip)."""
    if (row.dataset_id, module) in done or linked.get(str(row.dataset_id), {}).get("values", {}).get(module):
        return []  # the source declares the module: check_row compared them
    out = []
    kg = float(mass.get(row.dataset_id, row.mass_factor))
    if not (math.isfinite(kg) and kg > 0):
        return []
    implied = float(row.A1_A3) / kg / float(row.declared_amount)
    if row.declared_unit == "piece" and implied * 1e3 < typical * 10 and implied * 1e3 > typical / 10:
        evidence = (
            f"A1-A3 {row.A1_A3:.6g} per piece over {kg:.6g} kg is {implied:.3g} per kg, 10³ below the {n} rows "
            f"declared per kg that publish the same generic {module} (median {typical:.3g} per kg); read in grams, "
            f"the piece weighs {kg / 1e3:.6g} kg and gives {implied * 1e3:.3g} per kg"
        )
        out.append(_finding(row, "mass_factor", kg, kg / 1e3, "mass_grams", evidence))
        done.add((row.dataset_id, "mass_factor"))
        kg /= 1e3
    per_unit = value * kg * float(row.declared_amount)
    evidence = (
        f"published {value:.6g} per {row.declared_unit} is the generic {module} per kg that {n} rows declared per "
        f"kg publish; the source declares no {module}; × {kg:.6g} kg per {row.declared_unit} = {per_unit:.6g}"
    )
    out.append(_finding(row, module, value, per_unit, "generic_per_kg", evidence))
    return out


def report(table: pd.DataFrame) -> str:
    counts = table.groupby(["defect", "field"]).size().rename("n").reset_index()
    lines = [
        "# BR18 Tabel 7 against its ÖKOBAUDAT 2020-II sources",
        "",
        "Generated by `python scripts/check_tabel7.py` — do not edit by hand.",
        f"Rows in Tabel 7: {table.attrs['rows']}; rows whose link names a data set in `data/epd/obd2020`: "
        f"{table.attrs['checked']} (the others link EPD Danmark PDFs or data sets not in the 2020-II export).",
        f"Tolerance: {RTOL:.0%} (Tabel 7 prints three significant figures). Every scenario the source declares "
        "for a module is tried.",
        "",
        "| defect | field | findings |",
        "|---|---|---:|",
        *[f"| {r.defect} | {r.field} | {r.n} |" for r in counts.itertuples(index=False)],
        "",
        "`neighbour`, `eol_per_kg`, `mass_factor`, `generic_per_kg` and `mass_grams` findings are corrected in",
        "`corrections.csv`; `shared`",
        "(a generic end-of-life value many rows use on purpose) and `other` findings (a different scenario",
        "or data version than the link, a rounding) are listed here and left as published:",
        "",
        "| row | field | published | source | evidence |",
        "|---|---|---:|---:|---|",
    ]
    for r in table[~table["defect"].isin(CORRECTED)].itertuples(index=False):
        lines.append(f"| {r.dataset_id} | {r.field} | {r.published:.6g} | {r.source_value:.6g} | {r.evidence} |")
    lines += [
        "",
        "Mass factors of rows whose source declares no mass (no density, area weight, mass per piece or",
        "per-kg factor in the 2020-II export) cannot be checked against it; a window fitting of 1014 kg",
        "(G0785) is caught by the `mass_grams` rule instead (its A1-A3 per kg against the metal rows').",
        "",
        *_named_rows(table),
    ]
    return "\n".join(lines) + "\n"


#: rows issue 22 asked about: the reading the sources imply, stated once in CHECK.md
NAMED = {
    "br18:G1061": "acrylic facade paint, per kg: Tabel 7 prints A1-A3 1.48 and D -0.0101, the values of the "
    "data set G1018 links; its own source (ÖKOBAUDAT 2020-II Fassadenfarbe Dispersionsfarbe) gives 2.106 and -0.00943",
    "br18:G0768": "hot-dip galvanised steel sheet, per m² (5.72 kg/m²): D is the per-kg value of the end-of-life "
    "data set G0122 links; C4 0.000682 is the generic per-kg C4 of the metal rows",
    "br18:G0785": "aluminium fitting of a double-sash window, per piece: mass factor 1014 is grams, D the per-kg "
    "value of the stainless steel data set G0763 links, C4 the generic per-kg C4 of the metal rows",
    "br18:G1292": "OSB, per m³ (600 kg/m³): C3 1.80 and D -0.523 are per-kg values of the data sets G0765 and G0810 "
    "link; the source gives 977 and -370 per m³ (D: energy recovery scenario)",
}


def _named_rows(table: pd.DataFrame) -> list[str]:
    lines = ["Rows asked about in issue 22, with every correction applied to them:", ""]
    for dataset_id, reading in NAMED.items():
        fixed = table[(table["dataset_id"] == dataset_id) & table["defect"].isin(CORRECTED)]
        changes = "; ".join(
            f"{r.field} {r.published:.6g} → {r.source_value:.6g} ({r.defect})" for r in fixed.itertuples()
        )
        lines.append(f"- **{dataset_id}**: {reading}. Corrected: {changes or 'nothing'}.")
    return lines


def main() -> None:
    table = run()
    corrections = table[table["defect"].isin(CORRECTED)]
    corrections = corrections.rename(columns={"source_value": "corrected"})
    corrections.to_csv(OUT / "corrections.csv", index=False, float_format="%.10g")
    (OUT / "CHECK.md").write_text(report(table), encoding="utf-8")
    print(f"{len(table)} findings, {len(corrections)} corrections -> {OUT}")


if __name__ == "__main__":
    main()

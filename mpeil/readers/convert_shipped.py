"""Regenerate the shipped EPD libraries in ``data/epd/`` from the raw source files.

Usage::

    python -m mpeil.readers.convert_shipped SHARED_DIR [--out DATA_EPD_DIR] [--only SOURCE ...]

``SHARED_DIR`` is the folder holding ``data-candidates/`` (or that folder itself). For each
source it writes ``<out>/<source>/datasets.parquet`` + ``values.parquet`` (zstd) and a
``SOURCE.md`` with provenance, SHA-256 of the raw files, licence, what the conversion did
and counts. The ILCD JSON files are also copied to ``<out>/ilcd/json/`` so that users and
tests can re-read them without the raw folder.

Sources: ``obd2024`` (ÖKOBAUDAT 2024-I generic + specific, first module row per data set),
``obd2020`` (ÖKOBAUDAT 2020-II full export), ``br18`` (BR18 Tabel 7), ``ilcd`` (16 ILCD+EPD
data sets).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import MpeilError
from ..hashing import file_sha256
from ..model.library import EPDLibrary
from ..paths import data_dir
from .br18 import read_br18
from .epd_common import NOTES_COLUMN
from .ilcd import read_ilcd_frames
from .oekobaudat import read_oekobaudat

__all__ = ["main", "convert", "SOURCES"]


@dataclass(frozen=True)
class ShippedSource:
    name: str
    folder: str  # under data-candidates/
    files: tuple[str, ...]  # raw files in that folder (glob patterns allowed)
    title: str
    provenance: str
    licence: str
    conversion: str


_OBD_CONVERSION = """\
- Read with `mpeil.readers.oekobaudat.read_oekobaudat` (flavour detected from the header:
  `;` + latin-1 for the official export, `,` + UTF-8 for the processed 2024-I files; decimal
  commas such as `Bezugsgroesse` `3,6` are read as 3.6).
- `dataset_id` = `"<source>:<UUID>"` (`obd2024:…`, `obd2020:…`). One row per data set in `datasets.parquet` (metadata from
  its first row); one row per declared (non-empty) indicator cell in `values.parquet`, in
  source order. Zeros are kept; empty cells get no row (never 0).
- Indicator columns → catalogue codes via `data/indicators.csv` (`obd_column`): the
  EN 15804+A1 columns `GWP`…`ADPF` → `GWP-A1`…`ADPF-A1`, the `(A2)` columns → `GWP-total`…`WDP`
  (`SOP (A2)` → `SQP`), resource/waste/output flows → `PERE`…`EET`.
- `Modul` is kept as given (A1-A3, or A1, A2, A3 separately, A4 … D); `Szenario` → `scenario`
  (`""` when none). `A1-A3` is built from A1 + A2 + A3 by `EPDLibrary.tensor` only when all
  three are declared.
- `Typ` → `data_type` (`generic dataset` → `generic`, …); `Konformität` → `standard`
  (`EN 15804+A2` when it says +A2, else from the filled indicator set).
- `Bezugseinheit` → `declared_unit` via `mpeil.units.parse_unit` (`qm` → `m2`, `pcs.` → `piece`,
  `a` → `year`, `kgkm`/`t*km` → `t*km`); `Bezugsgroesse` → `declared_amount`.
- **Transport quirk**: the transport data sets declare `1000 t*km` (2024-I) / `1000 kgkm`
  (2020-II), but the values are per **1 t·km** (truck "LKW": GWP-total 0.1107 kg CO2e in
  2024-I, GWP 0.0897 in 2020-II — plausible per t·km, 1000× too small per 1000 t·km); i.e. the
  reference is 1000 kg·km. They are stored as `declared_amount = 1`, `declared_unit = "t*km"`.
  These corrections come from `data/epd/declared_unit_corrections.csv` (with reasons) and are
  written into each data set's `notes`.
- Property columns: `Rohdichte` → `gross_density_kg_m3`, `Schuettdichte` → `bulk_density_kg_m3`,
  `Flaechengewicht` → `area_weight_kg_m2`, `Schichtdicke` → `layer_thickness_m`, `Ergiebigkeit` →
  `yield_m2`, `Laengengewicht` → `linear_weight_kg_m`, `Stueckgewicht` → `mass_per_piece_kg`,
  biogenic carbon content (+ packaging) → `biogenic_carbon_kg` / `biogenic_carbon_packaging_kg`
  (kg C per declared amount, as stated).
- **`Umrechungsfaktor auf 1kg`** is meant as "declared amounts per kg" (factor × declared amount
  = 1 kg, e.g. 0.001 for a 1000 kg data set), but the exports fill it both ways round: many data
  sets hold the mass instead (e.g. `550` next to a gross density of 550 kg/m3, `0.0058` next to
  173 kg/m3). The converter decides per data set: against the mass the other properties give
  (±5 %), or, for m2 data sets with a density but no thickness, by which reading gives a layer
  between 1 mm and 1 m; otherwise the factor is not used. The stored `conversion_factor_to_kg`
  always means declared units per kg; each decision is written into `notes`.
- Extra column `notes` (text): every correction, unused or inverted factor and property
  contradiction, per data set.
"""

SOURCES: dict[str, ShippedSource] = {
    "obd2024": ShippedSource(
        name="obd2024",
        folder="oekobaudat-2024-I-a1a3",
        files=("generic_data.csv", "specific_data.csv"),
        title="ÖKOBAUDAT release 2024-I (EN 15804+A2, EF 3.1) — first module row per data set",
        provenance="""\
- Repository `n3xtcoder-ai4impact/bbsr_challenge_team4` (https://github.com/n3xtcoder-ai4impact/bbsr_challenge_team4),
  files `data/processed/generic_data.csv` and `data/processed/specific_data.csv` at commit
  `425d0d0540e88130cbd90d7ec15a8752aeec7f72` (2025-04-26); removed in later commits.
- Made by that repository from the official export `OBD_2024_I.csv` (data stock
  `ca70a7e6-0ea4-4e90-a947-d44585783626`, "ÖBD-Release vom 02.10.2024"): generic and specific
  data sets only (average/representative/template dropped), and **only the first row of each
  data set kept** (`drop_duplicates(subset=["UUID"])`). So this library holds mostly `A1-A3`
  and no C/D modules for materials; 158 specific EPDs keep only `A1` (their A2/A3 were
  dropped, so `A1-A3` stays NaN for them).""",
        licence="""\
Data: ÖKOBAUDAT (BMWSB/BBSR), provided free of charge and without restriction under the
ÖKOBAUDAT terms of use (https://www.oekobaudat.de, "Nutzungsbedingungen"), intended mainly for
building LCA. Cite "ÖKOBAUDAT (BBSR), release 2024-I". The processed files come from a repository
under the MIT licence (© 2025 AI for Impact by N3XTCODER).""",
        conversion=_OBD_CONVERSION,
    ),
    "obd2020": ShippedSource(
        name="obd2020",
        folder="oekobaudat-2020-II",
        files=("OBD_2020_II.csv",),
        title="ÖKOBAUDAT release 2020-II (EN 15804+A1) — full CSV export",
        provenance="""\
- Repository `n3xtcoder/ai4impact-bbsr` (https://github.com/n3xtcoder/ai4impact-bbsr), path
  `data/OBD/OBD_2020_II.csv` at commit `beabaaa9d0cb552cfb1f4773f25197ebe11b9b0e` (2025-04-03).
- The official ÖKOBAUDAT "export CSV" of data stock `OBD_2020_II`
  (stock UUID `448d1096-2017-4901-a560-f652a83c737e`): one row per (data set, module, scenario),
  EN 15804+A1 indicators only (the `(A2)` columns are empty in this release).""",
        licence="""\
Data: ÖKOBAUDAT (BMWSB/BBSR), provided free of charge and without restriction under the
ÖKOBAUDAT terms of use (https://www.oekobaudat.de), intended mainly for building LCA. Cite
"ÖKOBAUDAT (BBSR), release 2020-II". The source repository's LICENSE.md restates that the
ÖKOBAUDAT part may be used, modified and redistributed for any purpose.""",
        conversion=_OBD_CONVERSION
        + """\
- Also corrected (see `data/epd/declared_unit_corrections.csv`): *Kältemittel R410a*
  (`988bb7c3-…`) declares `1e-06 kg` but its values are per 1 kg (B1 = 2087.5 kg CO2e, the
  GWP100 of 1 kg R410a) → stored per 1 kg.
- Three data sets have `Bezugsgroesse` "not available" and no `Bezugseinheit` (two Schüco
  curtain-wall units "B x H: 3050 mm x 3050 mm", Kooltherm K5 "1 m², 100mm Dicke"): their values
  are kept, `declared_amount`/`declared_unit` stay empty, so `tensor()` gives NaN and
  conversions raise `ConversionError` for them.
- Not changed, for the record: the B6 data sets "Nutzung - Umwälzpumpe …" declare `1 a` with the
  reference flow "Betriebsstunde" (operating hour); three B6 data sets declare `8765.78 a`
  (8765.78 is the number of hours in a year). Unverified; not relevant to material scores.
""",
    ),
    "br18": ShippedSource(
        name="br18",
        folder="br18-tabel7",
        files=("tabel7.csv",),
        title="BR18 Bilag 2 Tabel 7 (Danish generic GWP data), version 2 (2020-12-22)",
        provenance="""\
- Repository `ocni-dtu/table7` (https://github.com/ocni-dtu/table7), path `src/tabel7.csv` at
  commit `4d7cb0c42be52c6d4e3984f3711252a9496a7e21` (2023-08-05).
- Original table: BR18 Bilag 2, Tabel 7, version 2 (2020-12-22),
  https://bygningsreglementet.dk/Bilag/B2/Bilag_2/Tabel_7""",
        licence="""\
Part of an annex to the Danish building regulation (an executive order), free of copyright
under Ophavsretsloven §9. Cite "BR18 Bilag 2 Tabel 7". The CSV's repository is MIT-licensed
(© 2023 Christian Kongsgaard).""",
        conversion="""\
- Read with `mpeil.readers.br18.read_br18`. `dataset_id` = `"br18:<Sorterings ID without #>"`.
- GWP only, modules `A1-A3`, `C3`, `C4`, `D`, stored as indicator **`GWP-A1`** (Tabel 7 is
  built on EN 15804+A1 data, mostly ÖKOBAUDAT 2020). `-` = not declared (no row).
- `Deklareret faktor (FU)` → `declared_amount`; `Deklareret enhed (FU)` (KG, M, M2, M3, STK) →
  `declared_unit` (kg, m, m2, m3, piece). Values are per declared amount × unit, as in the table.
- `Masse faktor` (kg per one declared unit) → the property of the unit's dimension: M3 →
  `gross_density_kg_m3`, M2 → `area_weight_kg_m2`, M → `linear_weight_kg_m`, STK →
  `mass_per_piece_kg` (L would become a density × 1000); not stored for KG.
- `Navn DE/ENG` → `name_de`; `Navn DK` → extra column `name_da`; `Url (link)` → `url`;
  `Data type` Generisk data → `generic`, Branche data → `average`; `Kommentar` → `notes`.
""",
    ),
    "ilcd": ShippedSource(
        name="ilcd",
        folder="lcax-ilcd-epd",
        files=("*.json",),
        title="16 ILCD+EPD data sets (soda4LCA JSON) from ÖKOBAUDAT and EPD Norge",
        provenance="""\
- Repository `ocni-dtu/lcax` (https://github.com/ocni-dtu/lcax), path
  `modules/convert/tests/ilcd/datafixtures/<uuid>.json` at commit
  `007c08d278900dc9ca79e7f113229ab06fca7c6f` (2025-03-16; later commits keep them in Git LFS).
- `0e85f255-4d11-4973-9daa-c03889948351.json` from `ocni-dtu/epdx`
  (https://github.com/ocni-dtu/epdx), path `tests/datafixtures/ilcd/`, commit
  `b56a85e3335b6b32fcb65bfb3d4fa920b170e004`.
- The JSON files are copied unchanged to `json/` beside this file.""",
        licence="""\
The data belong to the EPD owners (column `owner`) and were published through ÖKOBAUDAT
(BMWSB/BBSR) or EPD Norge; the repositories are Apache-2.0. 10 of the 16 files state
`licenseType = "Free of charge for all users and uses"`; for the other six (all ÖKOBAUDAT)
the ÖKOBAUDAT terms of use apply (free of charge, without restriction). Attribute ÖKOBAUDAT /
EPD Norge and the data set owner.""",
        conversion="""\
- Read with `mpeil.readers.ilcd.read_ilcd` (`dataset_id` = `"ilcd:<uuid>"`).
- Declared unit and amount from the reference flow: its reference flow property's
  `referenceUnit` and the exchange's `resultingflowAmount` (e.g. `1000 kg` for `503dfca1`,
  `e7ff6cf1`). Values are per that amount, as stated.
- Indicators from `LCIAResults` (impacts) and `exchanges` (resource/waste/output flows), per
  module and scenario (`C3` `S1`/`S2`, `D` `energetisch`/`stofflich`); modules listed without a
  value get no row. Recognised by reference UUID (then by acronym) with
  `data/indicator_aliases.csv`, which also maps the ILCD unit strings (`kg CO_(2)-Äq.`,
  `kg CO2 eqv.`, …) to catalogue units; +A1 sets → `GWP-A1` …, +A2 sets → `GWP-total` ….
  EPD Norge's `GWP-IOBC/GHG` has no catalogue code and is not imported (noted).
  EP-freshwater labelled `kg PO_(4)-Äq.` (the EN 15804+A2:2019 misprint) is stored as stated
  under `EP-freshwater` and noted.
- Material properties of the reference flow: `gross density`, `grammage` (→ area weight),
  `layer thickness`, `weight per unit` (→ mass per piece), `conversion factor to 1 kg` (oriented
  as for ÖKOBAUDAT), `conversion factor [mass/declared unit]`; a `Mass` flow property fills the
  mass property of the declared unit's dimension when missing; biogenic carbon flow properties →
  `biogenic_carbon_kg` / `biogenic_carbon_packaging_kg`.
- The standard comes from the compliance declaration when it says +A2/+A1, else from the
  indicator set. Checked against `lcax.convert_ilcd` in `tests/test_epd_readers.py`.
""",
    ),
}


def _raw_files(shared: Path, source: ShippedSource) -> list[Path]:
    root = shared / "data-candidates" if (shared / "data-candidates").is_dir() else shared
    folder = root / source.folder
    files: list[Path] = []
    for pattern in source.files:
        found = sorted(folder.glob(pattern))
        if not found:
            raise FileNotFoundError(f"{source.name}: no {pattern} in {folder}")
        files.extend(found)
    return files


def _source_rows(source: ShippedSource, files: list[Path]) -> str:
    """A line on the raw row count (ÖKOBAUDAT: one row per data set × module × scenario)."""
    if source.name not in ("obd2024", "obd2020"):
        return ""
    from ..model.indicators import obd_columns
    from .oekobaudat import _read_table

    total = empty = 0
    for path in files:
        table = _read_table(path)
        columns = [c for c in obd_columns() if c in table.columns]
        total += len(table)
        empty += int((table[columns].apply(lambda col: col.str.strip() == "")).all(axis=1).sum())
    return (
        f"- source rows (data set × module × scenario): **{total}**, of which {empty} hold no "
        "indicator value at all (module listed, nothing declared) and so give no value row\n"
    )


def _read(source: ShippedSource, files: list[Path], out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    if source.name in ("obd2024", "obd2020"):
        frames = [read_oekobaudat(path, source.name) for path in files]
        return (
            pd.concat([f[0] for f in frames], ignore_index=True),
            pd.concat([f[1] for f in frames], ignore_index=True),
        )
    if source.name == "br18":
        return read_br18(files[0])
    if source.name == "ilcd":
        json_dir = out / "json"
        if json_dir.exists():
            shutil.rmtree(json_dir)
        json_dir.mkdir(parents=True)
        for path in files:
            shutil.copyfile(path, json_dir / path.name)
        return read_ilcd_frames(json_dir)
    raise KeyError(source.name)


def _counts(datasets: pd.DataFrame, values: pd.DataFrame) -> str:
    def table(series: pd.Series, header: str) -> str:
        counts = series.fillna("(none)").astype(str).value_counts()
        lines = [f"| {header} | count |", "|---|---|"]
        lines += [f"| {key} | {value} |" for key, value in counts.items()]
        return "\n".join(lines)

    module_rows = values.drop_duplicates(["dataset_id", "module", "scenario"])
    notes = datasets[NOTES_COLUMN].fillna("")
    return "\n\n".join(
        [
            f"- data sets: **{len(datasets)}**; value rows: **{len(values)}**; "
            f"(data set, module, scenario) combinations with values: **{len(module_rows)}**",
            f"- data sets with a note: {int((notes != '').sum())} (declared unit corrected: "
            f"{int(notes.str.contains('→').sum())}; conversion factor to 1 kg inverted: "
            f"{int(notes.str.contains('stored inverted').sum())}, not used: "
            f"{int(notes.str.contains('conversion factor to 1 kg [^;]* not used', regex=True).sum())})",
            table(datasets["data_type"], "data_type"),
            table(datasets["standard"], "standard"),
            table(datasets["declared_unit"], "declared_unit"),
            table(
                module_rows["module"] + module_rows["scenario"].map(lambda s: f" ({s})" if s else ""),
                "module (scenario): data sets",
            ),
            table(values["indicator"], "indicator: value rows"),
        ]
    )


def convert(name: str, shared: Path, out_root: Path) -> EPDLibrary:
    """Convert one source into ``out_root/<name>/``; returns the library as written."""
    source = SOURCES[name]
    files = _raw_files(shared, source)
    out = out_root / name
    out.mkdir(parents=True, exist_ok=True)
    datasets, values = _read(source, files, out)
    library = EPDLibrary(datasets, values, name=name)  # validates ids and dtypes
    library.datasets.to_parquet(out / "datasets.parquet", compression="zstd", index=False)
    library.values.to_parquet(out / "values.parquet", compression="zstd", index=False)
    sizes = {p: (out / p).stat().st_size for p in ("datasets.parquet", "values.parquet")}
    hashes = "\n".join(f"| `{path.name}` | {path.stat().st_size} | `{file_sha256(path)}` |" for path in files)
    text = f"""# {source.title}

Generated by `python -m mpeil.readers.convert_shipped SHARED_DIR` — do not edit by hand.
Files: `datasets.parquet` ({sizes["datasets.parquet"]} bytes) and `values.parquet`
({sizes["values.parquet"]} bytes), zstd; layout in `mpeil/model/library.py` (storage contract).

## Where from
{source.provenance}

Raw files (`data-candidates/{source.folder}/`):

| file | bytes | SHA-256 |
|---|---|---|
{hashes}

## Licence and attribution
{source.licence}

## What the conversion did
{source.conversion}
## Counts
{_source_rows(source, files)}{_counts(library.datasets, library.values)}
"""
    (out / "SOURCE.md").write_text(text, encoding="utf-8")
    return library


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mpeil.readers.convert_shipped", description=__doc__.split("\n")[0])
    parser.add_argument("shared_dir", type=Path, help="folder holding data-candidates/ (or that folder)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: the shipped data/epd)")
    parser.add_argument("--only", nargs="+", choices=sorted(SOURCES), default=None, help="convert only these sources")
    args = parser.parse_args(argv)
    out_root = args.out or data_dir() / "epd"
    for name in args.only or list(SOURCES):
        try:
            library = convert(name, args.shared_dir, out_root)
        except (MpeilError, FileNotFoundError) as exc:
            print(f"error: {name}: {exc}", file=sys.stderr)
            return 1
        print(f"{name}: {len(library)} data sets, {len(library.values)} value rows → {out_root / name}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

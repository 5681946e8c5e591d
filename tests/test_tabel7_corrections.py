"""BR18 Tabel 7 corrections (issue 8): every corrected row against the ÖKOBAUDAT 2020-II data set its
link names, read from the shipped parquet files; ``br18`` uses them by default, the table as
published stays selectable."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from mpeil.model.library import load_library
from mpeil.paths import data_dir

EPD = data_dir() / "epd"
CORRECTIONS = pd.read_csv(EPD / "br18" / "corrections.csv", keep_default_na=False)
OBD_DATASETS = pd.read_parquet(EPD / "obd2020" / "datasets.parquet").set_index("source_uuid")
OBD_VALUES = pd.read_parquet(EPD / "obd2020" / "values.parquet")
BR18_DATASETS = pd.read_parquet(EPD / "br18" / "datasets.parquet").set_index("dataset_id")
BR18_VALUES = pd.read_parquet(EPD / "br18" / "values.parquet")


def _source_value(row) -> float:
    """GWP (EN 15804+A1) of the linked data set, per the Tabel 7 row's declared amount (same unit)."""
    source = OBD_DATASETS.loc[row.source_uuid]
    amount, unit = row.declared_unit.split(" ", 1)
    assert unit == source["declared_unit"]  # every corrected row has the unit of its source
    values = OBD_VALUES[
        (OBD_VALUES["dataset_id"] == source["dataset_id"])
        & (OBD_VALUES["module"] == row.field)
        & (OBD_VALUES["scenario"] == row.source_scenario)
        & (OBD_VALUES["indicator"] == "GWP-A1")
    ]
    assert len(values) == 1
    return float(values["value"].iloc[0]) / float(source["declared_amount"]) * float(amount)


def test_the_issue_examples_are_found_by_the_check():
    found = set(zip(CORRECTIONS["dataset_id"], CORRECTIONS["field"], strict=True))
    # issue 8: swapped pairs, the paint rows, per-kg end of life on m³/m²/piece rows
    for expected in [
        ("br18:G0224", "A1-A3"),
        ("br18:G0620", "A1-A3"),
        ("br18:G0410", "A1-A3"),
        ("br18:G0731", "A1-A3"),
        ("br18:G0092", "A1-A3"),
        ("br18:G1061", "A1-A3"),
        ("br18:G1292", "C3"),
        ("br18:G0768", "D"),
        ("br18:G0785", "D"),
    ]:
        assert expected in found


@pytest.mark.parametrize("row", list(CORRECTIONS.itertuples(index=False)), ids=lambda r: f"{r.dataset_id}-{r.field}")
def test_each_correction_is_its_source(row):
    if row.defect in ("generic_per_kg", "mass_grams"):
        _check_generic(row)
        return
    if row.field == "mass_factor":
        source = OBD_DATASETS.loc[row.source_uuid]
        column = {"m2": "area_weight_kg_m2", "m3": "gross_density_kg_m3", "piece": "mass_per_piece_kg"}[
            row.declared_unit.split(" ", 1)[1]
        ]
        assert float(row.corrected) == pytest.approx(float(source[column]), rel=1e-9)
        assert float(row.published) == pytest.approx(float(BR18_DATASETS.loc[row.dataset_id, column]), rel=1e-9)
        return
    assert float(row.corrected) == pytest.approx(_source_value(row), rel=1e-9)
    published = BR18_VALUES[(BR18_VALUES["dataset_id"] == row.dataset_id) & (BR18_VALUES["module"] == row.field)]
    assert float(row.published) == pytest.approx(float(published["value"].iloc[0]), rel=1e-9)
    assert not math.isclose(float(row.published), float(row.corrected), rel_tol=0.02)


def _check_generic(row) -> None:
    """Issue 22: a generic per-kg end-of-life value on a row of another unit is multiplied by the
    row's own mass per unit (after its mass correction); a mass in grams is divided by 1000."""
    unit = row.declared_unit.split(" ", 1)[1]
    column = {"m2": "area_weight_kg_m2", "m": "linear_weight_kg_m", "piece": "mass_per_piece_kg"}[unit]
    published_mass = float(BR18_DATASETS.loc[row.dataset_id, column])
    if row.defect == "mass_grams":
        assert float(row.published) == pytest.approx(published_mass, rel=1e-12)
        assert float(row.corrected) == pytest.approx(published_mass / 1000.0, rel=1e-12)
        return
    mass = CORRECTIONS[(CORRECTIONS["dataset_id"] == row.dataset_id) & (CORRECTIONS["field"] == "mass_factor")]
    kg = float(mass["corrected"].iloc[0]) if len(mass) else published_mass
    # the same value on at least 5 rows declared per kg: a value per kg (GENERIC_MIN_ROWS)
    per_kg_rows = BR18_VALUES[
        (BR18_VALUES["module"] == row.field) & (BR18_VALUES["value"].round(9) == round(float(row.published), 9))
    ]
    units = BR18_DATASETS.loc[per_kg_rows["dataset_id"], "declared_unit"]
    assert (units == "kg").sum() >= 5
    assert float(row.corrected) == pytest.approx(float(row.published) * kg, rel=1e-9)


def test_issue_22_rows_are_corrected():
    found = set(zip(CORRECTIONS["dataset_id"], CORRECTIONS["field"], strict=True))
    for expected in [("br18:G0768", "C4"), ("br18:G0785", "C4"), ("br18:G0785", "mass_factor")]:
        assert expected in found
    g0785 = load_library(["br18"]).resolve("br18:G0785")
    assert load_library(["br18"]).mass_per_unit(g0785) == pytest.approx(1.014)  # published 1014 (grams)


def test_br18_uses_the_corrected_rows_and_the_published_table_stays_selectable():
    corrected, published = load_library(["br18"]), load_library(["br18"], table="published")
    for row in CORRECTIONS[CORRECTIONS["field"] != "mass_factor"].itertuples(index=False):
        i = corrected.resolve(row.dataset_id)
        a = corrected.tensor(("GWP-A1",), (row.field,))[i, 0, 0]
        b = published.tensor(("GWP-A1",), (row.field,))[i, 0, 0]
        assert a == pytest.approx(float(row.corrected), rel=1e-12)
        assert b == pytest.approx(float(row.published), rel=1e-12)
    g0757 = corrected.resolve("br18:G0757")
    assert corrected.mass_per_unit(g0757) == pytest.approx(2.391)  # published 2391 kg per m² (1000× off)
    assert published.mass_per_unit(g0757) == pytest.approx(2391.0)

"""The TOTEM-style workbook: results per element and layer, and a bill of materials that reads back."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

import mpeil
from mpeil.readers import read_building, read_buildings

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "examples" / "terraced_house.json"


def _sheet(workbook, name) -> list[dict]:
    rows = list(workbook[name].iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_workbook_round_trip_and_results(tmp_path):
    out = tmp_path / "results.xlsx"
    run = subprocess.run(
        [sys.executable, "-m", "mpeil", "workbook", str(EXAMPLE), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    building = read_building(EXAMPLE)
    assert read_buildings(out) == [building]  # the bill_of_materials sheet reads back to the same building
    score = mpeil.score(building).scores["score"].iloc[0]
    assert mpeil.score(out).scores["score"].iloc[0] == score

    workbook = openpyxl.load_workbook(out, read_only=True)
    assert workbook.sheetnames == ["elements", "layers", "bill_of_materials"]
    elements, layers = _sheet(workbook, "elements"), _sheet(workbook, "layers")
    assert len(layers) == sum(len(e.layers) for e in building.elements)
    assert [e["element"] for e in elements] == [e.id for e in building.elements]
    counted = [c for c in elements[0] if c.startswith("score ") and "(D)" not in c]
    total = sum(row[c] or 0.0 for row in elements for c in counted)
    assert total == pytest.approx(score, rel=1e-9)  # elements add up to the building score (D not counted)
    # a stage no data set declares is an empty cell, never 0
    footing = layers[0]
    assert footing["GWP-total beyond (D) (kg CO2 eq.)"] is None
    assert footing["GWP-total product (A1-A3) (kg CO2 eq.)"] > 0

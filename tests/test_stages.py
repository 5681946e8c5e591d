"""The staged pipeline (mpeil.stages) gives today's scores bit for bit, and Scorer.score is its composition.

The expected values are literal: ``tests/fixtures/stages/baseline.json`` was captured by
``tests/fixtures/stages/capture_baseline.py`` from commit a4e0776, the independent previous
implementation (``Scorer.score`` before the stages existed), for the shipped examples and a
1,000-building synthetic stock (``generate_stock(1000, seed=20)``), under ``mpeil-ef31`` and ``gwp``.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from batch_support import good_building

import mpeil
from mpeil import stages
from mpeil.errors import DuplicateBuildingError
from mpeil.readers import write_building
from mpeil.synthetic import generate_stock

FIXTURES = Path(__file__).parent / "fixtures" / "stages"
ROOT = Path(__file__).parents[1]
BASELINE = json.loads((FIXTURES / "baseline.json").read_text())

_spec = importlib.util.spec_from_file_location("capture_baseline", FIXTURES / "capture_baseline.py")
assert _spec is not None and _spec.loader is not None
capture = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(capture)


@pytest.fixture(scope="module", params=capture.METHODS)
def scorer(request):
    return mpeil.Scorer(request.param)


@pytest.fixture(scope="module")
def stock():
    return generate_stock(capture.STOCK_SIZE, seed=capture.STOCK_SEED)


def test_baseline_came_from_the_previous_implementation():
    assert BASELINE["commit"].startswith("a4e0776")


def _columns_then(scores: pd.DataFrame, method: str) -> dict[str, dict]:
    """The canonical rows restricted to the baseline's columns, which must all be there, in the
    same order (columns added since, e.g. by other issues, are not compared)."""
    columns = BASELINE["cases"][f"{method}/{capture.EXAMPLES[0]}"]["rows"]
    columns = next(iter(columns.values()))["__columns__"]
    present = [c for c in scores.columns if c in columns]
    assert present == columns
    return capture.score_rows(scores[columns])


@pytest.mark.parametrize("name", capture.EXAMPLES)
def test_examples_score_as_before_bit_for_bit(scorer, name):
    expected = BASELINE["cases"][f"{scorer.method.name}/{name}"]
    result = scorer.score(ROOT / "scenarios" / "examples" / name)
    assert _columns_then(result.scores, scorer.method.name) == expected["rows"]
    assert capture.element_hashes(result) == expected["elements"]


def test_stock_scores_as_before_bit_for_bit(scorer, stock):
    expected = BASELINE["cases"][f"{scorer.method.name}/stock"]
    result = scorer.score(stock)
    rows = _columns_then(result.scores, scorer.method.name)
    assert len(rows) == capture.STOCK_SIZE
    assert {b: row["score"] for b, row in rows.items()} == expected["scores"]
    assert {b: capture.row_hash(row) for b, row in rows.items()} == expected["row_sha256"]
    assert capture.element_hashes(result) == expected["elements"]


def test_scorer_score_is_the_composition_of_the_stages(scorer, stock):
    frame = stock[stock["building_id"].isin(stock["building_id"].unique()[:20])]
    context = scorer.context
    data = stages.read(frame)
    compiled = stages.compile(context, data)
    inventory = stages.characterise(context, compiled, data)
    scores = stages.weight(context, inventory)
    result = stages.assess(context, inventory, scores)
    direct = scorer.score(frame)
    pd.testing.assert_frame_equal(result.scores, direct.scores)
    assert result.provenance == direct.provenance
    assert inventory.elements.values.tobytes() == direct.elements.values.tobytes()


def test_context_is_frozen_and_holds_one_weight_vector(scorer):
    context = scorer.context
    with pytest.raises(AttributeError):
        context.method = None  # type: ignore[misc]
    method = context.method
    position = {code: j for j, code in enumerate(context.indicators)}
    # the weight of each method indicator is score_scale × normalisation⁻¹ × weight (hand-derived
    # from the method file through Method.effective_factor); report-only indicators weigh 0
    for spec in method.indicators:
        assert context.weights[position[spec.code]] == method.score_scale * spec.effective_factor
    others = [j for code, j in position.items() if code not in {s.code for s in method.indicators}]
    assert np.all(context.weights[others] == 0.0)


def test_long_tables_hold_the_list_cells_one_row_per_item(scorer):
    result = scorer.score(ROOT / "scenarios" / "examples" / "apartment_building.json")
    scores = stages.Scores(result.scores)
    table = result.scores
    assert list(scores.buildings.index) == list(table.index)
    assert all(not isinstance(v, (list, dict)) for v in scores.buildings.iloc[0].to_numpy())
    n_gaps = sum(
        len(table[c].iloc[0]) for c in ("indicators_missing", "indicators_partial", "uncovered", "module_gaps")
    )
    assert len(scores.gaps) == n_gaps
    assert len(scores.flags) == len(table["flags"].iloc[0])
    n_estimates = len(table["indicators_estimated"].iloc[0]) + len(table["estimated_datasets"].iloc[0])
    assert len(scores.estimates) == n_estimates


def test_inventory_long_table_sums_to_the_building_totals(scorer):
    data = stages.read(ROOT / "scenarios" / "examples" / "terraced_house.json")
    context = scorer.context
    inventory = stages.characterise(context, stages.compile(context, data), data)
    elements = inventory.to_frame("element")
    buildings = inventory.to_frame("building")
    n_m, n_i = len(inventory.modules), len(inventory.indicators)
    assert len(buildings) == n_m * n_i  # one building
    assert len(elements) == inventory.compiled.n_elements * n_m * n_i
    # invariant: the element rows of one module and indicator sum to the building row
    summed = elements.groupby(["module", "indicator"], sort=False)["value"].sum(min_count=1)
    building = buildings.set_index(["module", "indicator"])["value"]
    np.testing.assert_allclose(summed.reindex(building.index).fillna(0), building.fillna(0), rtol=1e-12)


def test_compile_refuses_one_building_id_from_two_inputs_naming_both(tmp_path):
    first, second = tmp_path / "a.json", tmp_path / "b.csv"
    write_building(good_building(1), first)
    write_building(good_building(1), second)  # the same id, "house-001"
    data = stages.read([first, second])  # reading gathers; the one duplicate-id check is compile's
    assert data.sources == ((("house-001",), str(first)), (("house-001",), str(second)))
    context = stages.prepare("gwp")
    with pytest.raises(
        DuplicateBuildingError, match=f"'house-001' appears twice in one call \\(first in {first}\\)"
    ) as caught:
        stages.compile(context, data)
    assert caught.value.file == str(second) and caught.value.building == "house-001"

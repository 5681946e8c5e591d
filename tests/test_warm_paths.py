"""The one-house warm paths (issue 21's warm target) give what the general paths give, bit for bit.

Each faster path is compared with the path it replaces: the flat frame from row lists with the one
from row dicts and a group-by, the score table built indexed with ``set_index`` on the plain one,
the plausibility arrays with :meth:`Result.per_m2_year`, the estimated-line counts with a per-line
count, the memoised flags of the method with a pandas filter of ``library.flags``. A frame given as
is is still type-checked; one flattened from model buildings is marked so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from batch_support import good_building

import mpeil
from mpeil import stages
from mpeil.compile.flatten import OPERATIONAL_ELEMENT_TYPE, _flatten_rows, _line_numbers, flatten
from mpeil.errors import InputError
from mpeil.methods import trust
from mpeil.methods.scoring import grade_and_label, weigh_buildings, weigh_buildings_by_id
from mpeil.model.bom import bom_rows
from mpeil.readers import read_buildings
from mpeil.synthetic import generate_stock

HOUSE = "scenarios/examples/terraced_house.json"


@pytest.fixture(scope="module")
def stock():
    """12 synthetic buildings as a flat frame (given as is)."""
    return generate_stock(12, seed=21)


@pytest.fixture(scope="module")
def buildings():
    """Model buildings: six small houses and the example terraced house."""
    return [good_building(i) for i in range(6)] + read_buildings(HOUSE)


@pytest.fixture(scope="module", params=["mpeil-ef31", "gwp"])
def scored(request, stock):
    """(context, compiled, inventory) of the stock and the house, under each method."""
    scorer = mpeil.Scorer(request.param)
    data = stages.read([stock, HOUSE])
    context = scorer.context.for_buildings(data.buildings)
    compiled = stages.compile(context, data)
    return context, compiled, stages.characterise(context, compiled, data)


def test_flatten_is_the_frame_of_row_dicts(buildings):
    for some in (buildings, buildings[-1:], buildings[:1]):
        rows = [row for row in bom_rows(some) if row["element_type"] != OPERATIONAL_ELEMENT_TYPE]
        fast = flatten(some)
        general = _flatten_rows(rows)  # row dicts, lines numbered by a group-by
        pd.testing.assert_frame_equal(fast, general, check_exact=True)
        assert fast.dtypes.to_dict() == general.dtypes.to_dict()
    small = flatten(buildings[:1])  # a wall of two lines, then a floor of two (tests/batch_support.py)
    assert small["line"].tolist() == [1, 2, 1, 2] and small["line"].dtype == np.int64
    assert small["element_id"].tolist() == ["wall", "wall", "floor", "floor"]


def test_flatten_of_nothing_keeps_its_columns():
    frame = flatten([])
    assert frame.empty and "line" in frame.columns
    pd.testing.assert_frame_equal(frame, _flatten_rows([], _line_numbers([])), check_exact=True)


def test_score_table_by_id_is_set_index(scored):
    context, _, inventory = scored
    plain = weigh_buildings(inventory.elements, context.method, inventory.totals, inventory.trust)
    fast = weigh_buildings_by_id(inventory.elements, context.method, inventory.totals, inventory.trust)
    expected = plain.set_index("building_id")
    pd.testing.assert_frame_equal(fast, expected, check_exact=True)
    assert fast.index.dtype == expected.index.dtype and fast.index.name == "building_id"
    assert len(fast) == 13


def test_plausibility_arrays_are_per_m2_year(scored):
    context, _, inventory = scored
    result = stages.assess(context, inventory, stages.weight(context, inventory))
    for include_d in (False, True, None):
        frame = result.per_m2_year(include_d)
        values = result._per_m2_year_values(include_d)
        assert list(frame.columns) == result.indicators
        np.testing.assert_array_equal(values, frame.to_numpy(dtype=np.float64))  # NaN where NaN, else equal bits


def test_estimated_counts_are_a_per_line_count():
    rng = np.random.default_rng(21)
    for _ in range(200):
        n_b, n_sets, n_lines, n_i = (int(rng.integers(1, k)) for k in (6, 9, 40, 5))
        line_building = np.sort(rng.integers(0, n_b, n_lines))
        dataset = rng.integers(0, n_sets, n_lines)
        estimated = rng.random((n_sets, n_i)) < 0.3
        ids = np.array([f"ds-{d}" for d in range(n_sets)], dtype=object)
        counts, sets = trust._estimated_by_building(line_building, dataset, estimated, ids, n_b)
        expected = np.zeros((n_b, n_i), dtype=np.int64)
        for b, d in zip(line_building.tolist(), dataset.tolist(), strict=True):
            expected[b] += estimated[d]
        assert counts.dtype == np.int64
        np.testing.assert_array_equal(counts, expected)
        for b in range(n_b):
            used = sorted({d for bb, d in zip(line_building, dataset, strict=True) if bb == b and estimated[d].any()})
            assert sets[b] == [f"ds-{d}" for d in used]


def test_method_flags_are_the_pandas_filter(scored):
    context, compiled, inventory = scored
    library = context.library
    codes = tuple(i.code for i in context.method.indicators)
    flags = library.flags
    used_ids = set(library.datasets["dataset_id"].iloc[np.unique(compiled.dataset)])
    keep = flags["dataset_id"].isin(used_ids) & (flags["indicator"].isin(codes) | (flags["indicator"] == ""))
    expected = list(zip(flags.loc[keep, "dataset_id"], flags.loc[keep, "indicator"], flags.loc[keep, "reason"]))
    used = np.bincount(compiled.dataset, minlength=len(library.datasets)) > 0
    memoised = [(d_id, i, r) for d, d_id, i, r in trust._method_flags(library, codes) if used[d]]
    assert memoised == expected
    assert expected or context.method.name == "gwp"  # mpeil-ef31 scores flagged data sets of the house
    assert len(inventory.trust.flag_labels) == len(expected)
    for (dataset_id, indicator, reason), label in zip(expected, inventory.trust.flag_labels, strict=True):
        assert label.startswith(f"{dataset_id} (") and label.endswith(f"{indicator or 'properties'}: {reason}")


def test_trust_is_the_same_when_memoised(scored):
    context, compiled, inventory = scored
    again = trust.assess_lines(compiled, inventory.elements.replacements, context.library, context.method)
    first = inventory.trust
    np.testing.assert_array_equal(again.estimated_lines, first.estimated_lines)
    np.testing.assert_array_equal(again.flag_contributions, first.flag_contributions)
    assert again.flag_labels == first.flag_labels and again.estimated_datasets == first.estimated_datasets
    assert again.driver_share == 0.10  # data/epd/screening.csv
    assert again.dataset_ids is not first.dataset_ids  # each LineTrust owns its ids


def test_only_frames_from_model_buildings_skip_the_type_check(buildings):
    assert stages.read(HOUSE).from_model
    assert stages.read(buildings[0]).from_model
    frame = flatten(buildings[:1])
    assert not stages.read(frame).from_model
    assert not stages.read([buildings[1], frame]).from_model
    bad = frame.copy()
    bad["amount"] = bad["amount"].astype(object)
    bad.loc[0, "amount"] = True  # a boolean is no number: refused on a frame given as is
    with pytest.raises(InputError, match="not a finite number"):
        mpeil.Scorer("gwp").score(bad)


def test_a_graded_table_is_not_graded_twice(scored):
    context, compiled, inventory = scored
    graded = stages.assess_scores(context, inventory, stages.weight(context, inventory)).table
    assert graded.columns.tolist().count("quality_grade") == 1
    with pytest.raises(ValueError, match="cannot insert quality_grade, already exists"):
        grade_and_label(graded, context.method, compiled.use_type)

"""The engine's aggregation against plain line-order sums, and the profile grouping against pandas.

The reference below is the definition in :func:`mpeil.engine.core.aggregate`'s docstring written as
a loop: each segment's value is ``((0 + w₁·u₁) + w₂·u₂) + …`` over its lines in order (a gap counts
as 0), gap counts and contributing lines are counted line by line, and a cell is NaN where every
contributing line is a gap. The fast path skips all-zero profile columns, merges weight groups and
keeps gap counts per class of columns; none of that may change a bit.
"""

import dataclasses
import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from mpeil.api import Scorer
from mpeil.engine import ElementResults, aggregate, line_weights, prepare_lines, run_engine
from mpeil.engine.core import _MODULE_INDEX, WEIGHT_GROUPS, GapCounts, SegmentValues, aggregate_planned, plan_groups
from mpeil.engine.profiles import _group_codes
from mpeil.synthetic import generate_stock


def line_order_sums(segment, n_segments, profile, weights, values, missing):
    """Values, gap counts and contributing lines summed one line at a time."""
    filled = np.nan_to_num(values, nan=0.0)
    n_modules, n_ind = values.shape[1:]
    out = np.zeros((n_segments, n_modules, n_ind))
    gaps = np.zeros((n_segments, n_modules, n_ind), dtype=np.int64)
    lines = np.zeros((n_segments, n_modules), dtype=np.int64)
    for group, modules in WEIGHT_GROUPS.items():
        w = getattr(weights, group)
        for module in modules:
            k = _MODULE_INDEX[module]
            for line, (s, p) in enumerate(zip(segment, profile, strict=True)):
                with np.errstate(invalid="ignore"):  # inf · 0
                    out[s, k] = out[s, k] + w[line] * filled[p, k]
                if w[line] != 0:
                    lines[s, k] += 1
                    gaps[s, k] += missing[p, k]
    out[(gaps > 0) & (gaps == lines[:, :, None])] = np.nan
    return out, gaps, lines


def full_width_products(segment, n_segments, profile, weights, values, missing):
    """The values as one sparse product per weight group over every profile column (none skipped,
    no groups merged), NaN where every contributing line lacks data: the dense computation."""
    filled = np.nan_to_num(values, nan=0.0)
    n_profiles, n_modules, n_ind = values.shape
    indptr = np.concatenate([[0], np.cumsum(np.bincount(segment, minlength=n_segments))])
    out = np.zeros((n_segments, n_modules, n_ind))
    gaps = np.zeros((n_segments, n_modules, n_ind))
    lines = np.zeros((n_segments, n_modules, 1))
    for group, modules in WEIGHT_GROUPS.items():
        w = getattr(weights, group)
        ks = [_MODULE_INDEX[m] for m in modules]
        matrix = sp.csr_matrix((w, profile, indptr), shape=(n_segments, n_profiles))
        with np.errstate(invalid="ignore"):  # inf · 0
            out[:, ks] = (matrix @ filled[:, ks].reshape(n_profiles, -1)).reshape(n_segments, len(ks), n_ind)
        contributes = sp.csr_matrix(((w != 0).astype(float), profile, indptr), shape=(n_segments, n_profiles))
        gaps[:, ks] = (contributes @ missing[:, ks].reshape(n_profiles, -1)).reshape(n_segments, len(ks), n_ind)
        lines[:, ks] = np.asarray(contributes.sum(axis=1))[:, :, None]
    out[(gaps > 0) & (gaps == lines)] = np.nan
    return out


def assert_same_bits(actual, expected):
    """Equal arrays, NaN where NaN, and the same bits elsewhere (−0.0 is not +0.0)."""
    assert actual.shape == expected.shape
    nan = np.isnan(expected)
    np.testing.assert_array_equal(np.isnan(actual), nan)
    assert actual[~nan].tobytes() == expected[~nan].tobytes()


def small_case(infinite_weight=False):
    """60 lines over 12 segments (3 of them empty), 5 profiles × 13 modules × 3 indicators, with
    all-zero columns, gaps in some profiles, parts kept and removed in a renovation."""
    rng = np.random.default_rng(20)
    n_lines, n_segments, n_profiles = 60, 12, 5
    segment = np.sort(rng.choice([s for s in range(n_segments) if s not in (0, 5, 11)], n_lines))
    profile = rng.integers(0, n_profiles, n_lines)
    values = rng.standard_normal((n_profiles, 13, 3)) * 10.0 ** rng.integers(-4, 4, (n_profiles, 13, 3))
    values[:, _MODULE_INDEX["B1"]] = 0.0  # a module no profile has a value for
    values[:, _MODULE_INDEX["C1"], 2] = 0.0  # one indicator of a module
    values[0, _MODULE_INDEX["A4"]] = np.nan  # gaps: a whole module of one profile,
    values[3, _MODULE_INDEX["D"]] = np.nan
    values[:, _MODULE_INDEX["A5"], 1] = np.nan  # one indicator in every profile,
    values[4, _MODULE_INDEX["C3"], 1] = np.nan  # one indicator of one profile
    quantity = rng.uniform(0.1, 50.0, n_lines)
    quantity[7] = 0.0  # a line without quantity does not contribute
    if infinite_weight:
        quantity[3] = np.inf  # inf · 0 is NaN: all-zero columns must be multiplied too
    replacements = rng.integers(0, 3, n_lines).astype(np.float64)
    existing = rng.random(n_lines) < 0.2
    removed = ~existing & (rng.random(n_lines) < 0.1)
    weights = line_weights(quantity, replacements, existing, removed)
    return segment, n_segments, profile, weights, values, np.isnan(values)


@pytest.mark.parametrize("infinite_weight", [False, True])
def test_aggregate_equals_line_order_sums(infinite_weight):
    case = small_case(infinite_weight)
    values, missing, contributing = aggregate(*case)
    expected_values, expected_missing, expected_lines = line_order_sums(*case)
    assert_same_bits(values, expected_values)
    assert missing.dtype == np.uint16
    np.testing.assert_array_equal(missing, expected_missing)
    np.testing.assert_array_equal(contributing, expected_lines)
    # the case has what it is meant to have: NaN cells, zero cells and empty segments
    assert np.isnan(values).any() and (values == 0).any() and not values[[0, 5, 11]].any()


def test_all_zero_column_stays_nan_with_an_infinite_weight():
    segment, n_segments, profile, weights, values, missing = small_case(infinite_weight=True)
    out, _, _ = aggregate(segment, n_segments, profile, weights, values, missing)
    b1 = out[:, _MODULE_INDEX["B1"]]  # every profile has 0 here: only inf · 0 makes NaN
    assert np.isnan(b1[segment[3]]).all()
    assert not np.isnan(np.delete(b1, segment[3], axis=0)).any()


@pytest.fixture(scope="module")
def stock_run():
    scorer = Scorer()
    compiled = scorer.compile_frame(generate_stock(3, seed=7))
    context = scorer.context
    prepared = prepare_lines(compiled, context.library, context.scenarios, context.engine_options)
    results = run_engine(compiled, context.library, context.scenarios, context.engine_options)
    return compiled, prepared, results


def test_run_engine_elements_and_buildings_equal_line_order_sums(stock_run):
    compiled, prepared, results = stock_run
    profiles = prepared.profiles
    for segment, n_segments, got in (
        (compiled.line_element, compiled.n_elements, (results.values, results.missing, results.contributing)),
        (
            compiled.line_building,
            compiled.n_buildings,
            (results.building_values, results.building_missing, results.building_contributing),
        ),
    ):
        expected = line_order_sums(
            segment, n_segments, prepared.profile_index, prepared.weights, profiles.values, profiles.missing
        )
        assert_same_bits(got[0], expected[0])
        np.testing.assert_array_equal(got[1], expected[1])
        np.testing.assert_array_equal(got[2], expected[2])
    assert results.missing.any()  # the synthetic stock has gaps


@pytest.mark.parametrize("infinite_weight", [False, True])
def test_lazy_values_equal_full_width_products(infinite_weight):
    case = small_case(infinite_weight)
    values, _, _ = aggregate_planned(plan_groups(*case[3:]), *case[:3])
    assert isinstance(values, SegmentValues)
    # fewer columns multiplied than there are (B1 is zero in every profile), unless a weight is infinite
    stored = sum(product.shape[1] for product, _ in values.parts)
    assert (stored < 13 * 3) != infinite_weight
    assert_same_bits(values.dense(), full_width_products(*case))


def test_run_engine_values_equal_full_width_products(stock_run):
    compiled, prepared, results = stock_run
    profiles = prepared.profiles
    expected = full_width_products(
        compiled.line_element,
        compiled.n_elements,
        prepared.profile_index,
        prepared.weights,
        profiles.values,
        profiles.missing,
    )
    assert_same_bits(results.values, expected)
    assert np.isnan(expected).any() and (expected == 0).any()
    # the stock has both kinds of NaN cells: columns NaN for every element, and for some
    plan = plan_groups(prepared.weights, profiles.values, profiles.missing)
    compact, _, _ = aggregate_planned(plan, compiled.line_element, compiled.n_elements, prepared.profile_index)
    assert_same_bits(compact.dense(), expected)
    assert {len(rows) == compiled.n_elements for _, rows in compact.undeclared} == {True, False}


def test_scoring_a_frame_leaves_the_element_values_compact():
    result = Scorer().score(generate_stock(3, seed=11))
    assert result.scores["score"].notna().all()
    elements = result.elements
    assert isinstance(vars(elements)["_values_stored"], SegmentValues)  # not made by the scores
    dense = elements.values
    assert isinstance(dense, np.ndarray) and dense.dtype == np.float64
    assert dense.shape == (elements.compiled.n_elements, 13, len(elements.indicators))
    assert elements.values is dense  # made on the first read, then kept
    assert isinstance(vars(elements)["_values_stored"], np.ndarray)


def test_values_and_missing_are_arrays_made_once_and_replace_keeps_them():
    segment, n_segments, profile, weights, values, missing = small_case()
    plan = plan_groups(weights, values, missing)
    out, gaps, contributing = aggregate_planned(plan, segment, n_segments, profile)
    assert isinstance(gaps, GapCounts)
    results = ElementResults(
        compiled=None,  # type: ignore[arg-type]
        modules=(),
        indicators=(),
        values=out,
        missing=gaps,
        contributing=contributing,
        replacements=np.zeros(len(segment)),
        fallback_lines=np.zeros((0, 3), dtype=np.int64),
        options=None,  # type: ignore[arg-type]
    )
    transferred = pickle.loads(pickle.dumps(results))  # a batch worker's transfer keeps the compact forms
    assert isinstance(vars(transferred)["_values_stored"], SegmentValues)
    assert isinstance(vars(transferred)["_missing_stored"], GapCounts)
    assert_same_bits(transferred.values, out.dense())
    dense = results.missing
    assert isinstance(dense, np.ndarray) and dense.shape == out.shape and dense.dtype == np.uint16
    assert results.missing is dense  # made on the first read, then kept
    np.testing.assert_array_equal(dense, line_order_sums(segment, n_segments, profile, weights, values, missing)[1])
    again = pickle.loads(pickle.dumps(dataclasses.replace(results, missing=gaps)))  # a batch worker's transfer
    np.testing.assert_array_equal(again.missing, dense)
    assert_same_bits(again.values, out.dense())  # replace reads the values: the dense array goes over
    sliced = dataclasses.replace(results, missing=dense[:, :, :1])
    np.testing.assert_array_equal(sliced.missing, dense[:, :, :1])
    with pytest.raises(dataclasses.FrozenInstanceError):
        results.missing = dense  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        results.values = again.values  # type: ignore[misc]


def test_group_codes_equal_pandas_groupby():
    rng = np.random.default_rng(5)
    n = 2000
    dataset = rng.integers(0, 40, n)
    category = dataset % 7  # determined by the data set
    share = np.where(category == 3, np.nan, category / 10.0)  # determined, with NaN
    share_free = rng.choice([0.0, -0.0, 0.25, np.nan], n)  # not determined; 0.0 and −0.0 are one key
    wide = rng.choice([-(2**40), 0, 2**40], n)  # an integer column too wide to code by offset
    constant = np.full(n, 7.5)
    all_nan = np.full(n, np.nan)
    flag = rng.random(n) < 0.5
    columns = [dataset, category, share, share_free, wide, constant, all_nan, flag]
    expected = (
        pd.DataFrame(dict(enumerate(columns)))
        .groupby(list(range(len(columns))), sort=False, dropna=False)
        .ngroup()
        .to_numpy()
    )
    np.testing.assert_array_equal(_group_codes(columns), expected)
    # −0.0 and 0.0 fall into one group, as in pandas
    assert len(np.unique(_group_codes([share_free]))) == 3


def test_unique_columns_equal_numpy_unique_along_columns():
    """The gap classes' grouping of equal mask columns: the classes (in numpy's order) and each column's
    class are those of ``np.unique(mask, axis=1, return_inverse=True)``, on random masks with repeated
    columns, one profile, all gaps and no gaps."""
    from mpeil.engine.core import _unique_columns

    rng = np.random.default_rng(21)
    masks = [np.ones((3, 5), dtype=bool), np.zeros((4, 7), dtype=bool), rng.random((1, 9)) < 0.5]
    for _ in range(300):
        n_profiles, n_columns = int(rng.integers(1, 60)), int(rng.integers(1, 90))
        mask = rng.random((n_profiles, n_columns)) < rng.random()
        mask[:, rng.integers(0, n_columns, n_columns // 2)] = mask[:, [0]]  # repeated columns
        masks.append(mask)
    for mask in masks:
        expected, expected_class = np.unique(mask, axis=1, return_inverse=True)
        classes, column_class = _unique_columns(mask)
        assert classes.dtype == bool and classes.shape == expected.shape
        assert (classes == expected).all()
        assert column_class.tolist() == expected_class.reshape(-1).tolist()

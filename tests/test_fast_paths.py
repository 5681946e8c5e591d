"""The faster paths of compile, validation, trust, scoring, labels and plausibility (issue 20) give
what the general paths give, bit for bit.

Each fast path is compared with the path it short-cuts: dense first-appearance factorising with
``pandas.factorize``, a categorical frame with the same frame of plain objects (and shuffled), the
dense (building, data set) count with the sort it replaces, one ``searchsorted`` per use type with
one per score, and the plausibility stage sums skipped far from a bound with pandas' own sums.
Expected values are literal or come from the general path, never from the fast path itself.
"""

from __future__ import annotations

import dataclasses
import pickle
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import mpeil
from mpeil import plausibility
from mpeil.compile import compile_frame
from mpeil.compile.compiler import _combine, _factorize, _first_appearance
from mpeil.methods import trust
from mpeil.methods.labels import LABELS, LabelScale
from mpeil.methods.scoring import _codes_where, _counts_by_code
from mpeil.synthetic import generate_stock


def _pandas_first_rows(codes: np.ndarray) -> list[int]:
    return [int(np.argmax(codes == c)) for c in range(int(codes.max()) + 1)] if codes.size else []


def test_first_appearance_is_pandas_factorize():
    rng = np.random.default_rng(20)
    for _ in range(400):
        n, size = int(rng.integers(0, 40)), int(rng.integers(1, 7))
        shape = rng.random()
        if shape < 0.4:  # values changing from row to row (the hash-table branch of _factorize)
            key = rng.integers(-1, size - 1 if size > 1 else 0, n)
        elif shape < 0.8:  # runs, as a building's lines come together
            key = np.repeat(rng.integers(-1, size - 1 if size > 1 else 0, n // 3 + 1), 3)[:n]
        else:
            key = np.full(n, -1)
        codes, first = _first_appearance(key, size)
        expected, _ = pd.factorize(key, sort=False)
        assert np.array_equal(codes, expected)
        assert list(first) == _pandas_first_rows(expected)
        categorical = pd.Series(pd.Categorical.from_codes(key, categories=[f"c{i}" for i in range(size)]))
        got_codes, got_values = _factorize(categorical)
        plain_codes, plain_values = pd.factorize(categorical.astype(object), sort=False)
        assert np.array_equal(got_codes, plain_codes) and got_codes.dtype == np.int64
        assert list(got_values) == list(plain_values)
        a, b = rng.integers(-1, 3, n), rng.integers(-1, 4, n)
        row_codes, first_rows = _combine(a, b)
        expected, _ = pd.factorize((a + 1) * 10 + (b + 1), sort=False)
        assert np.array_equal(row_codes, expected) and list(first_rows) == _pandas_first_rows(expected)


def test_factorize_literal():
    series = pd.Series(pd.Categorical(["b", None, "a", "b", "a", None], categories=["a", "b", "c"]))
    codes, values = _factorize(series)
    assert codes.tolist() == [0, -1, 1, 0, 1, -1]
    assert values.tolist() == ["b", "a"]


def test_small_text_factorize_is_pandas_factorize():
    """Short text columns (Arrow strings, objects) are factorised by a loop over their strings: the same
    codes and distinct values as ``pd.factorize``; columns with other values (NaN, pd.NA, numbers) or
    longer than the loop's limit take pandas' way, and still give its answer."""
    from mpeil.compile.compiler import _SMALL_TEXT_LINES, _factorize_small_text

    rng = np.random.default_rng(21)
    words = np.array(["a", "b", "", "é x", "B", "a "], dtype=object)
    cases = [pd.Series([], dtype="str"), pd.Series([], dtype=object), pd.Series([None] * 5, dtype=object)]
    for _ in range(200):
        n = int(rng.integers(0, 60))
        cells = list(words[rng.integers(0, len(words), n)])
        for i in np.flatnonzero(rng.random(n) < 0.3):
            cells[i] = None
        cases += [pd.Series(cells, dtype="str"), pd.Series(cells, dtype=object)]
    others = [["a", np.nan, "b"], ["a", pd.NA], ["1", 1, 1.0], [True, "a"]]
    cases += [pd.Series(cells, dtype=object) for cells in others]
    cases.append(pd.Series(["x", None, "y"] * (_SMALL_TEXT_LINES // 3 + 1), dtype="str"))
    looped = 0
    for series in cases:
        codes, values = _factorize(series)
        expected_codes, expected_values = pd.factorize(series, sort=False)
        assert codes.dtype == np.int64 and codes.tolist() == expected_codes.tolist()
        assert values.dtype == object and values.tolist() == list(expected_values)
        looped += _factorize_small_text(series) is not None
    assert looped == len(cases) - len(others) - 1  # every short text column took the loop


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """The same frame without categorical columns (objects, as a CSV reader or a user gives them)."""
    return frame.assign(
        **{c: frame[c].astype(object) for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)}
    )


def _fields(compiled) -> dict:
    out = {}
    for field in dataclasses.fields(compiled):
        value = getattr(compiled, field.name)
        if isinstance(value, np.ndarray):
            kinds = [type(v).__name__ for v in value.ravel()] if value.dtype == object else None
            value = (str(value.dtype), value.shape, value.tolist() if value.dtype == object else value.tobytes(), kinds)
        out[field.name] = value
    return out


@pytest.fixture(scope="module")
def scorer():
    return mpeil.Scorer()


@pytest.fixture(scope="module")
def stock():
    frame = generate_stock(12, seed=20)
    # some lines give end-of-life shares, a share sorted on site, a loss rate, no transport
    frame = _plain(frame)
    frame.loc[::7, ["eol_landfill", "eol_incineration", "eol_reuse", "eol_recycling"]] = [0.2, 0.3, 0.1, 0.4]
    frame.loc[::11, "eol_sorted_on_site"] = 0.5
    frame.loc[::5, "loss_rate"] = 0.03
    frame.loc[::13, "transport"] = None
    frame.loc[3::17, "waste_category"] = None  # no category: no end-of-life shares of one
    return frame


def test_categorical_frame_compiles_as_plain_objects(scorer, stock):
    categorical = stock.assign(**{c: stock[c].astype("category") for c in stock.columns if stock[c].dtype == object})
    plain = scorer.compile_frame(stock)
    assert _fields(scorer.compile_frame(categorical)) == _fields(plain)
    assert (plain.waste_category == -1).any()  # lines without a category took the code -1 path


def test_shuffled_frame_compiles_as_presorted(scorer, stock):
    """Lines in any order go through the compiler's stable sort; the same lines already in that
    order (buildings, then elements, in first appearance; lines of an element as given) skip it."""
    shuffled = stock.sample(frac=1.0, random_state=3).reset_index(drop=True)
    building_rank, _ = pd.factorize(shuffled["building_id"], sort=False)
    element_rank, _ = pd.factorize(shuffled["building_id"] + "\x00" + shuffled["element_id"], sort=False)
    presorted = shuffled.iloc[np.lexsort((element_rank, building_rank))].reset_index(drop=True)
    assert not presorted.equals(shuffled)
    assert _fields(scorer.compile_frame(shuffled)) == _fields(scorer.compile_frame(presorted))


def test_line_building_is_gathered_once_and_not_pickled(scorer):
    compiled = scorer.compile("scenarios/examples/terraced_house.json")
    line_building = compiled.line_building
    assert compiled.line_building is line_building and not line_building.flags.writeable
    assert np.array_equal(line_building, compiled.element_building[compiled.line_element])
    copy = pickle.loads(pickle.dumps(compiled))
    assert "line_building" not in copy.__dict__
    assert np.array_equal(copy.line_building, line_building)


def test_errors_name_the_same_line_in_both_paths(scorer):
    frame = _plain(generate_stock(3, seed=5))
    frame.loc[20, "unit"] = "parsec"  # not a unit of any data set
    frame.loc[9, "product"] = "nope:x"  # the first problem in line order
    library, scenarios = scorer.library, scorer.scenarios
    messages = []
    for given in (
        frame,
        frame.assign(unit=frame["unit"].astype("category"), product=frame["product"].astype("category")),
    ):
        with pytest.raises(mpeil.errors.MpeilError) as caught:
            compile_frame(given, library, scenarios, 60.0)
        messages.append(str(caught.value))
    assert messages[0] == messages[1] and "nope:x" in messages[0]


def test_dense_building_dataset_pairs_equal_the_sort():
    rng = np.random.default_rng(4)
    line_building = np.sort(rng.integers(0, 30, 2000))
    dataset = rng.integers(0, 500, 2000)
    dense = trust._building_dataset_pairs(line_building, dataset, 30, 500)
    ordered = np.sort(line_building * 500 + dataset)
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    lines = np.diff(np.append(starts, ordered.size)).astype(np.float64)
    expected = (ordered[starts] // 500, ordered[starts] % 500, lines)
    for got, want in zip(dense, expected, strict=True):
        assert np.array_equal(got, want) and got.dtype == want.dtype


def test_per_building_lists_literal():
    counts = np.array([[0, 2, 0], [0, 0, 0], [5, 0, 1]])
    assert _counts_by_code(["A", "B", "C"], counts) == [{"B": 2}, {}, {"A": 5, "C": 1}]
    assert _codes_where(["A", "B", "C"], counts > 0) == [["B"], [], ["A", "C"]]


def test_labels_per_use_type_equal_one_search_per_score():
    bounds = {"house": np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, np.inf]), "office": np.array([1, 2, 3, 4, 5, 6, np.inf])}
    scale = LabelScale("m", "mPt", bounds, pd.DataFrame())
    rng = np.random.default_rng(7)
    use_types = [rng.choice(["house", "office", "shed", None]) for _ in range(300)]
    scores = rng.uniform(0, 8, 300)
    scores[::17] = np.nan
    scores[::23] = 0.3  # on a bound: the label of that bound
    expected = [
        LABELS[int(np.searchsorted(bounds[u], s, side="left"))] if u in bounds and np.isfinite(s) else None
        for u, s in zip(use_types, scores, strict=True)
    ]
    assert scale.assign(use_types, scores) == expected
    assert scale.assign(["house", "house", "office"], [0.1, 0.15, np.nan]) == ["A", "B", None]


def _stage_result(values: np.ndarray, absent: np.ndarray, denominator: np.ndarray) -> SimpleNamespace:
    modules = [f"M{i}" for i in range(values.shape[1])]
    return SimpleNamespace(
        indicators=["X"],
        modules=modules,
        _totals=SimpleNamespace(values=values),
        _denominator=lambda per_year: denominator,
        _absent=absent,
    )


def test_stage_sums_are_skipped_only_far_from_the_bounds():
    """Bounds right at (one ulp beside) a building's pandas stage sum: never judged far, so a sum
    beyond a bound always reaches the exact pandas check."""
    rng = np.random.default_rng(11)
    for _ in range(600):
        n_b, k = int(rng.integers(1, 5)), int(rng.integers(1, 8))
        values = rng.normal(0, 10.0 ** int(rng.integers(-3, 10)), (n_b, 13, 1))
        values[:, 1, 0] = -values[:, 0, 0]  # cancellation
        values[rng.random((n_b, 13, 1)) < 0.3] = np.nan
        absent = rng.random((n_b, 1)) < 0.1
        denominator = rng.uniform(50, 5000, n_b)
        result = _stage_result(values, absent, denominator)
        modules = list(rng.choice(result.modules, k, replace=False))
        data = np.where(absent[:, 0][:, None], np.nan, values[:, :, 0] / denominator[:, None])
        exact = pd.DataFrame(data, columns=result.modules)[modules].sum(axis=1, min_count=1).to_numpy()
        value = exact[int(rng.integers(0, n_b))]
        value = 1.0 if np.isnan(value) else value
        low, high = (
            (np.nextafter(value, np.inf), np.inf) if rng.random() < 0.5 else (-np.inf, np.nextafter(value, -np.inf))
        )
        row = SimpleNamespace(indicator="X", minimum=low, maximum=high)
        if ((exact < low) | (exact > high)).any():
            assert plausibility._near_bound(result, row, modules)
    far = _stage_result(np.ones((2, 13, 1)), np.zeros((2, 1), bool), np.array([100.0, 200.0]))
    assert not plausibility._near_bound(far, SimpleNamespace(indicator="X", minimum=-1.0, maximum=1.0), ["M0", "M1"])


def test_waste_category_shares_gathered_once_equal_the_per_category_lookup(scorer):
    """The scenarios' waste categories gathered once per library (one gather per compile) give each
    category the shares and share sorted on site that ``ScenarioSet.eol_shares`` and the table give."""
    from mpeil.compile.compiler import _category_shares

    scenarios, table = scorer.scenarios, scorer.scenarios.waste_categories
    names = [str(name) for name in table.index][::-1]
    shares, sorted_on_site = _category_shares(None, scenarios, np.arange(len(names)), names, scorer.library)
    assert len(names) > 5
    for k, name in enumerate(names):
        assert shares[k].tobytes() == np.array(scenarios.eol_shares(name), dtype=np.float64).tobytes()
        expected = float(table.at[name, "sorted_on_site"]) if "sorted_on_site" in table else np.nan
        assert sorted_on_site[k].tobytes() == np.float64(expected).tobytes()


def test_a_frame_with_another_index_compiles_as_one_indexed_from_zero(scorer, stock):
    """A frame indexed 0, 1, … is compiled as given; any other index is reset first: the same arrays."""
    shifted = stock.set_axis(np.arange(len(stock))[::-1] * 3 + 7)
    assert _fields(scorer.compile_frame(shifted)) == _fields(scorer.compile_frame(stock))

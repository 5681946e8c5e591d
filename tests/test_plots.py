"""result.plot: every plot renders to a PNG that is not blank, with labels and units, and the bars
drawn are the numbers of by_stage / by_element / by_indicator / compare."""

import io

import numpy as np
import pytest

import mpeil
from mpeil.paths import scenarios_dir
from mpeil.testing import tiny_library, tiny_scenarios

EXAMPLE = scenarios_dir() / "examples" / "terraced_house.json"


@pytest.fixture(scope="module")
def library():
    from mpeil.model.library import load_library

    return load_library(["obd2024"])


@pytest.fixture(scope="module")
def result(library):
    from mpeil.readers import read_building

    house = read_building(EXAMPLE)
    variant = house.model_copy(deep=True, update={"id": "thin-roof"})
    variant.elements[3].layers[0].amount *= 0.5  # less of the roof's first layer
    return mpeil.score([house, variant], library=library)


def _png_pixels(ax, path) -> np.ndarray:
    import matplotlib.image

    buffer = io.BytesIO()
    ax.figure.savefig(buffer, format="png", dpi=60)
    path.write_bytes(buffer.getvalue())  # kept as a test artefact
    buffer.seek(0)
    return matplotlib.image.imread(buffer)[:, :, :3]


def _assert_not_blank(pixels: np.ndarray) -> None:
    non_white = (pixels < 0.95).any(axis=2).mean()
    assert pixels.std() > 0.05, "the image is (nearly) one colour"
    assert non_white > 0.03, f"only {non_white:.1%} of the pixels are drawn"


def _bars(ax):
    from matplotlib.patches import Rectangle

    return [p for p in ax.patches if isinstance(p, Rectangle)]


def test_stage_bars_are_the_by_stage_numbers(result, tmp_path):
    ax = result.plot.stages("example-terraced-house")
    _assert_not_blank(_png_pixels(ax, tmp_path / "stages.png"))
    heights = [bar.get_height() for bar in _bars(ax)]
    expected = result.by_stage().loc["example-terraced-house"].to_numpy()
    np.testing.assert_allclose(heights, expected, rtol=1e-12)
    assert "mPt/(m²·yr)" in ax.get_ylabel()
    assert ax.get_xticklabels()[0].get_text() == "product\n(A1-A3)"


def test_stage_bars_of_all_buildings_side_by_side(result, tmp_path):
    ax = result.plot.stages()
    _assert_not_blank(_png_pixels(ax, tmp_path / "stages-all.png"))
    heights = np.array([bar.get_height() for bar in _bars(ax)]).reshape(2, 5)
    np.testing.assert_allclose(heights, result.by_stage().to_numpy(), rtol=1e-12)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == result.building_ids


def test_element_pareto_is_sorted_and_cumulates_to_the_score(result, tmp_path):
    ax = result.plot.elements("example-terraced-house", top=25)  # all 21 elements (issue 22: with services)
    _assert_not_blank(_png_pixels(ax, tmp_path / "elements.png"))
    elements = result.by_element("example-terraced-house")
    heights = [bar.get_height() for bar in _bars(ax)]
    np.testing.assert_allclose(heights, np.sort(elements["score"].to_numpy())[::-1], rtol=1e-12)
    cumulative = ax.figure.axes[1].lines[0].get_ydata()
    assert cumulative[-1] == pytest.approx(100.0, rel=1e-9)  # all elements shown: the whole score
    assert "mPt/(m²·yr)" in ax.get_ylabel() and "%" in ax.figure.axes[1].get_ylabel()


def test_indicator_bars_sum_to_the_score_and_mark_missing_data(result, library, tmp_path):
    ax = result.plot.indicators("example-terraced-house")
    _assert_not_blank(_png_pixels(ax, tmp_path / "indicators.png"))
    widths = {label.get_text().split(" ")[0]: bar.get_width() for bar, label in zip(_bars(ax), ax.get_yticklabels())}
    expected = result.by_indicator().loc["example-terraced-house"]
    for code, value in expected.items():
        assert widths[code] == pytest.approx(value, rel=1e-12, abs=0.0)
    assert sum(widths.values()) == pytest.approx(result.scores.loc["example-terraced-house", "score"], rel=1e-12)
    # issue 8: under the default gap policy nothing is missing; the declared policy leaves six out
    declared = mpeil.score(EXAMPLE, library=library, gap_policy="declared")
    ax = declared.plot.indicators("example-terraced-house")
    labels = [label.get_text() for label in ax.get_yticklabels()]
    missing = declared.scores.loc["example-terraced-house", "indicators_missing"]
    assert missing and all(f"{code} (no data)" in labels for code in missing)


def test_waterfall_goes_from_one_score_to_the_other_by_hand():
    """Tiny library: 2 m³ of concrete against 1 m³ (322 per m³ in the gwp score, 60 years, 1 m² GFA)."""
    from mpeil.testing import one_layer_building

    a = one_layer_building("t:concrete", 0.2, "m", element_quantity=10, service_life_years=60, building_id="A")
    b = one_layer_building("t:concrete", 0.1, "m", element_quantity=10, service_life_years=60, building_id="B")
    options = {"library": tiny_library(), "scenarios": tiny_scenarios(), "default_transport": "truck"}
    result = mpeil.score([a, b], method="gwp", **options)
    ax = result.plot.waterfall("B", baseline="A")
    bars = _bars(ax)
    assert [bar.get_height() for bar in bars] == pytest.approx([644 / 60, -322 / 60, 322 / 60], rel=1e-12)
    assert bars[1].get_y() == pytest.approx(644 / 60, rel=1e-12)  # the step starts at the baseline
    assert "kg CO2e/(m²·yr)" in ax.get_ylabel()


def test_waterfall_of_two_results_and_its_png(result, library, tmp_path):
    ax = result.plot.waterfall("thin-roof")
    _assert_not_blank(_png_pixels(ax, tmp_path / "waterfall.png"))
    bars = _bars(ax)
    scores = result.scores["score"]
    assert bars[0].get_height() == pytest.approx(scores["example-terraced-house"], rel=1e-12)
    assert bars[-1].get_height() == pytest.approx(scores["thin-roof"], rel=1e-12)
    steps = sum(bar.get_height() for bar in bars[1:-1])
    assert steps == pytest.approx(scores["thin-roof"] - scores["example-terraced-house"], rel=1e-9)


def test_plots_refuse_an_absent_building(result):
    from mpeil.errors import UnknownBuildingError

    with pytest.raises(UnknownBuildingError):
        result.plot.elements("no-such-house")

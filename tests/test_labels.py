"""A–G labels as data (issue 13): band lookup by hand, the label column, the shipped file's derivation."""

import numpy as np
import pandas as pd
import pytest

import mpeil
from mpeil.errors import MethodError
from mpeil.methods.labels import LABELS, load_label_scale

HEADER = "use_type,label,upper_bound,unit,derivation,source\n"


def _write(folder, name, bounds, use_type="terraced"):
    rows = [f"{use_type},{label},{bound},mPt,policy test,hand" for label, bound in zip(LABELS, bounds, strict=True)]
    (folder / f"{name}.csv").write_text(HEADER + "\n".join(rows) + "\n")


def test_bands_by_hand(tmp_path):
    _write(tmp_path, "m", [1, 2, 3, 4, 5, 6, "inf"])
    scale = load_label_scale("m", tmp_path)
    scores = [0.5, 1.0, 1.0001, 2.5, 6.0, 6.5, 1e9, np.nan, 1.0]
    types = ["terraced"] * 8 + ["office"]
    assert scale.assign(types, scores) == ["A", "A", "B", "C", "F", "G", "G", None, None]


@pytest.mark.parametrize(
    "bounds",
    [[1, 2, 3, 4, 5, 6, 7], [2, 1, 3, 4, 5, 6, "inf"], [1, 2, 3, 4, 5, 6, "x"]],
    ids=["no-inf", "not-increasing", "not-a-number"],
)
def test_bad_bands_are_a_typed_error(tmp_path, bounds):
    _write(tmp_path, "bad", bounds)
    with pytest.raises(MethodError, match="bands"):
        load_label_scale("bad", tmp_path)


def test_a_band_without_a_source_is_refused(tmp_path):
    (tmp_path / "x.csv").write_text(HEADER + "terraced,A,1,mPt,policy,\n")
    with pytest.raises(MethodError, match="source"):
        load_label_scale("x", tmp_path)


def test_scores_carry_the_label_where_the_method_has_a_scale():
    result = mpeil.score("scenarios/examples/terraced_house.json")
    scale = load_label_scale("mpeil-ef31")
    row = result.scores.iloc[0]
    bounds = scale.bounds["terraced"]
    expected = LABELS[int(np.argmax(row["score"] <= bounds))]  # first band whose bound is not below the score
    assert row["label"] == expected
    assert "label" not in mpeil.score("scenarios/examples/terraced_house.json", method="gwp").scores


def test_every_shipped_band_names_its_derivation_and_source():
    scale = load_label_scale("mpeil-ef31")
    assert scale.table["derivation"].str.contains("mpeil-synthetic-s1-n2000").all()
    assert scale.table["source"].str.contains("NOT a policy value").all()
    assert set(scale.bounds) == {"apartment", "office", "semi-detached", "single-family", "terraced"}


def test_the_shipped_bands_are_the_percentiles_of_the_reference_dataset():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "scripts" / "derive_label_bands.py"
    spec = importlib.util.spec_from_file_location("derive_label_bands", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh = module.reference_bands()
    shipped = pd.read_csv(Path(__file__).parents[1] / "scenarios" / "labels" / "mpeil-ef31.csv")
    pd.testing.assert_frame_equal(fresh.reset_index(drop=True), shipped, check_dtype=False)


def test_the_report_shows_the_label():
    from mpeil.outputs.report import render_report

    result = mpeil.score(["scenarios/examples/terraced_house.json", "scenarios/examples/apartment_building.json"])
    html = render_report(result)
    for building, label in result.scores["label"].items():
        assert f'data-building="{building}" data-field="label" data-value="{label}"' in html
    assert 'data-field="label"' not in render_report(
        mpeil.score("scenarios/examples/terraced_house.json", method="gwp")
    )

"""Phased obligation simulator (issue 13): the limit trajectory by hand, shares passing, uncertainty."""

import math

import numpy as np
import pandas as pd
import pytest

from mpeil.analysis.limits import load_trajectory, simulate_obligation
from mpeil.analysis.uncertainty import MonteCarloResult
from mpeil.errors import InputError

TOML = """
name = "t"
method = "mpeil-ef31"
unit = "mPt/(m²·yr)"
first_year = 2030
last_year = 2036
reduction_percent = 10.0
every_years = 3
source = "hand"
[first_limit]
terraced = 1.0
office = 2.0
"""


@pytest.fixture
def trajectory(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text(TOML)
    return load_trajectory(path)


def test_the_limit_steps_down_by_hand(trajectory):
    assert math.isnan(trajectory.limit(2029, "terraced"))
    assert trajectory.limit(2030, "terraced") == 1.0
    assert trajectory.limit(2032, "terraced") == 1.0
    assert trajectory.limit(2033, "terraced") == pytest.approx(0.9)
    assert trajectory.limit(2036, "office") == pytest.approx(2.0 * 0.81)
    assert math.isnan(trajectory.limit(2037, "terraced"))
    assert math.isnan(trajectory.limit(2030, "apartment"))


def test_share_passing_per_year_and_type(trajectory):
    scores = pd.Series([0.5, 0.95, 1.0, 1.2, 1.7], index=["a", "b", "c", "d", "e"])
    types = pd.Series(["terraced", "terraced", "terraced", "terraced", "office"], index=scores.index)
    table = simulate_obligation(trajectory, scores, types).set_index(["year", "use_type"])
    assert table.loc[(2030, "terraced"), "share_passing"] == 0.75  # 0.5, 0.95, 1.0 ≤ 1.0
    assert table.loc[(2033, "terraced"), "share_passing"] == 0.25  # limit 0.9: only 0.5
    assert table.loc[(2036, "office"), "share_passing"] == 0.0  # 1.7 > 1.62
    assert table.loc[(2030, "office"), "n"] == 1
    assert len(table) == 7 * 2


def test_uncertainty_gives_the_share_over_draws(trajectory):
    scores = pd.Series([0.8, 1.1], index=["a", "b"])
    types = pd.Series(["terraced", "terraced"], index=scores.index)
    draws = np.array([[0.8, 1.1], [0.8, 0.9], [1.2, 0.9], [0.8, 1.1]])  # shares passing 2030: .5, 1, .5, .5
    mc = MonteCarloResult(["a", "b"], draws, draws[:, :, None], ["all"], scores.to_numpy(), pd.DataFrame(), "mPt", 0)
    row = simulate_obligation(trajectory, scores, types, mc).set_index(["year", "use_type"]).loc[(2030, "terraced")]
    assert row["share_passing"] == 0.5
    assert row["p_pass_mean"] == pytest.approx(0.625)
    assert row["share_passing_p50"] == 0.5
    assert row["share_passing_p95"] == pytest.approx(np.percentile([0.5, 1, 0.5, 0.5], 95))


def test_shipped_trajectory_names_its_source_and_bad_files_fail(tmp_path):
    shipped = load_trajectory("illustrative")
    assert "not a policy value" in shipped.source.lower()
    (tmp_path / "bad.toml").write_text(TOML.replace("reduction_percent = 10.0", "reduction_percent = 120.0"))
    with pytest.raises(InputError):
        load_trajectory(tmp_path / "bad.toml")
    with pytest.raises(InputError, match="not found"):
        load_trajectory("no-such-trajectory")


def test_first_limits_can_come_from_a_label_bound(tmp_path):
    from mpeil.methods.labels import load_label_scale

    shipped = load_trajectory("illustrative")
    bounds = load_label_scale("mpeil-ef31").bounds
    assert shipped.first_limit == {t: float(b[4]) for t, b in bounds.items()}  # E = fifth band
    (tmp_path / "g.toml").write_text(
        TOML.replace("[first_limit]\nterraced = 1.0\noffice = 2.0\n", 'first_limit_from_label = "G"\n')
    )
    with pytest.raises(InputError, match="first_limit_from_label"):
        load_trajectory(tmp_path / "g.toml")

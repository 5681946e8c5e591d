"""A line's missing data at the line's scale (fix-trust, parts b and c).

- a user's EN 15804+A2 data set lacking an indicator gets the shipped peer model's estimate
  (``mpeil.model.user_estimates``), checked against the table ``scripts/build_estimates.py`` wrote
  for the shipped data set it copies;
- the shipped library's estimates stay the shipped table's rows, bit for bit;
- ``lines_missing_share``: the share of a building's lines lacking a method indicator, by hand;
- the CLI note names as "estimated from peers" only indicators every line has.
"""

import numpy as np
import pandas as pd
import pytest
from method_support import two_indicator_method

from mpeil import score
from mpeil.model import Building, Element, Layer
from mpeil.model.library import EPDLibrary, load_library
from mpeil.paths import data_dir
from mpeil.testing import tiny_library, tiny_scenarios

#: a shipped EN 15804+A2 data set (Building service engineering / Electrical / Lighting, per piece)
#: that declares no PM: data/epd/estimates/estimates.parquet fills its A1-A3 PM from its category
#: peers with EP-terrestrial as predictor (level "category", 4 peers)
LIGHT = "obd2024:08790652-66ef-4b6f-bd13-30cc0f115bad"


@pytest.fixture(scope="module")
def shipped():
    return load_library()


@pytest.fixture(scope="module")
def shipped_table():
    table = pd.read_parquet(data_dir() / "epd" / "estimates" / "estimates.parquet")
    return table[table["kind"] == "gap"]


def _user_copy(shipped, dataset_id: str, new_id: str) -> EPDLibrary:
    """The shipped data set as a user library would hold it: same values and category, a user id."""
    datasets = shipped.datasets[shipped.datasets["dataset_id"] == dataset_id].assign(dataset_id=new_id, source="u")
    values = shipped.values[shipped.values["dataset_id"] == dataset_id].assign(dataset_id=new_id)
    return EPDLibrary(datasets, values, name="u")


@pytest.fixture(scope="module")
def layered(shipped):
    return EPDLibrary.layered(shipped, [_user_copy(shipped, LIGHT, "u:light")])


def test_a_user_copy_gets_the_shipped_estimate(layered, shipped_table):
    mine = layered.estimates
    mine = mine[(mine["dataset_id"] == "u:light") & (mine["indicator"] == "PM") & (mine["module"] == "A1-A3")]
    theirs = shipped_table[
        (shipped_table["dataset_id"] == LIGHT)
        & (shipped_table["indicator"] == "PM")
        & (shipped_table["module"] == "A1-A3")
    ]
    assert len(mine) == 1 and len(theirs) == 1
    # the same peers (category level, the shipped set itself lacks PM so is no peer) and predictor
    assert mine["level"].iloc[0] == "category" and mine["predictor"].iloc[0] == "EP-terrestrial"
    assert mine["n_peers"].iloc[0] == theirs["n_peers"].iloc[0] == 4
    assert mine["value"].iloc[0] == pytest.approx(float(theirs["value"].iloc[0]), rel=1e-12)
    # every value the shipped table fills for the original, the user copy gets, equal
    all_theirs = shipped_table[shipped_table["dataset_id"] == LIGHT].set_index(["module", "indicator"])["value"]
    all_mine = layered.estimates[layered.estimates["dataset_id"] == "u:light"].set_index(["module", "indicator"])
    assert len(all_theirs) > 1
    np.testing.assert_allclose(all_mine["value"].reindex(all_theirs.index), all_theirs.to_numpy(), rtol=1e-12)


def test_the_filled_library_marks_the_user_estimate(layered):
    filled = layered.with_estimates()
    row = layered.resolve("u:light")
    assert filled.estimated(("PM", "GWP-total"), ("A1-A3",))[row, 0].tolist() == [True, False]


def test_the_shipped_library_keeps_the_shipped_table(shipped, shipped_table):
    ids = set(shipped.datasets["dataset_id"])
    expected = shipped_table[shipped_table["dataset_id"].isin(ids)].drop(columns="kind").reset_index(drop=True)
    pd.testing.assert_frame_equal(shipped.estimates, expected)


def test_an_en15804_a1_user_set_gets_no_estimate(shipped):
    a1 = shipped.datasets.loc[shipped.datasets["standard"] == "EN 15804+A1", "dataset_id"].iloc[0]
    layered = EPDLibrary.layered(shipped, [_user_copy(shipped, a1, "u:old")])
    assert not (layered.estimates["dataset_id"] == "u:old").any()


# ---------------------------------------------------------------------- lines_missing_share by hand
def test_lines_missing_share_by_hand():
    lib = tiny_library()
    values = lib.values[~((lib.values["dataset_id"] == "t:brick") & (lib.values["indicator"] == "PM"))]
    lib = EPDLibrary(lib.datasets, values, name="tiny-no-pm")
    layers = [Layer(product=p, amount=2.0, unit="kg", service_life_years=60) for p in ("t:steel", "t:brick", "t:steel")]
    house = Building(id="h", gross_floor_area_m2=100.0, elements=[Element(id="e", quantity=10.0, layers=layers)])
    row = score(house, method=two_indicator_method(), library=lib, scenarios=tiny_scenarios()).scores.iloc[0]
    # hand: 3 new lines, the brick line lacks PM → 1/3 of the lines; PM then counts as missing for
    # the building (half the indicators of a method without weights)
    assert row["lines_missing_share"] == pytest.approx(1.0 / 3.0, rel=1e-15)
    assert row["lines_missing"] == ["1 of 3 lines (t:brick brick) lack PM"]
    assert row["weight_missing"] == pytest.approx(0.5)
    complete = score(house, method=two_indicator_method(), library=tiny_library(), scenarios=tiny_scenarios())
    assert complete.scores.iloc[0]["lines_missing_share"] == 0.0


# ---------------------------------------------------------------------- the CLI note (part c)
def test_the_note_names_only_indicators_estimated_for_every_line():
    from mpeil.cli.output import building_notes as _notes

    row = pd.Series(
        {
            "label_note": None,
            "lines_missing": ["1 of 84 lines (u:x X) lack PM"],
            "flags": [],
            "flags_replaced": [],
            "indicators_estimated": {"ODP": 7, "PM": 83},
            "indicators_missing": [],
            "indicators_partial": ["PM"],
            "module_gaps": {},
            "uncovered": [],
            "mapped_volume_share": np.nan,
        }
    )
    assert _notes(row) == ["1 of 84 lines (u:x X) lack PM", "estimated from peers: ODP", "some lines lack PM"]


# ---------------------------------------------------------------------- the new user's trial, end to end
#: the shipped terraced house's plasterboard (EN 15804+A2, declares none of PM, IRP, ETP-fw, HTP-c,
#: HTP-nc, SQP: the shipped table estimates them)
BOARD = "obd2024:46c055f0-84a2-423b-ae82-5264886e51ad"


@pytest.fixture(scope="module")
def trial(shipped, tmp_path_factory):
    """The example scored as shipped, with its plasterboard as a user's copy (A2), and as a user's
    EN 15804+A1 set declaring no EF indicator (only PERE), in one call."""
    import json

    from mpeil.paths import scenarios_dir

    copy = _user_copy(shipped, BOARD, "u:board")
    old = _user_copy(shipped, BOARD, "u:old")
    old = EPDLibrary(
        old.datasets.assign(standard="EN 15804+A1"), old.values[old.values["indicator"] == "PERE"], name="u"
    )
    user = EPDLibrary.concat([copy, old], name="u")
    text = (scenarios_dir() / "examples" / "terraced_house.json").read_text(encoding="utf-8")
    assert text.count(BOARD) == 1
    folder = tmp_path_factory.mktemp("trial")
    paths = []
    for name, product in (("shipped", BOARD), ("copy", "u:board"), ("old", "u:old")):
        data = json.loads(text.replace(BOARD, product))
        data["id"] = name
        (folder / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")
        paths.append(str(folder / f"{name}.json"))
    return score(paths, library=EPDLibrary.layered(shipped, [user])).scores


def test_a_user_copy_scores_as_the_shipped_data_set(trial):
    shipped, copy = trial.loc["shipped"], trial.loc["copy"]
    # invariant: the copy gets the shipped estimates, so the building is scored the same
    assert copy["score"] == pytest.approx(shipped["score"], rel=1e-12)
    assert copy["weight_missing"] == 0.0 and copy["weight_estimated"] == pytest.approx(shipped["weight_estimated"])
    assert "u:board" in copy["estimated_datasets"] and copy["label"] == shipped["label"] is not None
    assert copy["lines_missing_share"] == 0.0


def test_an_en15804_a1_line_shows_at_its_scale_and_takes_the_label(trial):
    row = trial.loc["old"]
    # every method indicator lacks one line → all of the weighting missing, as before; but the line
    # is named at its own scale: 1 of the example's 84 layer lines (counted in the JSON file)
    assert row["weight_missing"] == 1.0 and row["quality_grade"] == "E"
    assert row["lines_missing_share"] == pytest.approx(1.0 / 84.0, rel=1e-15)
    assert row["lines_missing"] == [
        "1 of 84 lines (u:old Gypsum plaster board (fire protection, 12.5 mm)) declare no indicator of the method"
    ]
    assert pd.isna(row["label"])  # null (None, NaN in a frame of several buildings), never a letter
    assert row["label_note"] == "no M-label: 100.0% of the weighting missing (the bands allow 0%)"

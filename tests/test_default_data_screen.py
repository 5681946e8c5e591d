"""Issue 22: no value the library screen flags as an implausible outlier drives a default score.

Every data set a shipped element template (default and every choice), example building or archetype
recipe names is checked against the screen (:mod:`mpeil.model.screening`), and every template is
scored at its defaults under the default method.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from mpeil.api import Scorer
from mpeil.methods import load_method
from mpeil.model.library import load_library
from mpeil.model.templates import template_names
from mpeil.paths import scenarios_dir

DATA_SET = re.compile(r"\b(?:obd2024|obd2020|br18|ilcd):[0-9A-Za-z-]+")
DAMP_PE = "obd2024:6869f7c1-1b2b-4f30-afc9-823a0104f1d9"  # ADPE 4.4e4x its peers (issue 22)
#: data sets flagged ABOVE their peers on a weighted indicator that a template may still offer, each
#: with the reason it stays: no unflagged data set of the same material and form in ÖKOBAUDAT 2024-I
ALLOWED_ABOVE = {
    # both copper underfloor heating sets (100 and 200 mm) are flagged; PE-X (the default) and PP are not
    "obd2024:58ea368c-24fa-4cf3-9f08-f140a2be6a72": "copper underfloor heating: a choice, not the default",
}


def _shipped_files():
    root = scenarios_dir()
    return [
        *sorted((root / "elements").glob("*.toml")),
        *sorted((root / "examples").glob("*.json")),
        *sorted((root / "examples").glob("*.csv")),
        *sorted((root / "archetypes").glob("*.csv")),
        *sorted((root / "archetypes").glob("*.toml")),
    ]


@pytest.fixture(scope="module")
def library():
    return load_library()


@pytest.fixture(scope="module")
def above_outliers(library):
    """(data set, indicator) pairs flagged as outliers ABOVE their peers on an indicator the
    default method weights: the ones that can inflate a score."""
    codes = {i.code for i in load_method("mpeil-ef31").indicators}
    flags = library.flags
    above = flags[(flags["flag"] == "outlier") & flags["indicator"].isin(codes) & flags["reason"].str.contains("above")]
    return set(above["dataset_id"])


def test_the_screen_still_flags_the_pe_foil(library):
    flags = library.flags
    assert ((flags["dataset_id"] == DAMP_PE) & (flags["indicator"] == "ADPE")).any()


@pytest.mark.parametrize("path", _shipped_files(), ids=lambda p: p.name)
def test_no_shipped_file_uses_a_data_set_flagged_above_its_peers(path, above_outliers):
    used = set(DATA_SET.findall(path.read_text(encoding="utf-8")))
    assert DAMP_PE not in used
    offending = (used & above_outliers) - set(ALLOWED_ABOVE)
    assert not offending, f"{path.name} uses flagged data sets {sorted(offending)}"


def test_allowed_exceptions_are_choices_not_defaults(above_outliers):
    from mpeil.elements import expansion

    assert set(ALLOWED_ABOVE) <= above_outliers  # an exception no longer flagged is dropped from the list
    seen = 0
    for name in template_names():
        defaults = set(expansion(name)["product"])
        seen += len(defaults)
        assert not defaults & set(ALLOWED_ABOVE), name
        assert not defaults & above_outliers, name
    assert seen > 100  # the defaults were really read


def test_default_method_replaces_flagged_values():
    for name in ("mpeil-ef31", "mpeil-ef30"):
        assert load_method(name).flagged_values == "estimate"


@pytest.fixture(scope="module")
def template_scores(library, tmp_path_factory):
    """Every template at its defaults as one element of a 100 m² building, default method."""
    head = "building_id,building_name,use_type,gross_floor_area_m2,construction_year,region,"
    lines = [head + "element_id,element_quantity,template,params"]
    for name in template_names():
        lines.append(f"t-{name},{name},terraced,100,2025,BE-VLG,E1,10,{name},")
    path = tmp_path_factory.mktemp("templates") / "every_template.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Scorer(library=library).score(path).scores


def test_no_flagged_value_drives_a_template_default_score(template_scores):
    assert len(template_scores) == len(template_names())
    driven = template_scores[template_scores["flags"].map(len) > 0]
    assert driven.empty, driven["flags"].to_dict()
    assert np.isfinite(template_scores["score"]).all()

"""No performance label for a score the bands cannot be compared with (fix-trust, part a).

The bands of ``scenarios/labels/mpeil-ef31.csv`` are percentiles of complete scores under the
default ``gap_policy = "estimated"``; ``scenarios/labels/comparability.csv`` states this. A score
with part of the weighting missing, or under another gap policy, gets no label (null) and a note.
"""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import mpeil
from mpeil.methods.labels import LABELS, label_withheld, load_label_scale
from mpeil.paths import scenarios_dir

HEADER = "use_type,label,upper_bound,unit,derivation,source\n"
EXAMPLE = str(scenarios_dir() / "examples" / "terraced_house.json")


def _scale(folder, comparability: str | None):
    rows = [f"terraced,{label},{bound},mPt,policy test,hand" for label, bound in zip(LABELS, [1, 2, 3, 4, 5, 6, "inf"])]
    (folder / "m.csv").write_text(HEADER + "\n".join(rows) + "\n")
    if comparability is not None:
        (folder / "comparability.csv").write_text("method,max_weight_missing,gap_policy,reason\n" + comparability)
    return load_label_scale("m", folder)


def test_the_shipped_rule_is_complete_scores_under_the_estimated_policy():
    scale = load_label_scale("mpeil-ef31")
    assert scale.max_weight_missing == 0.0 and scale.gap_policy == "estimated"


def test_withheld_by_hand(tmp_path):
    scale = _scale(tmp_path, "m,0.05,estimated,hand\n")
    assert label_withheld(scale, 0.0, "estimated") is None
    assert label_withheld(scale, 0.05, "estimated") is None  # at the limit: comparable
    assert (
        label_withheld(scale, 0.278, "estimated") == "no M-label: 27.8% of the weighting missing (the bands allow 5%)"
    )
    assert label_withheld(scale, np.nan, "estimated").startswith("no M-label: nan%")
    assert label_withheld(scale, 0.0, "declared") == (
        "no M-label: bands are for gap_policy=estimated, this score is gap_policy=declared"
    )


def test_without_a_comparability_row_every_score_is_comparable(tmp_path):
    scale = _scale(tmp_path, None)
    assert label_withheld(scale, 1.0, "common") is None


def test_a_bad_limit_is_a_typed_error(tmp_path):
    from mpeil.errors import MethodError

    with pytest.raises(MethodError, match="max_weight_missing"):
        _scale(tmp_path, "m,1.5,estimated,hand\n")


@pytest.fixture(scope="module")
def declared():
    return mpeil.score(EXAMPLE, gap_policy="declared")


def test_declared_policy_gets_no_label_and_says_why(declared):
    row = declared.scores.iloc[0]
    # under "declared" the six undeclared indicators (27.8 % of the weighting) are missing: the score
    # is lower than the complete one and was labelled A before this fix
    assert row["weight_missing"] > 0.27
    assert row["label"] is None
    assert row["label_note"] == "no M-label: bands are for gap_policy=estimated, this score is gap_policy=declared"


def test_the_complete_default_score_keeps_its_label():
    row = mpeil.score(EXAMPLE).scores.iloc[0]
    assert row["weight_missing"] == 0.0 and row["label"] in LABELS and row["label_note"] is None


def test_cli_json_table_and_report_show_no_label(declared):
    from mpeil.cli import app
    from mpeil.outputs.report import render_report

    runner = CliRunner()
    out = runner.invoke(app, ["score", EXAMPLE, "-f", "json", "-o", "gap_policy=declared"])
    assert out.exit_code == 0, out.output
    row = json.loads(out.stdout)[0]
    assert row["label"] is None and row["label_note"].startswith("no M-label: bands are for gap_policy=estimated")
    out = runner.invoke(app, ["score", EXAMPLE, "-o", "gap_policy=declared"])
    text = " ".join(out.stdout.split())
    assert "no M-label: bands are for gap_policy=estimated" in text
    html = render_report(declared)
    assert 'data-field="label_note"' in html
    assert 'data-field="label" data-value="–"' in html  # the summary table's cell: no letter

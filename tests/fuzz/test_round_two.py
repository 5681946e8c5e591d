"""Issue 23's attacks, one regression test each: a typed one-line error within a budget, never a score.

Building files come from :func:`fuzz.round_two.round_two_cases` (also part of the corpus of
tests/test_fuzz_corpus.py, which runs them through mpeil batch as well); method files, plausibility
bounds and messages are tested here directly.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mpeil.batch.budget import run_with_budget
from mpeil.errors import (
    ImplausibleResultError,
    InputError,
    MethodError,
    MpeilError,
    UnknownMethodError,
    UnknownScenarioError,
)
from mpeil.methods import load_method
from mpeil.model.library import load_library
from mpeil.model.templates import load_template
from mpeil.paths import scenarios_dir

from .corpus import base_building
from .round_two import round_two_cases

CASES = list(round_two_cases())
#: what each case must raise (the most specific class; all are MpeilError)
EXPECTED = {
    "json-every-limit-at-its-edge": ImplausibleResultError,
    "json-scenario-d-nonexistent": UnknownScenarioError,
}


@pytest.fixture(scope="module")
def library():
    return load_library()


@pytest.fixture(scope="module")
def scorer(library):
    from mpeil.api import Scorer

    return Scorer(library=library)


def _refusal(path: str, scorer) -> tuple[str, str | None, str]:
    try:
        result = scorer.score(path)
    except MpeilError as error:
        return type(error).__name__, error.file, str(error)
    return "scored", None, repr(result.scores["score"].tolist())


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_attack_is_a_typed_error_within_a_budget(case, scorer, tmp_path):
    path = tmp_path / (case.name + case.suffix)
    path.write_bytes(case.data if isinstance(case.data, bytes) else case.data.encode())
    # a child with 20 s and 1 GiB above this process: over it, the outcome is "timeout" or "memory"
    outcome = run_with_budget(_refusal, (str(path), scorer), 20.0, 1 << 30)
    assert outcome.status == "ok", outcome
    kind, file, message = outcome.value
    assert kind != "scored", message
    if case.name in EXPECTED:
        assert kind == EXPECTED[case.name].__name__, message
    assert file == str(path)  # the message names the file
    assert "\n" not in message and str(scenarios_dir()) not in message  # one line, no install path


def test_the_edge_case_names_the_element_and_line_that_drive_it(scorer, tmp_path):
    case = next(case for case in CASES if case.name == "json-every-limit-at-its-edge")
    path = tmp_path / "edge.json"
    path.write_bytes(case.data)
    with pytest.raises(ImplausibleResultError) as caught:
        scorer.score(path)
    error = caught.value
    # hand check: every line replaced 59 times in 60 years (service life 1 y), 40,000 km of transport and
    # a 49 % loss each time: far above 10 x the highest EU-ECB building (603.5 kg CO2e/(m²·yr))
    assert error.field == "GWP-total" and error.element in ("wall", "floor")
    assert re.search(r"above the bound of 603\.5", error.message)
    assert error.layer is not None and "(line " in error.layer


def test_a_negative_embodied_score_is_impossible(scorer, tmp_path):
    # rebar at -500 kg CO2e per kg (inside the inline bound of 755,308): 12 kg/m² x 50 m² x -500 / (100 m² x 60 y)
    # = -50 kg CO2e/(m²·yr), inside the A1-A3 bound (-80). Its single score: -50 x 0.2106 / 7553.08 x 1000
    # = -1.39 mPt/(m²·yr), more than the rest of the house (about 0.5): below zero, with no D and no reuse
    building = base_building()
    building["datasets"] = [
        {"id": "neg", "name": "n", "declared_unit": "kg", "values": {"A1-A3": {"GWP-total": -500.0}}}
    ]
    building["elements"][1]["layers"][1]["product"] = "inline:neg"
    path = tmp_path / "negative.json"
    path.write_text(json.dumps(building), encoding="utf-8")
    with pytest.raises(ImplausibleResultError) as caught:
        scorer.score(path)
    assert caught.value.field == "score"
    assert "below zero without module D or reused components" in caught.value.message


def test_the_example_house_is_plausible(scorer):
    result = scorer.score(scenarios_dir() / "examples" / "terraced_house.json")
    assert math.isfinite(float(result.scores["score"].iloc[0]))


# ------------------------------------------------------------------ method files
def _method(tmp_path: Path, name: str, old: str, new: str, base: str = "mpeil-ef31") -> Path:
    text = (scenarios_dir() / "methods" / f"{base}.toml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / f"{name}.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "base"),
    [
        ("factor = 1.0", "factor = nan", "gwp"),
        ("factor = 1.0", "factor = inf", "gwp"),
        ("factor = 1.0", "factor = -1.0", "gwp"),
        ("normalisation = 7553.08316", "normalisation = 1e-300", "mpeil-ef31"),
        ("normalisation = 7553.08316", "normalisation = nan", "mpeil-ef31"),
        ("score_scale = 1.0", "score_scale = 1e300", "gwp"),
    ],
)
def test_method_numbers_are_finite_and_within_their_documented_ranges(tmp_path, old, new, base):
    path = _method(tmp_path, "hostile", old, new, base)
    with pytest.raises(MethodError) as caught:
        load_method(path)
    assert caught.value.file == str(path)


def test_shipped_methods_pass_their_own_ranges():
    for name in ("mpeil-ef31", "mpeil-ef30", "gwp", "br18", "nl-mpg-set1"):
        assert load_method(name).name


def test_a_method_name_is_never_a_path(tmp_path):
    with pytest.raises(UnknownMethodError):
        load_method("../../pyproject")
    with pytest.raises(UnknownMethodError) as caught:
        load_method("m" * 5000)
    assert len(str(caught.value)) < 400


# ------------------------------------------------------------------ templates
@pytest.mark.parametrize("name", ["../../pyproject", "/etc/passwd", "x" * 300, "a/b", ""])
def test_a_template_name_is_never_a_path(name):
    with pytest.raises(InputError) as caught:
        load_template(name)
    assert str(scenarios_dir()) not in str(caught.value)


def test_an_unknown_template_suggests_catalogue_names():
    with pytest.raises(UnknownScenarioError, match="did you mean 'EW-cavity-brick'"):
        load_template("EW-cavity-brik")
    assert load_template("EW-cavity-brick").path == "scenarios/elements/EW-cavity-brick.toml"


# ------------------------------------------------------------------ the command line
def test_mpeil_score_refuses_a_named_pipe_at_once(tmp_path):
    import os

    fifo = tmp_path / "x.json"
    os.mkfifo(fifo)
    run = subprocess.run(
        [sys.executable, "-m", "mpeil", "score", str(fifo)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode != 0
    assert "a named pipe, not a regular file" in run.stderr and run.stderr.count("\n") == 1


# ------------------------------------------------------------------ XLSX: hidden sheets, formulas
def _workbook(tmp_path: Path, kind: str, saved: str | None = None) -> Path:
    """The corpus's good bill of materials as XLSX; ``kind`` hides sheets or puts a formula in an amount."""
    import io
    import zipfile

    import openpyxl

    from .corpus import _bom_rows, _typed

    header, rows = _bom_rows()
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "bill_of_materials"
    sheet.append(header)
    for row in _typed(header, rows):
        sheet.append(row)
    if kind == "veryHidden":
        sheet.sheet_state = "veryHidden"
        book.create_sheet("cover")
    elif kind == "hidden-other":
        book.create_sheet("secret").sheet_state = "hidden"
    elif kind == "formula":
        sheet.cell(row=2, column=header.index("amount") + 1).value = "=0.1*2"
    buffer = io.BytesIO()
    book.save(buffer)
    data = buffer.getvalue()
    if saved is not None:  # the value a spreadsheet would have saved beside the formula
        source = zipfile.ZipFile(io.BytesIO(data))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                part = source.read(info.filename)
                if info.filename == "xl/worksheets/sheet1.xml":
                    part = part.replace(b"<f>0.1*2</f><v></v>", f"<f>0.1*2</f><v>{saved}</v>".encode())
                target.writestr(info, part)
        data = out.getvalue()
    path = tmp_path / f"{kind}.xlsx"
    path.write_bytes(data)
    return path


def _notes(path: Path) -> list[str]:
    import warnings

    from mpeil.errors import MpeilWarning
    from mpeil.readers import read_buildings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MpeilWarning)
        read_buildings(path)
    return [str(item.message.message) for item in caught if isinstance(item.message, MpeilWarning)]


def test_a_very_hidden_bill_of_materials_is_read_with_a_note(tmp_path):
    notes = _notes(_workbook(tmp_path, "veryHidden"))
    assert notes == [
        "the bill of materials is read from sheet 'bill_of_materials', which is veryHidden in the workbook "
        "(Excel does not show it)"
    ]


def test_hidden_sheets_left_unread_are_named_in_a_note(tmp_path):
    assert _notes(_workbook(tmp_path, "hidden-other")) == ["hidden sheet(s) 'secret' are not read"]


def test_formula_cells_are_scored_on_their_saved_values_with_a_note(tmp_path):
    # 0.1 × 2 = 0.2, the value saved: consistent, scored with a note
    assert _notes(_workbook(tmp_path, "formula", saved="0.2")) == [
        "1 cell(s) hold formulas (first S2); the values the spreadsheet saved are scored, mpeil does not recompute them"
    ]


@pytest.mark.parametrize("saved", [None, "0.5"], ids=["no-saved-value", "disagrees"])
def test_a_formula_without_or_against_its_saved_value_is_refused(tmp_path, saved):
    from mpeil.errors import ParseError
    from mpeil.readers import read_buildings

    path = _workbook(tmp_path, "formula", saved=saved)
    with pytest.raises(ParseError) as caught:
        read_buildings(path)
    assert caught.value.layer == "cell S2"
    if saved:
        assert "gives 0.2 but the workbook saved 0.5" in caught.value.message


# ------------------------------------------------------------------ per-call budget (mpeil score, API)
class _SlowScorer:
    """Stands in for a Scorer whose input hangs (a scorer's limits and ``score`` are all the budget uses)."""

    limits = None

    def __init__(self, seconds: float) -> None:
        from mpeil.limits import load_limits

        self.limits = load_limits().replace(seconds_per_file=seconds)

    def score(self, source, file=None):
        import time

        time.sleep(30)


def test_a_call_over_its_time_budget_is_a_typed_error(monkeypatch):
    from mpeil.budget import score_within_budget
    from mpeil.errors import BudgetError

    monkeypatch.delenv("MPEIL_BUDGET", raising=False)
    with pytest.raises(BudgetError) as caught:
        score_within_budget(_SlowScorer(1.0), "hang.json")
    assert (caught.value.file, caught.value.field) == ("hang.json", "seconds_per_file")


def test_a_budgeted_score_is_the_same_score_with_its_notes(scorer):
    from mpeil.budget import score_within_budget

    path = scenarios_dir() / "examples" / "terraced_house.json"
    inside = score_within_budget(scorer, path)
    assert inside.library is scorer.library  # the parent's library, not a pickled copy
    assert inside.scores["score"].tolist() == scorer.score(path).scores["score"].tolist()


# ------------------------------------------------------------------ mpeil batch
def test_mpeil_batch_gives_each_attack_its_error_row(tmp_path):
    import os

    import pyarrow.parquet as pq

    folder = tmp_path / "in"
    folder.mkdir()
    edge = next(case for case in CASES if case.name == "json-every-limit-at-its-edge")
    (folder / "edge.json").write_bytes(edge.data)
    (folder / "good.json").write_text(json.dumps(base_building()), encoding="utf-8")
    os.mkfifo(folder / "pipe.json")
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-m", "mpeil", "batch", str(folder), "--out", str(out), "--jobs", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 1, run.stderr  # some inputs failed; the batch went on
    errors = pq.read_table(out / "errors.parquet").to_pandas()
    by_file = {Path(f).name: (t, field) for f, t, field in zip(errors["file"], errors["error_type"], errors["field"])}
    assert by_file == {
        "edge.json": ("ImplausibleResultError", "GWP-total"),
        "pipe.json": ("ParseError", "file_type"),
    }
    summary = pq.read_table(out / "summary.parquet").to_pandas()
    assert [Path(f).name for f in summary["file"].unique()] == ["good.json"]

"""What a new user's first hour with ``mpeil`` found (typer's CliRunner; expected output literal):
missing extras, ``-o`` read as a file name, verify after a library folder moved, batch failures
on screen, user library ids, 80 columns."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mpeil.cli import app
from mpeil.paths import scenarios_dir

HOUSE = str(scenarios_dir() / "examples" / "terraced_house.json")
APARTMENT = str(scenarios_dir() / "examples" / "apartment_building.json")
ILCD_JSON = Path(__file__).resolve().parents[1] / "data" / "epd" / "ilcd" / "json"


def _run(*args: str, columns: int = 80):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": str(columns)})


# ============================================================================ 1. optional extras
def test_serve_without_the_service_extra_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # `import uvicorn` raises ImportError, as when not installed
    run = _run("serve")
    assert run.exit_code == 1
    assert run.output == "error: serving needs the service extra: pip install 'mpeil[service]'\n"


def test_batch_scheduler_without_dask_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    run = _run("batch", HOUSE, "--out", str(tmp_path / "out"), "--scheduler", "local")
    assert run.exit_code == 1
    assert run.output == "error: --scheduler needs the batch extra: pip install 'mpeil[batch]'\n"
    assert not (tmp_path / "out").exists()


# ============================================================================ 2. -o KEY=VALUE
def test_report_out_that_reads_as_an_option_is_refused_with_a_hint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = _run("report", HOUSE, "-o", "gap_policy=declared")
    assert run.exit_code == 1
    assert run.output == (
        "error OutputError: field '--out': 'gap_policy=declared' is not an output name; "
        "did you mean --option gap_policy=declared?\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_batch_out_that_reads_as_an_option_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = _run("batch", HOUSE, "-o", "gap_policy=declared")
    assert run.exit_code == 2
    assert run.output == (
        "usage error: field '--out': 'gap_policy=declared' is not an output name; "
        "did you mean --option gap_policy=declared?\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_passport_out_that_reads_as_an_option_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = _run("passport", HOUSE, "-o", "gap_policy=declared")
    assert run.exit_code == 1
    assert " ".join(run.output.split()) == (  # wrapped by words at 80 columns
        "error: field '--out': 'gap_policy=declared' is not an output name; did you mean --option gap_policy=declared?"
    )
    assert list(tmp_path.iterdir()) == []


def test_an_out_path_with_equals_and_the_right_suffix_is_still_written(tmp_path):
    """``--out`` keeps working for a real file name holding ``=``; ``--option`` reaches the method."""
    out = tmp_path / "variant=a.html"
    run = _run("report", HOUSE, "--option", "gap_policy=declared", "-l", "ilcd", "-l", "obd2024", "-o", str(out))
    assert run.exit_code == 0, run.output
    text = out.read_text(encoding="utf-8")  # the method's options as scored (the default is 'estimated')
    assert "gap_policy = declared, flagged_values = estimate</p>" in text


def test_compare_passport_uncertainty_take_option_and_list_the_valid_names():
    valid = (
        "valid options: default_transport, description, eol_allocation, fingerprint, flagged_values, gap_policy, "
        "include_d, indicators, loss_basis, modules, multicycle_split, name, per_year, reference_area, "
        "reference_study_period_years, replacement_modules, replacement_rule, score_scale, score_unit, sources, "
        "title, uncovered"
    )
    run = _run("compare", HOUSE, APARTMENT, "--option", "bogus=1")
    assert run.exit_code == 1
    assert " ".join(run.output.split()) == f"error MethodError: field 'bogus': unknown method option 'bogus'; {valid}"
    run = _run("passport", HOUSE, "--option", "bogus=1")
    assert run.exit_code == 1
    assert " ".join(run.output.split()) == f"error: field 'bogus': unknown method option 'bogus'; {valid}"
    run = _run("uncertainty", HOUSE, "--draws", "2", "--option", "bogus=1")
    assert run.exit_code == 2
    assert run.output == f"error MethodError: field 'bogus': unknown method option 'bogus'; {valid}\n"


# ============================================================================ 3. verify, library moved
@pytest.fixture(scope="module")
def moved_library(tmp_path_factory) -> dict[str, Path]:
    """A batch scored with a user library (one ILCD data set imported as 'mylib'), which then moved:
    building 'mine' uses the user data set, building 'shipped' the same data set as shipped (ilcd)."""
    from mpeil.readers.epd_import import import_epd, write_library
    from mpeil.testing import one_layer_building

    root = tmp_path_factory.mktemp("verify")
    library, files = import_epd([sorted(ILCD_JSON.glob("*.json"))[0]], name="mylib")
    write_library(library, files, root / "mylib")
    dataset, unit = library.datasets["dataset_id"].iloc[0], library.datasets["declared_unit"].iloc[0]
    (root / "in").mkdir()
    for building, product in (("mine", dataset), ("shipped", dataset.replace("mylib:", "ilcd:"))):
        text = one_layer_building(product, 2.0, unit, building_id=building).model_dump_json()
        (root / "in" / f"{building}.json").write_text(text, encoding="utf-8")
    run = _run("batch", str(root / "in"), "--out", str(root / "out"), "-l", str(root / "mylib"))
    assert run.exit_code == 0, run.output
    (root / "mylib").rename(root / "moved")
    return {"out": root / "out", "moved": root / "moved", "gone": root / "mylib"}


def _verdicts(output: str) -> list[str]:
    return [" ".join(line.split()[:1] + [Path(line.split()[1]).stem.split("-")[0]]) for line in output.splitlines()
            if line.startswith(("OK", "FAILED")) and "/receipts/" in line]  # fmt: skip


def test_verify_without_the_moved_folder_passes_the_shipped_only_receipt(moved_library):
    run = _run("verify", str(moved_library["out"]), columns=400)
    assert run.exit_code == 1
    assert _verdicts(run.output) == ["FAILED mine", "OK shipped"]
    assert "'mylib' is no shipped source but a user library: give its folder with --library FOLDER" in run.output
    assert f"note: library folder {moved_library['gone']} is gone: re-scored without it" in run.output


def test_verify_with_the_moved_folder_passes_both(moved_library):
    run = _run("verify", str(moved_library["out"]), "-l", str(moved_library["moved"]))
    assert run.exit_code == 0, run.output
    assert _verdicts(run.output) == ["OK mine", "OK shipped"]


def test_verify_with_another_library_fails_each_receipt_clearly(moved_library):
    run = _run("verify", str(moved_library["out"]), "--library", "ilcd", columns=400)
    assert run.exit_code == 1
    assert _verdicts(run.output) == ["FAILED mine", "FAILED shipped"]
    assert run.output.count("- the library given (--library) is not the receipt's: SHA-256 ") == 2


# ============================================================================ 4. batch failures on screen
def test_batch_lists_the_first_ten_failures_at_80_columns(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    for number in range(1, 13):
        (tmp_path / "in" / f"b{number:02d}.json").write_text("{bad", encoding="utf-8")
    run = _run("batch", "in", "--out", "out")
    assert run.exit_code == 1
    lines = run.output.splitlines()
    start = lines.index("errors by type: ParseError 12")
    error = "    ParseError: malformed JSON: Expecting property name enclosed in double quot…"  # cut at 80
    expected = [line for n in range(1, 11) for line in (f"  in/b{n:02d}.json:", error)]
    assert lines[start + 1 :] == [*expected, "  … and 2 more (see errors.parquet)"]
    assert max(len(line) for line in lines) <= 80


# ============================================================================ 5. a user library's id
def test_an_id_of_a_user_library_not_given_suggests_library_folder():
    from mpeil.errors import UnknownEPDError
    from mpeil.model.library import load_library

    library = load_library(["ilcd"])
    with pytest.raises(UnknownEPDError) as caught:
        library.resolve("real:3f2a")
    assert caught.value.message == (
        "no data set 'real:3f2a' in the EPD library; "
        "'real' is no shipped source but a user library: give its folder with --library FOLDER"
    )
    with pytest.raises(UnknownEPDError) as caught:
        library.resolve("obd2024:3f2a")
    assert caught.value.message == (
        "no data set 'obd2024:3f2a' in the EPD library; load the shipped source 'obd2024' (--library obd2024)"
    )


# ============================================================================ 6. 80 columns and wording
def test_methods_fit_80_columns():
    run = _run("methods")
    assert run.exit_code == 0
    assert max(len(line) for line in run.output.splitlines()) <= 80
    assert (
        run.output.splitlines()[0] == "br18              kg CO2e  50 y  BR18 (Denmark) embodied GWP: A1-A3, B4, C3, C4"
    )


def test_epd_show_prints_the_url_whole_and_an_unknown_id_plainly():
    run = _run("epd", "show", "obd2024:1d0124d4-5a30-4501-a8dd-dbddbb1f8ec7", "-l", "obd2024")
    assert run.exit_code == 0, run.output
    url = (
        "url: https://www.oekobaudat.de/OEKOBAU.DAT/resource/processes/"
        "1d0124d4-5a30-4501-a8dd-dbddbb1f8ec7?version=00.00.023"
    )
    assert url in run.output.splitlines()
    run = _run("epd", "show", "nope", "-l", "ilcd")
    assert run.exit_code == 1
    assert run.output == "error: unknown data set 'nope'; find it with mpeil epd search WORDS\n"


def test_template_choices_are_case_insensitive():
    from mpeil.elements import load_template, resolve_params

    template = load_template("EW-cavity-brick")
    assert resolve_params(template, {"insulation": "PIR"})["insulation"] == "pir"
    run = _run("elements", "show", "EW-cavity-brick", "-p", "insulation=PIR")
    assert run.exit_code == 0, run.output


def test_batch_library_is_repeatable_and_still_takes_commas(tmp_path):
    import json

    recorded = []
    for name, flags in (
        ("repeated", ["-l", "obd2024", "--library", "ilcd"]),
        ("commas", ["--library", "obd2024,ilcd"]),
    ):
        run = _run("batch", HOUSE, "--out", str(tmp_path / name), *flags)
        assert run.exit_code == 0, run.output
        (receipt,) = (tmp_path / name / "receipts").glob("*.json")
        recorded.append(json.loads(receipt.read_text(encoding="utf-8"))["library"]["sources"])
    assert recorded == [["obd2024", "ilcd"], ["obd2024", "ilcd"]]


def test_score_of_a_user_library_id_without_the_library_says_library_folder(tmp_path, monkeypatch):
    from mpeil.testing import one_layer_building

    monkeypatch.chdir(tmp_path)
    Path("r.json").write_text(one_layer_building("real:abc", 2.0, "kg", building_id="r").model_dump_json())
    run = _run("score", "r.json", columns=400)
    assert run.exit_code == 1
    assert run.output == (
        "error UnknownEPDError: file 'r.json', building 'r', element 'e1', layer 'line 1', field 'product': "
        "no data set 'real:abc' in the EPD library; 'real' is no shipped source but a user library: "
        "give its folder with --library FOLDER\n"
    )

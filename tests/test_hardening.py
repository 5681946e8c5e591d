"""Regression tests of issue 10: one per finding of the hostile-input run (numbered as in the issue).

Expected outcomes come from the finding itself (this input must be refused, with this field; this
good file must still be scored) or from an invariant (``m2/m2`` on an m² element is the same
amount as ``m2``), never from the code under test.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from batch_support import building_dict, good_building, limits_for_tests
from typer.testing import CliRunner

import mpeil
from mpeil.batch.budget import run_with_budget
from mpeil.batch.lock import OutputLockedError, locked_output
from mpeil.batch.runner import run_batch
from mpeil.cli import app
from mpeil.errors import CircularityError, InputError, ParseError, UnitError, UnknownScenarioError
from mpeil.model.library import load_library
from mpeil.readers import read_buildings
from mpeil.units import parse_unit

AS_OF = "2026-01-01"
#: a data set declared per piece that gives no mass (an automatic door operator, shipped ILCD data)
MASSLESS_PIECE = "ilcd:023f3b97-976a-41c4-b0f1-5357b9dc5b3e"
#: a data set declared per m² (Dampfbremse PE, shipped ÖKOBAUDAT 2024)
VAPOUR_BARRIER = "obd2024:6869f7c1-1b2b-4f30-afc9-823a0104f1d9"


@pytest.fixture(scope="module")
def library():
    return load_library()


def _score(data: dict, library):
    """Score a building written as a JSON file (the reader turns model errors into located InputErrors)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        return mpeil.score(_write(Path(folder) / "b.json", data), library=library)


def _write(path: Path, data) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _errors(out: Path) -> list[dict]:
    return pq.read_table(out / "errors.parquet").to_pylist()


def _summary(out: Path) -> list[dict]:
    return pq.read_table(out / "summary.parquet").to_pylist()


# ------------------------------------------------------------------ 1. unit strings that run the CPU
@pytest.mark.parametrize("unit", ["kg*9**9**8", "kg*10**400", "kg*2**2**2**2**2", "kg**99", "m2**2**2", "(kg)"])
def test_unit_expressions_are_refused_not_evaluated(unit):
    with pytest.raises(UnitError):
        parse_unit(unit)


def test_power_tower_in_a_file_is_a_located_unit_error(tmp_path, library):
    data = building_dict()
    data["elements"][0]["layers"][0]["unit"] = "kg*9**9**8"
    with pytest.raises(UnitError) as caught:
        mpeil.score(_write(tmp_path / "tower.json", data), library=library)
    assert (caught.value.element, caught.value.field) == ("wall", "unit")


def test_a_call_over_its_time_budget_is_killed():
    outcome = run_with_budget(time.sleep, (600,), seconds=0.5, memory_bytes=1 << 30)
    assert outcome.status == "timeout"


def test_a_call_over_its_memory_budget_is_stopped():
    outcome = run_with_budget(bytearray, (8 << 30,), seconds=60, memory_bytes=256 << 20)
    assert outcome.status == "memory"


def test_a_file_over_its_budget_is_an_error_row_and_the_batch_goes_on(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(2):
        _write(folder / f"good-{i}.json", building_dict(i))
    limits = limits_for_tests().replace(seconds_per_file=1e-4)  # no file can be scored in 0.1 ms
    summary = run_batch([folder], tmp_path / "out", limits=limits, as_of=AS_OF)
    rows = _errors(tmp_path / "out")
    assert summary.files == 2 and len(rows) == 2
    assert {row["field"] for row in rows} == {"seconds_per_file"}


# ------------------------------------------------------------------ 2. a bad file name or id stops the batch
def test_non_utf8_file_name_and_surrogate_id_do_not_stop_the_batch(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    _write(folder / "good.json", building_dict(1))
    bad_name = os.fsdecode(b"bad-\xff.json")  # a name that is not UTF-8
    _write(folder / bad_name, building_dict(2))
    surrogate = building_dict(3)
    surrogate["id"] = "house\udfff"
    (folder / "surrogate.json").write_text(json.dumps(surrogate), encoding="utf-8")  # \udfff escaped by json
    out = tmp_path / "out"
    summary = run_batch([folder], out, chunk_size=10, limits=limits_for_tests(), as_of=AS_OF)
    scored = {row["building"] for row in _summary(out)}
    assert scored == {"house-001", "house-002"}
    (error,) = _errors(out)
    assert error["file"].endswith("surrogate.json") and error["field"] == "id"
    assert summary.exit_code == 1
    again = run_batch([folder], out, chunk_size=10, limits=limits_for_tests(), as_of=AS_OF, resume=True)
    assert again.chunks_resumed == 1


# ------------------------------------------------------------------ 3. absurd values
def _set_layer(data, key, value):
    data["elements"][0]["layers"][0][key] = value


ABSURD = [
    ("gfa 1e-300", lambda d: d.update(gross_floor_area_m2=1e-300), "gross_floor_area_m2"),
    ("study period 1e-300", lambda d: d.update(reference_study_period_years=1e-300), "reference_study_period_years"),
    ("amount 1e308", lambda d: _set_layer(d, "amount", 1e308), "amount"),
    ("quantity 1e308", lambda d: d["elements"][0].update(quantity=1e308), "element_quantity"),
    ("transport 1e308 km", lambda d: _set_layer(d, "transport_distance_km", 1e308), "transport_distance_km"),
    ("transport 1e9 km", lambda d: _set_layer(d, "transport_distance_km", 1e9), "transport_distance_km"),
    ("service life 1e-9", lambda d: _set_layer(d, "service_life_years", 1e-9), "service_life_years"),
    ("service life 1e308", lambda d: _set_layer(d, "service_life_years", 1e308), "service_life_years"),
    ("loss rate 0.999999999", lambda d: _set_layer(d, "loss_rate", 0.999999999), "loss_rate"),
    (
        "100,000 layers",
        lambda d: d["elements"][0].update(layers=[dict(d["elements"][0]["layers"][1], amount=1e-6)] * 100_000),
        "layers",
    ),
]


@pytest.mark.parametrize("name, change, field", ABSURD, ids=[a[0] for a in ABSURD])
def test_absurd_values_are_refused_by_score(library, name, change, field):
    data = building_dict()
    change(data)
    with pytest.raises(InputError) as caught:
        _score(data, library)
    assert caught.value.field == field


def test_a_trillion_pieces_without_mass_are_refused(library):
    data = building_dict()
    data["elements"].append(
        {
            "id": "doors",
            "quantity": 1,
            "unit": "piece",
            "layers": [{"product": MASSLESS_PIECE, "amount": 1e12, "unit": "piece"}],
        }
    )
    assert np.isnan(library.mass_per_unit(library._index[MASSLESS_PIECE]))  # the mass limits cannot see it
    with pytest.raises(InputError) as caught:
        _score(data, library)
    assert (caught.value.element, caught.value.field) == ("doors", "amount")


def test_the_good_building_still_scores(library):
    result = _score(building_dict(), library)
    assert np.isfinite(result.scores["score"]).all()


# ------------------------------------------------------------------ 4. rich markup in an id
def test_markup_ids_and_a_bad_file_between_good_ones(tmp_path):
    good = building_dict(1)
    good["id"] = "[/x] [bold]house"
    bad = building_dict(2)
    bad["id"] = "[/x]"
    bad["gross_floor_area_m2"] = 1e-300
    paths = [_write(tmp_path / "good.json", good), _write(tmp_path / "bad.json", bad)]
    paths.append(_write(tmp_path / "good2.json", building_dict(3)))
    result = CliRunner().invoke(app, ["score", *map(str, paths)])
    assert result.exit_code == 1
    assert "[/x] [bold]house" in result.stdout and "house-003" in result.stdout
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error InputError:") and "bad.json" in errors[0]


def test_the_error_printer_survives_any_message():
    from mpeil.cli.output import print_error

    print_error(InputError("[/x] \x1b[31m \udfff", building="[/bold]"))  # raises nothing


# ------------------------------------------------------------------ 5. uncaught exceptions
def test_json_nested_2000_deep(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 2000 + "]" * 2000, encoding="utf-8")
    with pytest.raises(ParseError) as caught:
        read_buildings(path)
    assert caught.value.field == "json_depth"


def test_5001_digit_integer_gfa(tmp_path):
    text = json.dumps(building_dict()).replace('"gross_floor_area_m2": 100.0', '"gross_floor_area_m2": ' + "9" * 5001)
    path = tmp_path / "digits.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParseError):
        read_buildings(path)


def test_m2_per_m2_is_the_same_amount_as_m2(library):
    # a vapour barrier declared per m²: 1.1 m² of foil per m² of wall, written both ways
    foil = {"product": VAPOUR_BARRIER, "amount": 1.1, "unit": "m2", "layer": "C3"}
    plain, ratio = building_dict(), building_dict()
    plain["elements"][0]["layers"].append(foil)
    ratio["elements"][0]["layers"].append(dict(foil, unit="m2/m2"))
    assert parse_unit("m2/m2") == parse_unit("m/m")  # dimensionless, as the docstring says
    a, b = _score(plain, library), _score(ratio, library)
    assert a.scores["score"].iloc[0] == b.scores["score"].iloc[0]


def test_a_megabyte_id_is_an_error_row(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    data = building_dict()
    data["id"] = "x" * 1_000_000
    _write(folder / "long.json", data)
    _write(folder / "good.json", building_dict(1))
    run_batch([folder], tmp_path / "out", limits=limits_for_tests().replace(file_size=4_000_000), as_of=AS_OF)
    (error,) = _errors(tmp_path / "out")
    assert error["field"] == "id" and len(error["building"]) <= 300
    assert [row["building"] for row in _summary(tmp_path / "out")] == ["house-001"]


# ------------------------------------------------------------------ 6. booleans as numbers
def test_boolean_floor_area_in_json(library):
    data = building_dict()
    data["gross_floor_area_m2"] = True
    with pytest.raises(InputError) as caught:
        _score(data, library)
    assert caught.value.field == "gross_floor_area_m2"


def test_boolean_amount_in_xlsx(tmp_path):
    import openpyxl

    path = tmp_path / "b.xlsx"
    mpeil.write_building(good_building(0), path)
    book = openpyxl.load_workbook(path)
    sheet = book.active
    header = [cell.value for cell in sheet[1]]
    sheet.cell(row=2, column=header.index("amount") + 1).value = True
    book.save(path)
    with pytest.raises(InputError) as caught:
        read_buildings(path)
    assert caught.value.field == "amount"


@pytest.mark.parametrize("column, value", [("amount", True), ("element_quantity", float("inf")), ("building_id", "")])
def test_a_flat_frame_meets_the_same_type_rules(library, column, value):
    from mpeil.compile import flatten

    frame = flatten([good_building(1)])
    frame[column] = frame[column].astype(object)
    frame.loc[0, column] = value
    with pytest.raises(InputError) as caught:
        mpeil.score(frame, library=library)
    assert (caught.value.element, caught.value.field) == ("wall", column)


# ------------------------------------------------------------------ 7. concurrent batches, verify
def test_a_second_batch_into_a_locked_directory_is_refused(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    _write(folder / "a.json", building_dict())
    with locked_output(tmp_path / "out"), pytest.raises(OutputLockedError):
        run_batch([folder], tmp_path / "out", as_of=AS_OF)
    assert run_batch([folder], tmp_path / "out", as_of=AS_OF).buildings == 1  # free again


def test_the_cli_refuses_a_second_batch_with_exit_code_2(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    _write(folder / "a.json", building_dict())
    with locked_output(tmp_path / "out"):
        result = CliRunner().invoke(app, ["batch", str(folder), "--out", str(tmp_path / "out"), "--no-progress"])
    assert result.exit_code == 2
    assert "another batch is writing" in result.output


@pytest.fixture(scope="module")
def batch_out(tmp_path_factory):
    root = tmp_path_factory.mktemp("verify")
    folder = root / "in"
    folder.mkdir()
    for i in range(3):
        _write(folder / f"b{i}.json", building_dict(i))
    run_batch([folder], root / "out", chunk_size=2, as_of=AS_OF)
    return root / "out"


def _copy(batch_out, tmp_path) -> Path:
    import shutil

    target = tmp_path / "out"
    shutil.copytree(batch_out, target)
    return target


def _rehash_manifest(out: Path, relative: str) -> None:
    from mpeil.hashing import file_sha256

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    if relative.startswith("results/"):
        manifest["outputs"]["results"][relative.split("/", 1)[1]] = file_sha256(out / relative)
    else:
        manifest["outputs"][relative] = file_sha256(out / relative)
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_verify_passes_an_untouched_directory(batch_out):
    result = CliRunner().invoke(app, ["verify", str(batch_out), "--jobs", "2"])
    assert result.exit_code == 0, result.stdout
    assert result.stdout.count("OK") == 4  # the tables and three receipts


@pytest.mark.parametrize("rehash", [False, True])
def test_verify_fails_an_edited_summary(batch_out, tmp_path, rehash):
    import pyarrow.compute as pc

    out = _copy(batch_out, tmp_path)
    table = pq.read_table(out / "summary.parquet")
    table = table.set_column(table.column_names.index("score"), "score", pc.multiply(table["score"], 10.0))
    pq.write_table(table, out / "summary.parquet")
    if rehash:
        _rehash_manifest(out, "summary.parquet")
    result = CliRunner().invoke(app, ["verify", str(out)])
    assert result.exit_code == 1 and "summary.parquet" in result.stdout


@pytest.mark.parametrize("rehash", [False, True])
def test_verify_fails_an_edited_results_part(batch_out, tmp_path, rehash):
    import pyarrow.compute as pc

    out = _copy(batch_out, tmp_path)
    part = out / "results" / "part-000000.parquet"
    table = pq.read_table(part)
    table = table.set_column(table.column_names.index("value"), "value", pc.multiply(table["value"], 1.5))
    pq.write_table(table, part)
    if rehash:
        _rehash_manifest(out, "results/part-000000.parquet")
    result = CliRunner().invoke(app, ["verify", str(out)])
    assert result.exit_code == 1 and "results/part-000000.parquet" in result.stdout


# ------------------------------------------------------------------ 8. output injection
def test_csv_output_never_holds_a_formula(tmp_path):
    data = building_dict()
    data["id"] = "=cmd|' /C calc'!A0"
    path = _write(tmp_path / "f.json", data)
    result = CliRunner().invoke(app, ["score", str(path), "--format", "csv"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1].startswith("\"'=cmd") or result.stdout.splitlines()[1].startswith("'=cmd")


def test_ansi_escapes_in_ids_are_refused(library):
    data = building_dict()
    data["id"] = "house\x1b[2J"
    with pytest.raises(InputError) as caught:
        _score(data, library)
    assert caught.value.field == "id"


def test_terminal_text_shows_escapes_and_markup_as_text():
    from rich.console import Console

    from mpeil.sanitize import terminal_text

    console = Console(file=io.StringIO(), force_terminal=True, color_system=None)
    console.print(terminal_text("[/x]\x1b[31m"))
    assert console.file.getvalue() == "[/x]\\x1b[31m\n"


# ------------------------------------------------------------------ 9. silently ignored
def test_unknown_reused_component_with_a_donor_in_the_input(library):
    donor = building_dict(1)
    donor["id"] = "donor"
    donor["elements"][0]["layers"][0].update(removed=True, component_id="wall-1", end_of_life={"reuse": 1.0})
    receiver = building_dict(2)
    receiver["elements"][0]["layers"][0].update(reused_input=1.0, source_component_id="ghost")
    buildings = [mpeil.Building.model_validate(d) for d in (donor, receiver)]
    with pytest.raises(CircularityError) as caught:
        mpeil.score(buildings, library=library)
    assert (caught.value.building, caught.value.field) == ("house-002", "source_component_id")


def test_unknown_scenario_module(library):
    data = building_dict()
    data["elements"][0]["layers"][0]["scenario"] = {"Z9": "x"}
    with pytest.raises(InputError) as caught:
        _score(data, library)
    assert caught.value.field == "scenario"


def test_unknown_service_life_category_with_a_life_given(library):
    data = building_dict()
    data["elements"][0]["layers"][0].update(service_life_years=60, service_life_category="no such category")
    with pytest.raises(UnknownScenarioError) as caught:
        _score(data, library)
    assert (caught.value.element, caught.value.layer, caught.value.field) == (
        "wall",
        "C1 (line 1)",
        "service_life_category",
    )


@pytest.mark.parametrize("where", ["building", "element"])
def test_empty_ids(library, where):
    data = building_dict()
    (data if where == "building" else data["elements"][0])["id"] = ""
    with pytest.raises(InputError, match="must not be empty"):
        _score(data, library)


def test_duplicate_zip_member_is_one_error_row(tmp_path):
    archive = tmp_path / "in.zip"
    with zipfile.ZipFile(archive, "w") as z, pytest.warns(UserWarning, match="Duplicate name"):
        z.writestr("a.json", json.dumps(building_dict(1)))
        z.writestr("a.json", json.dumps(building_dict(2)))
        z.writestr("b.json", json.dumps(building_dict(3)))
    run_batch([archive], tmp_path / "out", limits=limits_for_tests(), as_of=AS_OF)
    (error,) = _errors(tmp_path / "out")
    assert error["file"].endswith("!/a.json") and "2 members named" in error["message"]
    assert [row["building"] for row in _summary(tmp_path / "out")] == ["house-003"]


# ------------------------------------------------------------------ 10. resources and processes
def test_file_size_guard_before_parsing(tmp_path):
    path = _write(tmp_path / "big.json", building_dict())
    with pytest.raises(InputError) as caught:
        read_buildings(path, limits_for_tests().replace(file_size=100))
    assert caught.value.field == "file_size"


def test_xlsx_inflation_guard(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * 5_000_000 + b"/>")  # compresses ~1000 times
    with pytest.raises(InputError) as caught:
        read_buildings(path)
    assert caught.value.field == "zip_compression_ratio"


def test_symlink_outside_the_input_folder_is_not_followed(tmp_path):
    outside = _write(tmp_path / "secret.json", building_dict(9))
    folder = tmp_path / "in"
    folder.mkdir()
    _write(folder / "good.json", building_dict(1))
    (folder / "link.json").symlink_to(outside)
    run_batch([folder], tmp_path / "out", limits=limits_for_tests(), as_of=AS_OF)
    (error,) = _errors(tmp_path / "out")
    assert error["file"].endswith("link.json") and error["field"] == "symlink"
    assert [row["building"] for row in _summary(tmp_path / "out")] == ["house-001"]


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux)")
def test_pool_workers_die_with_a_killed_driver(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(12):
        _write(folder / f"b{i:02d}.json", building_dict(i))
    env = {**os.environ, "MPEIL_BATCH_TEST_DELAY": "1.0"}
    command = [sys.executable, "-m", "mpeil", "batch", str(folder), "--out", str(tmp_path / "out")]
    driver = subprocess.Popen([*command, "--jobs", "2", "--chunk-size", "1", "--no-progress"], env=env)
    try:
        deadline = time.monotonic() + 120
        workers: set[int] = set()
        while len(workers) < 2 and time.monotonic() < deadline and driver.poll() is None:
            time.sleep(0.2)
            workers = _children(driver.pid)
        assert len(workers) >= 2, "the pool never started"
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        end = time.monotonic() + 5
        while any(_alive(pid) for pid in workers) and time.monotonic() < end:
            time.sleep(0.1)
        assert not [pid for pid in workers if _alive(pid)]
    finally:
        if driver.poll() is None:
            driver.kill()

"""Score receipts verify bit for bit (``mpeil verify``); a changed input or a changed number does not.
And the exit codes of ``mpeil batch``."""

from __future__ import annotations

import json
import zipfile

import pyarrow.parquet as pq
import pytest
from batch_support import building_dict, good_building
from typer.testing import CliRunner

from mpeil.batch import UsageError, run_batch, verify_receipt, verify_receipts
from mpeil.cli import app
from mpeil.readers import write_building

AS_OF = "2026-06-01"


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    root = tmp_path_factory.mktemp("receipts")
    inputs = root / "in"
    inputs.mkdir()
    write_building(good_building(1), inputs / "house.json")
    write_building(good_building(2), inputs / "house.csv")
    write_building([good_building(3), good_building(4)], inputs / "two-houses.xlsx")
    with zipfile.ZipFile(inputs / "archive.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("dossier/house-5.json", json.dumps(building_dict(5)))
    summary = run_batch([inputs], root / "out", chunk_size=10, as_of=AS_OF)
    assert summary.exit_code == 0 and summary.buildings == 5
    return root


def test_every_receipt_verifies_bit_for_bit(scored):
    receipts = sorted((scored / "out" / "receipts").glob("*.json"))
    assert len(receipts) == 5
    for path in receipts:
        check = verify_receipt(path)
        assert check.ok, check.problems
        assert check.numbers_compared >= 20  # score, coverage, 16 per-area indicators, GWP, results digest


def test_cli_verify_exit_codes(scored, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["verify", str(scored / "out")])
    assert result.exit_code == 0, result.output
    assert result.output.count("OK") == 6  # five receipts and the tables of the directory
    result = runner.invoke(app, ["verify", str(tmp_path / "no-such-receipt.json")])
    assert result.exit_code == 2


def test_tampered_input_fails_verification(scored, tmp_path):
    receipt = json.loads(next((scored / "out" / "receipts").glob("house-001-*.json")).read_text(encoding="utf-8"))
    path = tmp_path / "house.json"
    data = building_dict(1)
    data["elements"][0]["layers"][0]["amount"] = 0.16  # was 0.15
    path.write_text(json.dumps(data), encoding="utf-8")
    receipt["input"]["path"] = str(path)
    receipt_path = tmp_path / "receipt.json"
    receipt_path.write_text(json.dumps(receipt), encoding="utf-8")
    check = verify_receipt(receipt_path)
    assert not check.ok
    assert any(p.startswith("input file changed") for p in check.problems)
    assert any(p.startswith("score:") for p in check.problems)
    assert any("results differ" in p for p in check.problems)
    result = CliRunner().invoke(app, ["verify", str(receipt_path)])
    assert result.exit_code == 1 and "FAILED" in result.output


def test_tampered_number_fails_verification(scored, tmp_path):
    source = next((scored / "out" / "receipts").glob("house-005-*.json"))  # the archive member
    receipt = json.loads(source.read_text(encoding="utf-8"))
    assert receipt["input"]["member"] == "dossier/house-5.json"
    score = float.fromhex(receipt["numbers"]["score"]["hex"])
    nudged = float.fromhex(score.hex()) * (1 + 2**-52)  # the next float up: one bit
    assert nudged != score
    receipt["numbers"]["score"] = {"value": nudged, "hex": nudged.hex()}
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt), encoding="utf-8")
    check = verify_receipt(path)
    assert [p.split(":")[0] for p in check.problems] == ["score"]


def test_changed_method_options_are_part_of_the_receipt(scored, tmp_path):
    source = next((scored / "out" / "receipts").glob("house-001-*.json"))
    receipt = json.loads(source.read_text(encoding="utf-8"))
    receipt["method"]["options"] = {"replacement_rule": "fractional"}
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt), encoding="utf-8")
    check = verify_receipt(path)
    assert not check.ok  # re-scored with other options, the numbers differ


# ============================================================================ exit codes of mpeil batch
def test_batch_exit_codes(tmp_path):
    runner = CliRunner()
    write_building(good_building(0), tmp_path / "house.json")
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["batch", str(tmp_path / "house.json"), "--out", str(out), "--as-of", AS_OF, "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["batch", str(tmp_path / "*.json"), "--out", str(tmp_path / "out2"), "--as-of", AS_OF, "--no-progress"]
    )
    assert result.exit_code == 1, result.output  # a glob: one good, one broken
    for arguments in (
        [str(tmp_path / "missing.json"), "--out", str(tmp_path / "out3")],  # no such input
        [str(tmp_path / "nothing-*.json"), "--out", str(tmp_path / "out3")],  # a glob that matches nothing
        [str(tmp_path / "house.json"), "--out", str(out)],  # an earlier run, without --resume
        [str(tmp_path / "house.json"), "--out", str(tmp_path)],  # a folder holding other things
        [str(tmp_path / "house.json"), "--out", str(tmp_path / "out4"), "--jobs", "0"],
        [str(tmp_path / "house.json"), "--out", str(tmp_path / "out4"), "--as-of", "yesterday"],
        [str(tmp_path / "house.json"), "--out", str(tmp_path / "out4"), "--method", "no-such-method"],
    ):
        result = runner.invoke(app, ["batch", *arguments, "--no-progress"])
        assert result.exit_code == 2, (arguments, result.output)


def test_usage_errors_in_python(tmp_path):
    with pytest.raises(UsageError):
        run_batch([tmp_path / "missing.json"], tmp_path / "out")
    write_building(good_building(0), tmp_path / "house.json")
    run_batch([tmp_path / "house.json"], tmp_path / "out", as_of=AS_OF)
    with pytest.raises(UsageError):
        run_batch([tmp_path / "house.json"], tmp_path / "out", chunk_size=5, resume=True)  # other chunking
    again = run_batch([tmp_path / "house.json"], tmp_path / "out", as_of=AS_OF, resume=True)
    assert again.chunks_resumed == 1 and again.buildings == 1


def test_receipts_keep_method_options_and_report_choice(tmp_path):
    write_building(good_building(7), tmp_path / "house.json")
    run_batch(
        tmp_path / "house.json",
        tmp_path / "out",
        as_of=AS_OF,
        report_indicators=(),
        method_options={"replacement_rule": "fractional", "replacement_modules": ["A1-A3", "A4"]},
    )
    receipt = next((tmp_path / "out" / "receipts").glob("*.json"))
    saved = json.loads(receipt.read_text(encoding="utf-8"))
    assert saved["options"]["report_indicators"] == []
    assert saved["method"]["options"] == {"replacement_modules": ["A1-A3", "A4"], "replacement_rule": "fractional"}
    check = verify_receipt(receipt)
    assert check.ok, check.problems


def test_equal_building_ids_in_two_files_are_an_error_row_for_the_second(tmp_path):
    """Issue 11: one id in two files is a DuplicateBuildingError row for the second file (as in the
    API and the CLI); the first file is scored and its receipt verifies."""
    write_building(good_building(1, "house"), tmp_path / "a.json")
    write_building(good_building(9, "house"), tmp_path / "b.csv")
    summary = run_batch([tmp_path / "a.json", tmp_path / "b.csv"], tmp_path / "out", as_of=AS_OF)
    assert summary.buildings == 1 and summary.errors == 1 and summary.exit_code == 1
    errors = pq.read_table(tmp_path / "out" / "errors.parquet").to_pylist()
    assert [(e["error_type"], e["building"]) for e in errors] == [("DuplicateBuildingError", "house")]
    assert errors[0]["file"].endswith("b.csv") and "a.json" in errors[0]["message"]
    receipts = sorted((tmp_path / "out" / "receipts").glob("house-*.json"))
    assert len(receipts) == 1
    check = verify_receipt(receipts[0])
    assert check.ok, check.problems


def test_many_receipts_verify_together_and_in_processes(scored, tmp_path):
    """Receipts of one file share one re-read; files are re-scored together, also in 2 processes; a
    tampered receipt among good ones fails alone and the order of the answers is the order asked."""
    receipts = sorted((scored / "out" / "receipts").glob("*.json"))
    bad = json.loads(receipts[0].read_text(encoding="utf-8"))
    score = float.fromhex(bad["numbers"]["score"]["hex"])
    nudged = score * (1 + 2**-52)
    bad["numbers"]["score"] = {"value": nudged, "hex": nudged.hex()}
    bad_path = tmp_path / "bad.json"
    bad_path.write_text(json.dumps(bad), encoding="utf-8")
    asked = [*receipts, bad_path, tmp_path / "missing.json"]
    for jobs in (1, 2):
        checks = verify_receipts(asked, jobs=jobs)
        assert [c.receipt for c in checks] == [str(p) for p in asked]
        assert all(c.ok for c in checks[:-2]), [c.problems for c in checks]
        assert [p.split(":")[0] for p in checks[-2].problems] == ["score"]
        assert checks[-1].problems[0].startswith("not a readable score receipt")
    result = CliRunner().invoke(app, ["verify", str(scored / "out"), "--jobs", "2"])
    # five receipts, and one line for the directory's tables (summary, errors, results) against the manifest
    assert result.exit_code == 0 and result.output.count("OK") == 6

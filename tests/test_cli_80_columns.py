"""Issue 22: every table and every --help readable at 80 columns, piped output honours COLUMNS,
n/a stays n/a in every column, the two letter scales named apart."""

from __future__ import annotations

import json

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from mpeil.cli import app
from mpeil.cli.output import fixed_table
from mpeil.paths import scenarios_dir

EXAMPLES = [str(scenarios_dir() / "examples" / n) for n in ("terraced_house.json", "apartment_building.json")]
A1_BRICK = "obd2020:f74a19da-df9a-4462-a632-3b3dc83377b1"  # Facing brick (ÖKOBAUDAT 2020-II, EN 15804+A1)


def _command_paths(command, path=()):
    yield list(path)
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _command_paths(sub, (*path, name))


@pytest.mark.parametrize("path", list(_command_paths(get_command(app))), ids=lambda p: " ".join(p) or "mpeil")
def test_every_help_fits_80_columns_uncut(path):
    run = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"})
    assert run.exit_code == 0, run.output
    lines = run.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert not [line for line in lines if line.rstrip(" │").endswith("…")]  # nothing cut short


@pytest.fixture(scope="module")
def table_80():
    return CliRunner().invoke(app, ["score", *EXAMPLES], env={"COLUMNS": "80"})


def test_score_table_fits_80_columns_whole(table_80):
    assert table_80.exit_code == 0, table_80.output
    lines = table_80.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in table_80.output
    # at 80 columns each building's id has a line of its own, above its numbers
    assert "example-apartment-building" in lines
    numbers = lines[lines.index("example-terraced-house") + 1].split()
    assert numbers[0].startswith("0.") and numbers[-2] in "ABCDEFG" and numbers[-1] in "ABCDE"


def test_both_scales_are_named_apart(table_80):
    assert "M-label" in table_80.output and "data quality" in table_80.output
    assert "grade" not in table_80.output.lower()
    from mpeil.outputs.scale_names import scale_name

    for language in ("en", "nl", "fr"):
        label, quality = scale_name("label", language), scale_name("quality_grade", language)
        assert label != quality and "M" in label  # the performance label always carries "M-"
        assert len(label) <= 13 and len(quality) <= 15
    assert scale_name("quality_grade", "nl") == "datakwaliteit"


def test_piped_output_honours_columns():
    wide = CliRunner().invoke(app, ["score", *EXAMPLES], env={"COLUMNS": "140"})
    lines = wide.output.splitlines()
    assert any(line.startswith("example-terraced-house ") for line in lines)  # name beside its numbers
    assert max(len(line) for line in lines) <= 140


def test_fixed_table_stacks_names_only_when_they_do_not_fit():
    rows = [("a-long-building-name", ["1.0", "2.0"])]
    wide = fixed_table([("x",), ("y",)], rows, 80)
    narrow = fixed_table([("x",), ("y",)], rows, 20)
    assert wide[-1] == "a-long-building-name  1.0  2.0"
    assert narrow[-2:] == ["a-long-building-name", "1.0  2.0"]


def test_na_stays_na_in_every_column(tmp_path):
    # a building built only from an EN 15804+A1 data set has no EF score: n/a, also in its stages
    building = {
        "id": "a1-only",
        "gross_floor_area_m2": 100,
        "elements": [
            {
                "id": "EW-1",
                "element_type": "EW",
                "quantity": 50,
                "unit": "m2",
                "layers": [{"product": A1_BRICK, "amount": 0.1, "unit": "m", "service_life_years": 60}],
            }
        ],
    }
    path = tmp_path / "a1.json"
    path.write_text(json.dumps(building), encoding="utf-8")
    run = CliRunner().invoke(app, ["score", str(path)], env={"COLUMNS": "80"})
    (line,) = [line for line in run.output.splitlines() if line.startswith("a1-only ")]
    assert line.split()[1:7] == ["n/a"] * 6, run.output  # score and the five stages, never 0
    data = json.loads(CliRunner().invoke(app, ["score", str(path), "-f", "json"]).output)
    assert data[0]["score"] is None


def test_score_takes_any_method_option_and_says_so():
    run = CliRunner().invoke(app, ["score", EXAMPLES[0], "-o", "flagged_values=keep"], env={"COLUMNS": "80"})
    assert run.exit_code == 0 and "mpeil-ef31 [flagged_values=keep]" in run.output
    data = json.loads(CliRunner().invoke(app, ["score", EXAMPLES[0], "-o", "gap_policy=declared", "-f", "json"]).output)
    assert data[0]["method_options"] == {"gap_policy": "declared"}
    bad = CliRunner().invoke(app, ["score", EXAMPLES[0], "-o", "no_such_option=1"])
    assert bad.exit_code == 1 and "unknown method option 'no_such_option'; valid options: " in bad.output
    assert ", gap_policy, " in bad.output and ", replacement_rule, " in bad.output


def test_readme_quick_start_block_is_what_the_command_prints(monkeypatch):
    """README: "The first command prints (at 80 columns …)" is the command's output, line for line."""
    root = scenarios_dir().parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    after = readme.split("The first command prints", 1)[1]
    block = after.split("```\n", 2)[1].rstrip("\n").splitlines()
    monkeypatch.chdir(root)
    run = CliRunner().invoke(
        app,
        ["score", "scenarios/examples/terraced_house.json", "scenarios/examples/apartment_building.json"],
        env={"COLUMNS": "80"},
    )
    assert run.exit_code == 0
    assert [line.rstrip() for line in run.output.rstrip("\n").splitlines()] == [line.rstrip() for line in block]

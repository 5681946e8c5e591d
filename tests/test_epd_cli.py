"""``mpeil epd search`` / ``mpeil epd show`` on the shipped libraries (typer's CliRunner)."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from mpeil.cli import app

RUNNER = CliRunner()
WIDE = {"COLUMNS": "250"}  # rich wraps long ids in narrow terminals

# generic_data.csv (ÖKOBAUDAT 2024-I): "Transportbeton C20/25", 1 m3, GWPtotal (A2) 200.067802954894
READY_MIX = "obd2024:e3d7a045-ee91-43ac-8fb4-a5216c65ba0b"


def _run(*args: str):
    return RUNNER.invoke(app, ["epd", *args], env=WIDE)


def _ids(output: str) -> list[str]:
    return re.findall(r"\b(?:obd2024|obd2020|br18|ilcd):[0-9A-Za-z-]+", output)


def test_search_beton_finds_concrete():
    result = _run("search", "beton", "--limit", "500")
    assert result.exit_code == 0, result.output
    assert READY_MIX in result.output
    assert "Ready-mix concrete C20/25" in result.output
    ids = _ids(result.output)
    assert {i.split(":")[0] for i in ids} >= {"obd2024", "obd2020", "br18"}


def test_search_ranks_the_closest_name_first_source_and_limit():
    result = _run("search", "ready-mix", "c20/25", "--source", "obd2024")
    assert result.exit_code == 0, result.output
    ids = _ids(result.output)
    assert ids[0] == READY_MIX and all(i.startswith("obd2024:") for i in ids)
    quoted = _run("search", "ready-mix c20/25", "--source", "obd2024")
    assert _ids(quoted.output) == ids
    limited = _run("search", "beton", "-n", "3")
    assert limited.exit_code == 0
    assert len(_ids(limited.output)) == 3


def test_search_is_readable_at_80_columns_and_shows_gwp_and_density():
    result = RUNNER.invoke(app, ["epd", "search", "gevelsteen", "-n", "3"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    # the full id stays on one line, next to its name; GWP A1-A3 555.2 kg CO2e per m3, 1800 kg/m3
    lines = result.output.splitlines()
    first = next(n for n, line in enumerate(lines) if "Facing brick" in line)
    assert "obd2024:1401638f-b9d7-4b33-9444-b072e2756f49" in lines[first + 1]
    assert "Facing brick" in result.output and "555 /m3" in result.output and "1800" in result.output
    assert "gevelsteen (nl)" in result.output


def test_search_csv_and_json():
    import io
    import json

    import pandas as pd

    csv_out = _run("search", "gevelsteen", "-n", "4", "--format", "csv")
    assert csv_out.exit_code == 0, csv_out.output
    frame = pd.read_csv(io.StringIO(csv_out.output))
    assert len(frame) == 4 and frame["dataset_id"].iloc[0] == "obd2024:1401638f-b9d7-4b33-9444-b072e2756f49"
    assert {"gwp_a1a3_per_unit", "gwp_a1a3_per_kg", "density_kg_m3", "flags"} <= set(frame.columns)
    json_out = _run("search", "gevelsteen", "-n", "2", "-f", "json")
    records = json.loads(json_out.output)
    assert [r["dataset_id"] for r in records] == list(frame["dataset_id"].iloc[:2])
    bad = _run("search", "gevelsteen", "-f", "xml")
    assert bad.exit_code == 1 and "unknown format" in bad.output


def test_search_without_match_and_unknown_source():
    result = _run("search", "xyzzy-qwxv")
    assert result.exit_code == 0
    assert "No data set matches" in result.output
    # issue 22: a known word among nonsense finds something, marked as a weak match
    assert "weak match" in _run("search", "xyzzy-no-such-material").output
    result = _run("search", "beton", "--source", "nosuch")
    assert result.exit_code == 1
    assert "unknown EPD source" in result.output and "Traceback" not in result.output


def test_search_finds_danish_names():
    # tabel7.csv #B1318: Navn DK "Krydslamineret træ, CLT (Forbrænding EoL)", no German/English name
    result = _run("search", "krydslamineret", "--source", "br18")
    assert result.exit_code == 0
    assert "br18:B1318" in result.output


def test_show_dataset():
    result = _run("show", READY_MIX)
    assert result.exit_code == 0, result.output
    out = result.output
    for text in (
        "Transportbeton C20/25",
        "Ready-mix concrete C20/25",
        "generic",
        "EN 15804+A2",
        "1 m3",
        "gross density",
        "2360",
        "A1-A3",
        "GWP-total",
    ):
        assert text in out, text


def test_show_modules_scenarios_and_values():
    # ILCD 0b4c397d (MasterProtect NFF 2070 IN): C3 and D in scenarios S1/S2; D S1 GWP -32.39
    result = _run("show", "ilcd:0b4c397d-c7a1-4ceb-9718-184334f6364e", "--values")
    assert result.exit_code == 0, result.output
    assert "S1" in result.output and "S2" in result.output
    assert "D (S1)" in result.output and "-32.39" in result.output
    assert "GWP-A1" in result.output


def test_show_notes_and_bare_id():
    # the truck of ÖKOBAUDAT 2020-II, by bare UUID (unique across sources)
    result = _run("show", "f54f1e4c-07e2-4045-9f1b-fb28ef8adf13")
    assert result.exit_code == 0, result.output
    assert "1 t*km" in result.output and "1000 kgkm" in result.output


def test_show_unknown_id():
    result = _run("show", "obd2024:not-a-data-set")
    assert result.exit_code == 1
    assert result.output == "error: unknown data set 'obd2024:not-a-data-set'; find it with mpeil epd search WORDS\n"

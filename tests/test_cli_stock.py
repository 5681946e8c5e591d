"""``mpeil stock`` writes a reproducible stock that ``mpeil score`` reads."""

from typer.testing import CliRunner

from mpeil.cli import app
from mpeil.readers import read_buildings


def test_stock_is_reproducible_and_readable(tmp_path):
    runner = CliRunner()
    for name in ("a", "b"):
        result = runner.invoke(app, ["stock", "3", "--out", str(tmp_path / name), "--seed", "7"])
        assert result.exit_code == 0, result.output
    files_a, files_b = sorted((tmp_path / "a").iterdir()), sorted((tmp_path / "b").iterdir())
    assert [f.name for f in files_a] == [f.name for f in files_b] and len(files_a) == 3
    assert [f.read_bytes() for f in files_a] == [f.read_bytes() for f in files_b]
    assert len(read_buildings(files_a[0])) == 1

"""``mpeil score`` ends without the interpreter's tear-down (mpeil.cli._exit_now): the same output,
the same exit status, and the exit handlers still run."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from mpeil.cli import app
from mpeil.paths import scenarios_dir

EXAMPLE = scenarios_dir() / "examples" / "terraced_house.json"


def _main(args: list[str], before: str = "") -> subprocess.CompletedProcess:
    """``mpeil <args>`` through the script's entry point (mpeil.cli.main) in a fresh process."""
    code = f"import sys\n{before}\nsys.argv = ['mpeil', *{args!r}]\nfrom mpeil.cli import main\nmain()\n"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_the_output_is_the_in_process_commands():
    done = _main(["score", str(EXAMPLE), "--format", "csv"])
    in_process = CliRunner().invoke(app, ["score", str(EXAMPLE), "--format", "csv"])
    assert done.returncode == 0 and in_process.exit_code == 0, done.stderr
    assert done.stdout == in_process.stdout and done.stdout.startswith("building_id,method,")


def test_a_failed_file_exits_1_with_its_error():
    done = _main(["score", "no-such-file.json", "--format", "csv"])
    assert done.returncode == 1
    assert "no such file" in done.stderr and done.stdout == ""


def test_a_usage_error_exits_2():
    done = _main(["score", str(EXAMPLE), "--format", "xml"])
    assert done.returncode == 2 and "format must be table, json or csv" in done.stderr


def test_exit_handlers_still_run(tmp_path):
    marker = tmp_path / "ran"
    before = f"import atexit, pathlib\natexit.register(pathlib.Path({str(marker)!r}).write_text, 'yes')"
    done = _main(["methods"], before)
    assert done.returncode == 0, done.stderr
    assert marker.read_text() == "yes"


@pytest.mark.parametrize("code, status", [(None, 0), (3, 3), ("a message", 1)])
def test_the_status_is_sys_exits(code, status):
    script = f"import mpeil.cli\nmpeil.cli._exit_now({code!r})\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == status
    assert done.stderr.strip() == ("a message" if status == 1 else "")

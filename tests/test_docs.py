"""The documentation: every "method.md §N" cited in the repository exists, and the site builds.

Code, method files, data files and tests cite sections of ``docs/method.md`` as ``§N``, ``§N.M``
and rows of its options table as ``§10 #N``. (a) checks each citation against the headings and
the table; (b) builds the MkDocs site with ``--strict`` (warnings are errors), as CI does.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
METHOD = ROOT / "docs" / "method.md"

#: where citations are looked for; docs/readme/ holds README drafts, not part of the docs
SEARCHED = ("mpeil", "data", "scenarios", "tests", "properties", "notebooks", "benchmarks", "docs")
TEXT_SUFFIXES = {".py", ".md", ".csv", ".toml", ".json", ".txt", ".ipynb", ".yml", ".yaml"}
SKIPPED_PARTS = {"readme", "__pycache__", ".ipynb_checkpoints"}

#: a section sign that cites another document's paragraph, not method.md (Danish copyright act §9,
#: BR18 §297–298, or a standard or legal text named right before the sign)
EXTERNAL = re.compile(
    r"(Ophavsretsloven|BR18|ISO\s?[\d-]+(:\d+)?|EN\s?\d+(\+A\d)?(:\d+)?|Annex\s+\w+,?|Article\s+\d+)\s+$"
)
CITATION = re.compile(r"§(\d+)(?:\.(\d+))?")
#: rows of the §10 table: "§10 #7", "§10 #7, #9", "§10 #7/#9", "§10 #12–13", "§10 #9 and #10"
ROW_CITATION = re.compile(r"§10\s*(#\d+(?:\s*(?:,|/|–|-|and)\s*#?\d+)*)")
HEADING = re.compile(r"^#{2,4}\s+(\d+)(?:\.(\d+))?[.\s]", re.MULTILINE)
TABLE_ROW = re.compile(r"^\|\s*(\d+)\s*\|", re.MULTILINE)


def _text_files() -> list[Path]:
    files = [ROOT / "README.md"]
    for folder in SEARCHED:
        for path in sorted((ROOT / folder).rglob("*")):
            if (
                path.suffix in TEXT_SUFFIXES
                and path.is_file()
                and not SKIPPED_PARTS & set(path.relative_to(ROOT).parts)
            ):
                files.append(path)
    return [path for path in files if path.exists() and path != Path(__file__).resolve()]


def _citations() -> list[tuple[str, int, str]]:
    """(file:line, section text) for every § citation of method.md in the searched files."""
    found = []
    for path in _text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for match in CITATION.finditer(line):
                if EXTERNAL.search(line[: match.start()]):
                    continue
                section = match.group(1) + (f".{match.group(2)}" if match.group(2) else "")
                found.append((f"{path.relative_to(ROOT)}:{number}", number, section))
    return found


def _sections() -> set[str]:
    text = METHOD.read_text(encoding="utf-8")
    return {m.group(1) + (f".{m.group(2)}" if m.group(2) else "") for m in HEADING.finditer(text)}


def _section_text(number: int) -> str:
    text = METHOD.read_text(encoding="utf-8")
    start = re.search(rf"^## {number}\. ", text, re.MULTILINE)
    end = re.search(rf"^## {number + 1}\. ", text, re.MULTILINE)
    assert start is not None
    return text[start.start() : end.start() if end else len(text)]


def test_method_has_sections_1_to_13_in_order():
    text = METHOD.read_text(encoding="utf-8")
    top = [int(n) for n in re.findall(r"^## (\d+)\. ", text, re.MULTILINE)]
    assert top == list(range(1, 14))


def test_the_repository_cites_method_sections():
    # the check below must have something to check: the code, data and method files cite method.md
    cited = {section for _, _, section in _citations()}
    assert {"3", "4", "5", "7", "8.3", "9.1", "9.2", "10"} <= cited


def test_every_cited_section_exists():
    sections = _sections()
    dangling = [f"{where}: §{section}" for where, _, section in _citations() if section not in sections]
    assert not dangling, "cited sections missing from docs/method.md:\n" + "\n".join(dangling)


def test_every_cited_row_of_the_options_table_exists():
    rows = {int(n) for n in TABLE_ROW.findall(_section_text(10))}
    assert rows == set(range(1, 17))  # the 16 unknowns of TOTEM, each an option
    dangling = []
    for path in _text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for match in ROW_CITATION.finditer(text):
            numbers = {int(n) for n in re.findall(r"\d+", match.group(1))}
            dangling += [f"{path.relative_to(ROOT)}: §10 #{n}" for n in sorted(numbers - rows)]
    assert not dangling, "\n".join(dangling)


def test_no_citation_points_outside_the_repository():
    # the method reference used to live outside the repository; citations now point to docs/method.md
    stale = []
    for path in _text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if "shared/reference/method.md" in text:
            stale.append(str(path.relative_to(ROOT)))
    assert not stale, stale


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def test_site_builds_strict_with_every_page(site):
    for page in ("index.html", "method/index.html", "api/index.html", "guide/cli/index.html"):
        assert (site / page).is_file(), page
    assert not (site / "readme").exists()  # README drafts stay out of the site
    assert not (site / "hooks.py").exists()


def test_generated_pages_follow_the_code(site):
    cli = (site / "guide" / "cli" / "index.html").read_text(encoding="utf-8")
    assert "mpeil:cli" not in cli
    for command in ("mpeil score", "mpeil batch", "mpeil verify", "mpeil epd search"):
        assert command in cli
    assert "--replacement-rule" in cli
    fields = (site / "guide" / "building-files" / "index.html").read_text(encoding="utf-8")
    assert "mpeil:building-fields" not in fields
    assert "gross_floor_area_m2" in fields and "service_life_category" in fields
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    for name in ("mpeil.api", "Result", "MpeilError", "tiny_library"):
        assert name in api

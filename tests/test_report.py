"""The dossier report: one self-contained HTML file, checked in a real headless browser (Debian's
chromium through playwright, no browser download): not blank, no network request, the numbers equal
``mpeil score … -f json``, accessible (lang, headings, captions, contrast) and printable."""

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

import mpeil
from mpeil.paths import scenarios_dir

CHROMIUM = "/usr/bin/chromium"
EXAMPLES = [scenarios_dir() / "examples" / name for name in ("terraced_house.json", "apartment_building.json")]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mpeil", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    run = _cli("report", *map(str, EXAMPLES), "--out", str(out))
    assert run.returncode == 0, run.stderr
    return out


@pytest.fixture(scope="module")
def cli_scores() -> dict:
    run = _cli("score", *map(str, EXAMPLES), "-f", "json")
    assert run.returncode == 0, run.stderr
    rows = []
    decoder = json.JSONDecoder()
    text, position = run.stdout.strip(), 0
    while position < len(text):  # one JSON array per file
        chunk, position = decoder.raw_decode(text, position)
        rows += chunk
        position = len(text) - len(text[position:].lstrip())
    return {row["building_id"]: row for row in rows}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_the_file_is_self_contained_and_structured(report):
    text = report.read_text(encoding="utf-8")
    parser = _Tags()
    parser.feed(text)
    tags = parser.tags
    assert tags[0] == ("html", {"lang": "en"})
    names = [t for t, _ in tags]
    assert names.count("h1") == 1 and names.count("table") == names.count("caption") > 5
    assert not [a for t, a in tags if t in ("link", "script", "img", "iframe", "object", "embed")]
    assert not [a for _, a in tags if "src" in a]
    assert all(a["href"].startswith("#") for t, a in tags if t == "a")
    assert "@import" not in text and not re.search(r"url\((?!#)", text)  # only in-document references
    assert "@media print" in text
    assert names.count("svg") >= 3 * len(EXAMPLES) + 1  # stages, elements, indicators; a waterfall


def test_report_numbers_are_the_cli_numbers(report, cli_scores):
    text = report.read_text(encoding="utf-8")
    parser = _Tags()
    parser.feed(text)
    shown = {
        a["data-building"]: float(a["data-value"])
        for t, a in parser.tags
        if t == "td" and a.get("data-field") == "score" and "data-building" in a
    }
    assert set(shown) == set(cli_scores)
    for building, row in cli_scores.items():
        assert shown[building] == pytest.approx(row["score"], rel=1e-9)  # pandas writes 10 digits


def _browser(tmp_path):
    from playwright.sync_api import sync_playwright

    manager = sync_playwright().start()
    context = manager.chromium.launch_persistent_context(
        str(tmp_path / "chromium-profile"),
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_FLAGS,
        viewport={"width": 1100, "height": 1400},
    )
    return manager, context


_CONTRAST_JS = """() => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = c => { const v = c.slice(0, 3).map(x => { x /= 255;
      return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  const background = el => { for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor); if (c.length === 3 || c[3] > 0) return c; }
    return [255, 255, 255]; };
  let worst = 21, where = "";
  for (const el of document.querySelectorAll("body *")) {
    if (el.closest("svg")) continue;
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const a = lum(rgb(getComputedStyle(el).color)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < worst) { worst = ratio; where = el.tagName + ": " + el.textContent.slice(0, 40); }
  }
  return [worst, where];
}"""


def _not_blank(png: bytes) -> None:
    import io

    import matplotlib.image

    pixels = matplotlib.image.imread(io.BytesIO(png))[:, :, :3]
    assert pixels.std() > 0.05
    assert (pixels < 0.95).any(axis=2).mean() > 0.03


def test_in_a_real_browser(report, cli_scores, tmp_path):
    manager, context = _browser(tmp_path)
    requests = []
    try:
        page = context.new_page()
        page.on("request", lambda request: requests.append(request.url))
        page.goto(report.as_uri())
        screenshot = page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        _not_blank(screenshot)
        for building, row in cli_scores.items():
            cell = page.locator(f'#summary + table td[data-field="score"][data-building="{building}"]')
            assert cell.inner_text() == f"{row['score']:.4g}"
            # issue 8: the scores carry the declared / estimated / missing split, which the report shows
            declared = page.locator(f'#summary + table td[data-field="declared"][data-building="{building}"]')
            assert declared.inner_text() == f"{100 * row['weight_declared']:.1f} %"
            card = page.locator(f'#b-{building} .mpeil-score[data-building="{building}"]')
            assert card.inner_text().startswith(f"{row['score']:.4g} ")
        assert page.evaluate("document.documentElement.lang") == "en"
        assert page.evaluate("document.querySelectorAll('table:not(:has(> caption))').length") == 0
        assert page.evaluate("[...document.querySelectorAll('svg')].every(s => s.getAttribute('aria-label'))")
        worst, where = page.evaluate(_CONTRAST_JS)
        assert worst >= 4.5, f"contrast {worst:.2f} below WCAG AA at {where}"
        page.emulate_media(media="print")
        _not_blank(page.screenshot(path=str(tmp_path / "report-print.png")))
        pdf = page.pdf(path=str(tmp_path / "report.pdf"), format="A4")
        pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))
        assert pdf.startswith(b"%PDF") and pages >= 1 + len(cli_scores)  # each building starts a page
    finally:
        context.close()
        manager.stop()
    assert all(url.startswith(("file:", "data:")) for url in requests), requests


def test_result_to_html_and_the_notebook_card(tmp_path):
    from mpeil.readers import read_building

    house = read_building(EXAMPLES[0])
    variant = house.model_copy(deep=True, update={"id": "variant"})
    variant.elements[3].layers[0].amount *= 0.5
    from mpeil.model.library import load_library

    result = mpeil.score([house, variant], library=load_library(["obd2024"]))
    text = result.to_html(["example-terraced-house", "variant"])
    assert text.startswith("<!DOCTYPE html>") and "Variants side by side" in text
    assert result.comparison("example-terraced-house", "variant").explanation in text.replace("&#x27;", "'")
    comparison = result.comparison("example-terraced-house", "variant")
    fragment = comparison._repr_html_()  # the notebook view of a Comparison: explanation and table
    assert "<svg" not in fragment and "Element contributions [mPt/(m²·yr)], baseline example-terraced-house" in fragment
    card = result._repr_html_()
    for building, score in result.scores["score"].items():
        assert f'data-building="{building}" data-field="score" data-value="{score!r}"' in card
    assert card.count('class="mpeil-card"') == 2 and "<svg" not in card
    assert np.isfinite(result.scores["score"]).all()


def test_cli_report_errors_are_one_typed_line(tmp_path):
    run = _cli("report", str(EXAMPLES[0]), str(EXAMPLES[0]), "--out", str(tmp_path / "r.html"))
    assert run.returncode == 1 and not (tmp_path / "r.html").exists()
    assert run.stderr.strip().count("\n") == 0 and run.stderr.startswith("error DuplicateBuildingError")
    run = _cli("report", str(EXAMPLES[0]), "--baseline", "nope", "--out", str(tmp_path / "r.html"))
    assert run.returncode == 1 and run.stderr.startswith("error UnknownBuildingError")


def test_the_card_shows_issue_8_coverage_split_and_flags_when_present():
    """With weight_declared / weight_estimated / weight_missing and flags in the scores (issue 8),
    the card and the report show that split instead of covered/missing."""
    from mpeil.outputs.report import building_card, render_report
    from mpeil.testing import one_layer_building, tiny_library, tiny_scenarios

    building = one_layer_building("t:concrete", 0.2, "m", element_quantity=10, service_life_years=60)
    result = mpeil.score(
        building, method="gwp", library=tiny_library(), scenarios=tiny_scenarios(), default_transport="truck"
    )
    scores = result.scores.assign(weight_declared=0.5, weight_estimated=0.2, weight_missing=0.3)
    scores["flags"] = [["t:concrete"]]
    result.__dict__["scores"] = scores  # what issue 8 adds, ahead of it landing
    card = building_card(result, "b1")
    assert "Coverage of the EF weighting: declared 50.0 %, estimated 20.0 %, missing 30.0 %" in card
    assert 'class="mpeil-estimated" style="width:20.00%"' in card
    assert "flagged data: t:concrete" in card
    page = render_report(result)
    assert (
        'data-field="estimated" data-value="0.2"' in page and "Flagged data sets driving the score: t:concrete" in page
    )

"""The page in a real browser: Debian's Chromium driven by playwright (nothing downloaded).

Screenshots go to ``$MPEIL_SCREENSHOTS`` or, by default, ``<pytest basetemp>/screenshots``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from service_support import AUTHORITY_KEY, EXAMPLES, start_server, stop_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    store = tmp_path_factory.mktemp("browser-store")
    process, base = start_server(store, {"MPEIL_CHUNK_SIZE": "1"}, store / "server.log")
    yield base
    stop_server(process)


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("MPEIL_SCREENSHOTS") or tmp_path_factory.getbasetemp() / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}


@pytest.fixture(params=[PHONE], ids=["phone"])
def page(server, request):
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=request.param, accept_downloads=True)
        elsewhere: list[str] = []  # requests to any other origin: the page must make none

        def only_this_server(route):
            if route.request.url.startswith(server):
                return route.continue_()
            elsewhere.append(route.request.url)
            return route.abort()

        context.route("**/*", only_this_server)
        tab = context.new_page()
        tab.goto(server + "/")
        yield tab
        context.close()
        browser.close()
        assert elsewhere == []


def _cli_score(path: Path) -> float:
    done = subprocess.run(
        [sys.executable, "-m", "mpeil", "score", str(path), "-f", "json"], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)[0]["score"]


def test_upload_the_example_and_see_the_clis_score(page, shots):
    expect(page.get_by_role("heading", name="M-peil berekenen")).to_be_visible()
    page.get_by_label("Gebouwbestand").set_input_files(str(EXAMPLES / "terraced_house.json"))
    page.get_by_role("button", name="Bereken").click()
    score = page.locator(".score-value").first
    expect(score).to_be_visible(timeout=60_000)
    cli = _cli_score(EXAMPLES / "terraced_house.json")
    assert round(float(score.get_attribute("data-score")), 10) == cli  # the CLI's JSON has 10 decimals
    assert score.inner_text().startswith(f"{cli:.4g}".rstrip("0").rstrip("."))
    expect(page.locator("#element-chart .row")).to_have_count(15)
    expect(page.get_by_text("productie (A1-A3)")).to_be_visible()
    page.screenshot(path=str(shots / "score-nl.png"), full_page=True)
    page.get_by_label("Taal").select_option("en")
    expect(page.get_by_role("heading", name="Compute the M-peil")).to_be_visible()
    expect(page.get_by_text("product (A1-A3)")).to_be_visible()
    page.screenshot(path=str(shots / "score-en.png"), full_page=True)


def test_download_the_report(page, shots):
    page.get_by_label("Gebouwbestand").set_input_files(str(EXAMPLES / "apartment_building.json"))
    page.get_by_role("button", name="Bereken").click()
    link = page.locator("#report-link")
    expect(link).to_be_visible(timeout=60_000)
    with page.expect_download() as download:
        link.click()
    saved = shots / "report.html"
    download.value.save_as(saved)
    text = saved.read_text(encoding="utf-8")
    assert "example-apartment-building" in text and text.lstrip().lower().startswith("<!doctype html")


def test_compare_two_variants(page, shots):
    page.get_by_role("tab", name="Varianten vergelijken").click()
    page.get_by_label("Variant A").set_input_files(str(EXAMPLES / "terraced_house.json"))
    page.get_by_label("Variant B").set_input_files(str(EXAMPLES / "apartment_building.json"))
    page.get_by_role("button", name="Vergelijk", exact=True).click()
    sentence = page.locator("#compare-sentence")
    expect(sentence).to_be_visible(timeout=60_000)
    house, flats = _cli_score(EXAMPLES / "terraced_house.json"), _cli_score(EXAMPLES / "apartment_building.json")
    change = abs(100 * (flats - house) / house)
    word = "lager" if flats < house else "hoger"
    assert sentence.inner_text() == f"Variant B scoort {change:.1f} % {word} dan variant A."
    expect(page.locator("#compare-explanation")).to_contain_text("example-apartment-building is")
    page.screenshot(path=str(shots / "compare.png"), full_page=True)


def test_keyboard_reaches_the_tabs(page):
    page.get_by_role("tab", name="Gebouw", exact=True).focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Varianten vergelijken")).to_be_focused()
    expect(page.get_by_role("tab", name="Varianten vergelijken")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#compare")).to_be_visible()


def test_run_a_small_batch_to_completion(page, shots, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"id": ', encoding="utf-8")
    page.get_by_role("tab", name="Reeks (overheid)").click()
    page.get_by_label("API-sleutel").fill(AUTHORITY_KEY)
    page.get_by_label("Bestanden of zip-archieven").set_input_files(
        [str(EXAMPLES / "terraced_house.json"), str(EXAMPLES / "apartment_building.json"), str(broken)]
    )
    page.get_by_role("button", name="Start reeks").click()
    expect(page.locator("#batch-status")).to_have_text("Klaar: 2 gebouwen, 1 fouten.", timeout=180_000)
    expect(page.locator("#batch-results tbody tr")).to_have_count(2)
    expect(page.locator("#batch-errors tbody tr")).to_have_count(1)
    expect(page.locator("#batch-errors")).to_contain_text("broken.json")
    expect(page.locator("#batch-errors")).to_contain_text("ParseError")
    page.screenshot(path=str(shots / "batch.png"), full_page=True)
    with page.expect_download() as download:
        page.get_by_role("button", name="Resultaten als CSV").click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("file,building")


def test_upload_an_ifc_model(page, shots):
    model = EXAMPLES.parent.parent / "tests" / "fixtures" / "ifc" / "ac20-fzk-haus.ifc"
    page.get_by_label("Gebouwbestand").set_input_files(str(model))
    page.get_by_role("button", name="Bereken").click()
    score = page.locator(".score-value").first
    expect(score).to_be_visible(timeout=180_000)
    assert round(float(score.get_attribute("data-score")), 10) == _cli_score(model)
    # issue 19: FZK-Haus maps in full (materials or documented defaults); the page says so
    expect(page.locator("ul.notes")).to_contain_text("Mapped share of the volume: 100.0%")
    page.screenshot(path=str(shots / "score-ifc.png"), full_page=True)


def _cli_row(path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "mpeil", "score", str(path), "-f", "json"], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)[0]


@pytest.mark.parametrize("page", [PHONE, DESKTOP], ids=["phone", "desktop"], indirect=True)
def test_label_quality_grade_and_estimates_beside_the_score_at_two_sizes(page, shots):
    """The M-label, the data-quality grade and the estimated indicators of the CLI's JSON, in the words
    of data/scale_names.csv, beside the score in nl, fr and en, inside the viewport at both sizes."""
    cli = _cli_row(EXAMPLES / "terraced_house.json")
    page.get_by_label("Gebouwbestand").set_input_files(str(EXAMPLES / "terraced_house.json"))
    page.get_by_role("button", name="Bereken").click()
    grade = page.locator(".quality-grade").first
    expect(grade).to_be_visible(timeout=60_000)
    estimated = ", ".join(cli["indicators_estimated"])
    words = {
        "nl": ("M-label", "datakwaliteit", "Geschat uit vergelijkbare producten"),
        "fr": ("label M", "qualité données", "Estimé à partir des produits comparables"),
        "en": ("M-label", "data quality", "Estimated from peers"),
    }
    size = "phone" if page.viewport_size["width"] < 600 else "desktop"
    for language, (label, quality, estimates) in words.items():
        page.get_by_label(re.compile("Taal|Langue|Language")).select_option(language)
        expect(page.locator(".scale-label").first).to_have_text(f"{label} {cli['label']}")
        expect(page.locator(".quality-grade").first).to_have_text(f"{quality} {cli['quality_grade']}")
        expect(page.locator(".estimated-indicators").first).to_have_text(f"{estimates}: {estimated}")
        for locator in (page.locator(".scale-label").first, page.locator(".quality-grade").first):
            box = locator.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]
        page.screenshot(path=str(shots / f"trust-{language}-{size}.png"), full_page=True)
    assert cli["quality_grade"] == "C"  # the new-user trial's value, shown as "data quality C"


def _font_px(locator) -> float:
    return float(locator.evaluate("node => parseFloat(getComputedStyle(node).fontSize)"))


@pytest.mark.parametrize("page", [PHONE, DESKTOP], ids=["phone", "desktop"], indirect=True)
def test_coverage_bar_labels_and_languages_at_two_sizes(page, shots, server):
    # the example terraced house as it was before issue 22 (no services; the PE damp-proof foil whose
    # ADPE the screen flags), so that the page has a replaced flag to show
    flagged = Path(__file__).parent / "fixtures" / "passport" / "sources" / "terraced_house_a4e0776.json"
    page.get_by_label("Gebouwbestand").set_input_files(str(flagged))
    page.get_by_role("button", name="Bereken").click()
    expect(page.locator(".score-value").first).to_be_visible(timeout=60_000)
    # one bar of three parts (declared, estimated, missing) summing to 100 %
    parts = page.locator("#coverage-bar span")
    expect(parts).to_have_count(3)
    assert [p.get_attribute("class") for p in parts.all()] == ["declared", "estimated", "missing"]
    assert abs(sum(float(p.get_attribute("data-share")) for p in parts.all()) - 100.0) < 1e-6
    widths = [p.bounding_box()["width"] for p in parts.all()]
    bar = page.locator("#coverage-bar").bounding_box()["width"]
    assert abs(sum(widths) - bar) <= 3  # the parts fill the bar (its 1 px border aside), never overflow it
    # element labels: whole names (no cut at 22 characters), text between 12 and 20 px at both sizes
    names = page.locator("#element-chart .name")
    assert max(len(n) for n in names.all_inner_texts()) > 22
    assert "Cavity wall: facing brick, 12 cm mineral wool, concrete blocks, plaster" in names.all_inner_texts()
    for locator in (
        names.first,
        page.locator("#element-chart .type").first,
        page.locator("#element-chart .value").first,
    ):
        assert 12 <= _font_px(locator) <= 20
    expect(page.locator("#element-chart .type").first).to_have_text(re.compile("muur|vloer|dak|fundering|schrijnwerk"))
    size = "phone" if page.viewport_size["width"] < 600 else "desktop"
    page.screenshot(path=str(shots / f"coverage-{size}.png"), full_page=True)
    page.get_by_label("Taal").select_option("fr")
    expect(page.get_by_role("heading", name="Calculer le M-peil")).to_be_visible()
    expect(page.get_by_text("production (A1-A3)")).to_be_visible()
    expect(page.locator("#coverage-bar")).to_have_attribute(
        "aria-label", re.compile("^Couverture de la pondération: déclaré")
    )
    expect(page.locator("#element-chart .type").first).to_have_text(
        re.compile("mur|plancher|toiture|fondation|fenêtre")
    )
    # the foil's flag (a peer outlier; replaced by its peer estimate by default), its reason in French
    expect(page.locator("ul.flags li").first).to_contain_text("fois au-dessus de la médiane des produits comparables")
    expect(page.locator("ul.flags li").first).to_contain_text("remplacée par l'estimation des produits comparables")
    expect(page.locator("ul.flags li").first).to_contain_text(re.compile(r"ajouterait \d+% du score"))
    page.screenshot(path=str(shots / f"score-fr-{size}.png"), full_page=True)
    assert page.request.get(server + "/favicon.ico").status == 200

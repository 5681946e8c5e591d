"""The passport rendering in a real browser: Debian's Chromium driven by playwright (nothing
downloaded). The page makes no request, reads in nl, fr and en, and prints to PDF."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

import mpeil
from mpeil.model import Building, Element, Layer
from mpeil.outputs.passport_html import render_passport_html
from mpeil.testing import tiny_library, tiny_scenarios

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


@pytest.fixture(scope="module")
def document() -> dict:
    # 10 m² wall: 0.2 m concrete (4800 kg, cast in place) and 30 kg of screwed insulation, half reused
    layers = [
        Layer(product="t:concrete", amount=0.2, unit="m", waste_category="Concrete", disassembly="cast in place"),
        Layer(
            product="t:insulation",
            amount=1.0,
            unit="m2",
            end_of_life={"landfill": 0.5, "incineration": 0.0, "reuse": 0.5, "recycling": 0.0},
            disassembly="screwed",
        ),
    ]
    building = Building(
        id="b1",
        gross_floor_area_m2=100.0,
        elements=[Element(id="EW-1", element_type="EW", quantity=10.0, unit="m2", layers=layers)],
    )
    passport = mpeil.passport_of(
        building, method="gwp", library=tiny_library(), scenarios=tiny_scenarios(), default_transport="truck"
    )
    return passport.model_dump(mode="json")


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.mark.parametrize(
    ("lang", "heading", "route"),
    [
        ("nl", "Gebouwenpaspoort — b1", "hergebruik"),
        ("fr", "Passeport du bâtiment — b1", "réemploi"),
        ("en", "Building passport — b1", "reuse"),
    ],
)
def test_the_rendering_opens_offline_in_chromium_and_prints(browser, document, lang, heading, route, tmp_path):
    path = tmp_path / f"passport-{lang}.html"
    path.write_text(render_passport_html(document, lang), encoding="utf-8")
    context = browser.new_context()
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    page.goto(path.as_uri())
    assert page.locator("h1").inner_text() == heading
    assert page.locator("html").get_attribute("lang") == lang
    # the building's reuse route: 50 % of the 30 kg insulation = 15.0 kg
    row = page.locator("tr", has=page.locator(f"td:text-is('{route}')")).first
    assert row.locator("td").nth(1).inner_text() == "15.0"
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
    context.close()
    assert requests == [path.as_uri()]  # the page itself, nothing else

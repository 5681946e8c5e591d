"""The page's static files: no network beyond its own origin, every label in both languages, and
text contrast (WCAG 2.x formula, computed here from the colours in style.css)."""

from __future__ import annotations

import json
import re
from importlib import resources

from mpeil.outputs.result import STAGES

STATIC = resources.files("mpeil.service") / "static"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"


def _text(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def test_no_file_of_the_page_refers_to_another_origin():
    for name in ("index.html", "app.js", "style.css"):
        urls = re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"'<>)]*", _text(name).replace(SVG_NAMESPACE, ""))
        assert urls == [], (name, urls)
    html = _text("index.html")
    assert re.findall(r'(?:src|href)="([^"]+)"', html) == ["/static/favicon.svg", "/static/style.css", "/static/app.js"]


def test_every_label_exists_in_dutch_french_and_english():
    strings = json.loads(_text("strings.json"))
    assert set(strings["nl"]) == set(strings["en"]) == set(strings["fr"])
    used = set(re.findall(r'data-t="([a-z_]+)"', _text("index.html")))
    used |= set(re.findall(r'\bt\("([a-z_]+)"\s*[,)]', _text("app.js")))
    stages = {f"stage_{name}" for name in STAGES}  # the API's stage names, labelled by t("stage_" + name)
    assert used and not (used | stages) - set(strings["nl"])  # stage labels: t("stage_" + name) in app.js
    assert all(strings["nl"][k] and strings["en"][k] and strings["fr"][k] for k in strings["nl"])
    from mpeil.model.building import ElementType

    assert {f"type_{code.value}" for code in ElementType} <= set(strings["nl"])  # every element family named


def test_the_two_letter_scales_have_the_words_of_every_output():
    """The page names the M-label and the data-quality grade as the CLI's table and the report do
    (data/scale_names.csv), in each of its languages, never one as the other."""
    from mpeil.outputs.scale_names import scale_name

    strings = json.loads(_text("strings.json"))
    for language in ("nl", "fr", "en"):
        for scale in ("label", "quality_grade"):
            assert strings[language][f"scale_{scale}"] == scale_name(scale, language)
            assert strings[language][f"scale_{scale}_long"] == scale_name(scale, language, long=True)
    assert strings["nl"]["scale_quality_grade"] == "datakwaliteit"  # literal: the words users read
    assert strings["en"]["scale_quality_grade"] == "data quality"
    assert strings["fr"]["scale_label"] == "label M"


def _luminance(colour: str) -> float:
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_formula_on_known_pairs():
    assert _contrast("#000", "#fff") == 21.0  # the WCAG maximum
    assert round(_contrast("#767676", "#fff"), 2) == 4.54  # the classic lightest AA grey on white


def test_every_text_colour_has_at_least_aa_contrast_on_its_background():
    css = re.sub(r"/\*.*?\*/", "", _text("style.css"), flags=re.S)
    variables = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{3,6})", css))

    def resolve(value: str) -> str:
        match = re.match(r"var\(--([\w-]+)\)", value.strip())
        return variables[match.group(1)] if match else value.strip()

    checked = 0
    for selector, body in re.findall(r"([^{}]+)\{([^}]*)\}", css):
        colour = re.search(r"(?<![-\w])color:\s*([^;]+)", body)
        if not colour or ":disabled" in selector:  # disabled controls are exempt (WCAG 1.4.3)
            continue
        background = re.search(r"background:\s*([^;]+)", body)
        back = resolve(background.group(1)) if background else "#fff"
        assert _contrast(resolve(colour.group(1)), back) >= 4.5, selector.strip()
        checked += 1
    assert checked >= 6

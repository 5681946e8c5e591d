"""The human-readable rendering of a building passport (or of a role's view): one self-contained
HTML page (inline CSS, no script, no request), printable to PDF, in nl, fr or en.

The words are in ``data/passport/labels.csv``; the numbers are the passport's own."""

from __future__ import annotations

import csv
import html
from typing import Any

from ..errors import InputError
from ..paths import data_dir

__all__ = ["LANGUAGES", "render_material_passport_html", "render_passport_html"]

LANGUAGES = ("en", "nl", "fr")

_STYLE = """
body{font-family:sans-serif;font-size:10pt;margin:1.5em;color:#111}
h1{font-size:16pt}h2{font-size:13pt;margin-top:1.5em}
table{border-collapse:collapse;margin:.5em 0;page-break-inside:auto}
th,td{border:1px solid #999;padding:2px 6px;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
tr{page-break-inside:avoid}
.meta td:first-child{font-weight:bold}
code{font-size:9pt;word-break:break-all}
@media print{body{margin:0}}
"""


def _labels(lang: str) -> dict[str, str]:
    if lang not in LANGUAGES:
        raise InputError(f"language {lang!r} is not one of {', '.join(LANGUAGES)}", field="lang")
    with open(data_dir() / "passport" / "labels.csv", encoding="utf-8", newline="") as handle:
        return {row["key"]: row[lang] for row in csv.DictReader(handle)}


def _number(value: Any, label: dict[str, str], digits: int = 1) -> str:
    if value is None:
        return f"<td class=n>{html.escape(label['missing'])}</td>"
    return f"<td class=n>{value:,.{digits}f}</td>"


def _text(value: Any) -> str:
    return "" if value is None else html.escape(str(value))


def _meta(document: dict, label: dict[str, str]) -> str:
    building = document.get("building", {})
    rows = [
        (label["building"], f"{_text(building.get('id'))} {_text(building.get('name'))}" if building else ""),
        (label["version"], _text(document.get("passport_version"))),
        (label["hash"], f"<code>{_text(document.get('content_sha256'))}</code>"),
        (label["method"], _text(document.get("method"))),
        (label["library"], _text(document.get("library"))),
        (label["study_period"], _text(document.get("study_period_years"))),
    ]
    if "view" in document:
        view = document["view"]
        hidden = len(view.get("hidden_sha256", {}))
        rows.append((label["view"], f"{_text(view.get('role'))} ({hidden} {html.escape(label['hidden'])})"))
    return "<table class=meta>" + "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows) + "</table>"


def _shares(title: str, shares: dict[str, dict], label: dict[str, str]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(label.get(key, key))}</td>{_number(v['mass_kg'], label)}"
        f"{_number(None if v['share'] is None else 100 * v['share'], label)}</tr>"
        for key, v in shares.items()
    )
    return f"<table><tr><th>{title}</th><th>{label['mass']}</th><th>{label['share']} (%)</th></tr>{rows}</table>"


def _coordinator(document: dict, label: dict[str, str]) -> str:
    parts = [f"<h2>{html.escape(label['coordinator'])}</h2>"]
    for potential in document.get("coordinator", []):
        scope = label["whole_building"] if potential["scope"] == "building" else potential["element_id"]
        parts.append(
            f"<h3>{html.escape(label['scope'])}: {_text(scope)} — {potential['mass_kg']:,.1f} kg"
            + (
                f" ({potential['components_without_mass']} {html.escape(label['without_mass'])})"
                if potential["components_without_mass"]
                else ""
            )
            + "</h3>"
        )
        parts.append(_shares(html.escape(label["route"]), potential["by_route"], label))
        parts.append(_shares(html.escape(label["disassembly_class"]), potential["by_disassembly"], label))
    return "".join(parts)


def _gwp(component: dict) -> float | None:
    for impact in component.get("impacts", []):
        if impact["indicator"] == "GWP-total":
            values = [v for v in impact["stages"].values() if v is not None]
            return sum(values) if values else None
    return None


def _components(document: dict, label: dict[str, str]) -> str:
    components = document.get("components", [])
    columns = [
        c
        for c in ("component_id", "element_id", "material", "dataset_name", "service_life_years", "disassembly")
        if any(c in component for component in components)
    ]
    numbers = [c for c in ("mass_kg", "reuse_potential") if any(c in component for component in components)]
    with_gwp = any("impacts" in component for component in components)
    head = "".join(f"<th>{html.escape(label[c])}</th>" for c in columns + numbers)
    head += f"<th>{html.escape(label['gwp'])}</th>" if with_gwp else ""
    rows = []
    for component in components:
        cells = "".join(f"<td>{_text(component.get(c))}</td>" for c in columns)
        cells += "".join(_number(component.get(c), label, 2 if c == "reuse_potential" else 1) for c in numbers)
        cells += _number(_gwp(component), label) if with_gwp else ""
        rows.append(f"<tr>{cells}</tr>")
    return f"<h2>{html.escape(label['components'])}</h2><table><tr>{head}</tr>{''.join(rows)}</table>"


def render_passport_html(document: dict, lang: str = "en") -> str:
    """The passport document (or a view of it, as written by ``mpeil passport``) as one
    self-contained HTML page in ``lang`` (``nl``, ``fr`` or ``en``).

    Raises
    ------
    InputError
        ``lang`` is not one of :data:`LANGUAGES`.
    """
    label = _labels(lang)
    title = html.escape(f"{label['title']} — {document.get('building', {}).get('id', '')}".rstrip(" —"))
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{title}</h1>"
        f"{_meta(document, label)}{_coordinator(document, label)}{_components(document, label)}</body></html>\n"
    )


def _epd_table(epd: list[dict], label: dict[str, str]) -> str:
    modules = list(dict.fromkeys(v["module"] + (f" ({v['scenario']})" if v["scenario"] else "") for v in epd))
    table: dict[tuple[str, str], dict[str, Any]] = {}
    for v in epd:
        module = v["module"] + (f" ({v['scenario']})" if v["scenario"] else "")
        table.setdefault((v["indicator"], v["unit"] or ""), {})[module] = v["value"]
    head = f"<th>{html.escape(label['indicator'])}</th><th>{html.escape(label['unit'])}</th>"
    head += "".join(f"<th>{html.escape(m)}</th>" for m in modules)
    rows = "".join(
        f"<tr><td>{_text(indicator)}</td><td>{_text(unit)}</td>"
        + "".join(
            f"<td class=n>{values[m]:.4g}</td>"
            if values.get(m) is not None
            else f"<td class=n>{html.escape(label['missing'])}</td>"
            for m in modules
        )
        + "</tr>"
        for (indicator, unit), values in table.items()
    )
    return f"<h2>{html.escape(label['epd_values'])}</h2><table><tr>{head}</tr>{rows}</table>"


def render_material_passport_html(document: dict, lang: str = "en") -> str:
    """A material passport (or a view of it) as one self-contained HTML page in ``lang``."""
    label = _labels(lang)
    identity = document.get("identity", {})
    name = (document.get("name") or {}).get("en") or identity.get("dataset_id", "")
    title = html.escape(f"{label['material_title']} — {name}")
    rows = [
        (label["identity"], f"{_text(identity.get('dataset_id'))} ({_text(identity.get('version'))})"),
        (label["manufacturer"], _text(document.get("manufacturer"))),
        (label["origin"], _text(document.get("origin"))),
        (label["validity"], _text(identity.get("valid_until"))),
        (label["hash"], f"<code>{_text(document.get('content_sha256'))}</code>"),
    ]
    if "declared_unit" in document:
        unit = document["declared_unit"]
        rows.append((label["declared_unit"], f"{_text(unit.get('amount'))} {_text(unit.get('unit'))}"))
    for prop in document.get("technical_properties", []):
        rows.append((html.escape(prop["name"]), f"{prop['value']:g} {_text(prop['unit'])}"))
    if document.get("composition"):
        parts = ", ".join(f"{_text(c.get('material'))} {_text(c.get('share'))}" for c in document["composition"])
        rows.append((label["composition"], parts))
    meta = "<table class=meta>" + "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows) + "</table>"
    epd = _epd_table(document["epd"], label) if "epd" in document else ""
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{title}</h1>{meta}{epd}</body></html>\n"
    )

"""A self-contained, printable HTML report of a :class:`~mpeil.outputs.Result` for a dossier.

One file, no network access: CSS inline, plots as inline SVG. Per building: the score with its
coverage split, the stages, the elements and top contributors, flagged data; then the variants
side by side (when a comparison is given), the method's assumptions and options, and the
provenance (method and library hashes). Every number shown carries its full value in a
``data-value`` attribute, so it can be checked against ``mpeil score -f json``.
"""

from __future__ import annotations

import datetime as _dt
import html
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from .scale_names import scale_name

if TYPE_CHECKING:
    from .compare import Comparison
    from .result import Result

__all__ = ["render_report", "building_card", "comparison_html", "CARD_CSS"]

#: method options shown under "assumptions" (the method file documents each one)
_OPTIONS = (
    "reference_study_period_years",
    "per_year",
    "modules",
    "include_d",
    "replacement_rule",
    "replacement_modules",
    "loss_basis",
    "default_transport",
    "eol_allocation",
    "multicycle_split",
)
_COVERAGE = (("weight_declared", "declared"), ("weight_estimated", "estimated"), ("weight_missing", "missing"))

CARD_CSS = """
.mpeil-card{border:1px solid #767676;border-radius:6px;padding:.6em 1em;margin:.6em 0;max-width:46em;
 font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1a1a;background:#fff}
.mpeil-card h3{margin:.1em 0 .3em;font-size:1.1em}
.mpeil-score{font-size:1.8em;font-weight:700}
.mpeil-unit{font-size:.6em;font-weight:400;color:#404040}
.mpeil-bar{display:flex;height:.9em;border:1px solid #404040;margin:.3em 0;max-width:30em}
.mpeil-bar span{display:block;height:100%}
.mpeil-declared,.mpeil-covered{background:#1f5a96}.mpeil-estimated{background:#e0a800}.mpeil-missing{background:#fff}
.mpeil-card table{border-collapse:collapse;margin:.4em 0}
.mpeil-card td,.mpeil-card th{padding:.1em .6em;text-align:right;border-bottom:1px solid #d0d0d0}
.mpeil-card th[scope=row],.mpeil-card td.mpeil-text,.mpeil-card thead th:first-child{text-align:left}
"""

_PAGE_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1a1a;background:#fff;
 margin:1.5em auto;max-width:60em;padding:0 1em;line-height:1.4}
h1{font-size:1.6em;border-bottom:2px solid #1f5a96}h2{font-size:1.3em;margin-top:1.6em;color:#123a63}
h3{font-size:1.1em}
table{border-collapse:collapse;margin:.6em 0;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:.2em 0;color:#1a1a1a}
th,td{padding:.2em .6em;border-bottom:1px solid #c8c8c8;text-align:right;vertical-align:top}
th{background:#eef2f7}td.mpeil-text,th[scope=row],thead th:first-child{text-align:left}
figure{margin:.8em 0;break-inside:avoid}figure svg{max-width:100%;height:auto}
figcaption{font-size:.9em;color:#404040}
.mpeil-note{color:#404040;font-size:.9em}
.mpeil-flag{color:#8a1c1c;font-weight:600}
section.mpeil-building{border-top:1px solid #767676;margin-top:2em}
code{font-size:.9em;word-break:break-all}
@media print{body{margin:0;max-width:none;font-size:10pt}
 section.mpeil-building{break-before:page}nav{display:none}
 a{color:inherit;text-decoration:none}th{background:#eee!important;-webkit-print-color-adjust:exact;
 print-color-adjust:exact}.mpeil-bar span{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""


# ---------------------------------------------------------------------------- small helpers
def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: Any, digits: int = 4, field: str = "", building: str = "") -> str:
    """A number cell: shown with ``digits`` significant digits, full value in ``data-value``;
    missing (NaN/None) is shown as "no data", never 0."""
    attrs = (f' data-field="{_e(field)}"' if field else "") + (f' data-building="{_e(building)}"' if building else "")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f'<td{attrs} data-value="NaN">no data</td>'
    return f'<td{attrs} data-value="{float(value)!r}">{float(value):.{digits}g}</td>'


def _pct(value: float) -> str:
    return "no data" if value is None or math.isnan(value) else f"{100.0 * value:.1f} %"


def _table(caption: str, header: Sequence[str], rows: Sequence[str]) -> str:
    head = "".join(f'<th scope="col">{_e(h)}</th>' for h in header)
    return (
        f"<table><caption>{_e(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _figure(ax: Any, caption: str) -> str:
    from .plots import figure_svg

    svg = figure_svg(ax.figure)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{_e(caption)}" ', 1)
    return f"<figure>{svg}<figcaption>{_e(caption)}</figcaption></figure>"


def _coverage(row: pd.Series) -> list[tuple[str, float]]:
    """(label, share of the EF weighting): declared/estimated/missing when issue 8's columns are
    there, else covered/missing."""
    if all(column in row.index for column, _ in _COVERAGE):
        return [(label, float(row[column])) for column, label in _COVERAGE]
    covered = float(row["weight_covered"])
    return [("covered", covered), ("missing", 1.0 - covered)]


def _coverage_bar(parts: list[tuple[str, float]]) -> str:
    spans = "".join(
        f'<span class="mpeil-{_e(label)}" style="width:{100.0 * share:.2f}%" title="{_e(label)} {_pct(share)}"></span>'
        for label, share in parts
        if share > 0
    )
    text = ", ".join(f"{label} {_pct(share)}" for label, share in parts)
    return f'<div class="mpeil-bar" role="img" aria-label="coverage of the weighting: {_e(text)}">{spans}</div>'


def _row(frame: pd.DataFrame, key: Any) -> pd.Series:
    return cast("pd.Series", frame.loc[key])


# ---------------------------------------------------------------------------- the building card
def building_card(result: Result, building: str, title: str | None = None) -> str:
    """Score, coverage split, stages and the top contributors of one building (HTML fragment);
    ``title`` defaults to the building id."""
    row = _row(result.scores, building)
    parts = _coverage(row)
    stages = _row(result.by_stage(), building)
    stage_rows = "".join(
        f'<tr><th scope="row">{_e(stage)}</th>{_num(value, field=str(stage), building=building)}</tr>'
        for stage, value in stages.items()
    )
    top = result.by_element(building).sort_values("score", ascending=False, kind="stable").head(3)
    top_rows = "".join(
        f'<tr><th scope="row">{_e(r.element)} {_e(r.name or "")}</th>{_num(r.score)}</tr>' for r in top.itertuples()
    )
    coverage = ", ".join(f"{label} {_pct(share)}" for label, share in parts)
    return (
        f'<div class="mpeil-card"><h3>{_e(title or building)}</h3>'
        f'<div class="mpeil-score" data-building="{_e(building)}" data-field="score" '
        f'data-value="{float(row["score"])!r}">{_fmt(row["score"])} '
        f'<span class="mpeil-unit">{_e(row["score_unit"])} ({_e(result.method.name)})</span></div>'
        f"{_label_line(row, building, result.method.name)}"
        f"<div>Coverage of the EF weighting: {_e(coverage)}</div>{_coverage_bar(parts)}"
        f"{_ifc_line(row)}{_flags_line(row)}"
        + _table("Stages (D reported apart)", ["stage", str(row["score_unit"])], [stage_rows])
        + _table("Top contributors", ["element", str(row["score_unit"])], [top_rows])
        + "</div>"
    )


def _label_line(row: pd.Series, building: str, method: str) -> str:
    """The A–G label where the method has a label scale (scenarios/labels/<method>.csv), else nothing."""

    label = row.get("label")
    quality = row.get("quality_grade")
    quality_text = f"; {scale_name('quality_grade')} {_e(quality)}" if isinstance(quality, str) else ""
    if not isinstance(label, str):
        note = row.get("label_note")  # bands exist but the score is not comparable with them
        if isinstance(note, str) and note:
            return f'<div class="mpeil-label" data-building="{_e(building)}" data-field="label_note">{_e(note)}</div>'
        return ""
    return (
        f'<div class="mpeil-label" data-building="{_e(building)}" data-field="label" data-value="{_e(label)}">'
        f"{scale_name('label')} <strong>{_e(label)}</strong>{quality_text} (bands of "
        f"scenarios/labels/{_e(method)}.csv for its use type; see their derivation: percentiles of a reference "
        "dataset unless a policy sets them)</div>"
    )


def _fmt(value: Any) -> str:
    return "no data" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{float(value):.4g}"


def _ifc_line(row: pd.Series) -> str:
    """An IFC model's mapped share of volume and mass, split by how each material was mapped (issue 19)."""
    share = row.get("mapped_volume_share")
    if not isinstance(share, float) or math.isnan(share):
        return ""
    split = ", ".join(
        f"{key.removeprefix('volume_').replace('_', ' ')} {_pct(value)}"
        for key, value in (row.get("mapped_by") or {}).items()
        if key.startswith("volume_") and value > 0
    )
    mass = row.get("mapped_mass_share")
    mass_text = _pct(mass) if isinstance(mass, float) and not math.isnan(mass) else "unknown"
    return (
        f'<div class="mpeil-note" data-field="mapped_volume_share" data-value="{share!r}">IFC model: '
        f"{_e(_pct(share))} of the material volume mapped ({_e(split)}); mass {_e(mass_text)}</div>"
    )


def _flags_line(row: pd.Series) -> str:
    notes = []
    if row.get("indicators_missing"):
        notes.append(f"no data set declares {', '.join(row['indicators_missing'])}")
    flags = row.get("flags")
    if isinstance(flags, (list, tuple)) and flags:
        notes.append(f"flagged data: {', '.join(map(str, flags))}")
    return f'<div class="mpeil-note">{_e("; ".join(notes))}</div>' if notes else ""


# ---------------------------------------------------------------------------- report sections
def _summary(result: Result) -> str:
    """All buildings side by side: score, coverage split and stages."""
    scores, stages = result.scores, result.by_stage()
    labels = [label for label, _ in _coverage(scores.iloc[0])]
    unit = str(scores["score_unit"].iloc[0])
    with_label = "label" in scores  # the method has an A–G scale
    header = ["building", f"score [{unit}]", *([scale_name("label")] if with_label else [])]
    header += [*[f"{label} [% of weighting]" for label in labels], *stages.columns]
    rows = []
    for building, row in scores.iterrows():
        cells = [_num(row["score"], field="score", building=str(building))]
        if with_label:
            label = row["label"] if isinstance(row["label"], str) else "–"
            cells.append(
                f'<td data-building="{_e(building)}" data-field="label" data-value="{_e(label)}">{_e(label)}</td>'
            )
        for label, share in _coverage(row):
            cells.append(
                f'<td data-building="{_e(building)}" data-field="{_e(label)}" data-value="{share!r}">{_pct(share)}</td>'
            )
        cells += [_num(v, field=str(stage), building=str(building)) for stage, v in _row(stages, building).items()]
        link = f'<a href="#b-{_e(building)}">{_e(building)}</a>'
        rows.append(f'<tr><th scope="row">{link}</th>{"".join(cells)}</tr>')
    caption = f"Scores side by side ({unit}; stages per m² GFA per year, D reported apart)"
    return _table(caption, header, rows)


def _elements_table(result: Result, building: str) -> str:
    frame = result.by_element(building)
    total = float(frame["score"].sum())
    unit = str(_row(result.scores, building)["score_unit"])
    rows = []
    for r in frame.sort_values("score", ascending=False, kind="stable").itertuples():
        share = float(cast(float, r.score)) / total if total else float("nan")
        rows.append(
            f'<tr><th scope="row">{_e(r.element)}</th><td class="mpeil-text">{_e(r.name or "")}</td>'
            f'<td class="mpeil-text">{_e(r.element_type)}</td>{_num(r.quantity)}<td class="mpeil-text">{_e(r.unit)}</td>'
            f"{_num(r.score, field='element:' + str(r.element), building=building)}<td>{_pct(share)}</td></tr>"
        )
    header = ["element", "name", "type", "quantity", "unit", f"contribution [{unit}]", "share"]
    return _table(f"Elements of {building}, largest contribution first", header, rows)


def _flagged(result: Result, building: str) -> str:
    row = _row(result.scores, building)
    items = []
    flags = row.get("flags")
    if flags is not None and len(flags):
        items.append(
            f"<li class='mpeil-flag'>Flagged data sets driving the score: {_e(', '.join(map(str, flags)))}</li>"
        )
    if row.get("indicators_missing"):
        items.append(f"<li>No data set declares: {_e(', '.join(row['indicators_missing']))}</li>")
    if row.get("indicators_partial"):
        items.append(f"<li>Declared for only part of the lines: {_e(', '.join(row['indicators_partial']))}</li>")
    if row.get("module_gaps"):
        gaps = ", ".join(f"{m} {share:.0%}" for m, share in row["module_gaps"].items())
        items.append(f"<li>Data gaps (share of lines without data): {_e(gaps)}</li>")
    if row.get("uncovered"):
        items.append(f"<li>Not in any open data: {_e(', '.join(row['uncovered']))}</li>")
    if row.get("fallback_lines"):
        fallback = ", ".join(f"{k}: {v} lines" for k, v in row["fallback_lines"].items())
        items.append(f"<li>A1-A3 from a fallback indicator: {_e(fallback)}</li>")
    body = f"<ul>{''.join(items)}</ul>" if items else "<p>Nothing flagged: every indicator and module has data.</p>"
    return f"<h3>Flagged and missing data</h3>{body}"


def _building_section(result: Result, building: str) -> str:
    plot = result.plot
    return (
        f'<section class="mpeil-building" id="b-{_e(building)}" aria-labelledby="h-{_e(building)}">'
        f'<h2 id="h-{_e(building)}">{_e(building)}</h2>'
        + building_card(result, building, "Score, coverage and top contributors")
        + _figure(plot.stages(building), f"Score of {building} by life-cycle stage")
        + _figure(plot.elements(building), f"Element contributions of {building} (Pareto)")
        + _figure(plot.indicators(building), f"Indicator contributions to the score of {building}")
        + _elements_table(result, building)
        + _flagged(result, building)
        + "</section>"
    )


def comparison_html(comparison: Comparison, with_plots: bool = False) -> str:
    """The variants side by side: explanation, element table and (``with_plots``) waterfalls."""
    ids = list(comparison.buildings)
    paragraphs = "".join(f"<p>{_e(p)}</p>" for p in comparison.explanation.split("\n\n"))
    scores = "".join(_num(comparison.scores[b], field="score", building=b) for b in ids)
    deltas = "".join(_num(comparison.difference(b)) for b in ids[1:])
    rows = [f'<tr><th scope="row">score</th><td class="mpeil-text"></td>{scores}{deltas}</tr>']
    for _, row in comparison.elements.iterrows():
        cells = "".join(_num(row[b]) for b in ids) + "".join(_num(row[f"Δ {b}"]) for b in ids[1:])
        rows.append(
            f'<tr><th scope="row">{_e(row["label"])}</th><td class="mpeil-text">{_e(row["matched_by"])}</td>{cells}</tr>'
        )
    header = ["element", "matched by", *ids, *[f"Δ {b}" for b in ids[1:]]]
    table = _table(f"Element contributions [{comparison.unit}], baseline {comparison.baseline}", header, rows)
    figures = ""
    if with_plots:
        from .plots import waterfall

        figures = "".join(
            _figure(waterfall(comparison, v), f"From {comparison.baseline} to {v}, element by element")
            for v in comparison.variants
        )
    return f'<div class="mpeil-variants">{paragraphs}{figures}{table}</div>'


def _assumptions(result: Result) -> str:
    method = result.method
    rows = []
    for name in _OPTIONS:
        value = getattr(method, name, None)
        shown = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
        rows.append(f'<tr><th scope="row">{_e(name)}</th><td class="mpeil-text">{_e(shown)}</td></tr>')
    overridden = result.provenance.get("options") or {}
    note = ", ".join(f"{k} = {v}" for k, v in overridden.items()) or "none (the method's defaults)"
    return (
        "<h2 id='assumptions'>Assumptions and options</h2>"
        f"<p><strong>{_e(method.title or method.name)}</strong></p><p class='mpeil-note'>{_e(method.description)}</p>"
        f"<p>Options overridden for this run: {_e(note)}</p>"
        + _table(f"Options of method {method.name}", ["option", "value"], rows)
    )


def _provenance(result: Result) -> str:
    provenance = {"method": result.method.name, "method_hash": result.method.fingerprint, **result.provenance}
    flat: dict[str, object] = {}
    for key, value in provenance.items():  # the Scorer's provenance nests method, library, scenarios, input
        if key == "options":
            continue
        if isinstance(value, dict):
            flat.update({f"{key} {sub}": v for sub, v in value.items() if sub != "options"})
        else:
            flat[key] = value
    rows = "".join(
        f'<tr><th scope="row">{_e(k)}</th><td class="mpeil-text"><code>{_e(v)}</code></td></tr>'
        for k, v in flat.items()
    )
    return "<h2 id='provenance'>Provenance</h2>" + _table("Method, library and input hashes", ["item", "value"], [rows])


def _resolve_variants(result: Result, variants: Comparison | Sequence[str] | None) -> Comparison | None:
    if variants is None:
        return None
    from .compare import Comparison, compare_result

    return variants if isinstance(variants, Comparison) else compare_result(result, list(variants))


def render_report(result: Result, variants: Comparison | Sequence[str] | None = None) -> str:
    """The whole report as one HTML string (UTF-8, no external resources).

    ``variants``: a :class:`~mpeil.outputs.compare.Comparison`, or building ids of ``result``
    (baseline first) to compare side by side.
    """
    comparison = _resolve_variants(result, variants)
    buildings = result.building_ids
    nav = "".join(f'<li><a href="#b-{_e(b)}">{_e(b)}</a></li>' for b in buildings)
    title = f"M-peil report: {', '.join(buildings[:3])}{' …' if len(buildings) > 3 else ''}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_PAGE_CSS}{CARD_CSS}</style></head><body>",
        f"<header><h1>{_e(title)}</h1><p>Method <strong>{_e(result.method.name)}</strong> — "
        f"{_e(result.method.title)}. Made with mpeil {_e(result.provenance.get('engine_version', ''))} on "
        f"{_dt.date.today().isoformat()}.</p></header>",
        f"<nav aria-label='buildings'><ul>{nav}</ul></nav><main>",
        "<h2 id='summary'>Summary</h2>" + _summary(result),
    ]
    if comparison is not None:
        parts.append("<h2 id='variants'>Variants side by side</h2>" + comparison_html(comparison, with_plots=True))
    parts += [_building_section(result, b) for b in buildings]
    parts += [_assumptions(result), _provenance(result), "</main></body></html>"]
    return "\n".join(parts)

"""A minimal self-contained HTML report, used until ``mpeil.outputs.report.render_report`` exists."""

from __future__ import annotations

import html

__all__ = ["minimal_report"]


def _cell(value) -> str:
    if value is None:
        return "<td>no data</td>"
    if isinstance(value, float):
        return f'<td class="n">{value:.4g}</td>'
    return f"<td>{html.escape(str(value))}</td>"


def _table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f'<th scope="col">{html.escape(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def minimal_report(result) -> str:
    """One page per scored file: score, coverage, stages and elements of each building (no scripts)."""
    from .scoring import summarize

    summary = summarize(result)
    unit = html.escape(summary["score_unit"])
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>mpeil report: {html.escape(summary['method'])}</title>",
        "<style>body{font-family:sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem;color:#111}"
        "table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #999;padding:.2rem .5rem}"
        ".n{text-align:right}</style></head><body>",
        f"<h1>mpeil report</h1><p>Method: {html.escape(summary['method_title'] or summary['method'])}. "
        f"Values in {unit}; D is {'counted' if summary['include_d'] else 'reported apart, not counted'}.</p>",
    ]
    for building in summary["buildings"]:
        parts.append(f"<h2>{html.escape(building['building'])}</h2>")
        parts.append(_table(["score", "unit"], [[building["score"], summary["score_unit"]]]))
        parts.append(
            "<h3>Coverage</h3>" + _table(["share", "value"], [[k, v] for k, v in building["coverage"].items()])
        )
        parts.append("<h3>Stages</h3>" + _table(["stage", unit], [[k, v] for k, v in building["stages"].items()]))
        rows = [[e["element"], e["name"], e["element_type"], e["score"]] for e in building["elements"]]
        parts.append("<h3>Elements</h3>" + _table(["element", "name", "type", unit], rows))
        if building["indicators_missing"]:
            missing = ", ".join(building["indicators_missing"])
            parts.append(f"<p>No data set declares: {html.escape(missing)}.</p>")
        if building["flags"]:
            parts.append("<p>Flags: " + html.escape(", ".join(building["flags"])) + "</p>")
    parts.append(f"<p>Engine {html.escape(str(result.provenance.get('engine_version', '')))}.</p></body></html>")
    return "".join(parts)

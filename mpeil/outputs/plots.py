"""``result.plot``: stage bars, element Pareto, indicator contributions and a variant waterfall.

matplotlib is imported when a plot is drawn, never at import. Each plot draws on a new
:class:`matplotlib.figure.Figure` (no pyplot, no global figure registry) unless an ``ax`` is given,
and returns the Axes (``ax.figure.savefig(...)`` to keep it). Every value is a contribution to the
single score in the method's score unit per m² GFA (per year if the method is); the axis labels say so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .compare import Comparison
    from .result import Result

__all__ = ["ResultPlots", "figure_svg"]

_BLUE, _GREY, _GREEN, _RED = "#1f5a96", "#8c8c8c", "#2e7d32", "#c62828"


def _axes(ax: Any, size: tuple[float, float]) -> Any:
    if ax is not None:
        return ax
    try:
        from matplotlib.figure import Figure
    except ImportError:  # an optional dependency: say how to get it
        raise ImportError("plots need matplotlib: pip install 'mpeil[plots]'") from None

    return Figure(figsize=size, layout="constrained").add_subplot()


def figure_svg(figure: Any) -> str:
    """The figure as an inline ``<svg>`` element (no XML prolog, no external references)."""
    import io

    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    start, end = text.find("<metadata>"), text.find("</metadata>")
    if 0 <= start < end:  # RDF creator notes only: not needed in a report
        text = text[:start] + text[end + len("</metadata>") :]
    return text


class ResultPlots:
    """The ``result.plot`` accessor."""

    def __init__(self, result: Result) -> None:
        self._result = result

    @property
    def _unit(self) -> str:
        return str(self._result.scores["score_unit"].iloc[0])

    def _building(self, building: str | None) -> str:
        if building is None:
            return self._result.building_ids[0]
        self._result.check_building(building)
        return building

    def stages(self, building: str | None = None, ax: Any = None) -> Any:
        """Bars per TOTEM stage (D hatched: reported apart), one group per building (all by default)."""
        result = self._result
        table = result.by_stage()
        if building is not None:
            table = table.loc[[self._building(building)]]
        ax = _axes(ax, (7.0, 3.6))
        width = 0.8 / len(table)
        x = np.arange(len(table.columns))
        for k, (name, row) in enumerate(table.iterrows()):
            bars = ax.bar(x + (k - (len(table) - 1) / 2) * width, row.to_numpy(), width, label=str(name))
            bars[-1].set_hatch("//")
        ax.set_xticks(x, [s.replace(" (", "\n(") for s in table.columns])
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.set_ylabel(f"contribution [{self._unit}]")
        counted = "counted" if result.method.include_d else "not counted"
        ax.set_title(f"Score by life-cycle stage ({result.method.name}; D hatched, {counted})")
        if len(table) > 1:
            ax.legend(fontsize="small")
        return ax

    def elements(self, building: str | None = None, top: int = 12, ax: Any = None) -> Any:
        """Pareto chart: elements by contribution, largest first, with the cumulative share."""
        building = self._building(building)
        frame = self._result.by_element(building).sort_values("score", ascending=False, kind="stable")
        shown = frame.head(top)
        ax = _axes(ax, (7.5, 3.8))
        x = np.arange(len(shown))
        ax.bar(x, shown["score"].to_numpy(), color=_BLUE)
        ax.set_xticks(x, shown["element"].astype(str), rotation=45, ha="right")
        ax.set_ylabel(f"contribution [{self._unit}]")
        ax.set_xlabel("element")
        total = frame["score"].sum()
        ax.set_title(f"Element contributions, {building} (top {len(shown)} of {len(frame)})")
        if total:
            share = ax.twinx()
            share.plot(x, 100.0 * shown["score"].cumsum().to_numpy() / total, color=_RED, marker="o")
            share.set_ylabel("cumulative share of the score [%]")
            share.set_ylim(0, max(105.0, float(100.0 * shown["score"].cumsum().max() / total) + 5))
        return ax

    def indicators(self, building: str | None = None, ax: Any = None) -> Any:
        """Horizontal bars: each indicator's contribution to the single score; "no data" marked."""
        building = self._building(building)
        contributions = self._result.by_indicator().T[building].sort_values(kind="stable")
        missing = set(self._result.scores["indicators_missing"][building])
        ax = _axes(ax, (7.0, 4.6))
        y = np.arange(len(contributions))
        colors = [_GREY if code in missing else _BLUE for code in contributions.index]
        ax.barh(y, contributions.to_numpy(), color=colors)
        labels = [f"{code} (no data)" if code in missing else code for code in contributions.index]
        ax.set_yticks(y, labels)
        ax.set_xlabel(f"contribution to the score [{self._unit}]")
        ax.set_title(f"Indicator contributions, {building} ({self._result.method.name})")
        return ax

    def waterfall(
        self, other: str | Result | Comparison, baseline: str | None = None, top: int = 8, ax: Any = None
    ) -> Any:
        """From the baseline's score to a variant's, element group by element group.

        ``other``: a building id of this result, another Result (one building, same method) or a
        :class:`~mpeil.outputs.compare.Comparison` (its first variant).
        """
        comparison = self._comparison(other, baseline)
        return waterfall(comparison, comparison.variants[0], top, ax)

    def _comparison(self, other: Any, baseline: str | None) -> Comparison:
        from .compare import Comparison, compare_result, compare_results
        from .result import Result

        if isinstance(other, Comparison):
            return other
        base = self._building(baseline)
        if isinstance(other, Result):
            return compare_results([(self._result, base), (other, other.building_ids[0])])
        return compare_result(self._result, [base, str(other)])


def waterfall_steps(comparison: Comparison, variant: str, top: int = 8) -> pd.DataFrame:
    """The waterfall's bars: label, bottom, height (baseline, element changes, rest, variant)."""
    column = f"Δ {variant}"
    changes = comparison.elements[comparison.elements[column] != 0]
    changes = changes.reindex(changes[column].abs().sort_values(ascending=False).index)
    named, rest = changes.head(top), changes.iloc[top:]
    base, end = comparison.scores[comparison.baseline], comparison.scores[variant]
    rows = [{"label": comparison.baseline, "bottom": 0.0, "height": base, "kind": "total"}]
    level = base
    steps = list(zip(named["label"], named[column], strict=True))
    if len(rest):
        steps.append((f"{len(rest)} other elements", float(rest[column].sum())))
    for label, delta in steps:
        rows.append({"label": str(label), "bottom": level, "height": float(delta), "kind": "step"})
        level += delta
    rows.append({"label": variant, "bottom": 0.0, "height": end, "kind": "total"})
    return pd.DataFrame(rows)


def waterfall(comparison: Comparison, variant: str, top: int = 8, ax: Any = None) -> Any:
    """Draw :func:`waterfall_steps` (decreases green, increases red, totals blue)."""
    steps = waterfall_steps(comparison, variant, top)
    ax = _axes(ax, (8.0, 4.0))
    colors = [
        _BLUE if k == "total" else (_GREEN if h < 0 else _RED)
        for k, h in zip(steps["kind"], steps["height"], strict=True)
    ]
    x = np.arange(len(steps))
    ax.bar(x, steps["height"].to_numpy(), bottom=steps["bottom"].to_numpy(), color=colors)
    ax.set_xticks(x, [_short(label) for label in steps["label"]], rotation=40, ha="right", fontsize="small")
    for position, (bottom, height) in enumerate(zip(steps["bottom"], steps["height"], strict=True)):
        ax.annotate(
            f"{height:+.3g}" if position not in (0, len(steps) - 1) else f"{height:.4g}",
            (position, bottom + max(height, 0.0)),
            ha="center",
            va="bottom",
            fontsize="x-small",
        )
    ax.set_ylabel(f"score [{comparison.unit}]")
    title = f"From {comparison.baseline} to {variant}: what changes the score"
    levels = np.concatenate([steps["bottom"][1:-1], (steps["bottom"] + steps["height"])[1:-1]])
    if len(levels):
        low, high = float(levels.min()), float(levels.max())
        pad = max(high - low, 1e-9 * max(abs(high), 1.0))
        if low - 1.5 * pad > 0:  # small changes on a large score: cut the axis so they show
            ax.set_ylim(low - 1.5 * pad, high + 1.5 * pad)
            title += " (axis does not start at 0)"
    ax.set_title(title, fontsize="medium")
    return ax


def _short(label: str, width: int = 28) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"

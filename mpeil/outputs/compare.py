"""Variants compared like for like: element × stage differences and an explanation in words.

A :class:`Comparison` holds buildings scored with one method and one library (one
:class:`~mpeil.outputs.Result`, or several with the same method fingerprint and library hash).
The first building is the baseline. Elements are matched by id when every building has that id;
the rest are matched by element type (all leftover elements of one type form one group), and an
element type only one building has is reported as "only in …". All values are contributions to
the single score in score units per m² GFA (per year if the method is).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError, MethodError
from ..ids import IdRegister
from .result import STAGES, Result

__all__ = ["Comparison", "compare_result", "compare_results"]

#: an element whose change is below this share of the largest element change is not named
_NAMED_SHARE = 0.05
#: a module whose change is below this share of its element's largest module change is not named
_MODULE_SHARE = 0.1
_MAX_NAMED = 5


@dataclass(frozen=True, eq=False)
class Comparison:
    """Buildings compared against the first (the baseline).

    Attributes
    ----------
    buildings:
        Building ids, baseline first.
    unit:
        The score unit, e.g. ``mPt/(m²·yr)``.
    scores:
        Building → single score (the method's scored modules).
    elements:
        One row per matched element group: ``key``, ``label``, ``matched_by`` (``id``, ``type`` or
        ``only in <building>``), ``element_type``, the elements per building, the score
        contribution per building (NaN where a building has no such element) and ``Δ <building>``
        (variant − baseline, an absent element counting as nothing).
    table:
        The same groups × stage (TOTEM's stages, D apart), with the same value and Δ columns.
    modules:
        Groups × module with the Δ columns only (what the explanation names).
    coverage:
        Building × (``weight_covered``, ``module_gaps``, ``indicators_missing``, ``indicators_partial``),
        as in ``Result.scores``.
    names:
        (match key, building) → the element's name in that building (for the explanation).
    """

    buildings: tuple[str, ...]
    unit: str
    method: str
    include_d: bool
    scores: pd.Series
    coverage: pd.DataFrame
    names: dict
    elements: pd.DataFrame
    table: pd.DataFrame
    modules: pd.DataFrame

    @property
    def baseline(self) -> str:
        return self.buildings[0]

    @property
    def variants(self) -> tuple[str, ...]:
        return self.buildings[1:]

    def difference(self, variant: str | None = None) -> float:
        """Score of ``variant`` (default: the first variant) minus the baseline's."""
        variant = variant or self.variants[0]
        return float(self.scores[variant] - self.scores[self.baseline])

    @property
    def explanation(self) -> str:
        """Each variant against the baseline, in plain words, one paragraph per variant."""
        return "\n\n".join(_explain(self, variant) for variant in self.variants)

    def __repr__(self) -> str:
        return f"<mpeil.Comparison {self.method} {' vs '.join(self.buildings)}>\n{self.explanation}"

    def _repr_html_(self) -> str:
        from .report import comparison_html

        return comparison_html(self)


def compare_result(result: Result, buildings: Sequence[str]) -> Comparison:
    """Compare buildings of one result (baseline first)."""
    return compare_results([(result, b) for b in buildings])


def _common_indicators(pairs: Sequence[tuple[Result, str]]) -> list[str]:
    """Like for like (issue 8): the method indicators every compared building has on every line."""
    rows = [r.scores.loc[b] for r, b in pairs]
    gaps = {code for row in rows for code in [*row["indicators_missing"], *row["indicators_partial"]]}
    return [code for code in rows[0]["indicators_scored"] if code not in gaps]


def compare_results(pairs: Sequence[tuple[Result, str]]) -> Comparison:
    """Compare (result, building id) pairs, baseline first; all scored with one method and library."""
    if len(pairs) < 2:
        raise InputError(f"a comparison needs at least two buildings, got {len(pairs)}")
    ids = [b for _, b in pairs]
    register = IdRegister("in one comparison")
    clash = register.clash(ids)
    if clash is not None:
        raise register.error(clash, None)
    _check_like_for_like([r for r, _ in pairs])
    for result, building in pairs:
        result.check_building(building)
    common = _common_indicators(pairs)
    per_building = {b: r.element_modules(b, indicators_scored=common) for r, b in pairs}
    keys = _match(per_building)
    first = pairs[0][0]
    scored = first.method.scored_modules
    long = pd.concat([per_building[b].assign(key=keys[b]) for b in ids], ignore_index=True)
    elements = _elements(long, ids, scored)
    stages = {stage: list(modules) for stage, modules in STAGES.items()}
    table = _grouped(long, ids, stages, elements)
    module_groups = {m: [m] for m in first.modules}
    modules = _grouped(long, ids, module_groups, elements)
    modules = modules[["key", "stage", *[f"Δ {b}" for b in ids[1:]]]].rename(columns={"stage": "module"})
    scores = pd.Series({b: r.scores.at[b, "score"] for r, b in pairs}, name="score", dtype="float64")
    columns = ["weight_covered", "module_gaps", "indicators_missing", "indicators_partial"]
    coverage = pd.DataFrame([r.scores.loc[b, columns] for r, b in pairs], index=pd.Index(ids, name="building"))
    names = {
        (key, b): f"{element} {name}".strip() if isinstance(name, str) else str(element)
        for b in ids
        for key, element, name in zip(keys[b], per_building[b]["element"], per_building[b]["name"], strict=True)
    }
    return Comparison(
        tuple(ids),
        str(first.scores["score_unit"].iloc[0]),
        first.method.name,
        "D" in scored,
        scores,
        coverage,
        names,
        elements,
        table,
        modules,
    )


def _check_like_for_like(results: Sequence[Result]) -> None:
    first = results[0]
    for other in results[1:]:
        if other.method.model_dump() != first.method.model_dump():  # file hash and every option
            raise MethodError(
                f"not like for like: method {other.method.name!r} (options or version differ) against "
                f"{first.method.name!r}; score every variant with one method and its options",
                field="method",
            )
        hashes = {_library_sha256(r) for r in (first, other)}
        if len(hashes) > 1 and None not in hashes:
            raise MethodError(
                "not like for like: the variants were scored with different EPD libraries", field="library"
            )


def _library_sha256(result: Result) -> str | None:
    """The library hash of the Scorer's provenance (``library.sha256``); None when not recorded."""
    library = result.provenance.get("library")
    return library.get("sha256") if isinstance(library, dict) else None


def _match(per_building: dict[str, pd.DataFrame]) -> dict[str, np.ndarray]:
    """Per building, the match key of each element row: its id when every building has that id,
    else ``type:<element_type>`` when leftover elements of that type are in several buildings,
    else ``only:<building>:<id>``."""
    ids = list(per_building)
    id_sets = [set(frame["element"].astype(str)) for frame in per_building.values()]
    everywhere = set.intersection(*id_sets)
    leftover_types: dict[str, set[str]] = {}
    for building, frame in per_building.items():
        rest = frame[~frame["element"].astype(str).isin(everywhere)]
        for element_type in rest["element_type"].astype(str):
            leftover_types.setdefault(element_type, set()).add(building)
    keys = {}
    for building in ids:
        frame = per_building[building]
        keys[building] = np.array(
            [
                f"id:{e}"
                if e in everywhere
                else (f"type:{t}" if len(leftover_types.get(t, ())) > 1 else f"only:{building}:{e}")
                for e, t in zip(frame["element"].astype(str), frame["element_type"].astype(str), strict=True)
            ],
            dtype=object,
        )
    return keys


def _elements(long: pd.DataFrame, ids: list[str], scored: Sequence[str]) -> pd.DataFrame:
    long = long.assign(_score=long[list(scored)].sum(axis=1))
    rows = []
    for key, group in long.groupby("key", sort=False):
        row = {"key": key, "element_type": str(group["element_type"].iloc[0])}
        kind, _, rest = str(key).partition(":")
        row["matched_by"] = {"id": "id", "type": "type"}.get(kind, "only in " + rest.rpartition(":")[0])
        for building in ids:
            mine = group[group["building"] == building]
            row[f"elements {building}"] = ", ".join(mine["element"].astype(str))
            row[building] = float(mine["_score"].sum()) if len(mine) else np.nan
        row["label"] = _label(kind, group, ids)
        rows.append(row)
    frame = pd.DataFrame(rows)
    for building in ids[1:]:
        frame[f"Δ {building}"] = frame[building].fillna(0.0) - frame[ids[0]].fillna(0.0)
    order = frame[[f"Δ {b}" for b in ids[1:]]].abs().max(axis=1).sort_values(ascending=False, kind="stable").index
    columns = ["key", "label", "matched_by", "element_type", *[f"elements {b}" for b in ids], *ids]
    return frame.loc[order, columns + [f"Δ {b}" for b in ids[1:]]].reset_index(drop=True)


def _label(kind: str, group: pd.DataFrame, ids: list[str]) -> str:
    """Readable name of a match group: ``EW-1 timber frame wall`` or ``EW by type (EW-1 → EW-2)``."""
    if kind == "type":
        per = [", ".join(group.loc[group["building"] == b, "element"].astype(str)) or "–" for b in ids]
        return f"{group['element_type'].iloc[0]} by type ({' → '.join(per)})"
    first = group.iloc[0]  # the baseline's element; a variant's own name follows when it differs
    names = [n for n in dict.fromkeys(group["name"]) if isinstance(n, str) and n]
    return f"{first['element']} {' → '.join(names)}".strip()


def _grouped(long: pd.DataFrame, ids: list[str], groups: dict[str, list[str]], elements: pd.DataFrame) -> pd.DataFrame:
    """Match group × (stage or module) rows, value per building and Δ per variant."""
    rows = []
    for key in elements["key"]:
        part = long[long["key"] == key]
        for stage, modules in groups.items():
            row = {"key": key, "stage": stage}
            for building in ids:
                mine = part.loc[part["building"] == building, modules]
                row[building] = float(mine.to_numpy().sum()) if len(mine) else np.nan
            rows.append(row)
    frame = pd.DataFrame(rows)
    for building in ids[1:]:
        frame[f"Δ {building}"] = frame[building].fillna(0.0) - frame[ids[0]].fillna(0.0)
    labels = elements.set_index("key")["label"]
    frame.insert(1, "label", frame["key"].map(labels))
    return frame


def _signed(value: float) -> str:
    """``+0.00931`` / ``−0.0214``: three significant digits and a real minus sign."""
    return f"{value:+.3g}".replace("-", "−")


def _explain(comparison: Comparison, variant: str) -> str:
    base = comparison.baseline
    a, b = comparison.scores[base], comparison.scores[variant]
    if np.isnan(a) or np.isnan(b):
        return f"{variant} cannot be compared with {base}: one of them has no score (no data for any indicator)."
    delta = b - a
    direction = "lower" if delta < 0 else "higher"
    share = f"{abs(delta) / abs(a):.1%}".replace("%", " %") if a else "n/a"
    text = (
        f"{variant} is {share} {direction} than {base}: {b:.4g} against {a:.4g} {comparison.unit} ({_signed(delta)})."
    )
    if delta == 0:
        text = f"{variant} scores the same as {base}: {a:.4g} {comparison.unit}."
    named = _named_changes(comparison, variant)
    if named:
        text += " Largest changes: " + "; ".join(named) + "."
    text += _d_note(comparison, variant)
    text += _coverage_note(comparison, variant)
    return text


def _named_changes(comparison: Comparison, variant: str) -> list[str]:
    column = f"Δ {variant}"
    elements = comparison.elements[comparison.elements[column] != 0]
    elements = elements.reindex(elements[column].abs().sort_values(ascending=False).index)
    if elements.empty:
        return []
    largest = abs(elements[column].iloc[0])
    named = []
    scored = set(_scored_modules(comparison))
    for _, row in elements.head(_MAX_NAMED).iterrows():
        if abs(row[column]) < _NAMED_SHARE * largest:
            break
        modules = comparison.modules[(comparison.modules["key"] == row["key"])]
        modules = modules[modules["module"].isin(scored) & (modules[column] != 0)]
        modules = modules.reindex(modules[column].abs().sort_values(ascending=False).index)
        top = modules[modules[column].abs() >= _MODULE_SHARE * modules[column].abs().max()].head(3)
        detail = ", ".join(f"{m} {_signed(v)}" for m, v in zip(top["module"], top[column], strict=True))
        where = "" if row["matched_by"] in ("id", "type") else f" [{row['matched_by']}]"
        label = row["label"] if row["matched_by"] != "id" else comparison.names[(row["key"], variant)]
        named.append(f"{label}{where} {_signed(row[column])} {comparison.unit}" + (f" ({detail})" if detail else ""))
    return named


def _scored_modules(comparison: Comparison) -> list[str]:
    modules = list(dict.fromkeys(comparison.modules["module"]))
    return modules if comparison.include_d else [m for m in modules if m != "D"]


def _d_note(comparison: Comparison, variant: str) -> str:
    column = f"Δ {variant}"
    d_change = comparison.table.loc[comparison.table["stage"] == "beyond (D)", column].sum()
    note = ""
    if not comparison.include_d and d_change:
        note += f" Module D (reported, not counted) changes by {_signed(d_change)}."
    return note


def _coverage_note(comparison: Comparison, variant: str) -> str:
    base = comparison.baseline
    a, b = comparison.coverage.loc[base], comparison.coverage.loc[variant]
    if a["weight_covered"] == b["weight_covered"]:
        note = f" Both cover {a['weight_covered']:.1%} of the weighting.".replace("%", " %")
    else:
        note = (
            f" Caution: {base} covers {a['weight_covered']:.1%} and {variant} {b['weight_covered']:.1%} of the "
            "weighting, so part of the difference may be missing data rather than a better design."
        ).replace("%", " %")
    partial = [code for code in b["indicators_partial"] if code not in a["indicators_partial"]]
    if partial:
        note += (
            f" {variant} has data on {', '.join(partial)} for some of its lines only (a specific EPD among generic"
            " data), which adds to its score what the other lines do not declare."
        )
    worse = {m: share for m, share in b["module_gaps"].items() if share > a["module_gaps"].get(m, 0.0)}
    if worse and not partial:
        listed = ", ".join(f"{m} {share:.0%}" for m, share in worse.items()).replace("%", " %")
        note += (
            f" {variant} has more lines without data than {base} in {listed} (share of lines): those count as nothing."
        )
    return note

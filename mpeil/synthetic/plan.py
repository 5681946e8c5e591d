"""The archetypes expanded once into templates per (archetype, construction, storeys)."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError, ParseError
from .archetypes import BASES, Archetype, ElementSpec, _load_archetypes, _load_recipes
from .draws import _S_CHOICE, _S_ELEMENT, _S_GROUP, _S_SIZE


class _Codes:
    """Text → integer code, in order of first use (becomes the categories of a column)."""

    def __init__(self) -> None:
        self.index: dict = {}

    def __call__(self, value) -> int:
        if value is None or value == "":
            return -1
        return self.index.setdefault(value, len(self.index))

    @property
    def categories(self) -> list:
        return list(self.index)


@dataclass(frozen=True, eq=False)
class _Plan:
    """The archetypes expanded into templates, one per (archetype, construction, storeys).

    A template lists its element instances and their layer lines ("template lines"); each template
    line lists its options ("template-line options", one row per option, attributes ready to gather).
    Per building only the draws differ: which template, element quantities, which elements of a
    group, and per choice/size key ("slot") which option and where in the amount range.
    """

    archetypes: tuple[Archetype, ...]
    share_thresholds: np.ndarray
    construction_thresholds: np.ndarray  # [A, C-1] (inf padded)
    storeys_min: np.ndarray
    storeys_span: np.ndarray
    gfa: np.ndarray  # [A, 2]
    year_min: np.ndarray
    year_span: np.ndarray
    template: np.ndarray  # [A, C, S] → template index
    template_name: np.ndarray  # [T] building-name code
    template_elements: np.ndarray  # [T]
    template_element_start: np.ndarray
    template_lines: np.ndarray  # [T]
    template_line_start: np.ndarray
    template_slots: np.ndarray  # [T]
    template_slot_start: np.ndarray
    # element rows (all templates)
    el_id: np.ndarray
    el_name: np.ndarray
    el_type: np.ndarray
    el_unit: np.ndarray
    el_basis: np.ndarray  # index into BASES
    el_instances: np.ndarray
    el_qmin: np.ndarray
    el_qspan: np.ndarray
    el_piece: np.ndarray
    el_stream: np.ndarray
    el_group_stream: np.ndarray  # -1 = always present
    el_group_low: np.ndarray
    el_group_high: np.ndarray
    # template lines
    tl_element: np.ndarray  # element instance, counted within the template
    tl_choice_slot: np.ndarray  # slot, counted within the template
    tl_size_slot: np.ndarray
    tl_thresholds: np.ndarray  # [K-1, TL] (inf padded)
    tl_option_start: np.ndarray
    # slots
    slot_stream: np.ndarray
    # template-line options
    tlo_product: np.ndarray  # -1 = this option has no line
    tlo_amin: np.ndarray
    tlo_aspan: np.ndarray
    tlo_unit: np.ndarray
    tlo_layer: np.ndarray
    tlo_composition: np.ndarray
    tlo_ratio: np.ndarray
    tlo_name: np.ndarray
    tlo_life_years: np.ndarray
    tlo_life_category: np.ndarray
    tlo_waste: np.ndarray
    tlo_transport: np.ndarray
    categories: dict[str, list]


def _thresholds(weight_lists: Sequence[Sequence[float]]) -> np.ndarray:
    """Cumulative weights without the last one, per row (inf padded): option = Σ (u ≥ threshold)."""
    width = max(1, max(len(w) for w in weight_lists) - 1)
    out = np.full((len(weight_lists), width), np.inf)
    for i, weights in enumerate(weight_lists):
        cumulative = np.cumsum(np.asarray(weights, dtype=np.float64))
        cumulative /= cumulative[-1]
        out[i, : len(weights) - 1] = cumulative[:-1]
    return out


def _select(archetypes: Mapping[str, Archetype], selection) -> list[tuple[Archetype, float]]:
    """(archetype, weight) pairs: all with their shares, named ones with their shares, or given weights."""
    weights: dict[str, float | None]
    if selection is None:
        weights = {name: a.share for name, a in archetypes.items()}
    elif isinstance(selection, Mapping):
        weights = {str(name): float(w) for name, w in selection.items()}
    else:
        weights = {str(name): None for name in ([selection] if isinstance(selection, str) else selection)}
    unknown = [name for name in weights if name not in archetypes]
    if unknown:
        raise InputError(f"unknown archetype(s) {unknown}; known: {sorted(archetypes)}", field="archetypes")
    chosen = [(archetypes[name], archetypes[name].share if w is None else w) for name, w in weights.items()]
    if not chosen or not all(w >= 0 for _, w in chosen) or sum(w for _, w in chosen) <= 0:
        raise InputError("archetype weights must be ≥ 0 and not all 0", field="archetypes")
    return chosen


def _recipe_lines(recipes: pd.DataFrame, lives: dict[str, float], recipe_file: str, codes: dict) -> dict[str, list]:
    """Recipe → its lines: (choice key, size key, option weights, option attribute dicts)."""
    grouped: dict[tuple, list[dict]] = {}
    for record in recipes.to_dict("records"):
        grouped.setdefault((record["recipe"], record["line"]), []).append(record)
    out: dict[str, list] = {}
    for (recipe, line), rows in grouped.items():
        rows.sort(key=lambda r: r["option"])
        first = rows[0]
        choice = first["choice"] or f"{recipe}#{line}"
        options: list[dict[str, Any] | None] = []
        for row in rows:
            if not row["product"]:
                options.append(None)
                continue
            category = row["service_life_category"]
            years = row["service_life_years"]
            if np.isnan(years) and category:
                if category not in lives:
                    raise ParseError(
                        f"unknown service-life category {category!r}", file=recipe_file, field="service_life_category"
                    )
                years = lives[category]
            options.append(
                {
                    "product": codes["product"](row["product"]),
                    "amin": row["amount_min"],
                    "aspan": row["amount_max"] - row["amount_min"],
                    "unit": codes["unit"](row["unit"]),
                    "layer": codes["layer"](first["layer"] or None),
                    "composition": codes["composition"](first["composition"] or "a"),
                    "ratio": row["ratio"],
                    "name": codes["name"](row["name"] or None),
                    "life_years": years,
                    "life_category": codes["service_life_category"](category or None),
                    "waste": codes["waste_category"](row["waste_category"]),
                    "transport": codes["transport"](row["transport"] or None),
                }
            )
        out.setdefault(recipe, []).append((choice, first["size"] or choice, [r["weight"] for r in rows], options))
    return out


_CODED = (
    "building_name",
    "element_id",
    "element_name",
    "element_type",
    "element_unit",
    "product",
    "unit",
    "layer",
    "composition",
    "name",
    "service_life_category",
    "waste_category",
    "transport",
)
_ELEMENT_FIELDS = (
    "id",
    "name",
    "type",
    "unit",
    "basis",
    "instances",
    "qmin",
    "qspan",
    "piece",
    "stream",
    "gstream",
    "glow",
    "ghigh",
)
_OPTION_FIELDS = (
    "product",
    "amin",
    "aspan",
    "unit",
    "layer",
    "composition",
    "ratio",
    "name",
    "life_years",
    "life_category",
    "waste",
    "transport",
)
_OPTION_FLOATS = ("amin", "aspan", "ratio", "life_years")
#: option field → the coded column whose categories it indexes
_OPTION_COLUMNS = {
    "product": "product",
    "unit": "unit",
    "layer": "layer",
    "composition": "composition",
    "name": "name",
    "life_category": "service_life_category",
    "waste": "waste_category",
    "transport": "transport",
}


@functools.lru_cache(maxsize=8)
def _plan(folder: str, selection: tuple, service_lives: tuple) -> _Plan:
    archetypes_all = _load_archetypes(folder)
    if not selection:
        chosen = _select(archetypes_all, None)
    elif isinstance(selection[0], tuple):
        chosen = _select(archetypes_all, dict(selection))
    else:
        chosen = _select(archetypes_all, list(selection))
    builder = _PlanBuilder(chosen)
    recipes_file = str(Path(folder) / "recipes.csv")
    builder.recipes = _recipe_lines(_load_recipes(folder), dict(service_lives), recipes_file, builder.codes)
    for a, (archetype, _) in enumerate(chosen):
        builder.add_archetype(a, archetype)
    return builder.finish()


class _PlanBuilder:
    """Collects the templates, element instances, template lines and options of :class:`_Plan`.

    Codes and streams are handed out in the order the archetypes are walked (archetype →
    construction → storeys → element → instance → recipe line), which fixes every category order
    and random stream of a seed.
    """

    def __init__(self, chosen: list[tuple[Archetype, float]]) -> None:
        self.chosen = chosen
        self.codes = {name: _Codes() for name in _CODED}
        self.streams = {"element": _Codes(), "group": _Codes(), "choice": _Codes(), "size": _Codes()}
        self.recipes: dict[str, list] = {}
        n_cons = max(len(a.constructions) for a, _ in chosen)
        n_storeys = max(a.storeys[1] - a.storeys[0] + 1 for a, _ in chosen)
        self.template = np.full((len(chosen), n_cons, n_storeys), -1, dtype=np.int64)
        self.t: dict[str, list] = {k: [] for k in ("name", "elements", "lines", "slots")}
        self.el: dict[str, list] = {k: [] for k in _ELEMENT_FIELDS}
        self.tl: dict[str, list] = {k: [] for k in ("element", "choice_slot", "size_slot", "weights", "option_start")}
        self.tlo: dict[str, list] = {k: [] for k in _OPTION_FIELDS}
        self.slot_stream: list[int] = []

    def add_archetype(self, a: int, archetype: Archetype) -> None:
        """Every (construction, storeys) template of one archetype."""
        group_total: dict[str, float] = {}
        for spec in archetype.elements:
            if spec.group:
                group_total[spec.group] = group_total.get(spec.group, 0.0) + spec.weight
        default_transport = self.codes["transport"](archetype.transport)
        for c, (construction, _) in enumerate(archetype.constructions):
            for s_offset, storeys in enumerate(range(archetype.storeys[0], archetype.storeys[1] + 1)):
                self.template[a, c, s_offset] = len(self.t["name"])
                title = f"{archetype.title.split(':')[0]}, {construction}, {storeys} storey{'s' if storeys > 1 else ''}"
                self.t["name"].append(self.codes["building_name"](title))
                self._add_template(archetype, construction, storeys, group_total, default_transport)

    def _add_template(
        self, archetype: Archetype, construction: str, storeys: int, group_total: dict, default_transport: int
    ) -> None:
        """The element instances and lines of one template; its counts of elements, lines and slots."""
        n_elements = n_lines = 0
        slots: dict[int, int] = {}  # stream → slot within the template
        group_low: dict[str, float] = {}
        for spec in archetype.elements:
            recipe = spec.recipe[construction]
            if recipe not in self.recipes:
                raise ParseError(f"unknown recipe {recipe!r}", field="recipe", element=spec.id, file=archetype.file)
            labels = archetype.instance_labels(spec, storeys)
            bounds = (0.0, 1.0)
            if spec.group:
                low = group_low.get(spec.group, 0.0)
                group_low[spec.group] = low + spec.weight
                total = group_total[spec.group]
                bounds = (low / total, (low + spec.weight) / total)
            for label in labels:
                self._add_element(archetype, spec, label, len(labels), bounds)
                n_lines += self._add_lines(self.recipes[recipe], slots, n_elements, default_transport)
                n_elements += 1
        self.t["elements"].append(n_elements)
        self.t["lines"].append(n_lines)
        self.t["slots"].append(len(slots))

    def _add_element(
        self, archetype: Archetype, spec: ElementSpec, label: str, instances: int, bounds: tuple[float, float]
    ) -> None:
        """One element instance: its codes, quantity range, random streams and group bounds."""
        codes, el = self.codes, self.el
        single = spec.instances == ("1",) and not spec.per_storey
        el["id"].append(codes["element_id"](f"{spec.id}-{label}"))
        el["name"].append(codes["element_name"](spec.name if single else f"{spec.name}, {label}"))
        el["type"].append(codes["element_type"](spec.element_type))
        el["unit"].append(codes["element_unit"](spec.unit))
        el["basis"].append(BASES.index(spec.basis))
        el["instances"].append(instances)
        el["qmin"].append(spec.quantity[0])
        el["qspan"].append(spec.quantity[1] - spec.quantity[0])
        el["piece"].append(spec.unit == "piece")
        el["stream"].append(_S_ELEMENT + self.streams["element"](f"{archetype.name}|{spec.id}|{label}"))
        group = _S_GROUP + self.streams["group"](f"{archetype.name}|{spec.group}") if spec.group else -1
        el["gstream"].append(group)
        el["glow"].append(bounds[0])
        el["ghigh"].append(bounds[1])

    def _add_lines(self, recipe_lines: list, slots: dict[int, int], element: int, default_transport: int) -> int:
        """The template lines of one element instance (a recipe's lines); returns how many."""
        tl, tlo = self.tl, self.tlo
        for choice, size, weights, options in recipe_lines:
            choice_stream = _S_CHOICE + self.streams["choice"](choice)
            size_stream = _S_SIZE + self.streams["size"](size)
            for stream in (choice_stream, size_stream):
                if stream not in slots:
                    slots[stream] = len(slots)
                    self.slot_stream.append(stream)
            tl["element"].append(element)
            tl["choice_slot"].append(slots[choice_stream])
            tl["size_slot"].append(slots[size_stream])
            tl["weights"].append(weights)
            tl["option_start"].append(len(tlo["product"]))
            for option in options:
                if option is None:  # this option has no line
                    option = dict.fromkeys(tlo, -1) | dict.fromkeys(_OPTION_FLOATS, np.nan)
                elif option["transport"] < 0:
                    option = option | {"transport": default_transport}
                for key in tlo:
                    tlo[key].append(option[key])
        return len(recipe_lines)

    def _coded(self, values: list, column: str) -> np.ndarray:
        """Category codes, already in the dtype of the categorical."""
        return np.asarray(values, dtype=_code_dtype(len(self.codes[column].index)))

    def finish(self) -> _Plan:
        chosen, t, el, tl = self.chosen, self.t, self.el, self.tl

        def arr(values, dtype=np.int64):
            return np.asarray(values, dtype=dtype)

        def starts(counts):
            counts = arr(counts)
            return np.cumsum(counts) - counts

        options = {
            f"tlo_{k}": arr(v, np.float64) if k in _OPTION_FLOATS else self._coded(v, _OPTION_COLUMNS[k])
            for k, v in self.tlo.items()
        }
        return _Plan(
            archetypes=tuple(a for a, _ in chosen),
            share_thresholds=_thresholds([[w for _, w in chosen]])[0],
            construction_thresholds=_thresholds([[w for _, w in a.constructions] for a, _ in chosen]),
            storeys_min=arr([a.storeys[0] for a, _ in chosen]),
            storeys_span=arr([a.storeys[1] - a.storeys[0] + 1 for a, _ in chosen]),
            gfa=arr([a.gross_floor_area_m2 for a, _ in chosen], np.float64),
            year_min=arr([a.construction_year[0] for a, _ in chosen]),
            year_span=arr([a.construction_year[1] - a.construction_year[0] + 1 for a, _ in chosen]),
            template=self.template,
            template_name=arr(t["name"]),
            template_elements=arr(t["elements"]),
            template_element_start=starts(t["elements"]),
            template_lines=arr(t["lines"]),
            template_line_start=starts(t["lines"]),
            template_slots=arr(t["slots"]),
            template_slot_start=starts(t["slots"]),
            el_id=self._coded(el["id"], "element_id"),
            el_name=self._coded(el["name"], "element_name"),
            el_type=self._coded(el["type"], "element_type"),
            el_unit=self._coded(el["unit"], "element_unit"),
            el_basis=arr(el["basis"]),
            el_instances=arr(el["instances"]),
            el_qmin=arr(el["qmin"], np.float64),
            el_qspan=arr(el["qspan"], np.float64),
            el_piece=arr(el["piece"], bool),
            el_stream=arr(el["stream"]),
            el_group_stream=arr(el["gstream"]),
            el_group_low=arr(el["glow"], np.float64),
            el_group_high=arr(el["ghigh"], np.float64),
            tl_element=arr(tl["element"], np.int32),
            tl_choice_slot=arr(tl["choice_slot"], np.int32),
            tl_size_slot=arr(tl["size_slot"], np.int32),
            tl_thresholds=np.ascontiguousarray(_thresholds(tl["weights"]).T),
            tl_option_start=arr(tl["option_start"], np.int32),
            slot_stream=arr(self.slot_stream),
            **options,
            categories={name: c.categories for name, c in self.codes.items()},
        )


def _selection_key(archetypes) -> tuple:
    if archetypes is None:
        return ()
    if isinstance(archetypes, str):
        return (archetypes,)
    if isinstance(archetypes, Mapping):
        return tuple((str(k), float(v)) for k, v in archetypes.items())
    return tuple(str(a) for a in archetypes)


def _service_lives(scenarios) -> tuple:
    if scenarios is None:
        from ..model.scenarios import load_scenarios

        scenarios = load_scenarios()
    return tuple(sorted((str(k), float(v)) for k, v in scenarios.service_lives.items()))


def _code_dtype(n_categories: int):
    return np.int8 if n_categories < 127 else np.int16 if n_categories < 32767 else np.int32

"""Synthetic building stocks: reproducible, realistic buildings generated from archetypes.

For benchmarks, batch tests and stock-level studies where no real permit data is at hand.
Everything a building is made of is *data* in ``scenarios/archetypes/`` (see its README):

- one TOML file per archetype (``terraced``, ``semi-detached``, ``detached``, ``apartment``,
  ``office``): ranges of gross floor area, storeys and construction year, the construction types
  with their probabilities (masonry, timber frame, concrete, …) and the elements with a quantity
  range per m² of GFA (or of footprint, or per building) and the layer recipe per construction type;
- ``recipes.csv``: the layer recipes, one row per line and option, referencing shipped
  ÖKOBAUDAT 2024-I generic data sets (``obd2024:<UUID>``) with an amount range, unit, service-life
  category, waste category and, where it differs from the archetype's, a transport scenario.

Randomness is counter-based: every draw is a hash of ``(seed, building number, stream)``, so
building *i* of a seed is the same whatever ``n`` is and wherever a chunk starts
(``generate_stock(10, seed, start=5)`` is rows 5-14 of ``generate_stock(15, seed)``). Lines that
share a ``choice`` key in the recipes pick the same option within a building (e.g. the same floor
finish in every floor, the same window material for frames and sashes), and lines that share a
``size`` key draw the same position in their amount range (e.g. studs and the insulation between
them).

Generation is vectorised numpy: the archetypes are expanded once into templates per (archetype,
construction, storeys), and a stock is a few gathers over those templates.

>>> from mpeil.synthetic import generate_stock
>>> frame = generate_stock(1000, seed=1)          # doctest: +SKIP
>>> mpeil.score(frame, method="gwp").scores       # doctest: +SKIP
"""

from __future__ import annotations

import functools
import math
import tomllib
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .compile.flatten import BUILDING_COLUMNS, ELEMENT_COLUMNS
from .errors import InputError, ParseError
from .model import Building
from .model.building import ElementType, Layer, UseType
from .paths import scenarios_dir

__all__ = [
    "Archetype",
    "ElementSpec",
    "load_archetypes",
    "load_recipes",
    "stock_columns",
    "generate_stock",
    "generate_buildings",
    "write_stock",
    "iter_stock",
]

#: element quantity bases: what one unit of an element spec's ``quantity`` range is multiplied by
BASES = ("gfa", "footprint", "building", "storeys")
_RECIPE_COLUMNS = (
    "recipe",
    "line",
    "option",
    "weight",
    "layer",
    "composition",
    "ratio",
    "name",
    "choice",
    "size",
    "product",
    "product_name",
    "amount_min",
    "amount_max",
    "unit",
    "service_life_category",
    "service_life_years",
    "waste_category",
    "transport",
)
_EOL_COLUMNS = ("eol_landfill", "eol_incineration", "eol_reuse", "eol_recycling", "eol_sorted_on_site", "scenario")
# stream namespaces of the counter-based generator (any fixed, distinct numbers)
_S_BUILDING, _S_GROUP, _S_ELEMENT, _S_CHOICE, _S_SIZE = 0, 1 << 20, 2 << 20, 3 << 20, 4 << 20


# ============================================================================ archetypes
@dataclass(frozen=True)
class ElementSpec:
    """One element of an archetype (expanded into one or more element instances per building)."""

    id: str
    name: str
    element_type: str
    unit: str  # m2 | m | piece
    basis: str  # one of BASES
    quantity: tuple[float, float]
    instances: tuple[str, ...] | str  # labels, or "storeys" / "storeys-1"
    per_storey: bool
    recipe: Mapping[str, str]  # construction → recipe name
    group: str | None = None
    weight: float = 1.0


@dataclass(frozen=True)
class Archetype:
    """A building archetype: ranges for the building and its elements (``scenarios/archetypes/*.toml``)."""

    name: str
    title: str
    use_type: str
    share: float
    gross_floor_area_m2: tuple[float, float]
    storeys: tuple[int, int]
    construction_year: tuple[int, int]
    region: str | None
    transport: str | None
    constructions: tuple[tuple[str, float], ...]
    elements: tuple[ElementSpec, ...]
    file: str = ""

    def instance_labels(self, spec: ElementSpec, storeys: int) -> list[str]:
        """Labels of the instances of ``spec`` in a building with ``storeys`` storeys."""
        if spec.instances == "storeys":
            labels = [str(k) for k in range(1, storeys + 1)]
        elif spec.instances == "storeys-1":
            labels = [str(k) for k in range(1, storeys)]
        else:
            labels = list(spec.instances)
        if spec.per_storey:
            labels = [f"{label}-{k}" for k in range(1, storeys + 1) for label in labels]
        return labels


def _archetype_folder(folder: str | Path | None) -> Path:
    return Path(folder) if folder is not None else scenarios_dir() / "archetypes"


def _range(raw, where: dict, field: str, integer: bool = False) -> tuple:
    if not (isinstance(raw, list) and len(raw) == 2 and all(isinstance(v, (int, float)) for v in raw)):
        raise ParseError(f"{field} must be [min, max], got {raw!r}", field=field, **where)
    low, high = (int(v) for v in raw) if integer else (float(v) for v in raw)
    if not (0 <= low <= high) or (not integer and not math.isfinite(high)):
        raise ParseError(f"{field} must be 0 ≤ min ≤ max, got {raw!r}", field=field, **where)
    return low, high


def _read_archetype(path: Path) -> Archetype:
    where = {"file": str(path)}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ParseError(f"not valid TOML: {error}", **where) from None
    try:
        name = str(raw["name"])
        constructions = tuple((str(k), float(v)) for k, v in raw["constructions"].items())
        elements_raw = raw["elements"]
    except KeyError as missing:
        raise ParseError(f"missing key {missing}", **where) from None
    use_type = str(raw.get("use_type", "other"))
    if use_type not in {u.value for u in UseType}:
        raise ParseError(f"unknown use_type {use_type!r}", field="use_type", **where)
    if not constructions or not math.isclose(sum(w for _, w in constructions), 1.0, abs_tol=1e-6):
        raise ParseError("construction probabilities must sum to 1", field="constructions", **where)
    elements = []
    for spec in elements_raw:
        element_where = {**where, "element": spec.get("id")}
        recipe = spec.get("recipe")
        recipe = {c: recipe for c, _ in constructions} if isinstance(recipe, str) else dict(recipe or {})
        no_recipe = [c for c, _ in constructions if c not in recipe]
        if no_recipe:
            raise ParseError(f"no recipe for construction(s) {no_recipe}", field="recipe", **element_where)
        basis = spec.get("basis", "gfa")
        if basis not in BASES:
            raise ParseError(f"basis must be one of {BASES}, got {basis!r}", field="basis", **element_where)
        element_type = spec.get("element_type", "Other")
        if element_type not in {t.value for t in ElementType}:
            raise ParseError(f"unknown element_type {element_type!r}", field="element_type", **element_where)
        unit = spec.get("unit", "m2")
        if unit not in ("m2", "m", "piece"):
            raise ParseError(f"element unit must be m2, m or piece, got {unit!r}", field="unit", **element_where)
        instances = spec.get("instances", ["1"])
        if isinstance(instances, str):
            if instances not in ("storeys", "storeys-1"):
                raise ParseError(
                    "instances must be a list of labels, 'storeys' or 'storeys-1'", field="instances", **element_where
                )
        else:
            instances = tuple(str(i) for i in instances)
        elements.append(
            ElementSpec(
                id=str(spec["id"]),
                name=str(spec.get("name", spec["id"])),
                element_type=element_type,
                unit=unit,
                basis=basis,
                quantity=_range(spec.get("quantity"), element_where, "quantity"),
                instances=instances,
                per_storey=bool(spec.get("per_storey", False)),
                recipe=recipe,
                group=spec.get("group"),
                weight=float(spec.get("weight", 1.0)),
            )
        )
    ids = [e.id for e in elements]
    if len(set(ids)) != len(ids):
        raise ParseError("element ids must be unique", field="elements", **where)
    return Archetype(
        name=name,
        title=str(raw.get("title", name)),
        use_type=use_type,
        share=float(raw.get("share", 1.0)),
        gross_floor_area_m2=_range(raw.get("gross_floor_area_m2"), where, "gross_floor_area_m2"),
        storeys=_range(raw.get("storeys", [1, 1]), where, "storeys", integer=True),
        construction_year=_range(raw.get("construction_year", [2024, 2024]), where, "construction_year", integer=True),
        region=raw.get("region"),
        transport=raw.get("transport"),
        constructions=constructions,
        elements=tuple(elements),
        file=str(path),
    )


@functools.lru_cache(maxsize=4)
def _load_archetypes(folder: str) -> dict[str, Archetype]:
    archetypes = {}
    for path in sorted(Path(folder).glob("*.toml")):
        archetype = _read_archetype(path)
        if archetype.name in archetypes:
            raise ParseError(f"archetype {archetype.name!r} defined twice", file=str(path))
        archetypes[archetype.name] = archetype
    if not archetypes:
        raise ParseError("no archetype files (*.toml)", file=folder)
    return archetypes


def load_archetypes(folder: str | Path | None = None) -> dict[str, Archetype]:
    """The archetypes in ``scenarios/archetypes/`` (or another folder of the same shape), by name."""
    return _load_archetypes(str(_archetype_folder(folder)))


@functools.lru_cache(maxsize=4)
def _load_recipes(folder: str) -> pd.DataFrame:
    path = Path(folder) / "recipes.csv"
    frame = pd.read_csv(path, keep_default_na=False, dtype=str)
    missing = [c for c in _RECIPE_COLUMNS if c not in frame]
    if missing:
        raise ParseError(f"missing column(s) {missing}", file=str(path))
    numbers = {}
    for column in ("line", "option", "weight", "ratio", "amount_min", "amount_max", "service_life_years"):
        numbers[column] = pd.to_numeric(frame[column].replace("", np.nan), errors="coerce")
        bad = frame[column].ne("") & numbers[column].isna()
        if bad.any():
            row = int(np.argmax(bad.to_numpy()))
            raise ParseError(
                f"{column} is not a number: {frame[column].iloc[row]!r}",
                file=str(path),
                field=f"row {row + 2}, {column}",
            )
    frame = frame.assign(**numbers)
    present = frame["product"] != ""
    for column in ("amount_min", "amount_max", "ratio", "unit", "waste_category"):
        empty = present & (frame[column].isna() if frame[column].dtype.kind == "f" else frame[column].eq(""))
        if empty.any():
            row = int(np.argmax(empty.to_numpy()))
            raise ParseError(
                f"{column} is required where a product is given", file=str(path), field=f"row {row + 2}, {column}"
            )
    bad = present & ~((frame["amount_min"] >= 0) & (frame["amount_min"] <= frame["amount_max"]))
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        raise ParseError("amounts must satisfy 0 ≤ amount_min ≤ amount_max", file=str(path), field=f"row {row + 2}")
    weights = frame.groupby(["recipe", "line"], sort=False)["weight"].sum()
    if not np.allclose(weights.to_numpy(), 1.0, atol=1e-9):
        recipe, line = weights.index[int(np.argmax(~np.isclose(weights.to_numpy(), 1.0, atol=1e-9)))]
        raise ParseError(f"option weights of recipe {recipe!r} line {line} do not sum to 1", file=str(path))
    # lines of one recipe sharing a choice key must offer options with the same weights
    keyed = frame[frame["choice"] != ""]
    for (recipe, choice), rows in keyed.groupby(["recipe", "choice"], sort=False):
        vectors = {tuple(np.round(g["weight"].to_numpy(), 12)) for _, g in rows.groupby("line")}
        if len(vectors) > 1:
            raise ParseError(
                f"lines of recipe {recipe!r} with choice {choice!r} must have the same option weights", file=str(path)
            )
    return frame


def load_recipes(folder: str | Path | None = None) -> pd.DataFrame:
    """The layer recipes (``scenarios/archetypes/recipes.csv``): one row per recipe line and option."""
    return _load_recipes(str(_archetype_folder(folder)))


# ============================================================================ columns
def _layer_columns() -> list[str]:
    return [name for name in Layer.model_fields if name not in ("end_of_life", "scenario")]


def stock_columns() -> list[str]:
    """Columns of :func:`generate_stock`: those of :func:`mpeil.compile.flatten.flatten`, in its order."""
    return [*BUILDING_COLUMNS, *ELEMENT_COLUMNS, "line", *_layer_columns(), *_EOL_COLUMNS]


def _is_float_field(name: str) -> bool:
    annotation = Layer.model_fields[name].annotation
    return "float" in str(annotation) or any("float" in str(a) for a in typing.get_args(annotation))


# ============================================================================ random numbers
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (bijective 64-bit hash)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _MIX1
    x = x ^ (x >> np.uint64(27))
    x = x * _MIX2
    return x ^ (x >> np.uint64(31))


def _uniform(seed: int, building: np.ndarray, stream) -> np.ndarray:
    """U[0, 1) per (seed, building number, stream); counter-based, so order and chunking do not matter."""
    with np.errstate(over="ignore"):
        stream_key = _mix(np.uint64(seed) ^ (np.asarray(stream, dtype=np.uint64) + np.uint64(1)) * _GOLDEN)
        key = _mix(stream_key ^ (np.asarray(building, dtype=np.uint64) * _MIX2 + _GOLDEN))
    return (key >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For items with ``counts`` children: the owner and the position of every child."""
    owner = np.repeat(np.arange(len(counts)), counts)
    first = np.cumsum(counts) - counts
    return owner, np.arange(len(owner)) - first[owner]


# ============================================================================ plan
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


@functools.lru_cache(maxsize=8)
def _plan(folder: str, selection: tuple, service_lives: tuple) -> _Plan:
    archetypes_all = _load_archetypes(folder)
    if not selection:
        chosen = _select(archetypes_all, None)
    elif isinstance(selection[0], tuple):
        chosen = _select(archetypes_all, dict(selection))
    else:
        chosen = _select(archetypes_all, list(selection))
    codes = {
        name: _Codes()
        for name in (
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
    }
    recipes = _recipe_lines(_load_recipes(folder), dict(service_lives), str(Path(folder) / "recipes.csv"), codes)
    streams = {"element": _Codes(), "group": _Codes(), "choice": _Codes(), "size": _Codes()}

    n_cons = max(len(a.constructions) for a, _ in chosen)
    n_storeys = max(a.storeys[1] - a.storeys[0] + 1 for a, _ in chosen)
    template = np.full((len(chosen), n_cons, n_storeys), -1, dtype=np.int64)
    t: dict[str, list] = {k: [] for k in ("name", "elements", "lines", "slots")}
    el: dict[str, list] = {
        k: []
        for k in (
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
    }
    tl: dict[str, list] = {k: [] for k in ("element", "choice_slot", "size_slot", "weights", "option_start")}
    tlo: dict[str, list] = {
        k: []
        for k in (
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
    }
    slot_stream: list[int] = []
    for a, (archetype, _) in enumerate(chosen):
        where = {"file": archetype.file}
        group_total: dict[str, float] = {}
        for spec in archetype.elements:
            if spec.group:
                group_total[spec.group] = group_total.get(spec.group, 0.0) + spec.weight
        default_transport = codes["transport"](archetype.transport)
        for c, (construction, _) in enumerate(archetype.constructions):
            for s_offset, storeys in enumerate(range(archetype.storeys[0], archetype.storeys[1] + 1)):
                template[a, c, s_offset] = len(t["name"])
                t["name"].append(
                    codes["building_name"](
                        f"{archetype.title.split(':')[0]}, {construction}, {storeys} storey{'s' if storeys > 1 else ''}"
                    )
                )
                n_elements = n_lines = 0
                slots: dict[int, int] = {}  # stream → slot within the template
                group_low: dict[str, float] = {}
                for spec in archetype.elements:
                    recipe = spec.recipe[construction]
                    if recipe not in recipes:
                        raise ParseError(f"unknown recipe {recipe!r}", field="recipe", element=spec.id, **where)
                    labels = archetype.instance_labels(spec, storeys)
                    bounds = (0.0, 1.0)
                    if spec.group:
                        low = group_low.get(spec.group, 0.0)
                        group_low[spec.group] = low + spec.weight
                        total = group_total[spec.group]
                        bounds = (low / total, (low + spec.weight) / total)
                    single = spec.instances == ("1",) and not spec.per_storey
                    for label in labels:
                        el["id"].append(codes["element_id"](f"{spec.id}-{label}"))
                        el["name"].append(codes["element_name"](spec.name if single else f"{spec.name}, {label}"))
                        el["type"].append(codes["element_type"](spec.element_type))
                        el["unit"].append(codes["element_unit"](spec.unit))
                        el["basis"].append(BASES.index(spec.basis))
                        el["instances"].append(len(labels))
                        el["qmin"].append(spec.quantity[0])
                        el["qspan"].append(spec.quantity[1] - spec.quantity[0])
                        el["piece"].append(spec.unit == "piece")
                        el["stream"].append(_S_ELEMENT + streams["element"](f"{archetype.name}|{spec.id}|{label}"))
                        el["gstream"].append(
                            _S_GROUP + streams["group"](f"{archetype.name}|{spec.group}") if spec.group else -1
                        )
                        el["glow"].append(bounds[0])
                        el["ghigh"].append(bounds[1])
                        for choice, size, weights, options in recipes[recipe]:
                            choice_stream = _S_CHOICE + streams["choice"](choice)
                            size_stream = _S_SIZE + streams["size"](size)
                            for stream in (choice_stream, size_stream):
                                if stream not in slots:
                                    slots[stream] = len(slots)
                                    slot_stream.append(stream)
                            tl["element"].append(n_elements)
                            tl["choice_slot"].append(slots[choice_stream])
                            tl["size_slot"].append(slots[size_stream])
                            tl["weights"].append(weights)
                            tl["option_start"].append(len(tlo["product"]))
                            for option in options:
                                if option is None:
                                    option = dict.fromkeys(tlo, -1) | dict.fromkeys(
                                        ("amin", "aspan", "ratio", "life_years"), np.nan
                                    )
                                elif option["transport"] < 0:
                                    option = option | {"transport": default_transport}
                                for key in tlo:
                                    tlo[key].append(option[key])
                            n_lines += 1
                        n_elements += 1
                t["elements"].append(n_elements)
                t["lines"].append(n_lines)
                t["slots"].append(len(slots))

    def arr(values, dtype=np.int64):
        return np.asarray(values, dtype=dtype)

    def starts(counts):
        counts = arr(counts)
        return np.cumsum(counts) - counts

    def coded(values, column):  # category codes, already in the dtype of the categorical
        return arr(values, _code_dtype(len(codes[column].index)))

    floats = ("amin", "aspan", "ratio", "life_years")
    tlo_columns = {
        "product": "product",
        "unit": "unit",
        "layer": "layer",
        "composition": "composition",
        "name": "name",
        "life_category": "service_life_category",
        "waste": "waste_category",
        "transport": "transport",
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
        template=template,
        template_name=arr(t["name"]),
        template_elements=arr(t["elements"]),
        template_element_start=starts(t["elements"]),
        template_lines=arr(t["lines"]),
        template_line_start=starts(t["lines"]),
        template_slots=arr(t["slots"]),
        template_slot_start=starts(t["slots"]),
        el_id=coded(el["id"], "element_id"),
        el_name=coded(el["name"], "element_name"),
        el_type=coded(el["type"], "element_type"),
        el_unit=coded(el["unit"], "element_unit"),
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
        slot_stream=arr(slot_stream),
        **{f"tlo_{k}": arr(v, np.float64) if k in floats else coded(v, tlo_columns[k]) for k, v in tlo.items()},
        categories={name: c.categories for name, c in codes.items()},
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
        from .model.scenarios import load_scenarios

        scenarios = load_scenarios()
    return tuple(sorted((str(k), float(v)) for k, v in scenarios.service_lives.items()))


# ============================================================================ generation
def _code_dtype(n_categories: int):
    return np.int8 if n_categories < 127 else np.int16 if n_categories < 32767 else np.int32


def _categorical(codes: np.ndarray, categories: list) -> pd.Categorical:
    small = codes.astype(_code_dtype(len(categories)), copy=False)
    return pd.Categorical.from_codes(small, categories=pd.Index(categories, dtype=object), validate=False)


def _lookup(index: np.ndarray, values: Sequence) -> pd.Categorical:
    """``values[index]`` as a categorical (values may repeat or be None)."""
    codes = _Codes()
    mapping = np.array([codes(v) for v in values], dtype=np.int64)
    return _categorical(mapping[index], codes.categories)


def generate_stock(
    n: int,
    seed: int = 0,
    archetypes: str | Sequence[str] | Mapping[str, float] | None = None,
    *,
    start: int = 0,
    scenarios=None,
    folder: str | Path | None = None,
) -> pd.DataFrame:
    """``n`` synthetic buildings as a flat bill of materials (one row per layer line).

    Parameters
    ----------
    n, seed:
        How many buildings, and the seed (an integer ≥ 0). The same ``(seed, start, n)`` gives the
        same frame, on any machine.
    archetypes:
        ``None``: every archetype, with the ``share`` of its file; a name or a list of names: those
        archetypes with their shares; a mapping name → weight: those archetypes with those weights.
    start:
        Number of the first building: chunks ``start=k·m`` of size ``m`` together are one stock.
    scenarios:
        The :class:`~mpeil.model.scenarios.ScenarioSet` whose service lives turn the recipes'
        service-life categories into years (default: the shipped scenarios).
    folder:
        Archetype folder (default ``scenarios/archetypes``).

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`mpeil.compile.flatten.flatten` (see :func:`stock_columns`), text
        columns as ``category`` dtype, buildings and elements in order and lines grouped by element.
        Pass it to :func:`mpeil.score` or :func:`~mpeil.compile.compile_frame`.
    """
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise InputError(f"n must be an integer ≥ 0, got {n!r}", field="n")
    if not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
        raise InputError(f"seed must be an integer in [0, 2**63), got {seed!r}", field="seed")
    if not isinstance(start, (int, np.integer)) or start < 0:
        raise InputError(f"start must be an integer ≥ 0, got {start!r}", field="start")
    plan = _plan(str(_archetype_folder(folder)), _selection_key(archetypes), _service_lives(scenarios))
    seed = int(seed)
    number = np.arange(start, start + n, dtype=np.int64)

    # ---- buildings: archetype, construction, storeys, GFA, year → template
    archetype = np.searchsorted(plan.share_thresholds, _uniform(seed, number, _S_BUILDING), side="right")
    construction = (_uniform(seed, number, _S_BUILDING + 1)[:, None] >= plan.construction_thresholds[archetype]).sum(
        axis=1
    )
    span = plan.storeys_span[archetype]
    storeys_offset = np.minimum((_uniform(seed, number, _S_BUILDING + 2) * span).astype(np.int64), span - 1)
    storeys = plan.storeys_min[archetype] + storeys_offset
    low, high = plan.gfa[archetype, 0], plan.gfa[archetype, 1]
    gfa = np.round(low + _uniform(seed, number, _S_BUILDING + 3) * (high - low), 1)
    span = plan.year_span[archetype]
    year = plan.year_min[archetype] + np.minimum(
        (_uniform(seed, number, _S_BUILDING + 4) * span).astype(np.int64), span - 1
    )
    template = plan.template[archetype, construction, storeys_offset]

    # ---- element instances: quantity, and which member of a group is kept
    el_building, el_offset = _expand(plan.template_elements[template])
    el_row = plan.template_element_start[template][el_building] + el_offset
    el_number = number[el_building]
    keep = np.ones(len(el_row), dtype=bool)
    grouped = np.flatnonzero(plan.el_group_stream[el_row] >= 0)
    if grouped.size:
        rows = el_row[grouped]
        draw = _uniform(seed, el_number[grouped], plan.el_group_stream[rows])
        keep[grouped] = (draw >= plan.el_group_low[rows]) & (draw < plan.el_group_high[rows])
    basis_code = plan.el_basis[el_row]
    basis = np.where(
        basis_code == 0,
        gfa[el_building] / plan.el_instances[el_row],
        np.where(
            basis_code == 1,
            gfa[el_building] / storeys[el_building],
            np.where(basis_code == 2, 1.0, storeys[el_building]),
        ),
    )
    quantity = basis * (
        plan.el_qmin[el_row] + _uniform(seed, el_number, plan.el_stream[el_row]) * plan.el_qspan[el_row]
    )
    quantity = np.where(
        plan.el_piece[el_row], np.maximum(1.0, np.rint(quantity)), np.maximum(0.01, np.round(quantity, 2))
    )

    # ---- slots: one draw per (building, choice or size key)
    slot_building, slot_offset = _expand(plan.template_slots[template])
    slot_draw = _uniform(
        seed, number[slot_building], plan.slot_stream[plan.template_slot_start[template][slot_building] + slot_offset]
    )
    building_slot_start = np.cumsum(plan.template_slots[template]) - plan.template_slots[template]
    del slot_building, slot_offset

    # ---- lines: option per line, then drop options without a line and elements not kept
    lines_of = plan.template_lines[template]
    total = int(lines_of.sum())
    index = np.int32 if total < 2**31 - 1 else np.int64
    first_line = (np.cumsum(lines_of) - lines_of).astype(index)
    line_tl = np.arange(total, dtype=index) + np.repeat(
        plan.template_line_start[template].astype(index) - first_line, lines_of
    )
    building_el_start = (np.cumsum(plan.template_elements[template]) - plan.template_elements[template]).astype(index)
    line_element = np.repeat(building_el_start, lines_of) + plan.tl_element[line_tl]
    slot_base = np.repeat(building_slot_start.astype(index), lines_of)
    choice_draw = slot_draw[slot_base + plan.tl_choice_slot[line_tl]]
    option = plan.tl_option_start[line_tl]
    for thresholds in plan.tl_thresholds:
        option = option + (choice_draw >= thresholds[line_tl])
    size_draw = slot_draw[slot_base + plan.tl_size_slot[line_tl]]
    del line_tl, slot_base, choice_draw
    present = keep[line_element]
    present &= plan.tlo_product[option] >= 0
    option, line_element, size_draw = option[present], line_element[present], size_draw[present]
    del present
    amount = plan.tlo_amin[option] + size_draw * plan.tlo_aspan[option]
    del size_draw
    n_lines = len(option)
    lines_per_element = np.bincount(line_element, minlength=len(el_row))
    del line_element
    lines_per_building = np.bincount(el_building, weights=lines_per_element, minlength=n).astype(np.int64)
    position = np.arange(1, n_lines + 1) - np.repeat(
        np.cumsum(lines_per_element) - lines_per_element, lines_per_element
    )

    # ---- frame: building and element columns repeated over their lines (lines are in order)
    cat = plan.categories

    def per_building(values):
        return np.repeat(values, lines_per_building)

    def per_element(values):
        return np.repeat(values, lines_per_element)

    ids = [f"s{seed}-{i:07d}" for i in number]
    columns: dict[str, object] = {
        "building_id": _categorical(per_building(np.arange(n, dtype=_code_dtype(n))), ids),
        "building_name": _categorical(per_building(plan.template_name[template]), cat["building_name"]),
        "use_type": _lookup(per_building(archetype), [a.use_type for a in plan.archetypes]),
        "gross_floor_area_m2": per_building(gfa),
        "reference_study_period_years": np.full(n_lines, np.nan),
        "construction_year": per_building(year),
        "region": _lookup(per_building(archetype), [a.region for a in plan.archetypes]),
        "project_type": _categorical(np.zeros(n_lines, dtype=np.int8), ["new"]),
        "element_id": _categorical(per_element(plan.el_id[el_row]), cat["element_id"]),
        "element_name": _categorical(per_element(plan.el_name[el_row]), cat["element_name"]),
        "element_type": _categorical(per_element(plan.el_type[el_row]), cat["element_type"]),
        "nl_sfb": _categorical(np.full(n_lines, -1, dtype=np.int8), []),
        "element_quantity": per_element(quantity),
        "element_unit": _categorical(per_element(plan.el_unit[el_row]), cat["element_unit"]),
        "line": position,
    }
    given = {
        "product": _categorical(plan.tlo_product[option], cat["product"]),
        "amount": amount,
        "unit": _categorical(plan.tlo_unit[option], cat["unit"]),
        "layer": _categorical(plan.tlo_layer[option], cat["layer"]),
        "composition": _categorical(plan.tlo_composition[option], cat["composition"]),
        "ratio": plan.tlo_ratio[option],
        "name": _categorical(plan.tlo_name[option], cat["name"]),
        "service_life_years": plan.tlo_life_years[option],
        "service_life_category": _categorical(plan.tlo_life_category[option], cat["service_life_category"]),
        "transport": _categorical(plan.tlo_transport[option], cat["transport"]),
        "waste_category": _categorical(plan.tlo_waste[option], cat["waste_category"]),
    }
    for name in _layer_columns():
        if name in given:
            columns[name] = given[name]
            continue
        default = Layer.model_fields[name].default
        if default is None:
            columns[name] = (
                np.full(n_lines, np.nan)
                if _is_float_field(name)
                else _categorical(np.full(n_lines, -1, dtype=np.int8), [])
            )
        elif isinstance(default, bool):
            columns[name] = np.full(n_lines, default, dtype=bool)
        elif isinstance(default, int):
            columns[name] = np.full(n_lines, default, dtype=np.int64)
        elif isinstance(default, float):
            columns[name] = np.full(n_lines, default, dtype=np.float64)
        else:
            columns[name] = _categorical(np.zeros(n_lines, dtype=np.int8), [default])
    for name in _EOL_COLUMNS:
        columns[name] = (
            _categorical(np.full(n_lines, -1, dtype=np.int8), []) if name == "scenario" else np.full(n_lines, np.nan)
        )
    return pd.DataFrame(columns, copy=False)


# ============================================================================ model objects and files
def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _buildings_from_frame(frame: pd.DataFrame) -> list[Building]:
    layer_columns = [c for c in _layer_columns() if c in frame]
    buildings: list[dict] = []
    element: dict | None = None
    for record in frame.astype(object).to_dict("records"):
        if not buildings or buildings[-1]["id"] != record["building_id"]:
            buildings.append(
                {
                    "id": record["building_id"],
                    "name": record["building_name"],
                    "use_type": record["use_type"],
                    "gross_floor_area_m2": record["gross_floor_area_m2"],
                    "construction_year": record["construction_year"],
                    "region": record["region"],
                    "project_type": record["project_type"],
                    "elements": [],
                }
            )
            element = None
        if element is None or element["id"] != record["element_id"]:
            element = {
                "id": record["element_id"],
                "name": record["element_name"],
                "element_type": record["element_type"],
                "quantity": record["element_quantity"],
                "unit": record["element_unit"],
                "layers": [],
            }
            buildings[-1]["elements"].append(element)
        element["layers"].append({c: record[c] for c in layer_columns if not _missing(record[c])})
    return [Building.model_validate(b) for b in buildings]


def generate_buildings(
    n: int,
    seed: int = 0,
    archetypes: str | Sequence[str] | Mapping[str, float] | None = None,
    *,
    start: int = 0,
    scenarios=None,
    folder: str | Path | None = None,
) -> list[Building]:
    """The same buildings as :func:`generate_stock`, as validated :class:`~mpeil.model.Building` objects.

    Meant for small ``n`` (examples, files, tests): building model objects costs about 10 µs per
    layer line, where :func:`generate_stock` costs well under 1 µs.
    """
    frame = generate_stock(n, seed, archetypes, start=start, scenarios=scenarios, folder=folder)
    return _buildings_from_frame(frame)


def write_stock(
    n: int,
    folder: str | Path,
    seed: int = 0,
    fmt: str = "json",
    per_file: int = 100,
    archetypes: str | Sequence[str] | Mapping[str, float] | None = None,
    *,
    start: int = 0,
    scenarios=None,
) -> list[Path]:
    """Write ``n`` synthetic buildings to building files in ``folder`` (created if needed).

    ``fmt`` is ``"json"`` (the model as JSON; one building per file is an object, several a list),
    ``"csv"`` or ``"xlsx"`` (the flat bill of materials). Files hold ``per_file`` buildings each and
    are named ``stock-s<seed>-<first building number>.<fmt>``. Returns the paths, in order.
    """
    from .readers import write_building

    if fmt not in ("json", "csv", "xlsx"):
        raise InputError(f"fmt must be 'json', 'csv' or 'xlsx', got {fmt!r}", field="fmt")
    if not isinstance(per_file, (int, np.integer)) or per_file < 1:
        raise InputError(f"per_file must be an integer ≥ 1, got {per_file!r}", field="per_file")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for first in range(start, start + n, per_file):
        count = min(per_file, start + n - first)
        buildings = generate_buildings(count, seed, archetypes, start=first, scenarios=scenarios)
        path = folder / f"stock-s{seed}-{first:07d}.{fmt}"
        write_building(buildings[0] if count == 1 else buildings, path)
        paths.append(path)
    return paths


def iter_stock(
    n: int, chunk: int, seed: int = 0, archetypes=None, *, start: int = 0, scenarios=None
) -> Iterable[pd.DataFrame]:
    """``generate_stock`` in chunks of ``chunk`` buildings (for streaming very large stocks)."""
    for first in range(start, start + n, chunk):
        yield generate_stock(min(chunk, start + n - first), seed, archetypes, start=first, scenarios=scenarios)

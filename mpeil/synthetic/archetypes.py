"""Archetypes and layer recipes of the synthetic stocks: data in ``scenarios/archetypes/``."""

from __future__ import annotations

import functools
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ParseError
from ..model.building import ElementType, UseType
from ..paths import scenarios_dir

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

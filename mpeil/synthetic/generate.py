"""Generation of a synthetic stock: a few gathers over the plan's templates (vectorised numpy)."""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..compile.flatten import BUILDING_COLUMNS, ELEMENT_COLUMNS
from ..errors import InputError
from ..model.building import Layer
from .archetypes import _archetype_folder
from .draws import _S_BUILDING, _expand, _uniform
from .plan import _code_dtype, _Codes, _Plan, _plan, _selection_key, _service_lives

_EOL_COLUMNS = ("eol_landfill", "eol_incineration", "eol_reuse", "eol_recycling", "eol_sorted_on_site", "scenario")


def _layer_columns() -> list[str]:
    return [name for name in Layer.model_fields if name not in ("end_of_life", "scenario")]


def stock_columns() -> list[str]:
    """Columns of :func:`generate_stock`: those of :func:`mpeil.compile.flatten.flatten`, in its order."""
    return [*BUILDING_COLUMNS, *ELEMENT_COLUMNS, "line", *_layer_columns(), *_EOL_COLUMNS]


def _is_float_field(name: str) -> bool:
    annotation = Layer.model_fields[name].annotation
    return "float" in str(annotation) or any("float" in str(a) for a in typing.get_args(annotation))


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
    buildings = _draw_buildings(plan, seed, number)
    elements = _draw_elements(plan, seed, number, buildings)
    lines = _draw_lines(plan, seed, number, buildings.template, elements)
    columns = _building_columns(plan, seed, number, buildings, elements, lines)
    columns.update(_layer_columns_of(plan, lines.option, lines.amount))
    return pd.DataFrame(columns, copy=False)


@dataclass(frozen=True, eq=False)
class _Buildings:
    """Per building: archetype, storeys (and their offset in the archetype's range), GFA, year, template."""

    archetype: np.ndarray
    storeys: np.ndarray
    gfa: np.ndarray
    year: np.ndarray
    template: np.ndarray


def _draw_buildings(plan: _Plan, seed: int, number: np.ndarray) -> _Buildings:
    """Archetype, construction, storeys, GFA and year of each building → its template."""
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
    return _Buildings(archetype, storeys, gfa, year, template)


@dataclass(frozen=True, eq=False)
class _Elements:
    """Per element instance of every building: its building, plan row, whether kept, quantity."""

    building: np.ndarray
    row: np.ndarray
    keep: np.ndarray
    quantity: np.ndarray


def _draw_elements(plan: _Plan, seed: int, number: np.ndarray, buildings: _Buildings) -> _Elements:
    """Element instances: their quantity, and which member of a group is kept."""
    template, gfa, storeys = buildings.template, buildings.gfa, buildings.storeys
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
    return _Elements(el_building, el_row, keep, quantity)


@dataclass(frozen=True, eq=False)
class _Lines:
    """The layer lines kept: their option, amount; lines per element and building; line numbers."""

    option: np.ndarray
    amount: np.ndarray
    per_element: np.ndarray
    per_building: np.ndarray
    position: np.ndarray


def _draw_lines(plan: _Plan, seed: int, number: np.ndarray, template: np.ndarray, elements: _Elements) -> _Lines:
    """One draw per (building, choice or size key); the option of each line, then the options
    without a line and the elements not kept are dropped."""
    slot_building, slot_offset = _expand(plan.template_slots[template])
    slot_draw = _uniform(
        seed, number[slot_building], plan.slot_stream[plan.template_slot_start[template][slot_building] + slot_offset]
    )
    building_slot_start = np.cumsum(plan.template_slots[template]) - plan.template_slots[template]
    del slot_building, slot_offset
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
    present = elements.keep[line_element]
    present &= plan.tlo_product[option] >= 0
    option, line_element, size_draw = option[present], line_element[present], size_draw[present]
    del present
    amount = plan.tlo_amin[option] + size_draw * plan.tlo_aspan[option]
    del size_draw
    n_lines = len(option)
    per_element = np.bincount(line_element, minlength=len(elements.row))
    del line_element
    per_building = np.bincount(elements.building, weights=per_element, minlength=len(number)).astype(np.int64)
    position = np.arange(1, n_lines + 1) - np.repeat(np.cumsum(per_element) - per_element, per_element)
    return _Lines(option, amount, per_element, per_building, position)


def _building_columns(
    plan: _Plan, seed: int, number: np.ndarray, buildings: _Buildings, elements: _Elements, lines: _Lines
) -> dict[str, object]:
    """Building and element columns, repeated over their lines (lines are in order)."""
    cat, n, n_lines, el_row = plan.categories, len(number), len(lines.option), elements.row

    def per_building(values):
        return np.repeat(values, lines.per_building)

    def per_element(values):
        return np.repeat(values, lines.per_element)

    ids = [f"s{seed}-{i:07d}" for i in number]
    archetype = per_building(buildings.archetype)
    return {
        "building_id": _categorical(per_building(np.arange(n, dtype=_code_dtype(n))), ids),
        "building_name": _categorical(per_building(plan.template_name[buildings.template]), cat["building_name"]),
        "use_type": _lookup(archetype, [a.use_type for a in plan.archetypes]),
        "gross_floor_area_m2": per_building(buildings.gfa),
        "reference_study_period_years": np.full(n_lines, np.nan),
        "construction_year": per_building(buildings.year),
        "region": _lookup(archetype, [a.region for a in plan.archetypes]),
        "project_type": _categorical(np.zeros(n_lines, dtype=np.int8), ["new"]),
        "element_id": _categorical(per_element(plan.el_id[el_row]), cat["element_id"]),
        "element_name": _categorical(per_element(plan.el_name[el_row]), cat["element_name"]),
        "element_type": _categorical(per_element(plan.el_type[el_row]), cat["element_type"]),
        "nl_sfb": _categorical(np.full(n_lines, -1, dtype=np.int8), []),
        "element_quantity": per_element(elements.quantity),
        "element_unit": _categorical(per_element(plan.el_unit[el_row]), cat["element_unit"]),
        "line": lines.position,
    }


def _layer_columns_of(plan: _Plan, option: np.ndarray, amount: np.ndarray) -> dict[str, object]:
    """Layer and end-of-life columns: the chosen options' values, every other field its default."""
    cat, n_lines = plan.categories, len(option)
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
    columns: dict[str, object] = {}
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
    return columns

"""The validation layer of every entry point: ``mpeil.score``, the CLI, the batch and the service.

Three stages, each in one place:

1. **files** (:mod:`mpeil.readers.guards`): size, zip containers (XLSX inflation), JSON depth and
   integer length, before a parser sees the bytes;
2. **types** (:mod:`mpeil.model.validators`): what the building model accepts (no boolean as a
   number, finite floats, bounded identifiers and text, EN 15804 scenario modules);
3. **plausibility** (here): the compiled buildings against ``data/batch_limits.csv``
   (:class:`~mpeil.limits.Limits`), references the model alone cannot check (service-life categories,
   reused components), and a last check that no score is infinite.

:func:`check_plausibility` raises the first value beyond a limit as an
:class:`~mpeil.errors.InputError` located by file, building, element, layer and field.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from .compile import CompiledBuildings
from .compile.compiler import _factorize
from .consistency import check_consistency
from .errors import CircularityError, InputError, MpeilError
from .limits import Limits, load_limits
from .model.bom import NUMERIC_COLUMNS
from .units import metres_per_unit

__all__ = [
    "Limits",
    "load_limits",
    "compile_checked",
    "check_frame_types",
    "check_plausibility",
    "check_references",
    "check_scores",
]

#: numeric columns of a flat bill of materials (mpeil.model.bom)
FRAME_NUMBERS = NUMERIC_COLUMNS
#: identifier columns that must be present and non-empty on every row
FRAME_IDS = ("building_id", "element_id", "product", "unit")
_BAD_ID = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")

_SOURCE = "(data/batch_limits.csv)"


def _beyond(value: float, low: float, high: float) -> bool:
    return (not math.isnan(low) and value < low) or (not math.isnan(high) and value > high)


def _layer_label(layer, line: int) -> str:
    return f"{layer} (line {int(line)})" if isinstance(layer, str) and layer else f"line {int(line)}"


def _line_error(compiled: CompiledBuildings, line: int, message: str, field: str, file) -> InputError:
    e = compiled.line_element[line]
    return InputError(
        message,
        file=file,
        building=compiled.building_ids[compiled.element_building[e]],
        element=compiled.element_ids[e],
        layer=_layer_label(compiled.line_layer[line], compiled.line_number[line]),
        field=field,
    )


def compile_checked(
    items,
    library,
    scenarios,
    study_period_years: float,
    default_transport: str | None,
    file: str | None,
    limits: Limits | None = None,
    types_checked: bool = False,
) -> CompiledBuildings:
    """Compile buildings (a list of :class:`~mpeil.model.Building` or a flat bill of materials)
    and check them: what ``mpeil.score`` and every other entry point compile with. ``types_checked``:
    the frame was flattened from model buildings, which met the type rules of :func:`check_frame_types`."""
    from .compile import compile_frame, flatten

    if isinstance(items, pd.DataFrame):
        frame = items
        if not types_checked:  # a frame given as is never met the building model
            check_frame_types(frame, file)
    else:
        frame = flatten(items)
    check_references(frame, scenarios, file)
    compiled = compile_frame(frame, library, scenarios, study_period_years, default_transport, file)
    check_consistency(frame, compiled, library, file)  # scenario choices, reuse claims (mpeil.consistency)
    check_plausibility(frame, compiled, limits if limits is not None else load_limits(), file, library)
    return compiled


def check_frame_types(frame: pd.DataFrame, file: str | None) -> None:
    """The type rules of :mod:`mpeil.model.validators` on a flat bill of materials given as a
    DataFrame: numbers are finite numbers (never booleans), ids are non-empty text without control
    characters or lone surrogates."""
    for column in FRAME_NUMBERS:
        if column not in frame:
            continue
        values = frame[column]
        bad = _not_finite(values)
        if bad is not None:
            row = int(np.argmax(bad))
            raise InputError(
                f"{column} {values.iloc[row]!r} is not a finite number", field=column, **_where(frame, row, file)
            )
    for column in FRAME_IDS:
        if column not in frame:
            continue
        for value in _distinct(frame[column]):
            if not isinstance(value, str) or not value.strip() or len(value) > 256 or _BAD_ID.search(value):
                row = int(np.argmax(_matches(frame[column], value)))
                raise InputError(
                    f"{column} {str(value)[:80]!r} is not an identifier (non-empty text of at most 256 characters "
                    "without control characters)",
                    field=column,
                    **_where(frame, row, file),
                )


def _not_finite(values: pd.Series) -> np.ndarray | None:
    """Where a numeric column holds something other than a finite number (a boolean, text, ±inf);
    None when nowhere (the common case, found without building the mask)."""
    if values.dtype == np.float64:  # NaN is missing, not bad: only ±inf
        infinite = np.isinf(values.to_numpy())
        return infinite if infinite.any() else None
    if values.dtype == np.int64:
        return None  # integers are finite numbers
    if values.dtype == object and pd.isna(values.to_numpy()).all():
        return None  # nothing given (an optional column of a flattened building): nothing to refuse
    numbers = pd.to_numeric(values, errors="coerce") if values.dtype != bool else None
    if numbers is None:
        bad = values.notna().to_numpy()
    else:
        bad = values.notna().to_numpy() & ~np.isfinite(numbers.to_numpy(dtype=np.float64, na_value=np.nan))
        if values.dtype == object:
            cells = values.to_numpy(dtype=object)  # a plain loop: Series.map costs 3× more per cell
            bad |= np.fromiter((isinstance(v, bool) for v in cells), dtype=bool, count=len(cells))
    return bad if bad.any() else None


def _distinct(series: pd.Series) -> list:
    if isinstance(series.dtype, pd.CategoricalDtype):
        values = list(series.cat.categories)
        return values + ([None] if series.isna().any() else [])
    if series.dtype == object:
        return list(pd.unique(series.to_numpy()))  # objects already: no copy of the column
    if isinstance(series.dtype, pd.StringDtype):
        return list(series.unique())  # the same values in the same order, without an object copy
    return list(pd.unique(series.astype("object")))


def _matches(series: pd.Series, value) -> np.ndarray:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return series.isna().to_numpy()
    return (series.astype("object") == value).to_numpy(dtype=bool)


def check_plausibility(
    frame: pd.DataFrame,
    compiled: CompiledBuildings,
    limits: Limits,
    file: str | None,
    library=None,
) -> None:
    """Raise an :class:`InputError` for the first value beyond a plausibility limit.

    ``frame`` is the flat bill of materials that ``compiled`` was compiled from; ``library`` (the
    EPD library compiled against) enables the per-piece limit.
    """
    _check_buildings(compiled, limits, file)
    _check_counts(compiled, limits, file)
    _check_elements(compiled, limits, file)
    _check_thickness(frame, limits, file)
    _check_frame_values(frame, limits, file)
    _check_line_values(compiled, limits, file)
    _check_quantities(compiled, limits, file, library)
    _check_mass(compiled, limits, file)


def _check_buildings(compiled: CompiledBuildings, limits: Limits, file) -> None:
    gfa, rsp, ids = compiled.gross_floor_area_m2, compiled.study_period_years, compiled.building_ids
    suspect = ~(np.isfinite(gfa) & np.isfinite(rsp))
    for values, (low, high) in ((gfa, limits.gross_floor_area_m2), (rsp, limits.reference_study_period_years)):
        if not math.isnan(low):
            suspect |= values < low
        if not math.isnan(high):
            suspect |= values > high
    for b in np.flatnonzero(suspect)[:1].tolist():  # the first building beyond a limit, named as before
        for value, (low, high), what, unit, field in (
            (gfa[b], limits.gross_floor_area_m2, "gross floor area", "m²", "gross_floor_area_m2"),
            (rsp[b], limits.reference_study_period_years, "study period", "years", "reference_study_period_years"),
        ):
            if not math.isfinite(value) or _beyond(value, low, high):
                raise InputError(
                    f"{what} {value:g} {unit} is outside the plausible range [{low:g}, {high:g}] {unit} {_SOURCE}",
                    file=file,
                    building=ids[b],
                    field=field,
                )


def _check_counts(compiled: CompiledBuildings, limits: Limits, file) -> None:
    per_building = np.bincount(compiled.element_building, minlength=compiled.n_buildings)
    bad = np.flatnonzero(per_building > limits.elements_per_building)
    if bad.size:
        b = int(bad[0])
        raise InputError(
            f"the building has {per_building[b]:,} elements, above the plausible {limits.elements_per_building:,} {_SOURCE}",
            file=file,
            building=compiled.building_ids[b],
            field="elements",
        )
    per_element = np.bincount(compiled.line_element, minlength=compiled.n_elements)
    bad = np.flatnonzero(per_element > limits.lines_per_element)
    if bad.size:
        e = int(bad[0])
        raise InputError(
            f"the element has {per_element[e]:,} layer lines, above the plausible {limits.lines_per_element:,} {_SOURCE}",
            file=file,
            building=compiled.building_ids[compiled.element_building[e]],
            element=compiled.element_ids[e],
            field="layers",
        )


def _check_elements(compiled: CompiledBuildings, limits: Limits, file) -> None:
    gfa = compiled.gross_floor_area_m2
    per_gfa = compiled.element_quantity / gfa[compiled.element_building]
    bad = np.flatnonzero(~(per_gfa <= limits.element_quantity_per_gross_floor_area))
    if bad.size:
        e = int(bad[0])
        raise InputError(
            f"element quantity {compiled.element_quantity[e]:g} {compiled.element_unit[e]} is "
            f"{per_gfa[e]:g} per m² gross floor area, above the plausible "
            f"{limits.element_quantity_per_gross_floor_area:g} {_SOURCE}: check the unit and the gross floor area",
            file=file,
            building=compiled.building_ids[compiled.element_building[e]],
            element=compiled.element_ids[e],
            field="element_quantity",
        )


def _check_thickness(frame: pd.DataFrame, limits: Limits, file) -> None:
    """A length on an area element is a thickness."""
    if not ({"unit", "amount", "element_unit"} <= set(frame.columns) and len(frame)):
        return
    # one unit lookup per distinct unit, not per line (a stock has a handful of units)
    units = frame["unit"]
    if isinstance(units.dtype, pd.CategoricalDtype):  # the codes are a factorisation already
        codes, distinct = units.cat.codes.to_numpy(), list(units.cat.categories)
    else:  # pd.factorize's codes and values (a short text column without its per-call overhead)
        codes, values = _factorize(units)
        distinct = values.tolist()
    per_unit = np.array([metres_per_unit(u) if isinstance(u, str) else math.nan for u in distinct] + [math.nan])
    metres = per_unit[codes]  # code -1 (a missing unit) reads the trailing NaN
    amounts = frame["amount"]
    if amounts.dtype == np.float64:
        amount = amounts.to_numpy()
    else:
        amount = pd.to_numeric(amounts, errors="coerce").to_numpy(dtype=np.float64)
    thickness = amount * metres
    thick = np.flatnonzero(thickness > limits.layer_thickness)
    if not thick.size:
        return
    element_unit = frame["element_unit"].iloc[thick]  # a missing element unit reads as m2
    on_area = (element_unit.isna() | (element_unit == "m2").fillna(False)).to_numpy(dtype=bool)
    bad = thick[on_area]
    if bad.size:
        row = frame.iloc[int(bad[0])]
        line = row["line"] if "line" in frame else int(bad[0]) + 1
        raise InputError(
            f"layer thickness {amount[bad[0]]:g} {row['unit']} = {thickness[bad[0]]:g} m is above the plausible "
            f"{limits.layer_thickness:g} m {_SOURCE}: check the unit (mm or m?)",
            file=file,
            building=row["building_id"],
            element=row["element_id"],
            layer=_layer_label(row.get("layer"), line),
            field="amount",
        )


def _check_line_values(compiled: CompiledBuildings, limits: Limits, file) -> None:
    """Service lives, remaining lives, transport distances and loss rates a line declares."""
    low, high = limits.service_life_years
    given = ~compiled.default_service_life
    life = compiled.service_life_years
    checks = (
        (
            given & ((life < low) | (life > high)),
            life,
            f"service life {{:.10g}} years is outside [{low:g}, {high:g}]",
            "service_life_years",
        ),
        (
            compiled.remaining_life_years > limits.remaining_service_life_years,
            compiled.remaining_life_years,
            f"remaining service life {{:.10g}} years is above {limits.remaining_service_life_years:g}",
            "remaining_service_life_years",
        ),
        (
            compiled.transport_distance_km > limits.transport_distance_km,
            compiled.transport_distance_km,
            f"transport distance {{:.10g}} km is above {limits.transport_distance_km:g} km",
            "transport_distance_km",
        ),
        (
            compiled.loss_rate > limits.loss_rate,
            compiled.loss_rate,
            f"loss rate {{:.10g}} is above {limits.loss_rate:g}",
            "loss_rate",
        ),
    )
    for mask, values, template, field in checks:
        bad = np.flatnonzero(mask)
        if bad.size:
            line = int(bad[0])
            message = template.format(values[line]) + f", beyond what is plausible {_SOURCE}"
            raise _line_error(compiled, line, message, field, file)


def _check_quantities(compiled: CompiledBuildings, limits: Limits, file, library) -> None:
    """Quantities in declared units: finite, and bounded per m² GFA (lines without mass too)."""
    per_gfa = compiled.quantity / compiled.gross_floor_area_m2[compiled.line_building]
    bad = np.flatnonzero(~np.isfinite(compiled.quantity))
    if bad.size:
        message = "the amount × element quantity is too large to compute (not a finite number)"
        raise _line_error(compiled, int(bad[0]), message, "amount", file)
    bad = np.flatnonzero(per_gfa > limits.line_quantity_per_gross_floor_area)
    if bad.size:
        line = int(bad[0])
        message = (
            f"the line is {per_gfa[line]:g} declared units of its data set per m² gross floor area, above the "
            f"plausible {limits.line_quantity_per_gross_floor_area:g} {_SOURCE}: check the amount and its unit"
        )
        raise _line_error(compiled, line, message, "amount", file)
    if library is None or not len(per_gfa):
        return
    over = np.flatnonzero(per_gfa > limits.pieces_per_gross_floor_area)
    if not over.size:
        return  # no line has that many declared units, pieces or not
    units = library.datasets["declared_unit"].iloc[compiled.dataset[over]]
    bad = over[(units.astype("object") == "piece").to_numpy(dtype=bool)]
    if bad.size:
        line = int(bad[0])
        message = (
            f"the line is {per_gfa[line]:g} pieces per m² gross floor area, above the plausible "
            f"{limits.pieces_per_gross_floor_area:g} {_SOURCE}: check the amount and its unit"
        )
        raise _line_error(compiled, line, message, "amount", file)


def _check_mass(compiled: CompiledBuildings, limits: Limits, file) -> None:
    """Lines and buildings: mass per m² GFA (lines whose data set gives no mass are left out)."""
    gfa, line_building = compiled.gross_floor_area_m2, compiled.line_building
    line_mass = compiled.mass_kg / gfa[line_building]
    bad = np.flatnonzero(line_mass > limits.line_mass_per_gross_floor_area)
    if bad.size:
        _raise_mass(
            compiled, int(bad[0]), line_mass[bad[0]], limits.line_mass_per_gross_floor_area, "this line alone", file
        )
    known = np.nan_to_num(line_mass)
    totals = np.bincount(line_building, weights=known, minlength=compiled.n_buildings)
    bad = np.flatnonzero(totals > limits.building_mass_per_gross_floor_area)
    if bad.size:
        b = int(bad[0])
        lines = np.flatnonzero(line_building == b)
        heaviest = int(lines[np.argmax(known[lines])])
        what = "the building (its heaviest line is named)"
        _raise_mass(compiled, heaviest, totals[b], limits.building_mass_per_gross_floor_area, what, file)


def _raise_mass(compiled: CompiledBuildings, line: int, value: float, limit: float, what: str, file) -> None:
    message = (
        f"mass of {what} is {value:,.0f} kg per m² gross floor area, above the plausible {limit:,.0f} kg/m² "
        f"{_SOURCE}: check the amount, its unit and the element quantity"
    )
    raise _line_error(compiled, line, message, "amount", file)


def _check_frame_values(frame: pd.DataFrame, limits: Limits, file) -> None:
    """Values the compiled arrays drop: a remaining service life on a part that is not kept is
    still a typo worth refusing (it would be silently ignored)."""
    column = "remaining_service_life_years"
    if column not in frame:
        return
    if not _given(frame[column]).any():
        return  # nothing given (most frames): no coercion pass
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(values > limits.remaining_service_life_years)
    if bad.size:
        row = frame.iloc[int(bad[0])]
        raise InputError(
            f"remaining service life {values[bad[0]]:g} years is above {limits.remaining_service_life_years:g}, "
            f"beyond what is plausible {_SOURCE}",
            file=file,
            building=row.get("building_id"),
            element=row.get("element_id"),
            layer=_layer_label(row.get("layer"), row.get("line", int(bad[0]) + 1)),
            field=column,
        )


def _given(values: pd.Series) -> np.ndarray:
    """bool[L]: the cells that are not missing (``Series.notna``; an object column's cells tested
    without building a Series, a tenth of the cost on a house)."""
    if values.dtype == object:
        return ~pd.isna(values.to_numpy())
    return values.notna().to_numpy()


def check_references(frame: pd.DataFrame, scenarios, file: str | None) -> None:
    """References the model cannot check alone.

    - ``service_life_category`` names a category of the scenarios even when a service life is
      given (a typo is never silently ignored);
    - ``source_component_id`` names a component of the input when the input holds a reuse
      inventory (a removed line with a ``component_id``: a building being dismantled): a reference
      to an unknown one is a :class:`~mpeil.errors.CircularityError`. Without any inventory in the input the donor is
      elsewhere and the reference is not checked here (``mpeil.model.reuse.link_reuse`` does).
    """
    _check_life_categories(frame, scenarios, file)
    _check_reuse_references(frame, file)


def _where(frame: pd.DataFrame, row: int, file) -> dict:
    line = frame.iloc[row]
    return {
        "file": file,
        "building": line.get("building_id"),
        "element": line.get("element_id"),
        "layer": _layer_label(line.get("layer"), line.get("line", row + 1)),
    }


def _check_life_categories(frame: pd.DataFrame, scenarios, file) -> None:
    if "service_life_category" not in frame or scenarios is None:
        return
    categories = frame["service_life_category"]
    given = _given(categories)
    if not given.any():  # no category named (most frames): nothing to look up
        return
    unknown = given & ~categories.isin(scenarios.service_lives.index).to_numpy()
    bad = np.flatnonzero(unknown)
    if bad.size:
        try:
            scenarios.service_life(str(categories.iloc[int(bad[0])]))  # raises UnknownScenarioError
        except MpeilError as error:
            raise error.located(**_where(frame, int(bad[0]), file)) from None


def _check_reuse_references(frame: pd.DataFrame, file) -> None:
    if "source_component_id" not in frame or "component_id" not in frame:
        return
    if not _given(frame["source_component_id"]).any():
        return  # no reference to check
    removed = frame["removed"].fillna(False).astype(bool) if "removed" in frame else pd.Series(False, frame.index)
    inventory = set(frame.loc[removed, "component_id"].dropna().astype(str))
    if not inventory:
        return
    references = frame["source_component_id"]
    unknown = references.notna().to_numpy() & ~references.astype(str).isin(inventory).to_numpy()
    bad = np.flatnonzero(unknown)
    if bad.size:
        row = int(bad[0])
        known = ", ".join(sorted(inventory)[:5]) + (", …" if len(inventory) > 5 else "")
        raise CircularityError(
            f"reused component {references.iloc[row]!r} is in no inventory of this input (component ids: {known})",
            field="source_component_id",
            **_where(frame, row, file),
        )


def check_scores(scores: pd.DataFrame, file: str | None, result=None) -> None:
    """No building may score an infinite, lost (NaN) or implausible value (:mod:`mpeil.plausibility`;
    with ``result`` also the per-indicator and per-stage bounds, naming the lines that drive them)."""
    from .plausibility import check_result, check_score_table

    if result is not None:
        check_result(result, file, scores)
    else:
        check_score_table(scores, file)

"""Compile buildings into flat arrays: one row per layer line, plain numpy, no model objects.

Everything the engine needs per line is resolved here, once: the data set index, the
amount in the data set's declared unit for the whole element, service life, transport,
end-of-life shares, loss rate and circularity flags. Unit conversion runs once per
distinct (data set, unit, element unit), never per line.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from ..errors import ConversionError, InputError, MpeilError, UnitError
from ..model import Building
from ..model.library import EPDLibrary
from ..model.scenarios import EOL_ROUTES, ScenarioSet
from ..units import parse_unit, unit_registry
from .flatten import flatten

__all__ = ["CompiledBuildings", "compile_buildings", "compile_frame", "physical_unit"]


@dataclass(frozen=True, eq=False)
class CompiledBuildings:
    """Flat arrays for B buildings, E elements and L lines (lines grouped by element)."""

    # buildings
    building_ids: np.ndarray
    gross_floor_area_m2: np.ndarray
    study_period_years: np.ndarray
    use_type: np.ndarray
    # elements
    element_building: np.ndarray
    element_ids: np.ndarray
    element_names: np.ndarray
    element_types: np.ndarray
    element_quantity: np.ndarray
    element_unit: np.ndarray
    # lines
    line_element: np.ndarray
    dataset: np.ndarray
    quantity: np.ndarray  # declared units of the data set, for the whole element
    mass_kg: np.ndarray  # kg for the whole element (NaN when the data set gives no mass)
    service_life_years: np.ndarray
    default_service_life: np.ndarray  # bool: no service life given, study period used
    remaining_life_years: np.ndarray  # NaN for new parts
    removed: np.ndarray  # bool: removed in this renovation (end of life only)
    loss_rate: np.ndarray  # NaN when not given
    transport: np.ndarray  # index into transport_scenarios, -1 = none
    transport_distance_km: np.ndarray  # NaN = scenario distance
    eol_shares: np.ndarray  # [L, 4] landfill, incineration, reuse, recycling; NaN = no scenario
    sorted_on_site: np.ndarray  # share sorted on the building site; NaN = unknown (read as 0)
    waste_category: np.ndarray  # index into waste_categories, -1 = none
    scenario_choice: np.ndarray  # index into scenario_choices; 0 = the data sets' first scenarios
    reused_input: np.ndarray
    recycled_content: np.ndarray
    use_cycles: np.ndarray
    use_cycle: np.ndarray
    line_layer: np.ndarray
    line_number: np.ndarray
    # lookup lists
    transport_scenarios: tuple[str, ...] = ()
    waste_categories: tuple[str, ...] = ()
    scenario_choices: tuple[tuple[tuple[str, str], ...], ...] = ((),)
    component_ids: np.ndarray | None = None
    source_component_ids: np.ndarray | None = None
    #: index into ``service_life_categories`` per line, -1 = none given (uncertainty of service lives)
    service_life_category: np.ndarray | None = None
    service_life_categories: tuple[str, ...] = ()

    @property
    def n_buildings(self) -> int:
        return len(self.building_ids)

    @property
    def n_elements(self) -> int:
        return len(self.element_ids)

    @property
    def n_lines(self) -> int:
        return len(self.dataset)

    @property
    def line_building(self) -> np.ndarray:
        return self.element_building[self.line_element]

    def select_buildings(self, keep: np.ndarray) -> CompiledBuildings:
        """The same arrays for a subset of buildings (boolean mask over buildings)."""
        keep = np.asarray(keep, dtype=bool)
        keep_el = keep[self.element_building]
        keep_line = keep_el[self.line_element]
        new_building = np.cumsum(keep) - 1
        new_element = np.cumsum(keep_el) - 1
        values = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, np.ndarray):
                values[f.name] = value
            elif f.name in ("building_ids", "gross_floor_area_m2", "study_period_years", "use_type"):
                values[f.name] = value[keep]
            elif f.name.startswith("element_"):
                values[f.name] = value[keep_el]
            else:
                values[f.name] = value[keep_line]
        values["element_building"] = new_building[self.element_building[keep_el]]
        values["line_element"] = new_element[self.line_element[keep_line]]
        return CompiledBuildings(**values)


@functools.lru_cache(maxsize=1024)
def physical_unit(amount_unit: str, element_unit: str) -> tuple[str, float]:
    """The unit of what one ``amount`` × one element unit is, and its scale.

    A length on an area element is a thickness (m × m² = m³); ``X/Y`` with ``Y`` the element's
    unit is X per element unit; anything else is per element unit.
    """
    registry = unit_registry()
    amount = registry.Quantity(1.0, parse_unit(amount_unit))
    element = registry.Quantity(1.0, parse_unit(element_unit))
    length, area = registry.Quantity(1, "m").dimensionality, registry.Quantity(1, "m**2").dimensionality
    if amount.dimensionality == length and element.dimensionality == area:
        total = (amount * element).to("m**3")
    elif "/" in amount_unit:
        total = amount * element
        numerator_text = amount_unit.split("/", 1)[0].strip()
        numerator = registry.Quantity(1.0, parse_unit(numerator_text) if numerator_text else "")
        if total.dimensionality != numerator.dimensionality:
            raise UnitError(f"unit {amount_unit!r} is not per {element_unit} (the element's unit)", field="unit")
        total = total.to_reduced_units()
    else:
        total = amount
    return str(total.units), float(total.magnitude)


def _text(series: pd.Series) -> np.ndarray:
    return series.astype("object").where(series.notna(), None).to_numpy()


def _factorize(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes in first-appearance order and the distinct values (as objects); -1 for missing.

    A categorical column (what :mod:`mpeil.synthetic` makes) is factorised through its integer
    codes, without turning a million cells into Python strings first.
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes, uniques = pd.factorize(series.cat.codes.to_numpy(), sort=False)
        categories = np.asarray(series.cat.categories, dtype=object)
        values = np.array([categories[c] if c >= 0 else None for c in uniques], dtype=object)
        keep = uniques >= 0  # the missing category (-1) becomes code -1, as pd.factorize does
        if not keep.all():
            remap = np.cumsum(keep) - 1
            codes = np.where(uniques[codes] >= 0, remap[codes], -1)
            values = values[keep]
        return codes.astype(np.int64), values
    codes, uniques = pd.factorize(series, sort=False)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def _combine(*codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Factorise rows of several code arrays at once: (row codes, first row of each distinct key)."""
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for c in codes:
        key = key * (int(c.max()) + 2 if c.size else 1) + (c + 1)
    row_codes, _ = pd.factorize(key, sort=False)
    first = np.full(int(row_codes.max()) + 1 if row_codes.size else 0, -1, dtype=np.int64)
    first[row_codes[::-1]] = np.arange(len(row_codes) - 1, -1, -1)  # first occurrence of each key
    return row_codes.astype(np.int64), first


def _floats(frame: pd.DataFrame, column: str, default: float = np.nan) -> np.ndarray:
    if column not in frame:
        return np.full(len(frame), default, dtype=np.float64)
    # a copy: under pandas 3 (copy-on-write) to_numpy() is a read-only view, and callers fill gaps in place
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64, copy=True)
    return np.where(np.isnan(values), default, values) if not np.isnan(default) else values


def _canonical_waste(frame: pd.DataFrame, scenarios: ScenarioSet, file: str | None) -> pd.Series:
    """The waste_category column with each name as the scenarios spell it (None stays None)."""
    names = frame["waste_category"].astype("object")
    canonical: dict[str, str] = {}
    for name in names.dropna().unique():
        try:
            canonical[name] = scenarios.canonical_waste_category(str(name))
        except MpeilError as error:
            raise _fail(frame, int(np.argmax((names == name).to_numpy())), error, file) from None
    return names.map(canonical).astype("object")


def _fail(frame: pd.DataFrame, row: int, error: MpeilError, file: str | None) -> MpeilError:
    line = frame.iloc[row]
    layer = line.get("layer")
    layer_label = (
        f"{layer} (line {int(line['line'])})" if isinstance(layer, str) and layer else f"line {int(line['line'])}"
    )
    return error.located(file=file, building=line.get("building_id"), element=line.get("element_id"), layer=layer_label)


def compile_buildings(
    buildings: Building | Iterable[Building],
    library: EPDLibrary,
    scenarios: ScenarioSet,
    study_period_years: float,
    default_transport: str | None = "BE-default",
    file: str | None = None,
) -> CompiledBuildings:
    """Compile model objects (see :func:`compile_frame` for the flat-table path)."""
    if isinstance(buildings, Building):
        buildings = [buildings]
    return compile_frame(flatten(buildings), library, scenarios, study_period_years, default_transport, file)


def compile_frame(
    frame: pd.DataFrame,
    library: EPDLibrary,
    scenarios: ScenarioSet,
    study_period_years: float,
    default_transport: str | None = "BE-default",
    file: str | None = None,
) -> CompiledBuildings:
    """Compile a flat bill of materials (:func:`~mpeil.compile.flatten.flatten` columns).

    Raises the first problem as a typed :class:`~mpeil.errors.MpeilError` naming file,
    building, element, layer and field.
    """
    if frame.empty:
        raise InputError("no layer lines to compile", file=file)
    frame = frame.reset_index(drop=True)
    if "line" not in frame:
        frame = frame.assign(line=frame.groupby(["building_id", "element_id"], sort=False).cumcount() + 1)
    n = len(frame)

    # ---- buildings and elements (first-appearance order; lines grouped by element)
    building_codes, building_ids = _factorize(frame["building_id"])
    element_codes, element_first = _combine(building_codes, _factorize(frame["element_id"])[0])
    # building-major element order (elements of a building contiguous, lines of an element contiguous),
    # so building totals are segment sums over the same sorted lines
    rank = np.empty(len(element_first), dtype=np.int64)
    rank[np.argsort(building_codes[element_first], kind="stable")] = np.arange(len(element_first))
    element_codes = rank[element_codes]
    order = np.argsort(element_codes, kind="stable")
    if not np.array_equal(order, np.arange(n)):
        frame = frame.iloc[order].reset_index(drop=True)
        building_codes, element_codes = building_codes[order], element_codes[order]
    first_of_building = pd.Series(np.arange(n)).groupby(building_codes).first().to_numpy()
    first_of_element = pd.Series(np.arange(n)).groupby(element_codes).first().to_numpy()

    gfa = _floats(frame, "gross_floor_area_m2")[first_of_building]
    rsp = _floats(frame, "reference_study_period_years", study_period_years)[first_of_building]
    for values, field, what in (
        (gfa, "gross_floor_area_m2", "gross floor area must be > 0 m²"),
        (rsp, "reference_study_period_years", "study period must be > 0 years"),
    ):
        bad = np.flatnonzero(~(values > 0))
        if bad.size:
            raise _fail(frame, first_of_building[bad[0]], InputError(what, field=field), file)
    element_quantity = _floats(frame, "element_quantity")[first_of_element]
    element_unit = frame["element_unit"].fillna("m2").astype(str).to_numpy()[first_of_element]
    bad = np.flatnonzero(~(element_quantity > 0))
    if bad.size:
        raise _fail(
            frame, first_of_element[bad[0]], InputError("element quantity must be > 0", field="element_quantity"), file
        )

    # ---- amounts
    amount = _floats(frame, "amount")
    ratio = _floats(frame, "ratio", 1.0)
    for column, values, low, high in (("amount", amount, 0.0, np.inf), ("ratio", ratio, 0.0, 1.0)):
        bad = np.flatnonzero(~((values >= low) & (values <= high)))
        if bad.size:
            raise _fail(
                frame,
                bad[0],
                InputError(
                    f"{column} must be a number in [{low:g}, {high:g}], got {frame[column].iloc[bad[0]]!r}",
                    field=column,
                ),
                file,
            )

    # ---- data sets: resolve each distinct product once
    product_codes, products = _factorize(frame["product"])
    dataset_of_product = np.empty(len(products), dtype=np.int64)
    for code, product in enumerate(products):
        try:
            dataset_of_product[code] = library.resolve(str(product))
        except MpeilError as error:
            raise _fail(frame, int(np.argmax(product_codes == code)), error, file) from None
    if (product_codes < 0).any():
        raise _fail(
            frame, int(np.argmax(product_codes < 0)), InputError("missing product reference", field="product"), file
        )
    dataset = dataset_of_product[product_codes]

    # ---- unit conversion: once per distinct (data set, amount unit, element unit)
    line_element_unit = element_unit[element_codes]
    unit_codes, unit_names = _factorize(frame["unit"])
    element_unit_codes, element_unit_names = _factorize(pd.Series(line_element_unit))
    conv_codes, conv_first = _combine(dataset, unit_codes, element_unit_codes)
    conv_uniques = [
        (
            dataset[row],
            unit_names[unit_codes[row]] if unit_codes[row] >= 0 else None,
            element_unit_names[element_unit_codes[row]],
        )
        for row in conv_first
    ]
    factor_of = np.empty(len(conv_uniques), dtype=np.float64)
    mass_of = np.empty(len(conv_uniques), dtype=np.float64)
    for code, (d, unit, el_unit) in enumerate(conv_uniques):
        try:
            if not isinstance(unit, str) or not unit.strip():
                raise UnitError("missing unit", field="unit")
            physical, scale = physical_unit(unit, el_unit)
            factor_of[code] = library.conversion_factor(int(d), physical) * scale
        except MpeilError as error:
            error = error.located(field="unit")
            if isinstance(error, ConversionError):
                error.message += f" (line unit {unit!r} on a {el_unit} element)"
            raise _fail(frame, int(np.argmax(conv_codes == code)), error, file) from None
        mass_of[code] = library.mass_per_unit(int(d))
    with np.errstate(over="ignore"):  # an overflow is refused by mpeil.validation, naming the line
        quantity = amount * ratio * element_quantity[element_codes] * factor_of[conv_codes]
        mass_kg = quantity * mass_of[conv_codes]

    # ---- service life
    line_rsp = rsp[building_codes]
    service_life = _floats(frame, "service_life_years")
    if "service_life_category" in frame:
        life_category_codes, life_categories = _factorize(frame["service_life_category"])
    else:
        life_category_codes, life_categories = np.full(n, -1, dtype=np.int64), np.array([], dtype=object)
    if "service_life_category" in frame:
        categories = frame["service_life_category"]
        need = np.isnan(service_life) & categories.notna().to_numpy()
        for row in np.flatnonzero(need):
            try:
                service_life[row] = scenarios.service_life(str(categories.iloc[row]))
            except MpeilError as error:
                raise _fail(frame, row, error, file) from None
    default_life = np.isnan(service_life)
    service_life = np.where(default_life, line_rsp, service_life)
    bad = np.flatnonzero(~(service_life > 0))
    if bad.size:
        raise _fail(frame, bad[0], InputError("service life must be > 0 years", field="service_life_years"), file)
    existing = frame["existing"].fillna(False).astype(bool).to_numpy() if "existing" in frame else np.zeros(n, bool)
    remaining = _floats(frame, "remaining_service_life_years")
    remaining = np.where(existing, np.where(np.isnan(remaining), service_life, remaining), np.nan)
    removed = frame["removed"].fillna(False).astype(bool).to_numpy() if "removed" in frame else np.zeros(n, bool)

    # ---- losses
    loss_rate = _floats(frame, "loss_rate")
    bad = np.flatnonzero(~np.isnan(loss_rate) & ~((loss_rate >= 0) & (loss_rate < 1)))
    if bad.size:
        raise _fail(frame, bad[0], InputError("loss rate must be in [0, 1)", field="loss_rate"), file)

    # ---- waste categories as the scenario files spell them (a user's case does not matter)
    waste_names = _canonical_waste(frame, scenarios, file) if "waste_category" in frame else None

    # ---- default loss rates per waste category (scenarios/loss_rates.csv; "*" = no default)
    if len(scenarios.loss_rates) and waste_names is not None:
        defaults = scenarios.loss_rates.drop(index="*", errors="ignore")
        by_category = waste_names.map(defaults).to_numpy(dtype=np.float64)
        loss_rate = np.where(np.isnan(loss_rate), by_category, loss_rate)

    # ---- transport
    transport_names = frame["transport"].astype("object") if "transport" in frame else pd.Series([None] * n)
    if default_transport:
        transport_names = transport_names.where(transport_names.notna(), default_transport)
    transport_codes, transport_uniques = pd.factorize(transport_names, sort=False)
    for code, name in enumerate(transport_uniques):
        try:
            scenarios.transport_legs(str(name), "A4")
        except MpeilError as error:
            raise _fail(frame, int(np.argmax(transport_codes == code)), error, file) from None
    distance = _floats(frame, "transport_distance_km")

    # ---- end of life
    eol = np.full((n, 4), np.nan, dtype=np.float64)
    sorted_on_site = np.full(n, np.nan, dtype=np.float64)
    waste_codes = np.full(n, -1, dtype=np.int64)
    waste_uniques: list[str] = []
    if waste_names is not None:
        codes, uniques = pd.factorize(waste_names, sort=False)
        for code, name in enumerate(uniques):
            try:
                shares = scenarios.eol_shares(str(name))
            except MpeilError as error:
                raise _fail(frame, int(np.argmax(codes == code)), error, file) from None
            eol[codes == code] = shares
            if "sorted_on_site" in scenarios.waste_categories:
                sorted_on_site[codes == code] = float(scenarios.waste_categories.at[str(name), "sorted_on_site"])
        waste_codes, waste_uniques = codes.astype(np.int64), [str(u) for u in uniques]
    explicit = [f"eol_{route}" for route in EOL_ROUTES]
    if all(c in frame for c in explicit):
        given = np.column_stack([_floats(frame, c) for c in explicit])
        has = ~np.isnan(given).all(axis=1)
        given = np.nan_to_num(given)
        sums = given.sum(axis=1)
        bad = np.flatnonzero(has & ~np.isclose(sums, 1.0, atol=1e-3))
        if bad.size:
            raise _fail(
                frame,
                bad[0],
                InputError(f"end-of-life shares sum to {sums[bad[0]]:g}, not 1", field="end_of_life"),
                file,
            )
        eol[has] = given[has]
        if "eol_sorted_on_site" in frame:
            given_sorted = _floats(frame, "eol_sorted_on_site")
            sorted_on_site = np.where(np.isnan(given_sorted), sorted_on_site, given_sorted)

    # ---- per-module scenario choices
    if "scenario" in frame:
        texts = frame["scenario"].astype("object").where(frame["scenario"].notna(), "")
        choice_codes, choice_uniques = pd.factorize(texts, sort=False)
        choices: list[tuple[tuple[str, str], ...]] = []
        for row_text in choice_uniques:
            pairs = []
            for part in filter(None, str(row_text).split(";")):
                if "=" not in part:
                    raise _fail(
                        frame,
                        int(np.argmax(texts == row_text)),
                        InputError(f"scenario {part!r} is not MODULE=NAME", field="scenario"),
                        file,
                    )
                module, name = part.split("=", 1)
                pairs.append((module.strip(), name.strip()))
            choices.append(tuple(sorted(pairs)))
        # make "no choice" index 0
        all_choices = [()] + [c for c in choices if c != ()]
        remap = np.array([all_choices.index(c) for c in choices], dtype=np.int64)
        scenario_choice = remap[choice_codes]
    else:
        all_choices, scenario_choice = [()], np.zeros(n, dtype=np.int64)

    return CompiledBuildings(
        building_ids=np.asarray(building_ids, dtype=object),
        gross_floor_area_m2=gfa,
        study_period_years=rsp,
        use_type=_text(frame["use_type"])[first_of_building]
        if "use_type" in frame
        else np.full(len(building_ids), None),
        element_building=building_codes[first_of_element].astype(np.int64),
        element_ids=_text(frame["element_id"])[first_of_element],
        element_names=_text(frame["element_name"])[first_of_element]
        if "element_name" in frame
        else np.full(len(first_of_element), None),
        element_types=_text(frame["element_type"])[first_of_element]
        if "element_type" in frame
        else np.full(len(first_of_element), None),
        element_quantity=element_quantity,
        element_unit=element_unit.astype(object),
        line_element=element_codes.astype(np.int64),
        dataset=dataset.astype(np.int64),
        quantity=quantity,
        mass_kg=mass_kg,
        service_life_years=service_life,
        default_service_life=default_life,
        remaining_life_years=remaining,
        removed=removed,
        loss_rate=loss_rate,
        transport=transport_codes.astype(np.int64),
        transport_distance_km=distance,
        eol_shares=eol,
        sorted_on_site=sorted_on_site,
        waste_category=waste_codes,
        scenario_choice=scenario_choice,
        reused_input=_floats(frame, "reused_input", 0.0),
        recycled_content=_floats(frame, "recycled_content", 0.0),
        use_cycles=_floats(frame, "use_cycles", 1.0),
        use_cycle=_floats(frame, "use_cycle", 1.0),
        line_layer=_text(frame["layer"]) if "layer" in frame else np.full(n, None),
        line_number=frame["line"].to_numpy(dtype=np.int64),
        transport_scenarios=tuple(str(t) for t in transport_uniques),
        waste_categories=tuple(waste_uniques),
        service_life_category=np.asarray(life_category_codes, dtype=np.int64),
        service_life_categories=tuple(str(c) for c in life_categories),
        scenario_choices=tuple(all_choices),
        component_ids=_text(frame["component_id"]) if "component_id" in frame else None,
        source_component_ids=_text(frame["source_component_id"]) if "source_component_id" in frame else None,
    )

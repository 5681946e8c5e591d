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
from typing import Any, cast

import numpy as np
import pandas as pd

from ..errors import ConversionError, InputError, MpeilError, UnitError
from ..model import Building
from ..model.library import EPDLibrary
from ..model.scenarios import EOL_ROUTES, ScenarioSet
from ..units import common_unit, parse_unit, unit_registry
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

    @functools.cached_property
    def line_building(self) -> np.ndarray:
        """The building of each line (int64[L]); gathered once per object, read-only (the stages,
        the checks and the engine all read it)."""
        building = self.element_building[self.line_element]
        building.setflags(write=False)
        return building

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("line_building", None)  # derived: gathered again after unpickling
        return state

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
    unit is X per element unit; anything else is per element unit. Spellings of the common-unit
    table (:func:`mpeil.units.common_unit`) are answered from it, with pint's own strings and
    factors; pint is asked for anything else.
    """
    common = _common_physical_unit(amount_unit, element_unit)
    return common if common is not None else _pint_physical_unit(amount_unit, element_unit)


def _pint_physical_unit(amount_unit: str, element_unit: str) -> tuple[str, float]:
    """:func:`physical_unit` through pint, for any unit :func:`mpeil.units.parse_unit` reads."""
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


def _common_physical_unit(amount_unit: str, element_unit: str) -> tuple[str, float] | None:
    """:func:`physical_unit` from the common-unit table, or None where the table does not answer.

    The table answers the three cases as pint does: a length on an ``m2`` element is ``meter ** 3``
    scaled by pint's factor of the length (1.0 × 1.0 × factor, as ``(amount × element).to("m**3")``);
    ``X/Y`` on an element of unit ``Y`` is ``X`` (pint cancels ``Y``) at 1.0; a unit without ``/``
    is itself at 1.0. ``tests/test_units_table.py`` compares every pair of table units with pint.
    """
    amount, element = common_unit(amount_unit), common_unit(element_unit)
    if amount is None or element is None:
        return None
    if amount.dimension == "[length]" and element.dimension == "[length] ** 2":
        return ("meter ** 3", 1.0 * amount.factor_to_si) if element.pint_unit == "meter ** 2" else None
    if "/" not in amount_unit:
        return amount.pint_unit, 1.0
    numerator_text, denominator_text = (part.strip() for part in amount_unit.split("/", 1))
    numerator, denominator = common_unit(numerator_text), common_unit(denominator_text)
    simple = numerator is not None and " * " not in numerator.pint_unit and " / " not in numerator.pint_unit
    if simple and denominator is not None and denominator.pint_unit == element.pint_unit and numerator_text:
        return numerator.pint_unit, 1.0  # type: ignore[union-attr]
    return None


#: a key range up to this many times the number of rows is factorised through a dense table
#: (first row of each key) instead of a hash table: a pure performance knob
_DENSE_KEYS_PER_ROW = 4


def _string_categories(series: pd.Series) -> np.ndarray | None:
    """The categories of a categorical text column as Python strings, then None (for code -1);
    None when the column is not categorical text."""
    if not isinstance(series.dtype, pd.CategoricalDtype):
        return None
    categories = series.cat.categories
    if not (pd.api.types.is_string_dtype(categories.dtype) and categories.inferred_type in ("string", "empty")):
        return None
    return np.append(categories.to_numpy(dtype=object), np.array([None], dtype=object))


def _text(series: pd.Series) -> np.ndarray:
    """The column as an object array, missing values as None (one pass).

    Categorical text is gathered from its categories (the same Python strings, one per category)."""
    table = _string_categories(series)
    if table is not None:
        codes = series.cat.codes.to_numpy()
        if not codes.size or codes.max() < 0:  # nothing given (most optional columns)
            return np.full(len(codes), None, dtype=object)
        return table[codes.astype(np.intp)]  # code -1 picks the trailing None
    if series.dtype == object and pd.isna(series.to_numpy()).all():  # nothing given
        return np.full(len(series), None, dtype=object)
    return series.to_numpy(dtype=object, na_value=None)


def _text_at(series: pd.Series, rows: np.ndarray) -> np.ndarray:
    """``_text`` of the given rows only (the first line of each element or building)."""
    table = _string_categories(series)
    if table is not None:
        return table[series.cat.codes.to_numpy()[rows].astype(np.intp)]
    if series.dtype == object:  # numpy-backed: pick the cells, then missing ones (None, NaN, NA) as None
        cells = series.to_numpy()[rows]
        missing = pd.isna(cells)
        if missing.any():
            cells = cells.copy()
            cells[missing] = None
        return cells
    if isinstance(series.dtype, pd.StringDtype):  # the array's own take: an iloc costs 3× more
        return series.array.take(rows).to_numpy(dtype=object, na_value=None)
    return _text(series.iloc[rows])


def _first_appearance(key: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Codes of ``key`` (integers in [0, size), or -1 for the last slot) in first-appearance order,
    and the first row of each: what ``pd.factorize(key, sort=False)`` gives (-1 counted as a value),
    through a dense table instead of a hash table.

    Lines come grouped (a building's, an element's lines together), so keys repeat in runs: the
    first appearances are looked for among the runs' first rows only."""
    key = key.astype(np.intp, copy=False)  # a gather through int8 codes costs 3× one through intp
    n = len(key)
    if _long_runs(key):  # the first row of each run, then the first run of each key
        rows = np.concatenate((np.zeros(min(n, 1), dtype=np.intp), np.flatnonzero(key[1:] != key[:-1]) + 1))
        run_key = key[rows]
    else:
        rows, run_key = np.arange(n, dtype=np.intp), key
    first = np.full(size, len(rows), dtype=np.intp)
    first[run_key[::-1]] = np.arange(len(rows) - 1, -1, -1, dtype=np.intp)  # the last write wins: the first
    present = np.flatnonzero(first < len(rows))
    first_runs = first[present]
    order = np.argsort(first_runs, kind="stable")
    rank = np.empty(size, dtype=np.int64)
    rank[present[order]] = np.arange(len(present), dtype=np.int64)
    return rank[key], rows[first_runs[order]].astype(np.int64)


def _long_runs(key: np.ndarray) -> bool:
    """True when ``key`` changes on fewer than half of its rows (a building's or an element's lines)."""
    return int(np.count_nonzero(key[1:] != key[:-1])) < len(key) // 2


def _factorize(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes in first-appearance order and the distinct values (as objects); -1 for missing.

    A categorical column (what :mod:`mpeil.synthetic` makes) is factorised through its integer
    codes, without turning a million cells into Python strings first.
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        cat_codes = series.cat.codes.to_numpy()
        categories = np.append(np.asarray(series.cat.categories, dtype=object), np.array([None], dtype=object))
        if _long_runs(cat_codes):
            codes, first_rows = _first_appearance(cat_codes, len(categories))  # code -1 reads the last slot
            uniques = cat_codes[first_rows].astype(np.int64)
        else:  # a value changing from line to line: a hash table over the small integer codes
            codes, uniques = pd.factorize(cat_codes, sort=False)
            codes, uniques = codes.astype(np.int64), uniques.astype(np.int64)
        values = categories[uniques]  # category -1 reads the trailing None
        keep = uniques >= 0  # the missing category (-1) becomes code -1, as pd.factorize does
        if not keep.all():
            remap = np.where(keep, np.cumsum(keep) - 1, -1)
            codes = remap[codes]
            values = values[keep]
        return codes, values
    small = _factorize_small_text(series)
    if small is not None:
        return small
    plain_codes, plain_uniques = pd.factorize(series, sort=False)
    return plain_codes.astype(np.int64), np.asarray(plain_uniques, dtype=object)


#: columns of at most this many lines are factorised by a loop over their Python strings, which
#: takes ~8 µs for a house's 84 lines where ``pd.factorize`` takes ~30 µs whatever the size (a pure
#: performance knob: the loop costs ~0.1 µs a line)
_SMALL_TEXT_LINES = 2048


def _factorize_small_text(series: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """``pd.factorize(series, sort=False)`` (codes int64, -1 for missing; distinct values as objects)
    of a short column holding only text and missing values (None, or Arrow's null); None for a
    long column or one holding anything else (numbers, NaN, ``pd.NA``), which pandas factorises."""
    if len(series) > _SMALL_TEXT_LINES:
        return None
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        values = series.array.__arrow_array__().to_pylist()  # the Arrow strings, nulls as None
    elif series.dtype == object:
        values = series.to_numpy().tolist()
    else:
        return None
    distinct = dict.fromkeys(values)  # in first-appearance order
    if not all(type(value) is str or value is None for value in distinct):
        return None
    texts = [value for value in distinct if value is not None]
    number: dict[str | None, int] = {text: code for code, text in enumerate(texts)}
    number[None] = -1
    codes = np.fromiter(map(number.__getitem__, values), dtype=np.int64, count=len(values))
    return codes, np.array(texts, dtype=object)


def _combine(*codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Factorise rows of several code arrays at once: (row codes, first row of each distinct key)."""
    n = len(codes[0])
    key = np.zeros(n, dtype=np.int64)
    size = 1
    for c in codes:
        base = int(c.max()) + 2 if c.size else 1
        key *= base  # in place: one pass per step instead of a new array
        key += c
        key += 1
        size *= base
    if size <= _DENSE_KEYS_PER_ROW * n + 1024:
        return _first_appearance(key, size)
    row_codes, _ = pd.factorize(key, sort=False)
    first = np.full(int(row_codes.max()) + 1 if row_codes.size else 0, -1, dtype=np.int64)
    first[row_codes[::-1]] = np.arange(len(row_codes) - 1, -1, -1)  # first occurrence of each key
    return row_codes.astype(np.int64), first


def _floats(frame: _Frame, column: str, default: float = np.nan, rows: np.ndarray | None = None) -> np.ndarray:
    """The column as float64 (text and other values coerced; what is no number is NaN, then
    ``default``), a fresh writable array; only ``rows`` when given."""
    if column not in frame:
        return np.full(len(frame) if rows is None else len(rows), default, dtype=np.float64)
    series = frame[column]
    if series.dtype == np.float64 or series.dtype == np.int64:  # already numbers: no coercion pass
        raw = series.to_numpy()
        values = raw.astype(np.float64, copy=True) if rows is None else raw[rows].astype(np.float64, copy=False)
    elif series.dtype == object and pd.isna(series.to_numpy()).all():  # nothing given: no coercion pass
        values = np.full(len(series) if rows is None else len(rows), np.nan, dtype=np.float64)
    else:
        # a copy: under pandas 3 (copy-on-write) to_numpy() is a read-only view, and callers fill gaps in place
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, copy=True)
        values = values if rows is None else values[rows]
    if not np.isnan(default):
        missing = np.isnan(values)
        if missing.any():
            values[missing] = default
    return values


def _float_values(frame: _Frame, column: str) -> np.ndarray:
    """:func:`_floats` of a column only read: a float64 column's own values, not a copy."""
    if column in frame and frame[column].dtype == np.float64:
        return frame[column].to_numpy()
    return _floats(frame, column)


def _fail(frame: _Frame, row: int, error: MpeilError, file: str | None) -> MpeilError:
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

    Each part below reads some columns and returns named arrays (fields of
    :class:`CompiledBuildings`); each raises the first problem it finds as a typed
    :class:`~mpeil.errors.MpeilError` naming file, building, element, layer and field.
    """
    if frame.empty:
        raise InputError("no layer lines to compile", file=file)
    index = frame.index
    if not (isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1):  # rows 0, 1, … already: kept
        frame = frame.reset_index(drop=True)
    if "line" not in frame:
        frame = frame.assign(line=frame.groupby(["building_id", "element_id"], sort=False).cumcount() + 1)
    lines, order = _identity(frame, file)
    sizes = _sizes(lines, order, study_period_years)
    line_rsp = sizes["study_period_years"][order.building_codes]
    # element units factorised per element (a handful of distinct ones), then read per line through the codes
    unit_codes, unit_names = _factorize(pd.Series(sizes["element_unit"], dtype=object))
    line_element_unit = (unit_codes[order.element_codes], unit_names)
    amounts = _amounts(lines, library, sizes["element_quantity"][order.element_codes], line_element_unit)
    lives = _lives(lines, scenarios, line_rsp)
    given_losses = _given_loss_rates(lines)
    waste = _canonical_waste(lines, scenarios)
    return CompiledBuildings(
        **order.fields(lines.frame),
        **sizes,
        **amounts,
        **lives,
        loss_rate=_default_loss_rates(given_losses, waste, scenarios),
        **_transport(lines, scenarios, default_transport),
        **_end_of_life(lines, scenarios, waste, library),
        **_scenario_choices(lines),
        **_circularity(lines.frame),
    )


class _Frame:
    """The flat frame being compiled, each column read from it once: a DataFrame column costs ~9 µs
    a read (pandas 3 labels columns with Arrow text; ~5 µs each when all are read at once through
    object labels) and the compiler reads some columns several times. Columns are only read, never
    written."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._read: dict[str, pd.Series] = {}
        if frame.columns.is_unique:  # every column at once: through object labels, half the cost of one by one
            self._read = dict(frame.set_axis(pd.Index(frame.columns, dtype=object), axis=1).items())

    def __getitem__(self, column: str) -> pd.Series:
        series = self._read.get(column)
        if series is None:
            series = self._read[column] = self.frame[column]
        return series

    def __contains__(self, column: str) -> bool:
        return column in self.frame

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def iloc(self):  # pandas' indexer
        return self.frame.iloc


@dataclass(frozen=True)
class _Lines:
    """The flat frame being compiled (building-major, lines of an element contiguous) and its file."""

    frame: _Frame
    file: str | None

    def fail(self, row: int | np.integer, error: MpeilError) -> MpeilError:
        """``error`` located at one line (file, building, element, layer)."""
        return _fail(self.frame, int(row), error, self.file)

    def first_bad(self, bad: np.ndarray, error: MpeilError) -> None:
        """Raise ``error`` at the first line where ``bad`` holds, if any."""
        rows = np.flatnonzero(bad)
        if rows.size:
            raise self.fail(rows[0], error)

    def first_of(self, codes: np.ndarray, code: int) -> int:
        """The first line whose code is ``code`` (for an error found once per distinct value)."""
        return int(np.argmax(codes == code))


@dataclass(frozen=True)
class _Order:
    """Buildings and elements in first-appearance order, per line and first line of each."""

    building_codes: np.ndarray
    element_codes: np.ndarray
    building_ids: np.ndarray
    first_of_building: np.ndarray
    first_of_element: np.ndarray

    def fields(self, frame: _Frame) -> dict[str, Any]:
        n_buildings, n_elements = len(self.building_ids), len(self.first_of_element)

        def labels(column: str, first: np.ndarray, count: int) -> np.ndarray:
            # the chosen rows only: turning every line's cell into a Python object first costs far more
            return _text_at(frame[column], first) if column in frame else np.full(count, None)

        return {
            "building_ids": np.asarray(self.building_ids, dtype=object),
            "use_type": labels("use_type", self.first_of_building, n_buildings),
            "element_building": self.building_codes[self.first_of_element].astype(np.int64),
            "element_ids": _text_at(frame["element_id"], self.first_of_element),
            "element_names": labels("element_name", self.first_of_element, n_elements),
            "element_types": labels("element_type", self.first_of_element, n_elements),
            "line_element": self.element_codes.astype(np.int64),
            "line_layer": _text(frame["layer"]) if "layer" in frame else np.full(len(frame), None),
            "line_number": frame["line"].to_numpy(dtype=np.int64),
        }


def _identity(frame: pd.DataFrame, file: str | None) -> tuple[_Lines, _Order]:
    """Sort the lines building-major (elements of a building contiguous, lines of an element
    contiguous), so building totals are segment sums over the same sorted lines."""
    n = len(frame)
    building_codes, building_ids = _factorize(frame["building_id"])
    element_codes, element_first = _combine(building_codes, _factorize(frame["element_id"])[0])
    rank = np.empty(len(element_first), dtype=np.int64)
    rank[np.argsort(building_codes[element_first], kind="stable")] = np.arange(len(element_first))
    element_codes = rank[element_codes]
    if n and not bool((element_codes[1:] >= element_codes[:-1]).all()):  # sorted already (most frames): kept as is
        order = np.argsort(element_codes, kind="stable")
        frame = frame.iloc[order].reset_index(drop=True)
        building_codes, element_codes = building_codes[order], element_codes[order]
    first_of_building = _first_rows(building_codes)
    first_of_element = _first_rows(element_codes)
    return _Lines(_Frame(frame), file), _Order(
        building_codes, element_codes, building_ids, first_of_building, first_of_element
    )


def _first_rows(codes: np.ndarray) -> np.ndarray:
    """The first row of each code, in ascending code order (``groupby(codes).first()`` of the rows)."""
    n = len(codes)
    if n and bool((codes[1:] >= codes[:-1]).all()):  # sorted (the compiler's order): where the code changes
        return np.flatnonzero(np.concatenate(([True], codes[1:] != codes[:-1])))
    return pd.Series(np.arange(n)).groupby(codes).first().to_numpy()


def _sizes(lines: _Lines, order: _Order, study_period_years: float) -> dict[str, Any]:
    """Gross floor area [m²] and study period [years] per building; quantity and unit per element."""
    frame = lines.frame
    gfa = _floats(frame, "gross_floor_area_m2", rows=order.first_of_building)
    rsp = _floats(frame, "reference_study_period_years", study_period_years, rows=order.first_of_building)
    for values, field, what in (
        (gfa, "gross_floor_area_m2", "gross floor area must be > 0 m²"),
        (rsp, "reference_study_period_years", "study period must be > 0 years"),
    ):
        bad = np.flatnonzero(~(values > 0))
        if bad.size:
            raise lines.fail(order.first_of_building[bad[0]], InputError(what, field=field))
    element_quantity = _floats(frame, "element_quantity", rows=order.first_of_element)
    # the first line of each element only: text conversion of every line's unit cost 0.1 s per million lines
    element_unit = _element_units(frame["element_unit"], order.first_of_element)
    bad = np.flatnonzero(~(element_quantity > 0))
    if bad.size:
        error = InputError("element quantity must be > 0", field="element_quantity")
        raise lines.fail(order.first_of_element[bad[0]], error)
    return {
        "gross_floor_area_m2": gfa,
        "study_period_years": rsp,
        "element_quantity": element_quantity,
        "element_unit": element_unit,
    }


def _element_units(units: pd.Series, rows: np.ndarray) -> np.ndarray:
    """The unit of each element (its first line's; missing: m2) as Python strings (object[E])."""
    table = _string_categories(units)
    if table is not None:  # categorical text: the categories once, then a gather
        table[-1] = "m2"
        return table[units.cat.codes.to_numpy()[rows]]
    if isinstance(units.dtype, pd.StringDtype):  # text already: the chosen cells, missing ones m2
        cells = _text_at(units, rows)
        cells[pd.isna(cells)] = "m2"
        return cells
    return units.iloc[rows].fillna("m2").astype(str).to_numpy().astype(object)


def _amounts(
    lines: _Lines, library: EPDLibrary, element_quantity: np.ndarray, element_unit: tuple[np.ndarray, np.ndarray]
) -> dict[str, Any]:
    """Data set per line; quantity in its declared unit and mass [kg], for the whole element.

    ``element_quantity`` is per line (of the line's element); ``element_unit`` is (the code of the
    line's element unit per line, the distinct units).
    """
    frame = lines.frame
    amount = _floats(frame, "amount")
    ratio = _floats(frame, "ratio", 1.0)
    for column, values, low, high in (("amount", amount, 0.0, np.inf), ("ratio", ratio, 0.0, 1.0)):
        bad = np.flatnonzero(~((values >= low) & (values <= high)))
        if bad.size:
            message = f"{column} must be a number in [{low:g}, {high:g}], got {frame[column].iloc[bad[0]]!r}"
            raise lines.fail(bad[0], InputError(message, field=column))
    dataset = _datasets(lines, library)
    factor, mass_per_unit = _conversions(lines, library, dataset, element_unit)
    with np.errstate(over="ignore"):  # an overflow is refused by mpeil.validation, naming the line
        quantity = amount * ratio * element_quantity * factor
        mass_kg = quantity * mass_per_unit
    return {"dataset": dataset, "quantity": quantity, "mass_kg": mass_kg}


def _datasets(lines: _Lines, library: EPDLibrary) -> np.ndarray:
    """The library index of each line's product, each distinct product resolved once."""
    product_codes, products = _factorize(lines.frame["product"])
    dataset_of_product = np.empty(len(products), dtype=np.int64)
    for code, product in enumerate(products):
        try:
            dataset_of_product[code] = library.resolve(str(product))
        except MpeilError as error:
            raise lines.fail(lines.first_of(product_codes, code), error) from None
    lines.first_bad(product_codes < 0, InputError("missing product reference", field="product"))
    return dataset_of_product[product_codes]  # int64: a gather makes a fresh array


def _conversions(
    lines: _Lines, library: EPDLibrary, dataset: np.ndarray, element_unit: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Per line: declared units per (amount unit × element unit), and kg per declared unit.

    Converted once per distinct (data set, amount unit, element unit); ``element_unit`` as in
    :func:`_amounts`.
    """
    unit_codes, unit_names = _factorize(lines.frame["unit"])
    element_unit_codes, element_unit_names = element_unit
    conv_codes, conv_first = _combine(dataset, unit_codes, element_unit_codes)
    factor_of = np.empty(len(conv_first), dtype=np.float64)
    mass_of = np.empty(len(conv_first), dtype=np.float64)
    for code, row in enumerate(conv_first):
        d = int(dataset[row])
        unit = unit_names[unit_codes[row]] if unit_codes[row] >= 0 else None
        el_unit = element_unit_names[element_unit_codes[row]]
        try:
            if not isinstance(unit, str) or not unit.strip():
                raise UnitError("missing unit", field="unit")
            physical, scale = physical_unit(unit, el_unit)
            factor_of[code] = library.conversion_factor(d, physical) * scale
        except MpeilError as error:
            error = error.located(field="unit")
            if isinstance(error, ConversionError):
                error.message += f" (line unit {unit!r} on a {el_unit} element)"
            raise lines.fail(lines.first_of(conv_codes, code), error) from None
        mass_of[code] = library.mass_per_unit(d)
    return factor_of[conv_codes], mass_of[conv_codes]


def _lives(lines: _Lines, scenarios: ScenarioSet, line_rsp: np.ndarray) -> dict[str, Any]:
    """Service life [years] (given, by category, or the study period), renovation state."""
    frame = lines.frame
    service_life = _floats(frame, "service_life_years")
    if "service_life_category" in frame:
        life_category_codes, life_categories = _factorize(frame["service_life_category"])
    else:
        life_category_codes, life_categories = np.full(len(frame), -1, dtype=np.int64), np.array([], dtype=object)
    if "service_life_category" in frame:
        categories = frame["service_life_category"]
        need = np.isnan(service_life) & categories.notna().to_numpy()
        for row in np.flatnonzero(need):
            try:
                service_life[row] = scenarios.service_life(str(categories.iloc[row]))
            except MpeilError as error:
                raise lines.fail(row, error) from None
    default_life = np.isnan(service_life)
    service_life = np.where(default_life, line_rsp, service_life)
    lines.first_bad(~(service_life > 0), InputError("service life must be > 0 years", field="service_life_years"))
    existing = _flags(frame, "existing")
    remaining = _floats(frame, "remaining_service_life_years")
    remaining = np.where(existing, np.where(np.isnan(remaining), service_life, remaining), np.nan)
    return {
        "service_life_years": service_life,
        "default_service_life": default_life,
        "remaining_life_years": remaining,
        "removed": _flags(frame, "removed"),
        "service_life_category": np.asarray(life_category_codes, dtype=np.int64),
        "service_life_categories": tuple(str(c) for c in life_categories),
    }


def _flags(frame: _Frame, column: str) -> np.ndarray:
    if column not in frame:
        return np.zeros(len(frame), bool)
    if frame[column].dtype == bool:  # nothing missing: no fill pass
        return frame[column].to_numpy(dtype=bool, copy=True)
    return frame[column].fillna(False).astype(bool).to_numpy()


def _given_loss_rates(lines: _Lines) -> np.ndarray:
    """Loss rate per line as given (share of the installed amount, in [0, 1)); NaN when not given."""
    loss_rate = _floats(lines.frame, "loss_rate")
    bad = ~np.isnan(loss_rate) & ~((loss_rate >= 0) & (loss_rate < 1))
    lines.first_bad(bad, InputError("loss rate must be in [0, 1)", field="loss_rate"))
    return loss_rate


def _canonical_waste(lines: _Lines, scenarios: ScenarioSet) -> tuple[np.ndarray, list[str]] | None:
    """The waste category of each line as the scenario files spell it (a user's case does not
    matter), as codes in first-appearance order (-1: none) and the canonical names; None without
    the column. Each distinct spelling is looked up once, not once per line."""
    frame = lines.frame
    if "waste_category" not in frame:
        return None
    raw_codes, raw_names = _factorize(frame["waste_category"])
    names: list[str] = []
    remap = np.empty(len(raw_names) + 1, dtype=np.int64)
    remap[-1] = -1  # code -1 (no category) stays -1
    for code, name in enumerate(raw_names):
        try:
            canonical = scenarios.canonical_waste_category(str(name))
        except MpeilError as error:
            raise lines.fail(lines.first_of(raw_codes, code), error) from None
        if canonical not in names:  # spellings of one category share its code, in first-appearance order
            names.append(canonical)
        remap[code] = names.index(canonical)
    return remap[raw_codes], names


def _default_loss_rates(
    loss_rate: np.ndarray, waste: tuple[np.ndarray, list[str]] | None, scenarios: ScenarioSet
) -> np.ndarray:
    """Where no loss rate is given, the default of the line's waste category
    (``scenarios/loss_rates.csv``; "*" = no default); NaN when neither."""
    if len(scenarios.loss_rates) and waste is not None:
        codes, names = waste
        defaults = scenarios.loss_rates
        if defaults.index.is_unique:  # a plain lookup (Series.map costs a frame's worth of overhead per call)
            lookup = {key: value for key, value in zip(defaults.index, defaults.to_numpy(), strict=True) if key != "*"}
            per_category = np.array([lookup.get(name, np.nan) for name in names], dtype=np.float64)
        else:
            defaults = defaults.drop(index="*", errors="ignore")
            per_category = pd.Series(names, dtype=object).map(defaults).to_numpy(dtype=np.float64)
        by_category = np.append(per_category, np.nan)[codes]  # code -1 reads the trailing NaN
        loss_rate = np.where(np.isnan(loss_rate), by_category, loss_rate)
    return loss_rate


def _transport(lines: _Lines, scenarios: ScenarioSet, default_transport: str | None) -> dict[str, Any]:
    """Transport scenario per line (each checked once) and the distance [km] it overrides."""
    frame, n = lines.frame, len(lines.frame)
    codes, uniques = _factorize(frame["transport"]) if "transport" in frame else _factorize(pd.Series([None] * n))
    if default_transport and (codes < 0).any():  # lines without one take the default, in first-appearance order
        known = [i for i, name in enumerate(uniques) if name == default_transport]
        uniques = uniques if known else np.append(uniques, np.array([default_transport], dtype=object))
        filled = np.where(codes < 0, known[0] if known else len(uniques) - 1, codes)
        codes, order = pd.factorize(filled, sort=False)
        uniques = uniques[order]
    for code, name in enumerate(uniques):
        try:
            scenarios.transport_legs(str(name), "A4")
        except MpeilError as error:
            raise lines.fail(lines.first_of(codes, code), error) from None
    return {
        "transport": codes.astype(np.int64),
        "transport_distance_km": _floats(frame, "transport_distance_km"),
        "transport_scenarios": tuple(str(t) for t in uniques),
    }


def _end_of_life(
    lines: _Lines, scenarios: ScenarioSet, waste: tuple[np.ndarray, list[str]] | None, library: EPDLibrary
) -> dict[str, Any]:
    """End-of-life route shares [L, 4] (given, or from the waste category) and the share sorted on site."""
    frame, n = lines.frame, len(lines.frame)
    waste_uniques: list[str] = []
    if waste is None:
        eol = np.full((n, 4), np.nan, dtype=np.float64)
        sorted_on_site = np.full(n, np.nan, dtype=np.float64)
        waste_codes = np.full(n, -1, dtype=np.int64)
    else:
        codes, uniques = waste
        shares_of, sorted_of = _category_shares(lines, scenarios, codes, uniques, library)
        # one gather per line; code -1 (no category) picks the appended NaN row
        eol = np.take(np.vstack([shares_of, np.full((1, 4), np.nan)]), codes, axis=0)
        sorted_on_site = np.append(sorted_of, np.nan)[codes]
        waste_codes, waste_uniques = np.array(codes, dtype=np.int64), [str(u) for u in uniques]
    explicit = [f"eol_{route}" for route in EOL_ROUTES]
    if all(c in frame for c in explicit):
        eol = _given_shares(lines, [_float_values(frame, c) for c in explicit], eol)
        if "eol_sorted_on_site" in frame:
            given_sorted = _float_values(frame, "eol_sorted_on_site")
            unsorted = np.isnan(given_sorted)
            if not unsorted.all():  # nothing given (most frames): the categories' shares stand
                sorted_on_site = np.where(unsorted, sorted_on_site, given_sorted)
    return {
        "eol_shares": eol,
        "sorted_on_site": sorted_on_site,
        "waste_category": waste_codes,
        "waste_categories": tuple(waste_uniques),
    }


def _category_shares(
    lines: _Lines, scenarios: ScenarioSet, codes: np.ndarray, uniques: list[str], library: EPDLibrary
) -> tuple[np.ndarray, np.ndarray]:
    """End-of-life shares [K, 4] and share sorted on site [K] of each waste category (canonical names)."""
    table = scenarios.waste_categories
    has_sorted = "sorted_on_site" in table
    known = library.memo(("waste-category-shares", scenarios.fingerprint()), lambda: _waste_table(table))
    rows = np.array([known[0].get(str(name), -1) for name in uniques], dtype=np.intp) if known else None
    if known and rows is not None and (rows >= 0).all():  # every category known (canonical names): one gather
        return known[1][rows], known[2][rows]
    shares_of = np.full((len(uniques), 4), np.nan, dtype=np.float64)  # per category, then per line
    sorted_of = np.full(len(uniques), np.nan, dtype=np.float64)
    for code, name in enumerate(uniques):
        try:
            shares_of[code] = scenarios.eol_shares(str(name))
        except MpeilError as error:
            raise lines.fail(lines.first_of(codes, code), error) from None
        if has_sorted:
            sorted_of[code] = float(cast(float, table.at[str(name), "sorted_on_site"]))
    return shares_of, sorted_of


def _waste_table(table: pd.DataFrame) -> tuple[dict[str, int], np.ndarray, np.ndarray] | None:
    """The scenarios' waste categories once (memoised on the library, by the scenarios' fingerprint):
    the row of each category, its end-of-life shares [K, 4] and share sorted on site [K] (NaN without
    the column); None when a category has several rows."""
    if not table.index.is_unique:
        return None
    rows = {name: row for row, name in enumerate(table.index) if isinstance(name, str)}
    shares = np.column_stack([table[route].to_numpy(dtype=np.float64) for route in EOL_ROUTES])
    if "sorted_on_site" in table:
        sorted_on_site = table["sorted_on_site"].to_numpy(dtype=np.float64, copy=True)
    else:
        sorted_on_site = np.full(len(table), np.nan)
    shares.setflags(write=False)
    sorted_on_site.setflags(write=False)
    return rows, shares, sorted_on_site


def _given_shares(lines: _Lines, columns: list[np.ndarray], eol: np.ndarray) -> np.ndarray:
    """``eol`` [L, 4] with the shares a line gives (``columns``: landfill, incineration, reuse,
    recycling; a line giving any is read whole, its missing routes as 0), which must sum to 1."""
    has = np.zeros(len(eol), dtype=bool)
    for values in columns:
        has |= ~np.isnan(values)
    if has.any():  # lines without shares of their own (most) keep the category's
        given = np.nan_to_num(np.column_stack(columns))
        sums = given.sum(axis=1)
        bad = np.flatnonzero(has & ~np.isclose(sums, 1.0, atol=1e-3))
        if bad.size:
            message = f"end-of-life shares sum to {sums[bad[0]]:g}, not 1"
            raise lines.fail(bad[0], InputError(message, field="end_of_life"))
        eol = np.where(has[:, None], given, eol)
    return eol


def _scenario_choices(lines: _Lines) -> dict[str, Any]:
    """Per-module scenario choices ("MODULE=NAME;…") per line; index 0 is "no choice"."""
    frame = lines.frame
    if "scenario" not in frame:
        return {"scenario_choice": np.zeros(len(frame), dtype=np.int64), "scenario_choices": ((),)}
    choice_codes, choice_uniques = _factorize(frame["scenario"])  # -1: no text, i.e. no choice
    choices: list[tuple[tuple[str, str], ...]] = []
    for code, row_text in enumerate(choice_uniques):
        pairs = []
        for part in filter(None, str(row_text).split(";")):
            if "=" not in part:
                error = InputError(f"scenario {part!r} is not MODULE=NAME", field="scenario")
                raise lines.fail(lines.first_of(choice_codes, code), error)
            module, name = part.split("=", 1)
            pairs.append((module.strip(), name.strip()))
        choices.append(tuple(sorted(pairs)))
    all_choices = [(), *(c for c in choices if c != ())]
    remap = np.array([all_choices.index(c) for c in choices] + [0], dtype=np.int64)  # code -1 → the last: 0
    return {"scenario_choice": remap[choice_codes], "scenario_choices": tuple(all_choices)}


def _circularity(frame: _Frame) -> dict[str, Any]:
    """Reused input and recycled content (shares), use cycles, component identities."""
    return {
        "reused_input": _floats(frame, "reused_input", 0.0),
        "recycled_content": _floats(frame, "recycled_content", 0.0),
        "use_cycles": _floats(frame, "use_cycles", 1.0),
        "use_cycle": _floats(frame, "use_cycle", 1.0),
        "component_ids": _text(frame["component_id"]) if "component_id" in frame else None,
        "source_component_ids": _text(frame["source_component_id"]) if "source_component_id" in frame else None,
    }

"""Unit profiles: the impact of one declared unit of a line, per module and indicator.

Lines that share a data set and the same scenarios (transport, end of life, loss rate,
EPD scenario choice) share one profile. Profiles are few (data sets used × scenarios), so
module rules are evaluated once per profile; the engine then scales and sums them over
lines with a sparse product. Formulas: method.md §3–§5.

Each profile row holds, per one declared unit:

- A1-A3, B1-B3, B5: as declared;
- A4: as declared, else mass × Σ legs (distance × per-t·km burden of the leg's transport data set);
- C1-C4: as declared, else C2 by transport and C3/C4 by the end-of-life route shares × the
  route data sets (per kg); C1 has no default (a gap);
- A5: as declared, plus losses ``λ × (A1-A3 + A4 + C1-C4)`` where ``λ = l`` (loss rate on the
  installed quantity) or ``l / (1 − l)`` (on the purchased quantity);
- B4: one replacement, Σ of the method's replacement modules (the engine multiplies by NR);
- D: as declared (per installation).

Gaps (no declared value and no scenario) are NaN in :attr:`Profiles.values` and flagged in
:attr:`Profiles.missing`; the engine sums declared parts and carries the gap counts. The
composite modules A5 and B4 are flagged only when none of their parts has data: a gap in a
part (say C1) is already reported in that part's own module, once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from ..compile import CompiledBuildings
from ..model.library import MODULES as LIBRARY_MODULES
from ..model.library import EPDLibrary
from ..model.scenarios import EOL_ROUTES, ScenarioSet
from .circularity import CircularInputs, allocate, material_parameters, reconditioning_per_kg
from .options import EngineOptions, IndicatorSpec

__all__ = [
    "OUTPUT_MODULES",
    "Profiles",
    "ProfileCache",
    "IndicatorSpec",
    "build_profiles",
    "keep_route_burdens",
    "profile_key_columns",
    "profile_keys",
    "route_burdens",
]

#: Modules of a layer result. B6/B7 (operational) are reported apart, never from layers.
OUTPUT_MODULES = ("A1-A3", "A4", "A5", "B1", "B2", "B3", "B4", "B5", "C1", "C2", "C3", "C4", "D")
_M = {m: k for k, m in enumerate(OUTPUT_MODULES)}
_C = ("C1", "C2", "C3", "C4")
#: modules where "not declared" means "not applicable", not a gap (EPDs rarely declare B1-B3/B5)
_NOT_APPLICABLE_IF_MISSING = ("B1", "B2", "B3", "B5")


@dataclass(frozen=True)
class Profiles:
    values: np.ndarray  # float64[P, M, I]; NaN where a gap
    missing: np.ndarray  # bool[P, M, I]
    fallback: np.ndarray  # bool[P, I]: a later `sources` code supplied the A1-A3 value


def profile_keys(compiled) -> tuple[np.ndarray, pd.DataFrame]:
    """Per-line profile index and one row of scenario keys per profile."""
    codes, columns = profile_key_columns(compiled)
    return codes, pd.DataFrame(columns)


def profile_key_columns(compiled) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """:func:`profile_keys` with the keys as one array per column (no DataFrame: what
    :func:`build_profiles` takes from its cache needs none)."""
    columns = {
        "dataset": compiled.dataset,
        "transport": compiled.transport,
        "distance": compiled.transport_distance_km,
        "eol_landfill": compiled.eol_shares[:, 0],
        "eol_incineration": compiled.eol_shares[:, 1],
        "eol_reuse": compiled.eol_shares[:, 2],
        "eol_recycling": compiled.eol_shares[:, 3],
        "waste_category": compiled.waste_category,
        "loss_rate": compiled.loss_rate,
        "sorted_on_site": compiled.sorted_on_site,
        "scenario_choice": compiled.scenario_choice,
        "reused_input": compiled.reused_input,
        "recycled_content": compiled.recycled_content,
        "use_cycles": compiled.use_cycles,
        "use_cycle": compiled.use_cycle,
    }
    codes = _group_codes([np.asarray(values) for values in columns.values()])
    # codes number the groups in order of first appearance: a line is its group's first one where
    # the running maximum of the codes rises
    rising = np.maximum.accumulate(codes) if codes.size else codes
    first = np.flatnonzero(np.diff(rising, prepend=-1) > 0)
    return codes, {name: np.asarray(values)[first] for name, values in columns.items()}


#: integer key columns whose values span at most this many codes are coded by offset, not hashed
_DENSE_CODES = 2**22


def _group_codes(columns: Sequence[np.ndarray]) -> np.ndarray:
    """int64[L]: one code per distinct row of ``columns``, numbered in order of first appearance.

    The same grouping as ``DataFrame.groupby(sort=False, dropna=False).ngroup()`` (NaN is a key of
    its own, 0.0 and −0.0 are one), done column by column: constant columns are skipped, integer
    columns with a small range are coded by offset, and every other column either changes nothing
    (it is constant within the groups of the columns before it: checked against one line of each
    group) or is factorised (hash-based, O(L)); the codes are folded into one integer key per row.
    """
    n = len(columns[0]) if columns else 0
    combined = np.zeros(n, dtype=np.int64)
    if n == 0:
        return combined
    varying = [values for values in columns if not _constant(values)]
    offset = [_offset_codes(values) for values in varying]
    radix = 1
    for coded in offset:
        if coded is not None:
            combined, radix = _fold(combined, radix, *coded)
    line_of_key = None  # per key: some line with that key (while the keys stay as they are)
    for values, coded in zip(varying, offset, strict=True):
        if coded is not None:
            continue
        if values.dtype.kind in "fiub" and radix <= _DENSE_CODES:
            if line_of_key is None:
                line_of_key = np.zeros(radix, dtype=np.intp)
                line_of_key[combined] = np.arange(n)  # which of a key's lines does not matter
            if _same_within_groups(values, combined, line_of_key):
                continue
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        combined, radix = _fold(combined, radix, codes, len(uniques))
        line_of_key = None
    codes, _ = pd.factorize(combined, sort=False)
    return codes.astype(np.int64)


def _constant(values: np.ndarray) -> bool:
    first = values[0]
    if values.dtype.kind == "f" and first != first:  # NaN first: constant only if all NaN
        return bool(np.isnan(values[:_HEAD]).all() and np.isnan(values).all())
    return bool((values[:_HEAD] == first).all() and (values == first).all())  # most columns differ early


#: lines looked at first when checking a column (a column that varies mostly does so early)
_HEAD = 4096


def _offset_codes(values: np.ndarray) -> tuple[np.ndarray, int] | None:
    """Codes ``value − minimum`` of an integer column with a small range, and their number."""
    if values.dtype.kind not in "iu":
        return None
    low, high = int(values.min()), int(values.max())
    if high - low >= _DENSE_CODES:
        return None
    return values.astype(np.int64) - low, high - low + 1


def _fold(combined: np.ndarray, radix: int, codes: np.ndarray, size: int) -> tuple[np.ndarray, int]:
    """Fold one column's codes (0 … size − 1) into the row keys (each below ``radix``)."""
    if radix * size >= 2**62:  # keep the folded key in int64
        combined, folded = pd.factorize(combined)
        combined, radix = combined.astype(np.int64), len(folded)
    return combined * size + codes, radix * size


def _same_within_groups(values: np.ndarray, keys: np.ndarray, line_of_key: np.ndarray) -> bool:
    """Whether ``values`` equals (NaN equal to NaN) its value on one line of the same key, on every line."""
    reference = values[line_of_key][keys]  # a take from a small array: per key, then per line
    same = values == reference
    if same.all():
        return True
    if values.dtype.kind != "f":
        return False
    other = ~same
    return bool((np.isnan(values[other]) & np.isnan(reference[other])).all())


def _coalesced_tensor(
    library: EPDLibrary, indicators: Sequence[IndicatorSpec], choice: tuple, modules: tuple = OUTPUT_MODULES
) -> tuple[np.ndarray, np.ndarray]:
    """``[dataset, module, indicator]`` with each indicator's first declared source, and where a
    fallback source supplied A1-A3 (``[dataset, indicator]``). Memoised on the library (read-only)."""
    key = ("coalesced", tuple(indicators), tuple(choice), tuple(modules))
    modules = tuple(modules)
    if modules != LIBRARY_MODULES and modules[:1] == LIBRARY_MODULES[:1] and set(modules) <= set(LIBRARY_MODULES):
        # a slice of the library-module tensor (every module is coalesced on its own; the fallback
        # flags are A1-A3's in both): one tensor build serves the profiles and the per-kg burdens
        def sliced() -> tuple[np.ndarray, np.ndarray]:
            full, fallback = _coalesced_tensor(library, indicators, choice, LIBRARY_MODULES)
            out = full[:, [LIBRARY_MODULES.index(m) for m in modules]]
            out.setflags(write=False)
            return out, fallback

        return library.memo(key, sliced)
    return library.memo(key, lambda: _coalesce(library, tuple(indicators), choice, modules))


def _coalesce(
    library: EPDLibrary, indicators: tuple[IndicatorSpec, ...], choice: tuple, modules: tuple
) -> tuple[np.ndarray, np.ndarray]:
    codes = tuple(dict.fromkeys(code for spec in indicators for code in spec.sources))
    raw = library.tensor(codes, modules, dict(choice) if choice else None)
    position = {code: j for j, code in enumerate(codes)}
    out = np.full(raw.shape[:2] + (len(indicators),), np.nan)
    fallback = np.zeros((raw.shape[0], len(indicators)), dtype=bool)
    for j, spec in enumerate(indicators):
        for rank, code in enumerate(spec.sources):
            column = raw[:, :, position[code]]
            fill = np.isnan(out[:, :, j]) & ~np.isnan(column)
            out[:, :, j] = np.where(fill, column, out[:, :, j])
            if rank > 0:
                fallback[:, j] |= fill[:, 0]
    out.setflags(write=False)
    fallback.setflags(write=False)
    return out, fallback


def _per_kg(library: EPDLibrary, dataset_id: str, module: str, indicators, cache: dict) -> np.ndarray:
    """Burden per kg (route data sets) or per t·km (transport data sets): their first declared module."""
    key = (dataset_id, module)
    if key not in cache:
        index = library.resolve(dataset_id)
        row = _coalesced_tensor(library, indicators, (), LIBRARY_MODULES)[0][index]
        k = LIBRARY_MODULES.index(module)
        if np.isnan(row[k]).all():  # stand-alone data sets declare only their own module
            declared = np.flatnonzero(~np.isnan(row).all(axis=1))
            k = declared[0] if declared.size else k
        cache[key] = row[k]
    return cache[key]


def _route_per_kg(
    library: EPDLibrary,
    scenarios: ScenarioSet,
    indicators: tuple,
    name: str,
    module: str,
    category: str | None,
    token: object | None = None,
) -> np.ndarray:
    """Burden per kg of waste of one end-of-life route, module and waste category (read-only).

    Memoised on the library, keyed by the scenarios' content hash, so a stream of chunks looks
    every route up once, not once per chunk, and nothing outlives the library. The scenarios and
    indicators are keyed through one token per library (hashing them on every lookup is slow).
    """
    if token is None:
        token = _route_token(library, scenarios, indicators)
    key = (_ROUTE, token, name, module, category)
    return library.memo(key, lambda: _route_burden(library, scenarios, indicators, name, module, category))


#: memo key heads of a route burden ``(_ROUTE, token, route, module, category)`` and of its token
#: ``(_ROUTE_TOKEN, scenarios fingerprint, indicators)``
_ROUTE, _ROUTE_TOKEN = "route", "route-token"


def _route_token(library: EPDLibrary, scenarios: ScenarioSet, indicators: tuple) -> object:
    """One object per (scenarios, indicators) on this library, to key route burdens cheaply."""
    return library.memo((_ROUTE_TOKEN, scenarios.fingerprint(), indicators), object)


def route_burdens(library: EPDLibrary) -> dict[tuple, np.ndarray]:
    """The route burdens memoised on ``library`` so far, keyed so that another process can keep
    them (:func:`keep_route_burdens`): ``(token key, route, module, category)`` → burden per kg of
    waste (float64[I], read-only). The token key names the scenarios and indicators by content,
    where the memo key holds a per-process token object. A burden depends only on this key."""
    items = library.memo_items()
    tokens = {id(value): key for key, value in items if isinstance(key, tuple) and key[:1] == (_ROUTE_TOKEN,)}
    return {
        (tokens[id(key[1])], *key[2:]): cast(np.ndarray, value)
        for key, value in items
        if isinstance(key, tuple) and len(key) == 5 and key[0] == _ROUTE and id(key[1]) in tokens
    }


def keep_route_burdens(library: EPDLibrary, burdens: dict[tuple, np.ndarray]) -> None:
    """Memoise on ``library`` route burdens that :func:`route_burdens` gave in another process, so
    that :func:`route_burden` finds them instead of deriving them again (same numbers: a burden
    depends only on its key)."""
    for (token_key, *rest), burden in burdens.items():
        token = library.memo(token_key, object)
        burden.setflags(write=False)
        library.memo((_ROUTE, token, *rest), lambda burden=burden: burden)


def _route_burden(library, scenarios, indicators, name, module, category) -> np.ndarray:
    total = np.zeros(len(indicators))
    cache: dict = {}
    sets = scenarios.route_datasets(name, category)
    for r in sets[sets["module"] == module].itertuples(index=False):
        if isinstance(r.dataset_id, str) and r.dataset_id:  # an empty id: no burden on this route
            total = total + r.share_of_route * _per_kg(library, r.dataset_id, module, indicators, cache)
    total.setflags(write=False)
    return total


def build_profiles(
    library: EPDLibrary,
    scenarios: ScenarioSet,
    keys: pd.DataFrame | Mapping[str, np.ndarray],
    compiled: CompiledBuildings,
    options: EngineOptions,
    *,
    cache: ProfileCache | None = None,
) -> Profiles:
    """The unit profiles of ``keys`` (one row per profile, from :func:`profile_keys`).

    ``compiled`` supplies the lookup lists the keys index into (transport scenarios, waste
    categories, scenario choices); ``options`` the indicators and the method's rules. The
    stages run in turn: declared values, transport (A4, C2), end-of-life routes (C3, C4),
    biogenic outflow, circular inputs and the allocation approach, composites (A5, B4).

    A profile depends only on its key, the library, the scenarios and the options, and each row
    is computed on its own (element-wise arithmetic, per-row sums): profiles already built with
    this library are taken from its :class:`ProfileCache` and only the others are built, which
    gives the same bits as building them all. ``cache``: another cache than the library's.
    ``keys`` may also be one array per column (:func:`profile_key_columns`): the frame is then
    made only for the profiles not in the cache.
    """
    frame = keys if isinstance(keys, pd.DataFrame) else None
    n_keys = len(frame) if frame is not None else len(next(iter(keys.values()), ()))
    if n_keys == 0 or set(keys.keys()) != _CACHE_KEYS:  # a key column the cache does not know: build all
        return _build_profiles(library, scenarios, pd.DataFrame(keys) if frame is None else frame, compiled, options)
    cache = cache if cache is not None else library.memo(("profile-cache",), ProfileCache)
    token = library.memo(("profile-token", scenarios.fingerprint(), options), object)
    names = _profile_names(keys, compiled, token)
    found = cache.get(names)
    todo = [i for i, row in enumerate(found) if row is None]
    if len(todo) == n_keys:
        built = _build_profiles(library, scenarios, pd.DataFrame(keys) if frame is None else frame, compiled, options)
        cache.put(names, built)
        return built
    values = np.empty((n_keys, len(OUTPUT_MODULES), len(options.indicators)), dtype=np.float64)
    fallback = np.empty((n_keys, len(options.indicators)), dtype=bool)
    for i, row in enumerate(found):
        if row is not None:
            values[i], fallback[i] = row
    if todo:
        some = (
            frame.iloc[todo].reset_index(drop=True)
            if frame is not None
            else pd.DataFrame({name: np.asarray(column)[todo] for name, column in keys.items()})
        )
        built = _build_profiles(library, scenarios, some, compiled, options)
        cache.put([names[i] for i in todo], built)
        values[todo], fallback[todo] = built.values, built.fallback
    return Profiles(values=values, missing=np.isnan(values), fallback=fallback)


#: unit profiles a library keeps (:class:`ProfileCache`): a pure performance knob. One profile is
#: 13 modules × I indicators of float64 (~2 kB for the 19 EN 15804+A2 indicators), so 8,192 hold
#: ~16 MB, far more than the distinct profiles of a permit stream (data sets used × scenarios).
PROFILE_CACHE_SIZE = 8192

#: the numeric columns of a profile key, taken by their bits (the data set: a position in the library)
_NUMERIC_KEYS = (
    "dataset", "distance", "eol_landfill", "eol_incineration", "eol_reuse", "eol_recycling", "loss_rate",
    "sorted_on_site", "reused_input", "recycled_content", "use_cycles", "use_cycle",
)  # fmt: skip
#: the columns that index the compiled frame's lookup lists, taken by the value they point to
_LOOKUP_KEYS = ("transport", "waste_category", "scenario_choice")
#: every column of :func:`profile_keys`; keys with any other column are built without the cache
_CACHE_KEYS = frozenset(_NUMERIC_KEYS + _LOOKUP_KEYS)


def _profile_names(
    keys: pd.DataFrame | Mapping[str, np.ndarray], compiled: CompiledBuildings, token: object
) -> list[tuple]:
    """What decides each profile, independent of the compiled frame it came from: the numeric key
    columns' exact bits (the data set is a position in the library the cache belongs to) and the
    transport scenario, waste category and scenario choice by value; ``token`` names the scenarios
    and options."""
    if isinstance(keys, pd.DataFrame):
        numbers = keys[list(_NUMERIC_KEYS)].to_numpy(dtype=np.float64)
    else:  # the same float64 rows, one column at a time
        numbers = np.column_stack([np.asarray(keys[name], dtype=np.float64) for name in _NUMERIC_KEYS])
    transport = np.asarray(keys["transport"], dtype=np.int64)
    waste = np.asarray(keys["waste_category"], dtype=np.int64)
    choice = np.asarray(keys["scenario_choice"], dtype=np.int64)
    scenarios, categories, choices = compiled.transport_scenarios, compiled.waste_categories, compiled.scenario_choices
    return [
        (
            token,
            numbers[i].tobytes(),
            scenarios[t] if t >= 0 else None,
            categories[w] if w >= 0 else None,
            tuple(choices[c]),
        )
        for i, (t, w, c) in enumerate(zip(transport.tolist(), waste.tolist(), choice.tolist(), strict=True))
    ]


class ProfileCache:
    """Unit profiles already built with one library, by what decides them (:func:`build_profiles`).

    Owned by the library it serves (``library.memo``), so it lives as long as the scoring context
    that holds the library and nothing outlives it; bounded to ``size`` profiles, the least
    recently used dropped first. Thread-safe (the service scores in threads of one process too).
    """

    def __init__(self, size: int = PROFILE_CACHE_SIZE) -> None:
        import threading
        from collections import OrderedDict

        self.size = size
        self._rows: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._rows)

    def clear(self) -> None:
        """Drop every profile kept."""
        with self._lock:
            self._rows.clear()

    def __reduce__(self):
        """A pickled library (sent to a budgeted child process) carries an empty cache of the same size."""
        return (ProfileCache, (self.size,))

    def get(self, names: list[tuple]) -> list[tuple[np.ndarray, np.ndarray] | None]:
        """Each name's (values [M, I], fallback [I]), or None when not kept."""
        with self._lock:
            found = [self._rows.get(name) for name in names]
            for name, row in zip(names, found, strict=True):
                if row is not None:
                    self._rows.move_to_end(name)
            hits = sum(row is not None for row in found)
            self.hits, self.misses = self.hits + hits, self.misses + len(names) - hits
        return found

    def put(self, names: list[tuple], built: Profiles) -> None:
        """Keep the profiles of ``built`` (row ``i`` is ``names[i]``), as read-only copies."""
        values, fallback = built.values.copy(), built.fallback.copy()
        values.setflags(write=False)
        fallback.setflags(write=False)
        with self._lock:
            for i, name in enumerate(names):
                self._rows[name] = (values[i], fallback[i])
                self._rows.move_to_end(name)
            while len(self._rows) > self.size:
                self._rows.popitem(last=False)


def _build_profiles(
    library: EPDLibrary, scenarios: ScenarioSet, keys: pd.DataFrame, compiled: CompiledBuildings, options: EngineOptions
) -> Profiles:
    """:func:`build_profiles` without the cache: every profile of ``keys`` built."""
    build = _Build.start(library, scenarios, keys, compiled, options)
    _transport_stage(build)
    _route_stage(build)
    _biogenic_outflow(build)
    installed, new = allocate(build.values, _M, _circular_inputs(build), options.allocation, options.multicycle_split)
    loss = keys["loss_rate"].to_numpy(dtype=np.float64)
    factor = loss / (1.0 - loss) if options.loss_basis == "purchased" else loss
    for target in (installed, new):
        _composites(target, build.declared, factor, options.replacement_modules)
    installed[:, _M["B4"]] = new[:, _M["B4"]]  # a replacement is a new product (dk_zero: scaled already)
    return Profiles(values=installed, missing=np.isnan(installed), fallback=build.fallback)


@dataclass(eq=False)
class _Build:
    """What the stages of one profile build share: inputs, the values so far and per-profile keys."""

    library: EPDLibrary
    scenarios: ScenarioSet
    keys: pd.DataFrame
    compiled: CompiledBuildings
    options: EngineOptions
    values: np.ndarray  # float64[P, M, I], filled stage by stage
    fallback: np.ndarray  # bool[P, I]
    declared: np.ndarray  # bool[P, M]: the data set declares the module
    mass: np.ndarray  # kg per declared unit, per profile
    shares: np.ndarray  # float64[P, 4] end-of-life route shares (NaN: no scenario)
    waste: np.ndarray  # int64[P] waste category index, -1 = none
    cache: dict  # per-kg burdens of this build
    route_token: object | None = None  # keys this build's route burdens on the library

    @classmethod
    def start(
        cls,
        library: EPDLibrary,
        scenarios: ScenarioSet,
        keys: pd.DataFrame,
        compiled: CompiledBuildings,
        options: EngineOptions,
    ) -> _Build:
        """Declared values per profile (each scenario choice's tensor), masses and route keys."""
        n_profiles, n_ind = len(keys), len(options.indicators)
        values = np.full((n_profiles, len(OUTPUT_MODULES), n_ind), np.nan)
        fallback = np.zeros((n_profiles, n_ind), dtype=bool)
        dataset = keys["dataset"].to_numpy(dtype=np.int64)
        choice = keys["scenario_choice"].to_numpy(dtype=np.int64)
        for c in np.unique(choice):
            rows = choice == c
            tensor, used_fallback = _coalesced_tensor(library, options.indicators, compiled.scenario_choices[c])
            values[rows] = tensor[dataset[rows]]
            fallback[rows] = used_fallback[dataset[rows]]
        mass_of = {int(d): library.mass_per_unit(int(d)) for d in np.unique(dataset)}
        return cls(
            library,
            scenarios,
            keys,
            compiled,
            options,
            values,
            fallback,
            declared=~np.isnan(values).all(axis=2),
            mass=np.array([mass_of[int(d)] for d in dataset], dtype=np.float64),
            shares=keys[[f"eol_{r}" for r in EOL_ROUTES]].to_numpy(dtype=np.float64),
            waste=keys["waste_category"].to_numpy(dtype=np.int64),
            cache={},
        )

    @property
    def n_ind(self) -> int:
        return len(self.options.indicators)

    @property
    def needs_eol(self) -> np.ndarray:
        return ~np.isnan(self.shares).any(axis=1)

    def category(self, code: int) -> str | None:
        return self.compiled.waste_categories[code] if code >= 0 else None

    def per_kg(self, dataset_id: Any, module: str) -> np.ndarray:
        return _per_kg(self.library, dataset_id, module, self.options.indicators, self.cache)

    def route(self, name: str, module: str, category: str | None) -> np.ndarray:
        indicators = tuple(self.options.indicators)
        if self.route_token is None:
            self.route_token = _route_token(self.library, self.scenarios, indicators)
        return _route_per_kg(self.library, self.scenarios, indicators, name, module, category, self.route_token)

    def routes(self, shares: np.ndarray, module: str, category: str | None) -> np.ndarray:
        """Σ share × burden per kg of each route with a share (zeros when none)."""
        total = np.zeros(self.n_ind)
        for name, share in zip(EOL_ROUTES, shares, strict=True):
            if share:
                total = total + share * self.route(name, module, category)
        return total


def _transport_stage(build: _Build) -> None:
    """A4 and C2 where not declared: kg × km / 1000 × burden per t·km, summed over the legs."""
    transport = build.keys["transport"].to_numpy(dtype=np.int64)
    distance = build.keys["distance"].to_numpy(dtype=np.float64)
    sorted_share = build.keys["sorted_on_site"].to_numpy(dtype=np.float64)
    for module in ("A4", "C2"):
        k = _M[module]
        todo = ~build.declared[:, k]
        for t in np.unique(transport[todo & (transport >= 0)]):
            legs = build.scenarios.transport_legs(build.compiled.transport_scenarios[t], module)
            legs = legs[legs["dataset_id"].astype(str).str.len() > 0]  # an empty id means "no leg"
            rows = todo & (transport == t)
            if legs.empty:
                continue
            applies = legs["applies_to"] if "applies_to" in legs else pd.Series(["all"] * len(legs), index=legs.index)
            total_km = float(legs.loc[applies != "not_sorted_on_site", "distance_km"].sum())
            scale = np.ones(rows.sum())
            if module == "A4":
                override = distance[rows]
                scale = np.where(np.isnan(override), 1.0, override / total_km if total_km > 0 else np.nan)
            burden = np.zeros((rows.sum(), build.n_ind))
            for leg, applies_to in zip(legs.itertuples(index=False), applies, strict=True):
                per_tkm = leg.distance_km * build.per_kg(leg.dataset_id, "A4")
                # a leg "not_sorted_on_site" (detour via a sorting plant) carries only the unsorted share
                share = 1.0 - np.nan_to_num(sorted_share[rows]) if applies_to == "not_sorted_on_site" else 1.0
                burden += (np.asarray(share, dtype=np.float64) * np.ones(rows.sum()))[:, None] * per_tkm[None, :]
            build.values[rows, k] = (build.mass[rows] / 1000.0 * scale)[:, None] * burden


def _route_stage(build: _Build) -> None:
    """C3 and C4 where not declared: mass × Σ route share × route burden per kg of waste."""
    needs_eol, shares, waste = build.needs_eol, build.shares, build.waste
    groups = pd.DataFrame(np.column_stack([shares, waste]))[needs_eol].drop_duplicates()
    for module in ("C3", "C4"):
        k = _M[module]
        for row in groups.itertuples(index=False):
            route_shares, category = np.array(row[:4]), int(row[4])
            rows = needs_eol & ~build.declared[:, k] & (waste == category) & np.all(shares == route_shares, axis=1)
            if rows.any():
                burden = build.routes(route_shares, module, build.category(category))
                build.values[rows, k] = build.mass[rows][:, None] * burden[None, :]


def _biogenic_outflow(build: _Build) -> None:
    """EN 15804+A2 −1/+1: biogenic carbon leaving with reused or recycled material is a C3 outflow.

    Route data sets model processing only, so when C3 comes from the scenario, the uptake
    declared in A1-A3 is returned for the reuse + recycling share.
    """
    biogenic = [j for j, spec in enumerate(build.options.indicators) if spec.code in ("GWP-total", "GWP-biogenic")]
    if not biogenic:
        return
    dataset = build.keys["dataset"].to_numpy(dtype=np.int64)
    uptake = build.library.tensor(("GWP-biogenic",), ("A1-A3",))[dataset, 0, 0]
    k3 = _M["C3"]
    outflow = np.where(
        build.needs_eol & ~build.declared[:, k3] & (uptake < 0),
        -uptake * (np.nan_to_num(build.shares[:, 2]) + np.nan_to_num(build.shares[:, 3])),
        0.0,
    )
    for j in biogenic:
        build.values[:, k3, j] = build.values[:, k3, j] + outflow


def _final_disposal(build: _Build) -> tuple[np.ndarray, np.ndarray]:
    """C3 and C4 of the final disposal per profile: declared, else the waste category's default
    routes (else the line's own) with reuse left out, × mass."""
    n_profiles, n_ind = len(build.keys), build.n_ind
    final_c3 = np.full((n_profiles, n_ind), np.nan)
    final_c4 = np.full((n_profiles, n_ind), np.nan)
    own = np.nan_to_num(build.shares)
    seen: dict = {}
    for i in range(n_profiles):
        name = build.category(int(build.waste[i]))
        key = (name,) if name is not None else (None, *own[i])
        if key not in seen:
            base = np.array(build.scenarios.eol_shares(name)) if name is not None else own[i]
            base = base * np.array([1.0, 1.0, 0.0, 1.0])
            c3 = c4 = np.full(n_ind, np.nan)
            if base.sum() > 0:
                base = base / base.sum()
                c3, c4 = build.routes(base, "C3", name), build.routes(base, "C4", name)
            seen[key] = (c3, c4)
        final_c3[i], final_c4[i] = seen[key]
    k3, k4, values, mass = _M["C3"], _M["C4"], build.values, build.mass
    final_c3 = np.where(build.declared[:, k3][:, None], values[:, k3], mass[:, None] * final_c3)
    final_c4 = np.where(build.declared[:, k4][:, None], values[:, k4], mass[:, None] * final_c4)
    return final_c3, final_c4


def _category_burdens(build: _Build, params: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per-kg burdens that depend only on the waste category (evaluated once per category)."""
    n_profiles, n_ind, mass = len(build.keys), build.n_ind, build.mass
    out = {
        name: np.zeros((n_profiles, n_ind))
        for name in ("e_recycling", "e_landfill", "e_incineration", "e_reconditioning", "energy_credit")
    }
    out["substituted"] = np.full((n_profiles, n_ind), np.nan)
    for category in np.unique(build.waste):
        rows = build.waste == category
        name = build.category(int(category))
        first = int(np.argmax(rows))
        out["e_recycling"][rows] = build.route(str(params.at[first, "recycled_input_route"] or "recycling"), "C3", name)
        out["e_landfill"][rows] = build.route("landfill", "C4", name)
        out["e_incineration"][rows] = build.route("incineration", "C3", name)
        out["e_reconditioning"][rows] = reconditioning_per_kg(
            build.per_kg, params.at[first, "reconditioning_dataset"], n_ind
        )
        lhv = pd.to_numeric(params.at[first, "lhv_mj_per_kg"], errors="coerce") if "lhv_mj_per_kg" in params else np.nan
        if lhv == lhv and lhv > 0:  # energy recovery credit, only where the data are given
            per_mj = np.zeros(n_ind)
            for kind in ("heat", "elec"):
                efficiency = pd.to_numeric(params.at[first, f"x_er_{kind}"], errors="coerce")
                dataset_id = params.at[first, f"substituted_{kind}_dataset"]
                if efficiency == efficiency and efficiency > 0 and isinstance(dataset_id, str) and dataset_id:
                    per_mj = per_mj + efficiency * build.per_kg(dataset_id, "A1-A3")
            out["energy_credit"][rows] = -(mass[rows] * lhv)[:, None] * per_mj[None, :]
        target = params.at[first, "substituted_dataset"] if "substituted_dataset" in params else ""
        if target == "self":
            out["substituted"][rows] = build.values[rows, _M["A1-A3"]]
        elif isinstance(target, str) and target:
            out["substituted"][rows] = mass[rows][:, None] * build.per_kg(target, "A1-A3")[None, :]
    return out


def _circular_inputs(build: _Build) -> CircularInputs:
    """Everything the allocation approach (engine/circularity.py) needs, per profile."""
    keys = build.keys
    params = material_parameters(build.scenarios, pd.Series([build.category(int(c)) for c in build.waste]))
    final_c3, final_c4 = _final_disposal(build)
    return CircularInputs(
        mass=build.mass,
        reused=keys["reused_input"].to_numpy(dtype=np.float64),
        recycled=keys["recycled_content"].to_numpy(dtype=np.float64),
        cycles=keys["use_cycles"].to_numpy(dtype=np.float64),
        cycle=keys["use_cycle"].to_numpy(dtype=np.float64),
        shares=build.shares,
        A=params["A"].to_numpy(dtype=np.float64),
        B=params["B"].to_numpy(dtype=np.float64),
        q_in=params["qs_in_qp"].to_numpy(dtype=np.float64),
        q_out=params["qs_out_qp"].to_numpy(dtype=np.float64),
        **_category_burdens(build, params),
        final_c3=final_c3,
        final_c4=final_c4,
        c3_declared=build.declared[:, _M["C3"]],
        c4_declared=build.declared[:, _M["C4"]],
    )


def _composites(values: np.ndarray, declared: np.ndarray, loss_factor: np.ndarray, replacement_modules) -> None:
    """Fill A5 (declared + losses) and B4 (one replacement) in place; B1-B3/B5 gaps read as 0."""
    for module in _NOT_APPLICABLE_IF_MISSING:
        k = _M[module]
        values[:, k] = np.nan_to_num(values[:, k])
    # A5 = declared + losses of the lost material (production, transport, end of life)
    lost_modules = [_M[m] for m in ("A1-A3", "A4", *_C)]
    lost = np.nansum(values[:, lost_modules], axis=1)
    k5 = _M["A5"]
    a5_declared = np.where(declared[:, k5][:, None], np.nan_to_num(values[:, k5]), 0.0)
    with_loss = ~np.isnan(loss_factor)
    values[:, k5] = np.where(
        with_loss[:, None],
        a5_declared + np.nan_to_num(loss_factor)[:, None] * lost,
        np.where(declared[:, k5][:, None], values[:, k5], np.nan),
    )
    # B4: one replacement = Σ of the replacement modules (a declared B4 is not used: NR is ours)
    parts = [_M[m] for m in replacement_modules]
    k4 = _M["B4"]
    all_missing = np.isnan(values[:, parts]).all(axis=1)
    values[:, k4] = np.where(all_missing, np.nan, np.nansum(values[:, parts], axis=1))

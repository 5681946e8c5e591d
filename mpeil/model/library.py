"""The EPD library: tidy tables of data sets and values, and the float64 tensor the engine uses.

Storage contract (``data/epd/<source>/``; written by the converters in
:mod:`mpeil.readers`, read here):

``datasets.parquet``, one row per data set — see :data:`DATASET_COLUMNS`.
``values.parquet``, one row per (data set, module, scenario, indicator) — see
:data:`VALUE_COLUMNS`. ``value`` is per ``declared_amount`` × ``declared_unit`` exactly as the
source states it; an indicator a data set does not declare has **no row** (never a 0).

:meth:`EPDLibrary.tensor` turns that into ``values[dataset, module, indicator]`` per **one**
declared unit, NaN where not declared.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConversionError, UnknownEPDError
from ..paths import data_dir
from ..units import parse_unit, unit_registry

__all__ = [
    "DATASET_COLUMNS",
    "VALUE_COLUMNS",
    "PROPERTY_COLUMNS",
    "MODULES",
    "EPDLibrary",
    "load_library",
]

#: float columns holding conversion properties (NaN when the source does not declare them)
PROPERTY_COLUMNS = (
    "gross_density_kg_m3",
    "bulk_density_kg_m3",
    "area_weight_kg_m2",
    "layer_thickness_m",
    "yield_m2",
    "linear_weight_kg_m",
    "mass_per_piece_kg",
    "conversion_factor_to_kg",
    "biogenic_carbon_kg",
    "biogenic_carbon_packaging_kg",
)

DATASET_COLUMNS: dict[str, str] = {
    "dataset_id": "string",  # "<source>:<id in source>", unique across the library
    "source": "string",  # e.g. "obd2024", "obd2020", "ilcd", "br18"
    "source_uuid": "string",
    "version": "string",
    "name_de": "string",
    "name_en": "string",
    "category": "string",
    "data_type": "string",  # generic | specific | average | representative | template
    "standard": "string",  # "EN 15804+A2" | "EN 15804+A1"
    "country": "string",
    "reference_year": "string",
    "valid_until": "string",
    "owner": "string",
    "url": "string",
    "declared_amount": "float64",
    "declared_unit": "string",  # parsable by mpeil.units.parse_unit
    **dict.fromkeys(PROPERTY_COLUMNS, "float64"),
}

VALUE_COLUMNS: dict[str, str] = {
    "dataset_id": "string",
    "module": "string",  # one of MODULES, or "A1", "A2", "A3"
    "scenario": "string",  # "" when the module has no scenario variants
    "indicator": "string",  # code in data/indicators.csv
    "value": "float64",
}

#: Module axis of the engine. A1-A3 is one module; separately declared A1, A2, A3 are summed.
MODULES = ("A1-A3", "A4", "A5", "B1", "B2", "B3", "B4", "B5", "B6", "B7", "C1", "C2", "C3", "C4", "D")

_MASS = "[mass]"


@dataclass
class EPDLibrary:
    """Data sets with their declared units, conversion properties and module values."""

    datasets: pd.DataFrame
    values: pd.DataFrame
    name: str = "custom"
    #: peer estimates filled in where a value is not declared (see :meth:`with_estimates`); None = declared only
    fill: pd.DataFrame | None = None
    #: values that replace declared ones (flagged values → their peer estimate); None = none
    override: pd.DataFrame | None = None
    #: values invented for tests and examples (mpeil.testing's round numbers): results scored with it
    #: are not held to the real-world bounds of data/result_bounds.csv (mpeil.plausibility)
    hand_made: bool = False
    _index: dict[str, int] = field(init=False, repr=False)
    _bare: dict[str, int | None] = field(init=False, repr=False)
    #: derived values (tensors, conversion factors, route burdens) memoised on this library only:
    #: no module-level cache keeps a library alive after its last user lets go of it
    _memo: dict = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.datasets = _conform(self.datasets, DATASET_COLUMNS).reset_index(drop=True)
        self.values = _conform(self.values, VALUE_COLUMNS).reset_index(drop=True)
        ids = self.datasets["dataset_id"].tolist()
        if len(set(ids)) != len(ids):
            dupes = self.datasets["dataset_id"][self.datasets["dataset_id"].duplicated()].tolist()[:5]
            raise ValueError(f"duplicate dataset ids in library {self.name!r}: {dupes}")
        self._index = {dataset_id: i for i, dataset_id in enumerate(ids)}
        bare: dict[str, int | None] = {}
        for i, dataset_id in enumerate(ids):
            key = dataset_id.split(":", 1)[-1]
            bare[key] = None if key in bare else i  # ambiguous bare ids resolve to nothing
        self._bare = bare

    # ------------------------------------------------------------------ lookup
    def __len__(self) -> int:
        return len(self.datasets)

    @property
    def ids(self) -> list[str]:
        return self.datasets["dataset_id"].tolist()

    def resolve(self, reference: str) -> int:
        """Row index of a data set, by full id (``"obd2024:<uuid>"``) or unambiguous bare id."""
        index = self._index.get(reference)
        if index is None:
            index = self._bare.get(reference)
        if index is None:
            hint = (
                " (ambiguous: prefix it with its source)" if reference in self._bare else self._did_you_mean(reference)
            )
            hint += _user_library_hint(reference, self.ids)
            raise UnknownEPDError(f"no data set {reference!r} in the EPD library{hint}", field="product")
        return index

    def suggest(self, reference: str, limit: int = 3) -> list[str]:
        """Data set ids closest to a mistyped id or a name (rapidfuzz), best first."""
        from rapidfuzz import fuzz, process

        text = str(reference).strip()
        if not text or not len(self):
            return []
        ids = self.datasets["dataset_id"].tolist()
        by_id = process.extract(text, ids, scorer=fuzz.ratio, score_cutoff=80, limit=limit)
        by_bare = process.extract(
            text.split(":", 1)[-1], [i.split(":", 1)[-1] for i in ids], scorer=fuzz.ratio, score_cutoff=80, limit=limit
        )
        names = self.datasets["name_en"].fillna(self.datasets["name_de"]).fillna("").astype(str).str.lower().tolist()
        by_name = process.extract(text.lower(), names, scorer=fuzz.token_set_ratio, score_cutoff=85, limit=limit)
        ranked = sorted(by_id + by_bare + by_name, key=lambda hit: -hit[1])
        return list(dict.fromkeys(ids[row] for _choice, _score, row in ranked))[:limit]

    def _did_you_mean(self, reference: str) -> str:
        suggestions = self.suggest(reference)
        if not suggestions:
            return ""
        names = self.datasets.set_index("dataset_id")["name_en"].fillna(
            self.datasets.set_index("dataset_id")["name_de"]
        )
        shown = [f"{s!r} ({names.get(s)})" if isinstance(names.get(s), str) else repr(s) for s in suggestions]
        return "; did you mean " + " or ".join(shown) + "?"

    def __contains__(self, reference: object) -> bool:
        return isinstance(reference, str) and (reference in self._index or self._bare.get(reference) is not None)

    def search(self, text: str, limit: int = 50) -> pd.DataFrame:
        """Data sets whose names or category contain every word of ``text`` (case-insensitive)."""
        columns = [c for c in ("name_de", "name_en", "name_da", "category") if c in self.datasets]
        haystack = self.datasets[columns[0]].fillna("").astype(str)
        for column in columns[1:]:
            haystack = haystack + " " + self.datasets[column].fillna("").astype(str)
        haystack = haystack.str.lower()
        mask = np.ones(len(haystack), dtype=bool)
        for word in text.lower().split():
            mask &= haystack.str.contains(word, regex=False).to_numpy(dtype=bool)
        columns = ["dataset_id", "name_en", "name_de", "data_type", "declared_amount", "declared_unit"]
        return self.datasets.loc[mask, columns].head(limit).reset_index(drop=True)

    def info(self, reference: str) -> dict:
        """Metadata of one data set plus which modules, scenarios and indicators it declares."""
        row = self.datasets.iloc[self.resolve(reference)]
        values = self.values[self.values["dataset_id"] == row["dataset_id"]]
        modules = values.groupby(["module", "scenario"], sort=False)["indicator"].apply(list).reset_index()
        return {
            **{k: (None if _isna(v) else v) for k, v in row.to_dict().items()},
            "modules": [
                {"module": r.module, "scenario": r.scenario, "indicators": r.indicator}
                for r in modules.itertuples(index=False)
            ],
        }

    # ------------------------------------------------------------------ numbers
    def scenarios(self, index: int, module: str) -> list[str]:
        """Scenario names declared for one data set and module, in source order."""
        rows = self._values_of(index)
        return list(dict.fromkeys(rows.loc[rows["module"] == module, "scenario"]))

    def tensor(
        self,
        indicators: Sequence[str],
        modules: Sequence[str] = MODULES,
        scenario_choice: dict[str, str] | None = None,
    ) -> np.ndarray:
        """``float64[dataset, module, indicator]`` per one declared unit; NaN = not declared.

        For each (data set, module) the first scenario in source order is used unless
        ``scenario_choice[module]`` names another that the data set declares. ``A1-A3`` comes from the
        declared aggregate, or from ``A1 + A2 + A3`` when all three are declared separately.
        """
        key = ("tensor", tuple(indicators), tuple(modules), _freeze(scenario_choice))
        if key not in self._memo:
            self._memo[key] = self._tensor(*key[1:])
        return self._memo[key]

    def memo(self, key: tuple, compute):
        """``compute()`` once per ``key`` for this library (derived data that only depend on it)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def memo_items(self) -> list[tuple[tuple, object]]:
        """The (key, value) pairs :meth:`memo` holds now (a snapshot: for code that hands derived
        data from one process to another, e.g. :func:`mpeil.engine.profiles.route_burdens`)."""
        return list(self._memo.items())

    def _tensor(self, indicators, modules, scenario_choice) -> np.ndarray:
        base = self._memo.get(("declared_library",))
        if base is not None:  # a filled library: the declared tensor of its base, then the estimates
            out = base.tensor(indicators, modules, dict(scenario_choice) or None).copy()
            self._fill(out, indicators, modules)
            out.setflags(write=False)
            return out
        out = np.full((len(self), len(modules), len(indicators)), np.nan, dtype=np.float64)
        values = self.values
        # each value row's data set position (NaN: not in this library), mapped once per library
        dataset_index = self.memo(
            ("value_dataset_positions",), lambda: values["dataset_id"].map(self._index).to_numpy(dtype=np.float64)
        )
        keep = ~np.isnan(dataset_index) & values["indicator"].isin(indicators).to_numpy(dtype=bool)
        values = values[keep].assign(_d=dataset_index[keep].astype(np.int64))
        if values.empty:
            return out
        choice = dict(scenario_choice)
        first = values.groupby(["_d", "module"], sort=False)["scenario"].transform("first")
        chosen = first
        if choice:
            # a chosen scenario applies where the data set declares it; elsewhere the first one
            wanted = values["module"].map(choice)
            has = (values["scenario"] == wanted).fillna(False)
            declares = has.groupby([values["_d"], values["module"]], sort=False).transform("any")
            chosen = first.where(~declares.to_numpy(dtype=bool), wanted)
        values = values[(values["scenario"] == chosen).to_numpy(dtype=bool)]
        per_unit = self.datasets["declared_amount"].to_numpy(dtype=np.float64)
        indicator_pos = {code: j for j, code in enumerate(indicators)}
        module_pos = {module: k for k, module in enumerate(modules)}

        def put(frame: pd.DataFrame, module: str) -> None:
            d = frame["_d"].to_numpy(dtype=np.int64)
            j = frame["indicator"].map(indicator_pos).to_numpy(dtype=np.int64)
            out[d, module_pos[module], j] = frame["value"].to_numpy(dtype=np.float64) / per_unit[d]

        for module in modules:
            put(values[values["module"] == module], module)
        if "A1-A3" in module_pos:
            parts = values[values["module"].isin(["A1", "A2", "A3"])]
            summed = (
                parts.groupby(["_d", "indicator"], sort=False)
                .agg(value=("value", "sum"), n=("module", "nunique"))
                .reset_index()
            )
            summed = summed[summed["n"] == 3]
            k = module_pos["A1-A3"]
            d = summed["_d"].to_numpy(dtype=np.int64)
            j = summed["indicator"].map(indicator_pos).to_numpy(dtype=np.int64)
            fill = np.isnan(out[d, k, j])  # a declared aggregate wins over the parts
            out[d[fill], k, j[fill]] = summed["value"].to_numpy(dtype=np.float64)[fill] / per_unit[d[fill]]
        self._fill(out, indicators, modules)
        out.setflags(write=False)
        return out

    def _fill(self, out: np.ndarray, indicators, modules) -> None:
        if self.fill is not None:
            _fill_from(out, self.fill, self._index, indicators, modules)
        if self.override is not None:
            _fill_from(out, self.override, self._index, indicators, modules, force=True)

    # ------------------------------------------------------------------ estimates
    @property
    def estimates(self) -> pd.DataFrame:
        """Peer estimates of undeclared EN 15804+A2 values for this library's data sets.

        Columns: dataset_id, module, indicator, value (per one declared unit), sigma_log (lognormal
        σ of ln), n_peers, level, predictor, peer_ratio. Shipped in ``data/epd/estimates/``
        (``scripts/build_estimates.py``); for a user's EN 15804+A2 data sets (not in that table) the
        same model with the shipped data sets as peers (:mod:`mpeil.model.user_estimates`).
        """
        return self.memo(("estimates",), self._all_estimates)

    def _all_estimates(self) -> pd.DataFrame:
        """The shipped table's rows for this library's data sets, then the same peer model applied
        to the EN 15804+A2 data sets the shipped screen has not seen (a user's, layered on the
        shipped library: :func:`mpeil.model.user_estimates.user_estimates`)."""
        from .screening import SHIPPED_FLAGS, _screened_ids
        from .user_estimates import user_estimates

        shipped = _shipped_estimates(self._index, "gap")
        own = user_estimates(self, _screened_ids(data_dir().joinpath(*SHIPPED_FLAGS)))
        if own.empty:
            return shipped
        return pd.concat([shipped, own[[c for c in own.columns if c in shipped.columns]]], ignore_index=True)

    @property
    def peer_estimates(self) -> pd.DataFrame:
        """Leave-one-out peer estimates of *declared* values (same columns as :attr:`estimates`),
        used to replace values the screen flags (method option ``flagged_values = "estimate"``)."""
        return self.memo(("peer_estimates",), lambda: _shipped_estimates(self._index, "peer"))

    @property
    def flags(self) -> pd.DataFrame:
        """Screening flags (dataset_id, indicator, flag, reason), see :mod:`mpeil.model.screening`."""
        from .screening import library_flags

        base = self._memo.get(("declared_library",), self)
        return base.memo(("flags",), lambda: library_flags(base))

    def with_estimates(self, estimates: pd.DataFrame | None = None, replace_flagged: bool = False) -> EPDLibrary:
        """This library with every undeclared value that has an estimate filled in (memoised).

        The tensor of the result is the declared value where declared, the estimate where not,
        NaN where neither. ``replace_flagged``: values the screen flags as outliers are replaced
        by their peer estimate too. :meth:`estimated` says which cells are estimates.
        """
        if self.fill is not None and estimates is None and (self.override is not None) == replace_flagged:
            return self  # already filled (e.g. with a table of one's own)
        base = self._memo.get(("declared_library",), self)
        if estimates is not None:
            return _filled_library(base, estimates, base._flag_overrides() if replace_flagged else None)
        key = ("with_estimates", replace_flagged)
        return base.memo(
            key, lambda: _filled_library(base, base.estimates, base._flag_overrides() if replace_flagged else None)
        )

    def with_flagged_replaced(self) -> EPDLibrary:
        """Declared values only, except that flagged outliers are replaced by their peer estimate."""
        base = self._memo.get(("declared_library",), self)
        empty = base.estimates.iloc[:0]
        return base.memo(("flagged_replaced",), lambda: _filled_library(base, empty, base._flag_overrides()))

    def _flag_overrides(self) -> pd.DataFrame:
        outliers = self.flags[self.flags["flag"] == "outlier"][["dataset_id", "indicator"]]
        return self.peer_estimates.merge(outliers.drop_duplicates(), on=["dataset_id", "indicator"])

    def estimated(self, indicators: Sequence[str], modules: Sequence[str] = MODULES) -> np.ndarray:
        """``bool[dataset, module, indicator]``: the tensor value is an estimate, not the declared one."""
        if self.fill is None and self.override is None:
            return np.zeros((len(self), len(modules), len(indicators)), dtype=bool)
        base = self._memo.get(("declared_library",), self)

        def compute() -> np.ndarray:
            declared, used = base.tensor(indicators, modules), self.tensor(indicators, modules)
            return ~np.isnan(used) & (np.isnan(declared) | (used != declared))

        return self.memo(("estimated", tuple(indicators), tuple(modules)), compute)

    # ------------------------------------------------------------------ units
    def declared_unit(self, index: int):
        return parse_unit(self.datasets.at[index, "declared_unit"])

    def conversion_factor(self, index: int, unit) -> float:
        """How many declared units one ``unit`` of the product is (1 m³ → n declared units).

        Uses pint for unit scaling and the data set's properties (densities, area weight,
        layer thickness, linear weight, mass per piece, per-kg factor) to cross dimensions.
        ``conversion_factor_to_kg`` means *declared units per kg* (one declared unit weighs
        ``1 / factor`` kg); the readers normalise the sources' "Umrechungsfaktor auf 1kg",
        which is filled both ways round, to that (see
        :func:`mpeil.readers.epd_common.orient_kg_factor`).
        Raises :class:`ConversionError` naming the missing property.
        """
        return self.memo(("conversion", index, str(unit)), lambda: _conversion_factor(self, index, str(unit)))

    def mass_per_unit(self, index: int) -> float:
        """kg per one declared unit, or NaN when the properties do not say (memoised: every score asks)."""

        def compute() -> float:
            try:
                return 1.0 / _conversion_factor(self, index, "kg")
            except ConversionError:
                return math.nan

        return self.memo(("mass_per_unit", index), compute)

    @functools.cached_property
    def declared_indicators(self) -> frozenset[str]:
        """Indicator codes that at least one data set declares (or, when filled, has an estimate for)."""
        codes = set(self.values["indicator"].dropna().unique())
        if self.fill is not None:
            codes |= set(self.fill["indicator"].dropna().unique())
        return frozenset(codes)

    def fingerprint(self) -> str:
        """A SHA-256 over the library content, for score receipts."""

        def compute() -> str:
            digest = hashlib.sha256()
            extra = tuple(f for f in (self.fill, self.override) if f is not None)
            frames = (self.datasets, self.values, *extra)
            for frame in frames:
                digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
            return digest.hexdigest()

        return self.memo(("fingerprint",), compute)

    def __hash__(self) -> int:  # identity hash: a library is immutable after construction
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other

    def _values_of(self, index: int) -> pd.DataFrame:
        return self.values[self.values["dataset_id"] == self.datasets.at[index, "dataset_id"]]

    @classmethod
    def concat(cls, libraries: Iterable[EPDLibrary], name: str = "combined") -> EPDLibrary:
        libraries = list(libraries)
        return cls(
            pd.concat([lib.datasets for lib in libraries], ignore_index=True),
            pd.concat([lib.values for lib in libraries], ignore_index=True),
            name=name,
            hand_made=any(lib.hand_made for lib in libraries),
        )

    @classmethod
    def from_folder(cls, folder: Path, corrected: bool = True) -> EPDLibrary:
        """A library folder: ``datasets.parquet``, ``values.parquet``; with ``corrected`` its
        ``corrections.csv`` (if any) is applied. A user library written by ``mpeil epd import`` also
        has ``manifest.json``, whose ``name`` is the library's name (the prefix of its ids)."""
        folder = Path(folder)
        from .material_passport import is_material_passport_folder, read_material_passport_folder

        if folder.is_dir() and is_material_passport_folder(folder):  # issue 24: material passports
            return cls(*read_material_passport_folder(folder), name=folder.name)
        if not (folder / "datasets.parquet").is_file() or not (folder / "values.parquet").is_file():
            raise UnknownEPDError(
                f"{str(folder)!r} is not an EPD library folder (datasets.parquet and values.parquet)",
                field="library",
            )
        datasets = pd.read_parquet(folder / "datasets.parquet")
        values = pd.read_parquet(folder / "values.parquet")
        if corrected and (folder / "corrections.csv").exists():
            datasets, values = _apply_corrections(datasets, values, folder / "corrections.csv")
        name = folder.name
        manifest = folder / "manifest.json"
        if manifest.is_file():
            name = str(json.loads(manifest.read_text(encoding="utf-8")).get("name") or name)
        return cls(datasets, values, name=name)

    @classmethod
    def layered(cls, base: EPDLibrary, users: Sequence[EPDLibrary]) -> EPDLibrary:
        """``base`` with user libraries on top (docs/user-libraries.md).

        Full ids (``"<library>:<id>"``) are unique, so they always name one data set; a user
        library may not reuse a name the base library already uses. A bare id (``"<uuid>"``)
        resolves to the **last** library listed that has it, so a user's own copy of a data
        set wins over the shipped one; within one library an ambiguous bare id stays ambiguous.
        """
        if not users:
            return base
        taken = set(base.datasets["source"].dropna().unique())
        for user in users:
            clash = taken & set(user.datasets["source"].dropna().unique())
            if clash:
                raise UnknownEPDError(
                    f"user library {user.name!r} uses the library name(s) {sorted(clash)} already taken; "
                    "import it under another --name",
                    field="library",
                )
            taken |= set(user.datasets["source"].dropna().unique())
        combined = cls.concat([base, *users], name="+".join([base.name, *(u.name for u in users)]))
        offset = len(base)
        for user in users:
            for key, index in user._bare.items():
                combined._bare[key] = None if index is None else index + offset
            offset += len(user)
        return combined


# ---------------------------------------------------------------------- helpers
ESTIMATE_COLUMNS = ("dataset_id", "module", "indicator", "value", "sigma_log", "n_peers", "level")


def _shipped_estimates(index: dict[str, int], kind: str) -> pd.DataFrame:
    path = data_dir() / "epd" / "estimates" / "estimates.parquet"
    if not path.exists():
        return pd.DataFrame({c: pd.Series(dtype="float64" if c == "value" else "string") for c in ESTIMATE_COLUMNS})
    table = pd.read_parquet(path)
    keep = table["dataset_id"].isin(list(index)) & (table["kind"] == kind)
    return table[keep.to_numpy(dtype=bool)].drop(columns="kind").reset_index(drop=True)


def _filled_library(library: EPDLibrary, estimates: pd.DataFrame, override: pd.DataFrame | None) -> EPDLibrary:
    missing = [c for c in ("dataset_id", "module", "indicator", "value") if c not in estimates]
    if missing:
        raise ValueError(f"estimates table lacks column(s) {missing}")
    name = (
        library.name + ("+estimates" if len(estimates) else "") + ("+flagged-replaced" if override is not None else "")
    )
    filled = EPDLibrary(
        library.datasets, library.values, name=name, fill=estimates, override=override, hand_made=library.hand_made
    )
    filled._memo[("declared_library",)] = library  # the declared tensor is the base library's
    # the base's frames, conformed already (conforming them again gives equal copies): shared, so a
    # stored library (mpeil.model.stored) holds them once, not twice
    filled.datasets, filled.values = library.datasets, library.values
    return filled


def _fill_from(out: np.ndarray, fill: pd.DataFrame, index: dict[str, int], indicators, modules, force=False) -> None:
    """Write estimates (per one declared unit) into the NaN cells (every cell if ``force``) of ``out``."""
    where = pd.DataFrame(
        {
            "d": fill["dataset_id"].map(index),
            "j": fill["indicator"].map({code: i for i, code in enumerate(indicators)}),
            "k": fill["module"].map({module: i for i, module in enumerate(modules)}),
        }
    )
    keep = where.notna().all(axis=1).to_numpy(dtype=bool)
    if not keep.any():
        return
    d, j, k = (where[c].to_numpy(dtype=np.float64)[keep].astype(np.int64) for c in ("d", "j", "k"))
    value = fill["value"].to_numpy(dtype=np.float64)[keep]
    empty = np.ones(d.size, dtype=bool) if force else np.isnan(out[d, k, j])  # else a declared value wins
    out[d[empty], k[empty], j[empty]] = value[empty]


def _isna(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _freeze(choice: dict | None) -> tuple:
    return tuple(sorted((choice or {}).items()))


def _conform(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    frame = frame.copy()
    for name, dtype in columns.items():
        if name not in frame:
            frame[name] = np.nan if dtype == "float64" else pd.NA
        frame[name] = frame[name].astype(dtype)
    if "scenario" in columns:
        frame["scenario"] = frame["scenario"].fillna("")
    return frame[list(columns) + [c for c in frame.columns if c not in columns]]


# property column → (dimension it converts from, dimension it converts to, how many "to" per "from")
# e.g. gross density: 1 m³ → ρ kg
_EDGES = (
    ("gross_density_kg_m3", "[length] ** 3", _MASS, "m**3", "kg"),
    ("bulk_density_kg_m3", "[length] ** 3", _MASS, "m**3", "kg"),
    ("area_weight_kg_m2", "[length] ** 2", _MASS, "m**2", "kg"),
    ("layer_thickness_m", "[length] ** 2", "[length] ** 3", "m**2", "m**3"),
    ("linear_weight_kg_m", "[length]", _MASS, "m", "kg"),
    ("mass_per_piece_kg", "[piece]", _MASS, "piece", "kg"),
)


def _conversion_factor(library: EPDLibrary, index: int, unit_text: str) -> float:
    columns = library.memo(("conversion-columns",), lambda: _conversion_columns(library.datasets))
    row = {column: values[index] for column, values in columns.items()}
    declared_text = row["declared_unit"]
    if _isna(declared_text) or not str(declared_text).strip():
        raise ConversionError(
            f"data set {row['dataset_id']!r} declares no unit (declared_unit is missing in the source), "
            f"so {unit_text} cannot be converted to it",
            field="declared_unit",
        )
    declared = library.declared_unit(index)
    factor = _factor(
        unit_text,
        declared,
        tuple(_positive(row[column]) for column, *_ in _EDGES),
        _positive(row["conversion_factor_to_kg"]),
    )
    if factor is None:
        registry = unit_registry()
        start_dim = str(registry.Quantity(1.0, parse_unit(unit_text)).dimensionality)
        declared_dim = str(registry.Quantity(1.0, declared).dimensionality)
        missing = _missing_property_hint(registry, row, start_dim, declared_dim)
        raise ConversionError(
            f"cannot convert {unit_text} to the declared unit {declared} of data set {row['dataset_id']!r}: {missing}",
            field="unit",
        )
    return factor


def _conversion_columns(datasets: pd.DataFrame) -> dict[str, np.ndarray]:
    """The columns a unit conversion reads (and names in its errors), as arrays."""
    names = ["dataset_id", "declared_unit", "conversion_factor_to_kg", *(column for column, *_ in _EDGES)]
    return {name: datasets[name].to_numpy() for name in names if name in datasets}


def _positive(value) -> float | None:
    """A conversion property as used: its float value when given and > 0, else None."""
    return float(value) if not _isna(value) and float(value) > 0 else None


@functools.lru_cache(maxsize=16384)
def _factor(unit_text: str, declared, properties: tuple, per_kg: float | None) -> float | None:
    """How many ``declared`` units one ``unit_text`` is, given a data set's conversion properties
    (the values of the :data:`_EDGES` columns, then ``conversion_factor_to_kg``; None where not
    given); None when no chain of properties links the two.

    A pure function of its arguments, so it is cached across libraries: a library with estimates
    or a user library layered over the shipped one repeats the shipped data sets' conversions.
    """
    registry = unit_registry()
    source = registry.Quantity(1.0, parse_unit(unit_text))
    declared_quantity = registry.Quantity(1.0, declared)
    # tensor values are per ONE declared unit, so the factor is too (declared_amount not used)
    if source.dimensionality == declared_quantity.dimensionality:
        return float(source.to(declared).magnitude)
    # Graph over dimensions; each edge is a property of the data set. Breadth-first from the
    # source dimension to the declared one, multiplying factors along the way.
    edges: list[tuple[str, str, float, str, str]] = []
    for (_, a, b, unit_a, unit_b), value in zip(_EDGES, properties, strict=True):
        if value is not None:
            edges.append((a, b, value, unit_a, unit_b))
            edges.append((b, a, 1.0 / value, unit_b, unit_a))
    declared_dim = str(declared_quantity.dimensionality)
    if per_kg is not None and declared_dim != _dimension_name(registry, _MASS):
        # conversion_factor_to_kg = declared units per kg: one declared unit weighs 1/factor kg
        edges.append((declared_dim, _MASS, 1.0 / per_kg, str(declared), "kg"))
        edges.append((_MASS, declared_dim, per_kg, "kg", str(declared)))
    start_dim = str(source.dimensionality)
    frontier = [(start_dim, source)]
    seen = {start_dim}
    while frontier:
        dim, quantity = frontier.pop(0)
        for a, b, factor, unit_a, unit_b in edges:
            if _dimension_name(registry, a) != dim or _dimension_name(registry, b) in seen:
                continue
            converted = registry.Quantity(quantity.to(unit_a).magnitude * factor, unit_b)
            target = _dimension_name(registry, b)
            if target == declared_dim:
                return float(converted.to(declared).magnitude)
            seen.add(target)
            frontier.append((target, converted))
    return None


@functools.lru_cache(maxsize=64)
def _dimension_name(registry, text: str) -> str:
    if text in _DIM_UNITS:
        return str(registry.Quantity(1.0, _DIM_UNITS[text]).dimensionality)
    return text


_DIM_UNITS = {
    "[mass]": "kg",
    "[length]": "m",
    "[length] ** 2": "m**2",
    "[length] ** 3": "m**3",
    "[piece]": "piece",
}

# dimension → the property that gives its mass (what a missing link most likely needs)
_MASS_LINK = {
    "[length] ** 3": ("gross_density_kg_m3", "gross density (kg/m3)"),
    "[length] ** 2": ("area_weight_kg_m2", "area weight (kg/m2)"),
    "[length]": ("linear_weight_kg_m", "linear weight (kg/m)"),
    "[piece]": ("mass_per_piece_kg", "mass per piece (kg)"),
}


def _missing_property_hint(registry, row, source_dim: str, declared_dim: str) -> str:
    """Name the property (column) whose absence blocks the conversion."""
    names = {_dimension_name(registry, d): d for d in (*_DIM_UNITS,)}
    a, b = names.get(source_dim), names.get(declared_dim)
    if {a, b} == {"[length] ** 2", "[length] ** 3"}:
        return "missing property layer_thickness_m (layer thickness, m) to link m2 and m3"
    wanted = []
    for dim in (a, b):
        if dim in _MASS_LINK:
            column, label = _MASS_LINK[dim]
            if _isna(row[column]) or float(row[column]) <= 0:
                wanted.append(f"{column} ({label})")
    if wanted:
        return "missing property " + " and ".join(wanted) + " (or conversion_factor_to_kg)"
    return (
        f"no conversion property links {source_dim} to {declared_dim} "
        "(needs e.g. density, area weight, layer thickness, linear weight or mass per piece)"
    )


def _is_folder_reference(source: str | Path) -> bool:
    """A ``--library`` value that names a library folder (a path), not a shipped source name."""
    text = str(source)
    return isinstance(source, Path) or "/" in text or "\\" in text


def load_library(
    sources: Sequence[str] | None = None,
    folder: Path | None = None,
    table: str = "corrected",
    user: Sequence[str | Path] = (),
) -> EPDLibrary:
    """Load shipped EPD sources (all by default) from ``data/epd/<source>/``, with the user
    library folders ``user`` layered on top (:meth:`EPDLibrary.layered`). A path among
    ``sources`` (a library folder, e.g. from ``mpeil epd import``) counts as a user library, so
    ``--library obd2024 --library mylib/`` means the shipped ÖKOBAUDAT 2024 with ``mylib`` on top.

    ``table="corrected"`` applies a source's ``corrections.csv`` (BR18 Tabel 7 rows checked against
    the ÖKOBAUDAT data sets they link, ``scripts/check_tabel7.py``); ``"published"`` keeps every
    table exactly as published.
    """
    if sources is not None and any(_is_folder_reference(s) for s in sources):
        folders = [s for s in sources if _is_folder_reference(s)]
        shipped = [s for s in sources if not _is_folder_reference(s)]
        return load_library(shipped or None, folder, table, user=[*folders, *user])
    if user:
        base = load_library(sources, folder, table)
        return EPDLibrary.layered(base, [EPDLibrary.from_folder(Path(u)) for u in user])
    if table not in ("corrected", "published"):
        raise ValueError(f"table must be 'corrected' or 'published', not {table!r}")
    root = Path(folder) if folder else data_dir() / "epd"
    available = sorted(p.name for p in root.iterdir() if (p / "datasets.parquet").exists())
    chosen = available if sources is None else list(sources)
    unknown = [s for s in chosen if s not in available]
    if unknown:
        raise UnknownEPDError(f"unknown EPD source(s) {unknown}; available: {available}", field="library")
    source_folders = tuple(root / s for s in chosen)
    return _load_sources(source_folders, table == "corrected", "+".join(chosen), _signature(source_folders))


#: the files of a library folder whose content decides the library
_LIBRARY_FILES = ("datasets.parquet", "values.parquet", "corrections.csv", "manifest.json")


def _signature(folders: Sequence[Path]) -> tuple:
    """(path, size, modification time) of every file of the folders that exists: a new signature
    whenever a file is written, so a cached library never outlives its files."""
    out = []
    for folder in folders:
        for name in _LIBRARY_FILES:
            try:
                stat = (folder / name).stat()
            except OSError:
                continue
            out.append((str(folder / name), stat.st_size, stat.st_mtime_ns))
    return tuple(out)


@functools.lru_cache(maxsize=8)
def _load_sources(folders: tuple[Path, ...], corrected: bool, name: str, signature: tuple) -> EPDLibrary:
    """The shipped sources in ``folders``, read once per process and file version (``signature``).

    Every ``Scorer``/``mpeil.score`` without a library gets this one object, so what it derives
    once (tensors, conversions, estimates, flags: :meth:`EPDLibrary.memo`) serves every call after.
    """
    return EPDLibrary.concat([EPDLibrary.from_folder(f, corrected) for f in folders], name=name)


def _user_library_hint(reference: str, ids: list[str]) -> str:
    """``; 'mylib' is no shipped source: …`` when ``reference``'s prefix names neither a source of
    the library nor a shipped one, i.e. a user library the call was not given."""
    prefix, colon, _rest = str(reference).partition(":")
    if not colon or not prefix or any(i.startswith(prefix + ":") for i in ids):
        return ""
    if (data_dir() / "epd" / prefix / "datasets.parquet").exists():
        return f"; load the shipped source {prefix!r} (--library {prefix})"
    return f"; {prefix!r} is no shipped source but a user library: give its folder with --library FOLDER"


#: declared unit → the property column holding kg per one declared unit (a ``mass_factor`` correction)
_MASS_COLUMN = {
    "m3": "gross_density_kg_m3",
    "m2": "area_weight_kg_m2",
    "m": "linear_weight_kg_m",
    "piece": "mass_per_piece_kg",
}


def _apply_corrections(datasets: pd.DataFrame, values: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply ``corrections.csv`` (dataset_id, field = a module or ``mass_factor``, corrected).

    A module correction replaces the value of that module (every scenario, every indicator the
    row declares: Tabel 7 has GWP only); ``mass_factor`` replaces the mass property of the
    declared unit's dimension.
    """
    corrections = pd.read_csv(path, dtype={"dataset_id": str, "field": str})
    datasets, values = datasets.copy(), values.copy()
    for dataset_id, what, corrected in zip(
        corrections["dataset_id"], corrections["field"], corrections["corrected"].astype(float), strict=True
    ):
        if what == "mass_factor":
            at = (datasets["dataset_id"] == dataset_id).to_numpy(dtype=bool)
            unit = str(datasets["declared_unit"].to_numpy()[at][0])
            if unit not in _MASS_COLUMN:
                raise ValueError(f"{path}: mass_factor correction of {dataset_id} with declared unit {unit!r}")
            datasets.loc[at, _MASS_COLUMN[unit]] = corrected
        else:
            at = ((values["dataset_id"] == dataset_id) & (values["module"] == what)).to_numpy(dtype=bool)
            if not at.any():
                raise ValueError(f"{path}: {dataset_id} declares no module {what!r} to correct")
            values.loc[at, "value"] = corrected
    return datasets, values


def inline_library(datasets) -> EPDLibrary | None:
    """The data sets a building file carries (:class:`~mpeil.model.building.InlineDataset`), as a
    library named ``inline`` (ids ``inline:<id>``); None when there are none."""
    if not datasets:
        return None
    from .inline_screen import check_inline_datasets

    check_inline_datasets(datasets)  # hard bounds: an inline data set has no peers to be screened against
    rows: list[dict] = []
    values: list[dict] = []
    for item in datasets:
        dataset_id = f"inline:{item.id}"
        props = {c: getattr(item, c) for c in PROPERTY_COLUMNS if getattr(item, c, None) is not None}
        rows.append({"dataset_id": dataset_id, "source": "inline", "source_uuid": item.id, "name_en": item.name,
                     "data_type": "specific", "standard": "EN 15804+A2", "url": item.source,
                     "declared_amount": 1.0, "declared_unit": item.declared_unit, **props})  # fmt: skip
        for module, indicators in item.values.items():
            if module not in MODULES and module not in ("A1", "A2", "A3"):
                raise UnknownEPDError(f"inline data set {item.id!r}: unknown module {module!r}", field="datasets")
            values.extend(
                {"dataset_id": dataset_id, "module": module, "scenario": "", "indicator": code, "value": value}
                for code, value in indicators.items()
            )
    return EPDLibrary(pd.DataFrame(rows), pd.DataFrame(values), name="inline")


def library_for_buildings(base: EPDLibrary, buildings) -> EPDLibrary:
    """``base`` with the libraries the buildings name and the data sets they carry layered on top
    (in the order the buildings give them); ``base`` itself when they name none."""
    folders = list(dict.fromkeys(entry for b in buildings for entry in b.libraries))
    inline = inline_library([d for b in buildings for d in b.datasets])
    if not folders and inline is None:
        return base
    users = [EPDLibrary.from_folder(Path(folder)) for folder in folders]
    return EPDLibrary.layered(base, [*users, *([inline] if inline is not None else [])])

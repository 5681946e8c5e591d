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

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..model.library import MODULES as LIBRARY_MODULES
from ..model.library import EPDLibrary
from ..model.scenarios import EOL_ROUTES, ScenarioSet
from .circularity import CircularInputs, allocate, material_parameters, reconditioning_per_kg

__all__ = ["OUTPUT_MODULES", "Profiles", "IndicatorSpec", "build_profiles", "profile_keys"]

#: Modules of a layer result. B6/B7 (operational) are reported apart, never from layers.
OUTPUT_MODULES = ("A1-A3", "A4", "A5", "B1", "B2", "B3", "B4", "B5", "C1", "C2", "C3", "C4", "D")
_M = {m: k for k, m in enumerate(OUTPUT_MODULES)}
_C = ("C1", "C2", "C3", "C4")
#: modules where "not declared" means "not applicable", not a gap (EPDs rarely declare B1-B3/B5)
_NOT_APPLICABLE_IF_MISSING = ("B1", "B2", "B3", "B5")


@dataclass(frozen=True)
class IndicatorSpec:
    """An output indicator and the catalogue codes that may supply it, in order of preference."""

    code: str
    sources: tuple[str, ...]

    @classmethod
    def plain(cls, code: str) -> IndicatorSpec:
        return cls(code, (code,))


@dataclass(frozen=True)
class Profiles:
    values: np.ndarray  # float64[P, M, I]; NaN where a gap
    missing: np.ndarray  # bool[P, M, I]
    fallback: np.ndarray  # bool[P, I]: a later `sources` code supplied the A1-A3 value


def profile_keys(compiled) -> tuple[np.ndarray, pd.DataFrame]:
    """Per-line profile index and one row of scenario keys per profile."""
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
    # codes number the groups in order of first appearance, so first occurrences come in code order
    first = np.flatnonzero(~pd.Series(codes).duplicated().to_numpy())
    return codes, pd.DataFrame({name: np.asarray(values)[first] for name, values in columns.items()})


def _group_codes(columns: Sequence[np.ndarray]) -> np.ndarray:
    """int64[L]: one code per distinct row of ``columns``, numbered in order of first appearance.

    The same grouping as ``DataFrame.groupby(sort=False, dropna=False).ngroup()`` (NaN is a key of
    its own), done column by column: each column is factorised (hash-based, O(L); constant columns
    are skipped) and its codes are folded into one integer key per row.
    """
    n = len(columns[0]) if columns else 0
    combined = np.zeros(n, dtype=np.int64)
    radix = 1
    for values in columns:
        if n == 0:
            break
        first = values[0]
        if values.dtype.kind == "f" and first != first:  # NaN first: constant only if all NaN
            if np.isnan(values).all():
                continue
        elif (values == first).all():
            continue
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        if radix * len(uniques) >= 2**62:  # keep the folded key in int64
            combined, folded = pd.factorize(combined)
            combined, radix = combined.astype(np.int64), len(folded)
        combined = combined * len(uniques) + codes
        radix *= len(uniques)
    codes, _ = pd.factorize(combined, sort=False)
    return codes.astype(np.int64)


def _coalesced_tensor(
    library: EPDLibrary, indicators: Sequence[IndicatorSpec], choice: tuple, modules: tuple = OUTPUT_MODULES
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
    return out, fallback


def _per_kg(library: EPDLibrary, dataset_id: str, module: str, indicators, cache: dict) -> np.ndarray:
    """Burden per kg (route data sets) or per t·km (transport data sets): their first declared module."""
    key = (dataset_id, module)
    if key not in cache:
        index = library.resolve(dataset_id)
        if "__tensor__" not in cache:  # one coalesced tensor per profile build, not per data set
            cache["__tensor__"] = _coalesced_tensor(library, indicators, (), LIBRARY_MODULES)[0]
        row = cache["__tensor__"][index]
        k = LIBRARY_MODULES.index(module)
        if np.isnan(row[k]).all():  # stand-alone data sets declare only their own module
            declared = np.flatnonzero(~np.isnan(row).all(axis=1))
            k = declared[0] if declared.size else k
        cache[key] = row[k]
    return cache[key]


def _route_per_kg(
    library: EPDLibrary, scenarios: ScenarioSet, indicators: tuple, name: str, module: str, category: str | None
) -> np.ndarray:
    """Burden per kg of waste of one end-of-life route, module and waste category (read-only).

    Memoised on the library, keyed by the scenarios' content hash, so a stream of chunks looks
    every route up once, not once per chunk, and nothing outlives the library.
    """
    key = ("route", scenarios.fingerprint(), indicators, name, module, category)
    return library.memo(key, lambda: _route_burden(library, scenarios, indicators, name, module, category))


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
    keys: pd.DataFrame,
    transport_scenarios: Sequence[str],
    waste_categories: Sequence[str],
    scenario_choices: Sequence[tuple],
    indicators: Sequence[IndicatorSpec],
    replacement_modules: Sequence[str],
    loss_basis: str = "installed",
    allocation: str = "cutoff_d",
    multicycle_split: str = "equal",
) -> Profiles:
    n_profiles, n_ind = len(keys), len(indicators)
    values = np.full((n_profiles, len(OUTPUT_MODULES), n_ind), np.nan)
    fallback = np.zeros((n_profiles, n_ind), dtype=bool)
    dataset = keys["dataset"].to_numpy(dtype=np.int64)
    choice = keys["scenario_choice"].to_numpy(dtype=np.int64)
    for c in np.unique(choice):
        rows = choice == c
        tensor, used_fallback = _coalesced_tensor(library, indicators, scenario_choices[c])
        values[rows] = tensor[dataset[rows]]
        fallback[rows] = used_fallback[dataset[rows]]
    declared = ~np.isnan(values).all(axis=2)  # [P, M]: the data set declares the module
    unique_datasets = np.unique(dataset)
    mass_of = {int(d): library.mass_per_unit(int(d)) for d in unique_datasets}
    mass = np.array([mass_of[int(d)] for d in dataset], dtype=np.float64)  # kg per declared unit
    cache: dict = {}

    # ---- transport (A4, C2): kg × km / 1000 × burden per t·km, summed over legs
    transport = keys["transport"].to_numpy(dtype=np.int64)
    distance = keys["distance"].to_numpy(dtype=np.float64)
    sorted_share = keys["sorted_on_site"].to_numpy(dtype=np.float64)
    for module in ("A4", "C2"):
        k = _M[module]
        todo = ~declared[:, k]
        for t in np.unique(transport[todo & (transport >= 0)]):
            legs = scenarios.transport_legs(transport_scenarios[t], module)
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
            burden = np.zeros((rows.sum(), n_ind))
            for leg, applies_to in zip(legs.itertuples(index=False), applies, strict=True):
                per_tkm = leg.distance_km * _per_kg(library, leg.dataset_id, "A4", indicators, cache)
                # a leg "not_sorted_on_site" (detour via a sorting plant) carries only the unsorted share
                share = 1.0 - np.nan_to_num(sorted_share[rows]) if applies_to == "not_sorted_on_site" else 1.0
                burden += (np.asarray(share, dtype=np.float64) * np.ones(rows.sum()))[:, None] * per_tkm[None, :]
            values[rows, k] = (mass[rows] / 1000.0 * scale)[:, None] * burden

    # ---- end of life C3/C4 from route shares (per kg of waste)
    shares = keys[[f"eol_{r}" for r in EOL_ROUTES]].to_numpy(dtype=np.float64)
    waste = keys["waste_category"].to_numpy(dtype=np.int64)
    category_names = [waste_categories[c] if c >= 0 else None for c in waste]
    needs_eol = ~np.isnan(shares).any(axis=1)

    def per_kg(dataset_id: str, module: str) -> np.ndarray:
        return _per_kg(library, dataset_id, module, indicators, cache)

    def route(name: str, module: str, category: str | None) -> np.ndarray:
        return _route_per_kg(library, scenarios, tuple(indicators), name, module, category)

    groups = pd.DataFrame(np.column_stack([shares, waste]))[needs_eol].drop_duplicates()
    for module in ("C3", "C4"):
        k = _M[module]
        for row in groups.itertuples(index=False):
            route_shares, category = np.array(row[:4]), int(row[4])
            rows = needs_eol & ~declared[:, k] & (waste == category) & np.all(shares == route_shares, axis=1)
            if not rows.any():
                continue
            name = waste_categories[category] if category >= 0 else None
            burden = sum(
                (share * route(r, module, name) for r, share in zip(EOL_ROUTES, route_shares, strict=True) if share),
                np.zeros(n_ind),
            )
            values[rows, k] = mass[rows][:, None] * burden[None, :]

    # ---- biogenic carbon (EN 15804+A2 −1/+1): what leaves with reused or recycled material
    # is an outflow in C3. Route data sets model processing only, so when C3 comes from the
    # scenario, the uptake declared in A1-A3 is returned for the reuse + recycling share.
    biogenic_codes = [j for j, spec in enumerate(indicators) if spec.code in ("GWP-total", "GWP-biogenic")]
    if biogenic_codes:
        uptake = library.tensor(("GWP-biogenic",), ("A1-A3",))[dataset, 0, 0]
        k3 = _M["C3"]
        outflow = np.where(
            needs_eol & ~declared[:, k3] & (uptake < 0),
            -uptake * (np.nan_to_num(shares[:, 2]) + np.nan_to_num(shares[:, 3])),
            0.0,
        )
        for j in biogenic_codes:
            values[:, k3, j] = values[:, k3, j] + outflow

    # ---- reuse and recycling: allocation approach (engine/circularity.py)
    params = material_parameters(scenarios, pd.Series(category_names))
    # per-kg burdens depend only on the waste category: evaluate once per category
    recycle_kg = np.zeros((n_profiles, n_ind))
    landfill_kg = np.zeros((n_profiles, n_ind))
    incineration_kg = np.zeros((n_profiles, n_ind))
    recondition_kg = np.zeros((n_profiles, n_ind))
    substituted = np.full((n_profiles, n_ind), np.nan)
    final_c3 = np.full((n_profiles, n_ind), np.nan)
    final_c4 = np.full((n_profiles, n_ind), np.nan)
    # final disposal: the waste category's default routes (else the line's own), reuse left out
    own = np.nan_to_num(shares)
    final_cache: dict = {}
    for i in range(n_profiles):
        name = category_names[i]
        key = (name,) if name is not None else (None, *own[i])
        if key not in final_cache:
            base = np.array(scenarios.eol_shares(name)) if name is not None else own[i]
            base = base * np.array([1.0, 1.0, 0.0, 1.0])
            c3 = c4 = np.full(n_ind, np.nan)
            if base.sum() > 0:
                base = base / base.sum()
                c3 = sum(
                    (sh * route(r, "C3", name) for r, sh in zip(EOL_ROUTES, base, strict=True) if sh), np.zeros(n_ind)
                )
                c4 = sum(
                    (sh * route(r, "C4", name) for r, sh in zip(EOL_ROUTES, base, strict=True) if sh), np.zeros(n_ind)
                )
            final_cache[key] = (c3, c4)
        final_c3[i], final_c4[i] = final_cache[key]
    k3, k4 = _M["C3"], _M["C4"]
    final_c3 = np.where(declared[:, k3][:, None], values[:, k3], mass[:, None] * final_c3)
    final_c4 = np.where(declared[:, k4][:, None], values[:, k4], mass[:, None] * final_c4)
    energy_credit = np.zeros((n_profiles, n_ind))
    for category in np.unique(waste):
        rows = waste == category
        name = waste_categories[category] if category >= 0 else None
        first = int(np.argmax(rows))
        recycle_kg[rows] = route(str(params.at[first, "recycled_input_route"] or "recycling"), "C3", name)
        landfill_kg[rows] = route("landfill", "C4", name)
        incineration_kg[rows] = route("incineration", "C3", name)
        recondition_kg[rows] = reconditioning_per_kg(per_kg, params.at[first, "reconditioning_dataset"], n_ind)
        lhv = pd.to_numeric(params.at[first, "lhv_mj_per_kg"], errors="coerce") if "lhv_mj_per_kg" in params else np.nan
        if lhv == lhv and lhv > 0:  # energy recovery credit, only where the data are given
            per_mj = np.zeros(n_ind)
            for kind in ("heat", "elec"):
                efficiency = pd.to_numeric(params.at[first, f"x_er_{kind}"], errors="coerce")
                dataset_id = params.at[first, f"substituted_{kind}_dataset"]
                if efficiency == efficiency and efficiency > 0 and isinstance(dataset_id, str) and dataset_id:
                    per_mj = per_mj + efficiency * per_kg(dataset_id, "A1-A3")
            energy_credit[rows] = -(mass[rows] * lhv)[:, None] * per_mj[None, :]
        target = params.at[first, "substituted_dataset"] if "substituted_dataset" in params else ""
        if target == "self":
            substituted[rows] = values[rows, _M["A1-A3"]]
        elif isinstance(target, str) and target:
            substituted[rows] = mass[rows][:, None] * per_kg(target, "A1-A3")[None, :]
    inputs = CircularInputs(
        mass=mass,
        reused=keys["reused_input"].to_numpy(dtype=np.float64),
        recycled=keys["recycled_content"].to_numpy(dtype=np.float64),
        cycles=keys["use_cycles"].to_numpy(dtype=np.float64),
        cycle=keys["use_cycle"].to_numpy(dtype=np.float64),
        shares=shares,
        A=params["A"].to_numpy(dtype=np.float64),
        B=params["B"].to_numpy(dtype=np.float64),
        q_in=params["qs_in_qp"].to_numpy(dtype=np.float64),
        q_out=params["qs_out_qp"].to_numpy(dtype=np.float64),
        e_recycling=recycle_kg,
        e_landfill=landfill_kg,
        e_incineration=incineration_kg,
        e_reconditioning=recondition_kg,
        substituted=substituted,
        final_c3=final_c3,
        final_c4=final_c4,
        c3_declared=declared[:, k3],
        c4_declared=declared[:, k4],
        energy_credit=energy_credit,
    )
    installed, new = allocate(values, _M, inputs, allocation, multicycle_split)

    # ---- composites, for the installed product and for a replacement (a new product)
    loss = keys["loss_rate"].to_numpy(dtype=np.float64)
    factor = loss / (1.0 - loss) if loss_basis == "purchased" else loss
    for target in (installed, new):
        _composites(target, declared, factor, replacement_modules)
    installed[:, _M["B4"]] = new[:, _M["B4"]]  # a replacement is a new product (dk_zero: scaled already)
    missing = np.isnan(installed)
    return Profiles(values=installed, missing=missing, fallback=fallback)


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

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

from ..model.library import EPDLibrary
from ..model.scenarios import EOL_ROUTES, ScenarioSet

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
    def plain(cls, code: str) -> "IndicatorSpec":
        return cls(code, (code,))


@dataclass(frozen=True)
class Profiles:
    values: np.ndarray  # float64[P, M, I]; NaN where a gap
    missing: np.ndarray  # bool[P, M, I]
    fallback: np.ndarray  # bool[P, I]: a later `sources` code supplied the A1-A3 value


def profile_keys(compiled) -> tuple[np.ndarray, pd.DataFrame]:
    """Per-line profile index and one row of scenario keys per profile."""
    keys = pd.DataFrame(
        {
            "dataset": compiled.dataset,
            "transport": compiled.transport,
            "distance": compiled.transport_distance_km,
            "eol_landfill": compiled.eol_shares[:, 0],
            "eol_incineration": compiled.eol_shares[:, 1],
            "eol_reuse": compiled.eol_shares[:, 2],
            "eol_recycling": compiled.eol_shares[:, 3],
            "waste_category": compiled.waste_category,
            "loss_rate": compiled.loss_rate,
            "scenario_choice": compiled.scenario_choice,
        }
    )
    # hash-based grouping: O(L), NaN keys kept as their own group
    codes = keys.groupby(list(keys.columns), sort=False, dropna=False).ngroup().to_numpy()
    first = pd.Series(np.arange(len(codes))).groupby(codes, sort=True).first().to_numpy()
    return codes.astype(np.int64), keys.iloc[first].reset_index(drop=True)


def _coalesced_tensor(
    library: EPDLibrary, indicators: Sequence[IndicatorSpec], choice: tuple
) -> tuple[np.ndarray, np.ndarray]:
    codes = tuple(dict.fromkeys(code for spec in indicators for code in spec.sources))
    modules = ("A1-A3", *OUTPUT_MODULES[1:])
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
        tensor, _ = _coalesced_tensor(library, indicators, ())
        row = tensor[index]
        k = _M[module]
        if np.isnan(row[k]).all():  # stand-alone data sets declare only their own module
            declared = np.flatnonzero(~np.isnan(row).all(axis=1))
            k = declared[0] if declared.size else k
        cache[key] = row[k]
    return cache[key]


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
    for module in ("A4", "C2"):
        k = _M[module]
        todo = ~declared[:, k]
        for t in np.unique(transport[todo & (transport >= 0)]):
            legs = scenarios.transport_legs(transport_scenarios[t], module)
            rows = todo & (transport == t)
            if legs.empty:
                continue
            per_tkm = sum(
                leg.distance_km * _per_kg(library, leg.dataset_id, "A4", indicators, cache)
                for leg in legs.itertuples(index=False)
            )
            total_km = float(legs["distance_km"].sum())
            scale = np.ones(rows.sum())
            if module == "A4":
                override = distance[rows]
                scale = np.where(np.isnan(override), 1.0, override / total_km if total_km > 0 else np.nan)
            values[rows, k] = (mass[rows] / 1000.0 * scale)[:, None] * per_tkm[None, :]

    # ---- end of life C3/C4 from route shares (per kg of waste)
    shares = keys[[f"eol_{r}" for r in EOL_ROUTES]].to_numpy(dtype=np.float64)
    waste = keys["waste_category"].to_numpy(dtype=np.int64)
    needs_eol = ~np.isnan(shares).any(axis=1)
    groups = pd.DataFrame(np.column_stack([shares, waste]))[needs_eol].drop_duplicates()
    for module in ("C3", "C4"):
        k = _M[module]
        for row in groups.itertuples(index=False):
            route_shares, category = np.array(row[:4]), int(row[4])
            rows = needs_eol & ~declared[:, k] & (waste == category) & np.all(shares == route_shares, axis=1)
            if not rows.any():
                continue
            per_kg = np.zeros(n_ind)
            for route, share in zip(EOL_ROUTES, route_shares):
                if share == 0:
                    continue
                route_sets = scenarios.route_datasets(route, waste_categories[category] if category >= 0 else None)
                for r in route_sets[route_sets["module"] == module].itertuples(index=False):
                    per_kg = per_kg + share * r.share_of_route * _per_kg(library, r.dataset_id, module, indicators, cache)
            values[rows, k] = mass[rows][:, None] * per_kg[None, :]

    # ---- gaps before the composite modules
    missing = np.isnan(values)
    for module in _NOT_APPLICABLE_IF_MISSING:
        k = _M[module]
        values[:, k] = np.where(missing[:, k], 0.0, values[:, k])
        missing[:, k] = False

    # ---- A5 = declared + losses of the lost material (production, transport, end of life)
    loss = keys["loss_rate"].to_numpy(dtype=np.float64)
    factor = loss / (1.0 - loss) if loss_basis == "purchased" else loss
    lost_modules = [_M[m] for m in ("A1-A3", "A4", *_C)]
    lost = np.nansum(values[:, lost_modules], axis=1)
    k5 = _M["A5"]
    a5_declared = np.where(declared[:, k5][:, None], np.nan_to_num(values[:, k5]), 0.0)
    with_loss = ~np.isnan(factor)
    values[:, k5] = np.where(
        with_loss[:, None], a5_declared + np.nan_to_num(factor)[:, None] * lost,
        np.where(declared[:, k5][:, None], values[:, k5], np.nan),
    )
    missing[:, k5] = np.isnan(values[:, k5])

    # ---- B4: one replacement = Σ of the replacement modules (own declared B4 is not used: NR is ours)
    parts = [_M[m] for m in replacement_modules]
    k4 = _M["B4"]
    values[:, k4] = np.nansum(values[:, parts], axis=1)
    all_missing = np.isnan(values[:, parts]).all(axis=1)
    values[:, k4] = np.where(all_missing, np.nan, values[:, k4])
    missing[:, k4] = all_missing
    return Profiles(values=values, missing=missing, fallback=fallback)

"""Screening the EPD library: values far outside their category peers and self-contradicting data.

Three screens, thresholds from ``data/epd/screening.csv``:

- ``outlier``: an A1-A3 value per kg (per declared unit where the mass is unknown) more than
  ``outlier_log10`` decades and more than ``outlier_z`` robust standard deviations (1.4826 × MAD,
  in log10) from the median of its category peers (same indicator code, so
  EN 15804+A1 and +A2 data sets are screened against their own kind);
- ``properties``: conversion properties that give different masses for one declared unit;
- ``end_of_life``: a C3/C4 GWP per kg above what burning pure carbon emits.

:func:`screen_library` returns one row per flag: dataset_id, indicator ("" for a data-set flag),
flag, reason.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from ..paths import data_dir

__all__ = [
    "FLAG_COLUMNS",
    "screening_thresholds",
    "screen_library",
    "library_flags",
    "screen_with_shipped_peers",
    "name_peer_outliers",
    "SHIPPED_FLAGS",
]

#: flags of the shipped library, written by ``scripts/build_estimates.py`` (screening every data set
#: takes seconds: the mass of each declared unit goes through pint)
SHIPPED_FLAGS = ("epd", "estimates", "flags.parquet")

FLAG_COLUMNS = ("dataset_id", "indicator", "flag", "reason")
_GWP_CODES = ("GWP-total", "GWP-A1")


def screening_thresholds(path=None) -> dict[str, float]:
    """``key → value`` from ``data/epd/screening.csv``."""
    frame = pd.read_csv(path or data_dir() / "epd" / "screening.csv")
    return {str(k): float(v) for k, v in zip(frame["key"], frame["value"], strict=True)}


def screen_library(library, thresholds: dict[str, float] | None = None) -> pd.DataFrame:
    """Flags for every data set of ``library`` (see the module docstring)."""
    limits = thresholds or screening_thresholds()
    mass = np.array([library.mass_per_unit(i) for i in range(len(library))], dtype=np.float64)
    frames = [
        _outliers(library, mass, limits),
        _property_conflicts(library.datasets, limits),
        _end_of_life(library, mass, limits),
    ]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in FLAG_COLUMNS})
    return pd.concat(frames, ignore_index=True).astype("string")


def library_flags(library) -> pd.DataFrame:
    """The shipped flags when every data set of ``library`` was screened with the shipped library
    (same peers), else :func:`screen_library` on ``library`` itself, plus, for the data sets the
    shipped screen has not seen (a user's), the screen against peers found by name
    (:func:`name_peer_outliers`)."""
    path = data_dir().joinpath(*SHIPPED_FLAGS)
    if path.exists():
        ids = library.datasets["dataset_id"]
        screened = ids.isin(_screened_ids(path)).to_numpy(dtype=bool)
        if screened.all():
            table = pd.read_parquet(path)
            return table[table["dataset_id"].isin(set(ids))].reset_index(drop=True).astype("string")
        flags = screen_library(library)
        by_name = name_peer_outliers(library, np.flatnonzero(~screened), np.flatnonzero(screened))
        return pd.concat([flags, by_name], ignore_index=True).drop_duplicates(["dataset_id", "indicator", "flag"])
    return screen_library(library)


def screen_with_shipped_peers(user_library) -> pd.DataFrame:
    """Flags of ``user_library``'s own data sets, screened with the shipped library as their peers
    (a user library of a few data sets has none of its own): :func:`library_flags` of the two layered."""
    from .library import EPDLibrary, load_library

    layered = EPDLibrary.layered(load_library(), [user_library])
    flags = library_flags(layered)
    own = set(user_library.datasets["dataset_id"])
    return flags[flags["dataset_id"].isin(own)].reset_index(drop=True)


def _words(text: str, min_length: int) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", text.lower()) if len(w) >= min_length}


def name_peer_outliers(library, rows: np.ndarray, peers: np.ndarray, thresholds=None) -> pd.DataFrame:
    """Outliers among ``rows`` against the ``peers`` whose English name or category shares a word
    with theirs (a user's category path rarely matches the shipped one: "Steel >> WireRod" vs
    "Metals / Steel and iron / …"). A1-A3 per kg only, same standard; thresholds as for
    :func:`screen_library` (``outlier_log10``, ``outlier_z``, ``min_peers``, ``peer_word_min_length``)."""
    limits = thresholds or screening_thresholds()
    groups = _word_groups(library.datasets, rows, peers, int(limits["peer_word_min_length"]), int(limits["min_peers"]))
    if not groups:
        return pd.DataFrame(columns=list(FLAG_COLUMNS))
    needed = np.array(sorted(set(groups) | {p for g in groups.values() for p in g}), dtype=np.int64)
    codes = sorted(library.declared_indicators)
    values = library.tensor(tuple(codes), ("A1-A3",))[:, 0, :]
    mass = np.array([library.mass_per_unit(int(i)) for i in needed], dtype=np.float64)  # only where compared
    per_kg = np.full(values.shape, np.nan)
    with np.errstate(all="ignore"):
        per_kg[needed] = np.where((mass > 0)[:, None], values[needed] / mass[:, None], np.nan)
        logs = np.where(per_kg > 0, np.log10(per_kg), np.nan)
    found = []
    for row, group in groups.items():
        block = logs[group]
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an indicator no peer declares: NaN
            median = np.nanmedian(block, axis=0)
            spread = 1.4826 * np.nanmedian(np.abs(block - median), axis=0)
        enough = np.isfinite(block).sum(axis=0) >= int(limits["min_peers"])
        distance = np.nan_to_num(logs[row] - median)
        far = enough & (np.abs(distance) > limits["outlier_log10"]) & (np.abs(distance) > limits["outlier_z"] * spread)
        for j in np.flatnonzero(far).tolist():
            found.append((row, j, f"A1-A3 {codes[j]} {per_kg[row, j]:.3g} per kg is {10 ** abs(distance[j]):.3g}x "
                          f"{'above' if distance[j] > 0 else 'below'} the median ({10 ** median[j]:.3g}) of "
                          f"{len(group)} shipped data sets sharing a word of its name or category"))  # fmt: skip
    if not found:
        return pd.DataFrame(columns=list(FLAG_COLUMNS))
    rows_found = np.array([f[0] for f in found], dtype=np.int64)
    columns_found = np.array([f[1] for f in found], dtype=np.int64)
    return _flags(library, rows_found, codes, columns_found, "outlier", [f[2] for f in found]).astype("string")


def _word_groups(datasets: pd.DataFrame, rows, peers, min_length: int, min_peers: int) -> dict[int, list[int]]:
    """Per row (with at least ``min_peers``): the peers of its standard sharing a word of its name or category."""
    text = (datasets["name_en"].fillna("").astype(str) + " " + datasets["category"].fillna("").astype(str)).to_numpy()
    standard = datasets["standard"].fillna("?").astype(str).to_numpy()
    peer_words = [(int(p), _words(str(text[p]), min_length)) for p in peers]
    groups = {}
    for row in np.asarray(rows).tolist():
        words = _words(str(text[row]), min_length)
        group = [p for p, w in peer_words if w & words and standard[p] == standard[row]]
        if len(group) >= min_peers:
            groups[int(row)] = group
    return groups


def _screened_ids(path) -> set[str]:
    """The data set ids the shipped flags were computed for (``screened_ids`` next to the flags)."""
    ids = path.with_name("screened_ids.parquet")
    return set(pd.read_parquet(ids)["dataset_id"]) if ids.exists() else set()


def _group_keys(datasets: pd.DataFrame, depth: int | None) -> np.ndarray:
    """Peer key: standard, how the value is normalised, and the category path cut at ``depth``."""
    parts = datasets["category"].fillna("").astype(str).str.split(" / ")
    path = parts.str[:depth].str.join(" / ") if depth else pd.Series("", index=datasets.index)
    return (datasets["standard"].fillna("?").astype(str) + "|" + path).to_numpy(dtype=object)


def _peer_medians(logs: np.ndarray, datasets: pd.DataFrame, min_peers: int) -> tuple[np.ndarray, np.ndarray]:
    """Median and robust spread (1.4826 × MAD) of log10 values per column, over the most
    specific level with enough peers."""
    median_out, spread_out = np.full(logs.shape, np.nan), np.full(logs.shape, np.nan)
    for depth in (3, 2, 1, None):
        keys = _group_keys(datasets, depth)
        for key in pd.unique(keys):
            rows = np.flatnonzero(keys == key)
            columns = np.flatnonzero(np.isfinite(logs[rows]).sum(axis=0) >= min_peers)
            if not columns.size:
                continue
            block = logs[np.ix_(rows, columns)]
            with np.errstate(all="ignore"):
                median = np.nanmedian(block, axis=0)
                spread = 1.4826 * np.nanmedian(np.abs(block - median), axis=0)
            cells = np.ix_(rows, columns)
            fill = np.isnan(median_out[cells])
            median_out[cells] = np.where(fill, median, median_out[cells])
            spread_out[cells] = np.where(fill, spread, spread_out[cells])
    return median_out, spread_out


def _outliers(library, mass: np.ndarray, limits: dict[str, float]) -> pd.DataFrame:
    codes = sorted(library.declared_indicators)
    values = library.tensor(tuple(codes), ("A1-A3",))[:, 0, :]
    has_mass = np.isfinite(mass) & (mass > 0)
    per = np.where(has_mass[:, None], values / np.where(has_mass, mass, 1.0)[:, None], values)
    with np.errstate(all="ignore"):
        logs = np.where(per > 0, np.log10(per), np.nan)
    # per kg and per declared unit are different quantities: separate peer groups
    datasets = library.datasets.assign(
        standard=library.datasets["standard"].fillna("?").astype(str)
        + np.where(has_mass, "|kg", "|" + library.datasets["declared_unit"].fillna("?").astype(str))
    )
    median, spread = _peer_medians(logs, datasets, int(limits["min_peers"]))
    distance = np.nan_to_num(logs - median)
    far = (np.abs(distance) > limits["outlier_log10"]) & (np.abs(distance) > limits["outlier_z"] * spread)
    d, j = np.nonzero(far)
    basis = np.where(has_mass[d], "per kg", "per declared unit")
    reasons = [
        f"A1-A3 {codes[jj]} {per[dd, jj]:.3g} {b} is {10 ** abs(distance[dd, jj]):.3g}x "
        f"{'above' if distance[dd, jj] > 0 else 'below'} the median of its category peers ({10 ** median[dd, jj]:.3g})"
        for dd, jj, b in zip(d, j, basis, strict=True)
    ]
    return _flags(library, d, codes, j, "outlier", reasons)


def _flags(library, d: np.ndarray, codes, j: np.ndarray, flag: str, reasons: list[str]) -> pd.DataFrame:
    """Flag rows (:data:`FLAG_COLUMNS`) for data sets ``d`` and indicators ``codes[j]``."""
    return pd.DataFrame(
        {
            "dataset_id": library.datasets["dataset_id"].to_numpy(dtype=object)[d],
            "indicator": np.asarray(codes, dtype=object)[j],
            "flag": flag,
            "reason": reasons,
        }
    )


def _property_conflicts(datasets: pd.DataFrame, limits: dict[str, float]) -> pd.DataFrame:
    """Density × thickness vs area weight; the per-kg factor vs the unit's own mass property."""
    rows = []
    tolerance = 1.0 + limits["property_tolerance"]
    for row in datasets.itertuples(index=False):
        pairs = _mass_pairs(row)
        for label, a, b in pairs:
            if a > 0 and b > 0 and max(a, b) / min(a, b) > tolerance:
                rows.append((row.dataset_id, "", "properties", f"{label}: {a:.4g} vs {b:.4g} kg"))
    return pd.DataFrame(rows, columns=list(FLAG_COLUMNS))


def _mass_pairs(row) -> list[tuple[str, float, float]]:
    """(what, mass one way, mass the other way) for every pair of properties that can disagree."""
    density, area, thickness = row.gross_density_kg_m3, row.area_weight_kg_m2, row.layer_thickness_m
    pairs = []
    if _given(density) and _given(area) and _given(thickness):
        pairs.append(("density x thickness vs area weight (per m2)", density * thickness, area))
    unit = str(row.declared_unit).strip() if _given(row.declared_unit) else ""
    own = {"m3": density, "m2": area, "m": row.linear_weight_kg_m, "piece": row.mass_per_piece_kg}.get(unit)
    factor = row.conversion_factor_to_kg
    if _given(factor) and _given(own):
        pairs.append((f"per-kg factor vs the {unit} mass property (per {unit})", 1.0 / factor, own))
    return pairs


def _given(value) -> bool:
    return value is not None and not pd.isna(value)


def _end_of_life(library, mass: np.ndarray, limits: dict[str, float]) -> pd.DataFrame:
    codes = [c for c in _GWP_CODES if c in library.declared_indicators]
    if not codes:
        return pd.DataFrame(columns=list(FLAG_COLUMNS))
    values = library.tensor(tuple(codes), ("C3", "C4"))
    with np.errstate(all="ignore"):
        per_kg = values / mass[:, None, None]
    d, k, j = np.nonzero(np.nan_to_num(per_kg) > limits["eol_gwp_max_per_kg"])
    modules = ("C3", "C4")
    reasons = [
        f"{modules[kk]} {codes[jj]} {per_kg[dd, kk, jj]:.3g} kg CO2e per kg of the declared unit's mass "
        f"({mass[dd]:.4g} kg) exceeds {limits['eol_gwp_max_per_kg']:g}; burning pure carbon emits 3.67"
        for dd, kk, jj in zip(d, k, j, strict=True)
    ]
    return _flags(library, d, codes, j, "end_of_life", reasons)

"""Peer estimates for a user's EN 15804+A2 data sets, the model of the shipped ones.

The shipped library's undeclared EN 15804+A2 values are filled from ``data/epd/estimates/``
(``scripts/build_estimates.py``): ``value = x_p × median over peers of (indicator / x_p)``, with
``x_p`` a predictor the data set declares in the same module (another indicator, or its mass per
declared unit, ``kg``). A data set imported by ``mpeil epd import`` is not in that table, so one
of its lines lacking an indicator used to leave the indicator missing for the whole building.

:func:`user_estimates` applies the same model to the data sets of a layered library that the
shipped screen has not seen (``screened_ids.parquet``), with the shipped EN 15804+A2 data sets as
peers: the same category path (depth 3, 2, 1; at least ``MIN_PEERS`` peers declaring both), else
those sharing a word of the name or category (:mod:`mpeil.model.screening`, as the screen finds
peers for user data: a user's category path rarely matches the shipped one), else every shipped
EN 15804+A2 data set. The predictor of each indicator is the shipped model's best
(``validation.csv``), then the others the shipped table uses for it, most used first. Values the
shipped screen flags as outliers are nobody's peer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..paths import data_dir
from .indicators import EN15804_A2_CORE_AND_ADDITIONAL

__all__ = ["user_estimates", "MIN_PEERS"]

#: a peer median needs this many peers declaring both values (scripts/build_estimates.py's MIN_PEERS)
MIN_PEERS = 3
_A2 = "EN 15804+A2"
_COLUMNS = ("dataset_id", "module", "indicator", "value", "sigma_log", "n_peers", "level", "predictor", "peer_ratio")


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64" if c in ("value", "sigma_log", "peer_ratio") else "object")
                         for c in _COLUMNS})  # fmt: skip


def _predictors() -> dict[str, list[str]]:
    """Per indicator, its predictors in the order the shipped model tries them."""
    folder = data_dir() / "epd" / "estimates"
    if not (folder / "validation.csv").is_file() or not (folder / "estimates.parquet").is_file():
        return {}
    validation = pd.read_csv(folder / "validation.csv")
    best = validation[(validation["level"] == "cascade") & (validation["modules"] == "A1-A3")]
    table = pd.read_parquet(folder / "estimates.parquet", columns=["indicator", "predictor", "kind"])
    used = table[table["kind"] == "gap"].groupby(["indicator", "predictor"], sort=True).size()
    out = {}
    for indicator, predictor in zip(best["indicator"], best["predictor"], strict=True):
        others = used.get(indicator, pd.Series(dtype="int64")).sort_values(ascending=False, kind="stable")
        out[str(indicator)] = list(dict.fromkeys([str(predictor), *map(str, others.index)]))
    return out


def _peer_groups(library, user: np.ndarray, shipped: np.ndarray) -> dict[int, list[tuple[str, np.ndarray]]]:
    """Per user row: its candidate peer groups, most specific first, as (level, shipped rows)."""
    from .screening import _word_groups, screening_thresholds

    limits = screening_thresholds()
    words = _word_groups(library.datasets, user, shipped, int(limits["peer_word_min_length"]), MIN_PEERS)
    parts = library.datasets["category"].fillna("").astype(str).str.split(" / ")
    groups = {}
    for row in user.tolist():
        levels = []
        for name, depth in (("category", 3), ("subgroup", 2), ("group", 1)):
            key = parts.iloc[row][:depth]
            if len(key) == depth and all(key):
                keys = parts.iloc[shipped].str[:depth]
                levels.append((name, shipped[keys.map(lambda k, key=key: k == key).to_numpy(dtype=bool)]))
        if row in words:
            levels.append(("name words", np.asarray(words[row], dtype=np.int64)))
        levels.append(("all A2", shipped))
        groups[row] = levels
    return groups


def _predictor_column(library, tensor, codes, rows: np.ndarray, predictor: str) -> np.ndarray:
    """x_p[row, module] per declared unit for ``rows``, NaN where the module or predictor is not declared."""
    declared = np.isfinite(tensor[rows, :, codes.index("GWP-total")])
    if predictor == "kg":
        mass = np.array([library.mass_per_unit(int(r)) for r in rows], dtype=np.float64)
        x = np.repeat(mass[:, None], tensor.shape[1], axis=1)
    else:
        x = tensor[rows, :, codes.index(predictor)].copy()
    x[~declared] = np.nan
    return x


def _ratio(library, tensor, codes, peers: np.ndarray, target: str, predictor: str, module: int):
    """(median, n, σ of ln) of target/predictor over ``peers`` declaring both in ``module``."""
    y = tensor[peers, module, codes.index(target)]
    peers, y = peers[np.isfinite(y)], y[np.isfinite(y)]  # only these need a predictor (kg: a pint call each)
    x = _predictor_column(library, tensor, codes, peers, predictor)[:, module]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where((x != 0) & np.isfinite(x), y / x, np.nan)
    ratio = ratio[np.isfinite(ratio)]
    positive = ratio[ratio > 0]
    sigma = float(np.std(np.log(positive), ddof=1)) if positive.size >= MIN_PEERS else np.nan
    return (float(np.median(ratio)) if ratio.size else np.nan), int(ratio.size), sigma


def _estimate_cell(library, tensor, codes, row: int, module: int, target: str, predictors, groups) -> dict | None:
    """The estimate of one undeclared (row, module, target), or None when no predictor and peers serve."""
    from .library import MODULES

    for predictor in predictors:
        if predictor == target or (predictor != "kg" and predictor not in codes):
            continue
        x = _predictor_column(library, tensor, codes, np.array([row]), predictor)[0, module]
        if not np.isfinite(x):
            continue
        for level, peers in groups:
            median, n, sigma = _ratio(library, tensor, codes, peers, target, predictor, module)
            if n >= MIN_PEERS and np.isfinite(median):
                dataset_id = str(library.datasets["dataset_id"].iat[row])
                return {"dataset_id": dataset_id, "module": MODULES[module], "indicator": target,
                        "value": float(x * median), "sigma_log": sigma, "n_peers": n, "level": level,
                        "predictor": predictor, "peer_ratio": median}  # fmt: skip
    return None


def user_estimates(library, screened: set[str]) -> pd.DataFrame:
    """Peer estimates (the columns of ``EPDLibrary.estimates``) for the EN 15804+A2 data sets of
    ``library`` whose id is not in ``screened`` (the shipped screen's ids): one row per module a data
    set declares (GWP-total present) and EN 15804+A2 indicator it does not declare there."""
    from .library import MODULES

    standard = library.datasets["standard"].fillna("").astype(str).to_numpy()
    shipped_rows = library.datasets["dataset_id"].isin(screened).to_numpy(dtype=bool)
    user = np.flatnonzero(~shipped_rows & (standard == _A2))
    shipped = np.flatnonzero(shipped_rows & (standard == _A2))
    if not user.size or not shipped.size:
        return _empty()
    predictors = _predictors()
    if not predictors:
        return _empty()
    codes = list(dict.fromkeys([*EN15804_A2_CORE_AND_ADDITIONAL, *(p for ps in predictors.values() for p in ps)]))
    codes = [c for c in codes if c != "kg"]
    tensor = _without_outliers(library, library.tensor(tuple(codes), MODULES), codes, shipped)
    groups = _peer_groups(library, user, shipped)
    rows = []
    for row in user.tolist():
        declared_modules = np.flatnonzero(np.isfinite(tensor[row, :, codes.index("GWP-total")]))
        for target in EN15804_A2_CORE_AND_ADDITIONAL:
            for module in declared_modules.tolist():
                if np.isfinite(tensor[row, module, codes.index(target)]) or target not in predictors:
                    continue
                cell = _estimate_cell(library, tensor, codes, row, module, target, predictors[target], groups[row])
                if cell is not None:
                    rows.append(cell)
    return pd.DataFrame(rows, columns=list(_COLUMNS)) if rows else _empty()


def _without_outliers(library, tensor: np.ndarray, codes: list[str], shipped: np.ndarray) -> np.ndarray:
    """A copy with the shipped data sets' values that the shipped screen flags as outliers set to NaN
    (all modules), so that they are nobody's peer (as in ``scripts/build_estimates.py``)."""
    from .screening import SHIPPED_FLAGS

    path = data_dir().joinpath(*SHIPPED_FLAGS)
    out = tensor.copy()
    if not path.is_file():
        return out
    flags = pd.read_parquet(path)
    flags = flags[(flags["flag"] == "outlier") & flags["indicator"].isin(codes)]
    position = {str(library.datasets["dataset_id"].iat[r]): r for r in shipped.tolist()}
    for dataset_id, indicator in zip(flags["dataset_id"], flags["indicator"], strict=True):
        if str(dataset_id) in position:
            out[position[str(dataset_id)], :, codes.index(str(indicator))] = np.nan
    return out

"""Regenerate ``data/epd/estimates/estimates.parquet`` and its ``SOURCE.md``.

Peer model (documented in the SOURCE.md it writes): for an EN 15804+A2 data set that lacks an
indicator of EN 15804+A2 in a module it declares, the estimate is

    value = x_p(data set, module) × median over peers of (indicator / x_p)

where ``x_p`` is a *predictor* the data set does declare (another indicator in the same module,
or its mass per declared unit, "kg") and the peers are the EN 15804+A2 data sets of the same
ÖKOBAUDAT category path that declare both, falling back to broader levels of the path and then
to every EN 15804+A2 data set. The predictor of each indicator is the one with the lowest
leave-one-out error (A1-A3). The lognormal σ (of ln) is the spread of the peers' ratios.

Usage: ``python scripts/build_estimates.py`` (from the repository root; about 20 s).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mpeil.model.indicators import EN15804_A2_CORE_AND_ADDITIONAL  # noqa: E402
from mpeil.model.library import MODULES, load_library  # noqa: E402
from mpeil.model.screening import screen_library  # noqa: E402

OUT = ROOT / "data" / "epd" / "estimates"
LEVELS = ("category", "subgroup", "group", "all A2")
MIN_PEERS = 3
PREDICTORS = ("kg", "GWP-fossil", "AP", "EP-terrestrial", "EP-marine", "POCP", "ADPF", "ADPE", "WDP", "ODP")


def level_keys(categories: pd.Series) -> dict[str, np.ndarray]:
    """Group key of each data set at each level (category path depth 3, 2, 1, everything)."""
    parts = categories.fillna("").astype(str).str.split(" / ")
    keys = {
        "category": parts.str[:3].str.join(" / "),
        "subgroup": parts.str[:2].str.join(" / "),
        "group": parts.str[:1].str.join(" / "),
    }
    out = {name: key.where(key.str.len() > 0, "?" + name).to_numpy(dtype=object) for name, key in keys.items()}
    out["all A2"] = np.full(len(categories), "all", dtype=object)
    return out


def loo_medians(values: np.ndarray) -> tuple[float, np.ndarray]:
    """For a vector with NaNs: (median of all finite, median of the others for each finite)."""
    finite = np.flatnonzero(np.isfinite(values))
    loo = np.full(values.shape, np.nan)
    n = finite.size
    if n == 0:
        return np.nan, loo
    order = finite[np.argsort(values[finite], kind="stable")]
    s = values[order]
    if n >= 2:
        rank = np.arange(n)
        m = n - 1  # size of the remaining sample

        def pick(k: int) -> np.ndarray:  # element k of the sorted sample without the one at `rank`
            return np.where(k < rank, s[k], s[min(k + 1, n - 1)])

        loo[order] = pick(m // 2) if m % 2 else (pick(m // 2 - 1) + pick(m // 2)) / 2.0
    return float(np.median(s)), loo


def ratio_stats(ratio: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per data set: peer median (excluding itself), its LOO median, number of peers, σ of ln ratio."""
    median = np.full(ratio.shape, np.nan)
    loo = np.full(ratio.shape, np.nan)
    n_peers = np.zeros(ratio.shape, dtype=np.int64)
    sigma = np.full(ratio.shape, np.nan)
    for key in pd.unique(keys):
        members = np.flatnonzero(keys == key)
        block = ratio[members]  # [n, M]
        finite = np.isfinite(block)
        count = finite.sum(axis=0)
        for k in range(block.shape[1]):
            if count[k] == 0:
                continue
            med, loo_k = loo_medians(block[:, k])
            median[members, k] = med
            loo[members, k] = loo_k
            n_peers[members, k] = count[k] - finite[:, k]
            positive = block[:, k][finite[:, k] & (block[:, k] > 0)]
            if positive.size >= MIN_PEERS:
                sigma[members, k] = float(np.std(np.log(positive), ddof=1))
    return median, loo, n_peers, sigma


def cascade(stats: dict[str, tuple], use_loo: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Most specific level with at least MIN_PEERS peers: (ratio, level index, n_peers, σ)."""
    shape = stats[LEVELS[0]][0].shape
    ratio, level = np.full(shape, np.nan), np.full(shape, -1)
    n_peers, sigma = np.zeros(shape, dtype=np.int64), np.full(shape, np.nan)
    for i, name in enumerate(LEVELS):
        median, loo, n, s = stats[name]
        value = loo if use_loo else median
        take = (level < 0) & (n >= MIN_PEERS) & np.isfinite(value)
        ratio[take], level[take], n_peers[take], sigma[take] = value[take], i, n[take], s[take]
    return ratio, level, n_peers, sigma


def log_error(estimate: np.ndarray, declared: np.ndarray) -> np.ndarray:
    """|log10(estimate/declared)| where both are positive, NaN elsewhere."""
    ok = (estimate > 0) & (declared > 0) & np.isfinite(estimate) & np.isfinite(declared)
    out = np.full(estimate.shape, np.nan)
    out[ok] = np.abs(np.log10(estimate[ok] / declared[ok]))
    return out


def predictor_values(tensor: np.ndarray, codes: list[str], mass: np.ndarray, predictor: str) -> np.ndarray:
    """x_p[d, m]: the predictor per declared unit, NaN where the module is not declared."""
    declared_module = np.isfinite(tensor[:, :, codes.index("GWP-total")])
    if predictor == "kg":
        x = np.repeat(mass[:, None], tensor.shape[1], axis=1)
    else:
        x = tensor[:, :, codes.index(predictor)].copy()
    x[~declared_module] = np.nan
    return x


def fit(tensor, codes, mass, keys, target: str, predictor: str, declared: np.ndarray) -> dict:
    """Peer ratios of ``target`` to ``predictor``; ``tensor`` has flagged values blanked, so they
    are nobody's peer, while ``declared`` (bool[d, module]) says what the source declares."""
    y = tensor[:, :, codes.index(target)]
    x = predictor_values(tensor, codes, mass, predictor)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where((x != 0) & np.isfinite(x), y / x, np.nan)
    stats = {name: ratio_stats(ratio, keys[name]) for name in LEVELS}
    return {"x": x, "y": y, "stats": stats, "predictor": predictor, "declared": declared}


def loo_error(model: dict, module: int | None = 0) -> np.ndarray:
    """LOO |log10 error| of the cascade estimate, for one module column (None: all)."""
    ratio, _, _, _ = cascade(model["stats"], use_loo=True)
    error = log_error(model["x"] * ratio, model["y"])
    return error[:, module] if module is not None else error.ravel()


def ranked_models(tensor, codes, mass, keys, target: str, declared: np.ndarray) -> list[dict]:
    """Models of ``target`` for every predictor, best (lowest LOO median error in A1-A3) first."""
    scored = []
    for predictor in PREDICTORS:
        if predictor == target:
            continue
        model = fit(tensor, codes, mass, keys, target, predictor, declared)
        error = loo_error(model)
        scored.append((float(np.nanmedian(error)) if np.isfinite(error).any() else np.inf, predictor, model))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [model for _, _, model in scored]


def estimate_rows(model: dict, ids: np.ndarray, target: str, done: np.ndarray, kind: str = "gap") -> pd.DataFrame:
    """``gap``: one row per (data set, module) that declares the module but not ``target`` (and is
    not ``done``); ``peer``: the leave-one-out peer estimate of a declared value (to replace a
    value the screen flags)."""
    ratio, level, n_peers, sigma = cascade(model["stats"], use_loo=False)
    if kind == "peer":  # a value among the peers is left out of its own median; a blanked one is not there
        among = np.isfinite(model["y"]) & np.isfinite(model["x"])
        loo = cascade(model["stats"], use_loo=True)
        ratio, level, n_peers, sigma = (
            np.where(among, a, b) for a, b in zip(loo, (ratio, level, n_peers, sigma), strict=False)
        )
    value = model["x"] * ratio
    declared = model["declared"]
    need = (declared if kind == "peer" else ~declared) & np.isfinite(value) & ~done
    done |= need
    d, k = np.nonzero(need)
    return pd.DataFrame(
        {
            "dataset_id": ids[d],
            "module": np.asarray(MODULES, dtype=object)[k],
            "indicator": target,
            "value": value[d, k],
            "sigma_log": sigma[d, k],
            "n_peers": n_peers[d, k],
            "level": np.asarray(LEVELS, dtype=object)[level[d, k]],
            "predictor": model["predictor"],
            "peer_ratio": ratio[d, k],
            "kind": kind,
        }
    )


def validation_rows(model: dict, target: str) -> list[dict]:
    """Leave-one-out error per level (each level on its own) and for the cascade, A1-A3 and all modules."""
    rows = []
    x, y = model["x"], model["y"]
    for name in LEVELS:
        _, loo, n, _ = model["stats"][name]
        usable = np.where(n >= MIN_PEERS, loo, np.nan)
        rows.append(_summary(target, model["predictor"], name, "A1-A3", log_error(x * usable, y)[:, 0]))
    rows.append(_summary(target, model["predictor"], "cascade", "A1-A3", loo_error(model, 0)))
    rows.append(_summary(target, model["predictor"], "cascade", "all modules", loo_error(model, None)))
    return rows


def _summary(target: str, predictor: str, level: str, modules: str, error: np.ndarray) -> dict:
    error = error[np.isfinite(error)]
    return {
        "indicator": target,
        "predictor": predictor,
        "level": level,
        "modules": modules,
        "n": int(error.size),
        "median_abs_log10": float(np.median(error)) if error.size else np.nan,
        "p90_abs_log10": float(np.quantile(error, 0.9)) if error.size else np.nan,
    }


def blank_flagged(tensor: np.ndarray, flags: pd.DataFrame, library, rows: np.ndarray, codes: list[str]) -> np.ndarray:
    """A copy with every value the library screen flags as an outlier set to NaN (all modules):
    a value 10^10 off (e.g. indicator columns shifted in the source) must not become a peer."""
    flags = flags[(flags["flag"] == "outlier") & flags["indicator"].isin(codes)]
    position = {dataset_id: i for i, dataset_id in enumerate(library.datasets["dataset_id"].iloc[rows])}
    out = tensor.copy()
    for dataset_id, indicator in zip(flags["dataset_id"], flags["indicator"], strict=True):
        if dataset_id in position:
            out[position[dataset_id], :, codes.index(indicator)] = np.nan
    return out


def build() -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    library = load_library()
    flags = screen_library(library)
    OUT.mkdir(parents=True, exist_ok=True)
    flags.to_parquet(OUT / "flags.parquet", index=False, compression="zstd")
    library.datasets[["dataset_id"]].to_parquet(OUT / "screened_ids.parquet", index=False, compression="zstd")
    a2 = np.flatnonzero((library.datasets["standard"] == "EN 15804+A2").to_numpy(dtype=bool))
    codes = list(dict.fromkeys([*EN15804_A2_CORE_AND_ADDITIONAL, *[p for p in PREDICTORS if p != "kg"]]))
    declared_tensor = library.tensor(tuple(codes), MODULES)[a2]
    tensor = blank_flagged(declared_tensor, flags, library, a2, codes)
    mass = np.array([library.mass_per_unit(int(d)) for d in a2])
    ids = library.datasets["dataset_id"].to_numpy(dtype=object)[a2]
    keys = level_keys(library.datasets["category"].iloc[a2].reset_index(drop=True))
    estimates, validation = [], []
    for target in EN15804_A2_CORE_AND_ADDITIONAL:
        declared = np.isfinite(declared_tensor[:, :, codes.index(target)])
        models = ranked_models(tensor, codes, mass, keys, target, declared)
        done = np.zeros(tensor.shape[:2], dtype=bool)
        peer_done = np.zeros(tensor.shape[:2], dtype=bool)
        for model in models:  # the best predictor first; the next ones where it is not declared
            estimates.append(estimate_rows(model, ids, target, done))
            estimates.append(estimate_rows(model, ids, target, peer_done, kind="peer"))
        validation.extend(validation_rows(models[0], target))
    table = pd.concat(estimates, ignore_index=True)
    meta = {
        "library": library.name,
        "fingerprint": library.fingerprint(),
        "n_a2": int(a2.size),
        "n_flags": len(flags),
        "n_flagged": flags["dataset_id"].nunique(),
    }
    return table, pd.DataFrame(validation), meta


def markdown_table(validation: pd.DataFrame) -> str:
    lines = [
        "| indicator | predictor | level | modules | n | median \\|log10(est/decl)\\| | p90 |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    for r in validation.itertuples(index=False):
        lines.append(
            f"| {r.indicator} | {r.predictor} | {r.level} | {r.modules} | {r.n} | "
            f"{r.median_abs_log10:.3f} | {r.p90_abs_log10:.3f} |"
        )
    return "\n".join(lines)


SOURCE_TEMPLATE = """# Estimated EN 15804+A2 indicators (peer model)

Generated by `python scripts/build_estimates.py` — do not edit by hand. Input: the shipped EPD
library `{library}` (fingerprint `{fingerprint}`), its {n_a2} EN 15804+A2 data sets.

## What the table holds
`estimates.parquet`, one row per (data set, module, indicator) that a data set does **not**
declare although EN 15804+A2 defines it and the data set declares that module (GWP-total present):
`dataset_id`, `module`, `indicator`, `value` (per **one** declared unit, like the engine's
tensor), `sigma_log` (lognormal σ of ln, the spread of the peers' ratios; NaN when fewer than
{min_peers} positive peer ratios), `n_peers`, `level` (category level the peers come from),
`predictor`, `peer_ratio` and `kind`: `gap` fills an undeclared value ({n_gap} rows, {n_sets} data
sets); `peer` is the leave-one-out peer estimate of a **declared** value ({n_peer} rows), used only
to replace a value the library screen flags when a method sets `flagged_values = "estimate"`.

## Model
`value = x_p × median over peers of (indicator / x_p)`, where `x_p` is what the data set declares
for the predictor `p` in the same module: another indicator, or its mass per declared unit (`kg`,
from the conversion properties). Peers: EN 15804+A2 data sets that declare both, in the same
ÖKOBAUDAT category path (`category`: the first three levels), else the first two (`subgroup`), else
the first (`group`), else every EN 15804+A2 data set (`all A2`); a level is used when it has at
least {min_peers} peers. Values the library screen flags as outliers (`data/epd/screening.csv`,
`mpeil.model.screening`; e.g. data sets whose indicator columns are shifted in the source) are
nobody's peer and are left out of the validation. The shipped data carry no waste category per data set, so the waste-category
fallback of the issue is not available; `all A2` takes its place. The predictor of each
indicator is the candidate ({predictors}) with the lowest leave-one-out median error in A1-A3;
where a data set does not declare that predictor (or its mass is unknown) the next best one is used
(column `predictor`). The validation table below is for the best predictor.

## Leave-one-out validation
For every data set that declares the indicator, the estimate from the others (itself left out of
the peer medians) against the declared value: median and p90 of |log10(estimate/declared)| (0.3 is
a factor 2, 1.0 a factor 10). Pairs where either value is ≤ 0 are left out. Each level on its own
(where it has ≥ {min_peers} peers) and the cascade the table uses.

{table}

## Screening flags
`flags.parquet` ({n_flags} flags on {n_flagged} data sets: dataset_id, indicator, flag, reason) is
`mpeil.model.screening.screen_library` on the whole shipped library with the thresholds of
`../screening.csv`; `screened_ids.parquet` lists the data sets screened. `EPDLibrary.flags` reads
it when every data set of a library was screened here (same peers), and screens anew otherwise.

## Licence
Derived from ÖKOBAUDAT (BBSR) data; see `../obd2024/SOURCE.md` for the terms and attribution.
"""


def main() -> None:
    table, validation, meta = build()
    OUT.mkdir(parents=True, exist_ok=True)
    table = table.astype(dict.fromkeys(("dataset_id", "module", "indicator", "level", "predictor", "kind"), "string"))
    table.to_parquet(OUT / "estimates.parquet", index=False, compression="zstd")
    validation.to_csv(OUT / "validation.csv", index=False, float_format="%.4f")
    text = SOURCE_TEMPLATE.format(
        **meta,
        min_peers=MIN_PEERS,
        n_gap=int((table["kind"] == "gap").sum()),
        n_peer=int((table["kind"] == "peer").sum()),
        n_sets=table.loc[table["kind"] == "gap", "dataset_id"].nunique(),
        predictors=", ".join(PREDICTORS),
        table=markdown_table(validation),
    )
    (OUT / "SOURCE.md").write_text(text, encoding="utf-8")
    print(f"{(table['kind'] == 'gap').sum()} gap estimates, {(table['kind'] == 'peer').sum()} peer values -> {OUT}")


if __name__ == "__main__":
    main()

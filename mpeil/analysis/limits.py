"""Phased obligations: a limit trajectory (data file) applied to a stock, with uncertainty.

``limit(year, type) = first_limit[type] × (1 − reduction_percent / 100) ** floor((year − first_year) / every_years)``
for ``first_year ≤ year ≤ last_year`` (no limit before ``first_year``). A building passes when its score
is at most the limit. With a Monte Carlo result, the share passing is computed per draw, so its p5/p95
say how sure the share is, and ``p_pass_mean`` is the mean probability of a building to pass.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..paths import scenarios_dir
from .uncertainty import MonteCarloResult

__all__ = ["Trajectory", "load_trajectory", "simulate_obligation"]


@dataclass(frozen=True)
class Trajectory:
    name: str
    method: str
    unit: str
    first_year: int
    last_year: int
    reduction_percent: float
    every_years: int
    first_limit: dict[str, float]
    source: str

    def limit(self, year: int, use_type: str) -> float:
        """The limit in ``year`` for ``use_type`` (NaN before the first year, after the last, or no limit)."""
        if year < self.first_year or year > self.last_year or use_type not in self.first_limit:
            return math.nan
        steps = (year - self.first_year) // self.every_years
        return self.first_limit[use_type] * (1.0 - self.reduction_percent / 100.0) ** steps


def load_trajectory(name_or_path: str | Path = "illustrative") -> Trajectory:
    """A trajectory from ``scenarios/limits/<name>.toml`` or a TOML file."""
    path = Path(name_or_path)
    if not path.suffix:
        path = scenarios_dir() / "limits" / f"{name_or_path}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"limit trajectory not found: {path}", file=str(path)) from None
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"invalid TOML: {error}", file=str(path)) from None
    required = ("name", "method", "unit", "first_year", "last_year", "reduction_percent", "every_years")
    for key in (*required, "source"):
        if key not in data:
            raise InputError(f"missing key {key!r}", file=str(path), field=key)
    if "first_limit_from_label" in data:  # the upper bound of a label of the method's label scale
        data["first_limit"] = _limits_from_label(data["method"], str(data["first_limit_from_label"]), path)
    if "first_limit" not in data:
        raise InputError("give first_limit or first_limit_from_label", file=str(path), field="first_limit")
    if not 0 <= data["reduction_percent"] < 100 or data["every_years"] < 1 or data["last_year"] < data["first_year"]:
        raise InputError("need 0 ≤ reduction_percent < 100, every_years ≥ 1, last_year ≥ first_year", file=str(path))
    limits = {str(k): float(v) for k, v in data["first_limit"].items()}
    if not all(v > 0 for v in limits.values()):
        raise InputError("every first_limit must be > 0", file=str(path), field="first_limit")
    return Trajectory(**{k: data[k] for k in required}, first_limit=limits, source=str(data["source"]))


def _limits_from_label(method: str, label: str, path: Path) -> dict[str, float]:
    from ..methods.labels import LABELS, load_label_scale

    scale = load_label_scale(method)
    if scale is None or label not in LABELS[:-1]:
        raise InputError(
            f"first_limit_from_label needs a label A-F of an existing label scale for {method!r}",
            file=str(path),
            field="first_limit_from_label",
        )
    return {use_type: float(bounds[LABELS.index(label)]) for use_type, bounds in scale.bounds.items()}


def simulate_obligation(
    trajectory: Trajectory,
    scores: pd.Series,
    use_types: pd.Series,
    uncertainty: MonteCarloResult | None = None,
) -> pd.DataFrame:
    """Share of buildings passing per year and use type.

    ``scores`` and ``use_types`` are indexed by building id. Columns: year, use_type, limit, n,
    share_passing (deterministic scores); with ``uncertainty`` (a Monte Carlo over the same buildings)
    also share_passing_p5 / _p50 / _p95 (over draws) and p_pass_mean (mean probability of passing).
    """
    types = use_types.reindex(scores.index).astype(object)
    draws = None
    if uncertainty is not None:
        position = {b: k for k, b in enumerate(uncertainty.building_ids)}
        missing = [b for b in scores.index if str(b) not in position]
        if missing:
            raise InputError(f"building {missing[0]!r} is not in the Monte Carlo result", field="uncertainty")
        draws = uncertainty.scores[:, [position[str(b)] for b in scores.index]]
    rows = []
    for year in range(trajectory.first_year, trajectory.last_year + 1):
        for use_type in sorted(trajectory.first_limit):
            mask = (types == use_type).to_numpy()
            limit = trajectory.limit(year, use_type)
            values = scores.to_numpy(dtype=np.float64)[mask]
            values = values[np.isfinite(values)]
            row = {
                "year": year,
                "use_type": use_type,
                "limit": limit,
                "unit": trajectory.unit,
                "n": int(values.size),
                "share_passing": float((values <= limit).mean()) if values.size else math.nan,
            }
            if draws is not None:
                sample = draws[:, mask]
                sample = sample[:, np.isfinite(sample).all(axis=0)]
                share = (sample <= limit).mean(axis=1) if sample.shape[1] else np.full(len(sample), np.nan)
                for q in (5, 50, 95):
                    row[f"share_passing_p{q}"] = float(np.percentile(share, q))
                row["p_pass_mean"] = float(share.mean())
            rows.append(row)
    return pd.DataFrame(rows)

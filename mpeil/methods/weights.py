"""The one score weight vector: score units per unit of each indicator under a method."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .config import Method

__all__ = ["indicator_factors", "score_weight_vector"]


def indicator_factors(method: Method) -> np.ndarray:
    """``float64[I_method]``: each method indicator's factor (normalisation⁻¹ × weight; score units
    per indicator unit before ``score_scale``), in the method's indicator order."""
    return np.array([i.effective_factor for i in method.indicators])


def score_weight_vector(method: Method, indicators: Iterable[str], scored: Iterable[str] | None = None) -> np.ndarray:
    """The score weight vector: per output indicator, score units per unit of the indicator.

    Parameters
    ----------
    method:
        The scoring method.
    indicators:
        The output indicator codes (the engine's order).
    scored:
        The method indicators that count (default: all of them; e.g. the like-for-like set of a
        comparison, or those ``gap_policy = "common"`` keeps).

    Returns
    -------
    numpy.ndarray
        ``float64[I]``: ``score_scale × effective_factor`` (e.g. mPt per kg CO₂-eq) for each counted
        method indicator, 0 for the others. Divide a weighted total by the gross floor area (m²),
        and for per-year methods by the study period (years), to get the score.
    """
    position = {code: j for j, code in enumerate(indicators)}
    weights = np.zeros(len(position))
    keep = None if scored is None else set(scored)
    for spec, factor in zip(method.indicators, indicator_factors(method).tolist(), strict=True):
        if keep is None or spec.code in keep:
            weights[position[spec.code]] = method.score_scale * factor
    return weights

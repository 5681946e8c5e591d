"""Number of replacements (B4) per line, vectorised. Rules from method.md §4.

``ceil``        EN 15978 baseline: ``NR = ceil(RSP / SL) − 1``, never < 0.
``fractional``  ``NR = max(RSP / SL − 1, 0)`` (partial cycles; a sensitivity rule).
``elca``        eLCA's rule for new parts: if RSP is an exact multiple of SL, ``RSP/SL − 1``,
                else ``floor(RSP / SL)``; equal to ``ceil`` for whole years.

Parts kept in place in a renovation (``existing``) are first replaced after their remaining
service life ``RL`` and then every ``SL`` years:

``ceil`` / ``elca``  ``NR = ceil((RSP − RL) / SL)`` when ``RL < RSP``, else 0 — the eLCA "Bestand"
                     rule with the delay read as the remaining life (method.md §4, derived);
``fractional``      ``NR = max((RSP − RL) / SL, 0)``.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

__all__ = ["REPLACEMENT_RULES", "number_of_replacements"]

REPLACEMENT_RULES = ("ceil", "fractional", "elca")

# Guards float noise such as 60 / (60 / 3) = 3.0000000000000004 before rounding up.
_EPS = 1e-9


def number_of_replacements(
    study_period_years: np.ndarray,
    service_life_years: np.ndarray,
    rule: str = "ceil",
    remaining_life_years: np.ndarray | None = None,
) -> np.ndarray:
    """Replacements within the study period, per line (float64; whole numbers except ``fractional``).

    ``remaining_life_years`` is NaN for new parts and the remaining life for existing ones.
    """
    if rule not in REPLACEMENT_RULES:
        raise InputError(
            f"unknown replacement rule {rule!r}; choose one of {REPLACEMENT_RULES}", field="replacement_rule"
        )
    rsp = np.asarray(study_period_years, dtype=np.float64)
    sl = np.asarray(service_life_years, dtype=np.float64)
    if np.any(~(sl > 0)):
        raise InputError("service life must be > 0 years", field="service_life_years")
    if np.any(~(rsp > 0)):
        raise InputError("study period must be > 0 years", field="reference_study_period_years")
    cycles = rsp / sl
    if rule == "fractional":
        new = np.maximum(cycles - 1.0, 0.0)
    elif rule == "ceil":
        new = np.maximum(np.ceil(cycles - _EPS) - 1.0, 0.0)
    else:  # elca
        nearest = np.round(cycles)
        exact = np.abs(cycles - nearest) <= _EPS
        new = np.where(exact, np.maximum(nearest - 1.0, 0.0), np.floor(cycles))
    if remaining_life_years is None:
        return new
    remaining = np.asarray(remaining_life_years, dtype=np.float64)
    existing = ~np.isnan(remaining)
    if not existing.any():
        return new
    left = np.maximum(rsp - np.where(existing, remaining, 0.0), 0.0)
    if rule == "fractional":
        extant = left / sl
    else:
        extant = np.where(left > _EPS, np.ceil(left / sl - _EPS), 0.0)
    return np.where(existing, extant, new)

"""The limits of a batch: :mod:`mpeil.limits` and :mod:`mpeil.validation`, named here for old imports."""

from __future__ import annotations

from ..limits import Limits, load_limits
from ..validation import check_plausibility

__all__ = ["Limits", "load_limits", "check_plausibility"]

"""Time and memory budgets of the batch: :mod:`mpeil.budget` (one implementation for the batch,
``mpeil score`` and the Python API; kept here under its old name)."""

from __future__ import annotations

from ..budget import Outcome, die_with_parent, isolation_available, run_with_budget

__all__ = ["Outcome", "run_with_budget", "isolation_available", "die_with_parent"]

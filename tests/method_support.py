"""A small method the trust tests share: two indicators, A1-A3 only (not a test module)."""

from __future__ import annotations

from mpeil.methods.config import IndicatorFactor, Method


def two_indicator_method(**options) -> Method:
    """GWP-total weighted 1 and PM weighted 1000, A1-A3, 60 years, no transport; ``options`` are
    further method fields (e.g. ``gap_policy``)."""
    return Method(
        name="two",
        score_unit="pt",
        reference_study_period_years=60,
        modules=["A1-A3"],
        replacement_modules=["A1-A3"],
        default_transport=None,
        indicators=[IndicatorFactor(code="GWP-total", factor=1.0), IndicatorFactor(code="PM", factor=1000.0)],
        **options,
    )

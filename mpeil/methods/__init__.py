"""Scoring methods (data files) and the single-score step."""

from .config import IndicatorFactor, Method, available_methods, load_method

__all__ = ["IndicatorFactor", "Method", "available_methods", "load_method"]

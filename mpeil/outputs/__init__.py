"""Results for people and programs: labelled views, tables, exports."""

from .result import STAGES, Result

__all__ = ["Result", "STAGES"]

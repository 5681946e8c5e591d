"""The vectorised engine: unit profiles per scenario, sparse aggregation per element."""

from .core import aggregate, line_weights
from .modules import POSITION, positions
from .options import EngineOptions, IndicatorSpec
from .profiles import OUTPUT_MODULES, build_profiles
from .replacements import REPLACEMENT_RULES, number_of_replacements
from .run import ElementResults, PreparedLines, line_results, prepare_lines, run_engine

__all__ = [
    "OUTPUT_MODULES",
    "POSITION",
    "positions",
    "IndicatorSpec",
    "build_profiles",
    "aggregate",
    "line_weights",
    "REPLACEMENT_RULES",
    "number_of_replacements",
    "ElementResults",
    "EngineOptions",
    "line_results",
    "PreparedLines",
    "prepare_lines",
    "run_engine",
]

"""One adapter between the analysis code and the scoring API (switch to ``mpeil.Scorer`` in one place)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..compile import CompiledBuildings
from ..methods import Method, load_method
from ..model.indicators import EN15804_A2_CORE_AND_ADDITIONAL
from ..model.library import EPDLibrary, load_library
from ..model.scenarios import ScenarioSet, load_scenarios
from ..outputs import Result

__all__ = ["Scored", "score_compiled", "score_weights"]


@dataclass(frozen=True, eq=False)
class Scored:
    """A scored set of buildings with what produced it (compiled lines, library, scenarios)."""

    result: Result
    compiled: CompiledBuildings
    method: Method
    library: EPDLibrary
    scenarios: ScenarioSet


def score_compiled(
    buildings,
    method: str | Method = "mpeil-ef31",
    library: EPDLibrary | None = None,
    scenarios: ScenarioSet | None = None,
    report_indicators: Iterable[str] = EN15804_A2_CORE_AND_ADDITIONAL,
    **options,
) -> Scored:
    """Score ``buildings`` (a Building, a list of them, a flat frame or a path) with :func:`mpeil.api.score`,
    and keep what the engine used: the compiled lines and the library it scored with."""
    from ..api import score

    method = load_method(method)
    if options:
        method = method.with_options(**options)
    library = library if library is not None else load_library()
    scenarios = scenarios if scenarios is not None else load_scenarios()
    result = score(buildings, method, library, scenarios, report_indicators)
    return Scored(result, result.elements.compiled, method, _scoring_library(library, method), scenarios)


def _scoring_library(library: EPDLibrary, method: Method) -> EPDLibrary:
    """The library the engine scores with: with issue 8's gap policy, peer estimates fill undeclared values."""
    try:
        from ..methods.trust import scoring_library  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # no gap policy in this version: the library as given
        return library
    return scoring_library(library, method)


def score_weights(method: Method, indicators: Iterable[str]) -> np.ndarray:
    """Per output indicator: the factor that turns one unit of it into score units (0 if not scored)."""
    indicators = list(indicators)
    weights = np.zeros(len(indicators))
    for spec in method.indicators:
        weights[indicators.index(spec.code)] = method.score_scale * spec.effective_factor
    return weights

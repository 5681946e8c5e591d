"""One adapter between the analysis code and the scoring API (switch to ``mpeil.Scorer`` in one place)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..compile import CompiledBuildings, compile_buildings, compile_frame
from ..engine import run_engine
from ..methods import Method, load_method
from ..methods.scoring import check_method, engine_options
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
    """Score ``buildings`` (a Building, a list of them, a flat frame or a path) and keep the compiled lines."""
    from ..api import _buildings

    method = load_method(method)
    if options:
        method = method.with_options(**options)
    library = library if library is not None else load_library()
    scenarios = scenarios if scenarios is not None else load_scenarios()
    check_method(method, library)
    items, file = _buildings(buildings)
    rsp, transport = method.reference_study_period_years, method.default_transport
    if isinstance(items, pd.DataFrame):
        compiled = compile_frame(items, library, scenarios, rsp, transport, file)
    else:
        compiled = compile_buildings(items, library, scenarios, rsp, transport, file)
    results = run_engine(compiled, library, scenarios, engine_options(method, report_indicators))
    provenance = {"method": method.name, "method_hash": method.fingerprint, "library": library.name}
    return Scored(Result(results, method, provenance), compiled, method, library, scenarios)


def score_weights(method: Method, indicators: Iterable[str]) -> np.ndarray:
    """Per output indicator: the factor that turns one unit of it into score units (0 if not scored)."""
    indicators = list(indicators)
    weights = np.zeros(len(indicators))
    for spec in method.indicators:
        weights[indicators.index(spec.code)] = method.score_scale * spec.effective_factor
    return weights

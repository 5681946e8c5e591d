"""The analyses' scoring: the stages (:mod:`mpeil.stages`) composed once, keeping what they produced.

Analyses need more than a :class:`~mpeil.outputs.Result`: the compiled lines, the library *as scored*
and the weight vector. :func:`score_compiled` composes the stages and keeps their outputs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .. import stages
from ..compile import CompiledBuildings
from ..methods import Method
from ..methods.weights import score_weight_vector
from ..model.indicators import EN15804_A2_CORE_AND_ADDITIONAL
from ..model.library import EPDLibrary
from ..model.scenarios import ScenarioSet
from ..outputs import Result

__all__ = ["Scored", "score_compiled", "score_weights"]


@dataclass(frozen=True, eq=False)
class Scored:
    """A scored set of buildings with what produced it: the stage context and inventory."""

    result: Result
    context: stages.ScoringContext
    inventory: stages.Inventory

    @property
    def compiled(self) -> CompiledBuildings:
        return self.inventory.compiled

    @property
    def method(self) -> Method:
        return self.context.method

    @property
    def library(self) -> EPDLibrary:
        """The library as scored (the method's gap policy resolved)."""
        return self.context.library

    @property
    def scenarios(self) -> ScenarioSet:
        return self.context.scenarios


def score_compiled(
    buildings,
    method: str | Method = "mpeil-ef31",
    library: EPDLibrary | None = None,
    scenarios: ScenarioSet | None = None,
    report_indicators: Iterable[str] = EN15804_A2_CORE_AND_ADDITIONAL,
    **options,
) -> Scored:
    """Score ``buildings`` (a Building, a list of them, a flat frame or a path) through the stages,
    keeping the context and inventory (compiled lines, library as scored)."""
    context = stages.prepare(method, library, scenarios, None, report_indicators, **options)
    data = stages.read(buildings)
    context = context.for_buildings(data.buildings)
    inventory = stages.characterise(context, stages.compile(context, data), data)
    result = stages.assess(context, inventory, stages.weight(context, inventory))
    return Scored(result, context, inventory)


def score_weights(method: Method, indicators: Iterable[str]) -> np.ndarray:
    """Per output indicator: score units per unit of it (0 if not scored); the stages' weight vector."""
    return score_weight_vector(method, indicators)

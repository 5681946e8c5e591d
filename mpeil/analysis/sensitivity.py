"""How much do TOTEM's unpublished rules matter? Score under every combination of the options.

method.md §10 lists the TOTEM rules that are not published; mpeil makes each an option with a
documented default. :func:`option_sensitivity` scores the same buildings under a grid of those
options and reports the range, so that a permit authority or researcher sees how far a score
could move once OVAM publishes the rule.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from .. import stages
from ..api import Scorer
from ..model.library import EPDLibrary
from ..model.scenarios import ScenarioSet

__all__ = ["DEFAULT_GRID", "option_sensitivity"]

#: method.md §10: #1 replacement rule, #2 D in the score, #3 EF version (as the method), #11 allocation
DEFAULT_GRID: dict[str, Sequence] = {
    "method": ("mpeil-ef31", "mpeil-ef30"),
    "replacement_rule": ("ceil", "fractional", "elca"),
    "include_d": (False, True),
}


def option_sensitivity(
    buildings: Any,
    grid: Mapping[str, Sequence] | None = None,
    library: EPDLibrary | None = None,
    scenarios: ScenarioSet | None = None,
    scorer: Scorer | None = None,
) -> pd.DataFrame:
    """One row per (building, option combination) with its score, and the spread per building.

    ``grid`` maps option names (``method`` or any method option such as ``replacement_rule``,
    ``include_d``, ``eol_allocation``, ``loss_basis``) to the values to try. Every combination
    is scored by a variant of ``scorer`` (default: ``Scorer(library=library, scenarios=scenarios)``)
    on the same library and scenarios; the buildings are read once.
    """
    grid = dict(grid or DEFAULT_GRID)
    methods = tuple(grid.pop("method", ()))
    base = scorer if scorer is not None else Scorer(methods[0] if methods else "mpeil-ef31", library, scenarios)
    data = stages.read(buildings)
    names = list(grid)
    rows = []
    for method in methods or (None,):  # None: the base scorer's method
        for values in itertools.product(*(grid[n] for n in names)):
            options = dict(zip(names, values, strict=True))
            result = base.with_options(method=method, **options).score(data)
            for building, row in result.scores.iterrows():
                rows.append(
                    {
                        "building": building,
                        "method": result.method.name,
                        **options,
                        "score": row["score"],
                        "score_unit": row["score_unit"],
                        "weight_covered": row["weight_covered"],
                    }
                )
    frame = pd.DataFrame(rows)
    spread = frame.groupby("building")["score"].agg(["min", "max"])
    return frame.join((spread["max"] - spread["min"]).rename("spread"), on="building")

"""How much do TOTEM's unpublished rules matter? Score under every combination of the options.

method.md §10 lists the TOTEM rules that are not published; mpeil makes each an option with a
documented default. :func:`option_sensitivity` scores the same buildings under a grid of those
options and reports the range, so that a permit authority or researcher sees how far a score
could move once OVAM publishes the rule.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import pandas as pd

__all__ = ["DEFAULT_GRID", "option_sensitivity"]

#: method.md §10: #1 replacement rule, #2 D in the score, #3 EF version (as the method), #11 allocation
DEFAULT_GRID: dict[str, Sequence] = {
    "method": ("mpeil-ef31", "mpeil-ef30"),
    "replacement_rule": ("ceil", "fractional", "elca"),
    "include_d": (False, True),
}


def option_sensitivity(
    buildings, grid: Mapping[str, Sequence] | None = None, library=None, scenarios=None
) -> pd.DataFrame:
    """One row per (building, option combination) with its score, and the spread per building.

    ``grid`` maps option names (``method`` or any method option such as ``replacement_rule``,
    ``include_d``, ``eol_allocation``, ``loss_basis``) to the values to try.
    """
    from ..api import score
    from ..model.library import load_library
    from ..model.scenarios import load_scenarios

    grid = dict(grid or DEFAULT_GRID)
    library = library if library is not None else load_library()
    scenarios = scenarios if scenarios is not None else load_scenarios()
    methods = grid.pop("method", ("mpeil-ef31",))
    names = list(grid)
    rows = []
    for method in methods:
        for values in itertools.product(*(grid[n] for n in names)):
            options = dict(zip(names, values))
            result = score(buildings, method=method, library=library, scenarios=scenarios, **options)
            for building, row in result.scores.iterrows():
                rows.append(
                    {
                        "building": building,
                        "method": method,
                        **options,
                        "score": row["score"],
                        "score_unit": row["score_unit"],
                        "weight_covered": row["weight_covered"],
                    }
                )
    frame = pd.DataFrame(rows)
    spread = frame.groupby("building")["score"].agg(["min", "max"])
    frame = frame.join((spread["max"] - spread["min"]).rename("spread"), on="building")
    return frame

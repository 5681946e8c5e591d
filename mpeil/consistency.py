"""References a compiled input makes that neither the building model nor the limits can check.

- a scenario chosen for a module (``scenario = {"D": "stofflich"}``) must be one the line's data set
  declares for that module: a misspelt name would otherwise silently fall back to the data set's
  first scenario (:class:`~mpeil.errors.UnknownScenarioError` naming the line and what it declares);

A ``source_component_id`` is not checked here: a receiver is scored apart from its donor by design
(its link is checked against the input's own inventories by :mod:`mpeil.validation`, across buildings
by :func:`mpeil.model.reuse.link_reuse`), and a receiver that names a reused component but pays its
full production (``reused_input`` 0) is what :func:`mpeil.api.reuse_report` reports as counted twice.

:func:`check_consistency` runs the checks; :func:`mpeil.validation.compile_checked` calls it on every entry point.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import UnknownScenarioError

__all__ = ["check_consistency", "check_scenario_choices"]

_A13_PARTS = {"A1-A3": ("A1-A3", "A1", "A2", "A3")}


def check_consistency(frame: pd.DataFrame, compiled, library, file: str | None) -> None:
    """Every check of this module (raises the first finding, located by building, element, line)."""
    check_scenario_choices(compiled, library, file)


def _where(compiled, line: int, file: str | None) -> dict:
    e = int(compiled.line_element[line])
    layer = compiled.line_layer[line]
    number = int(compiled.line_number[line])
    return {
        "file": file,
        "building": str(compiled.building_ids[compiled.element_building[e]]),
        "element": str(compiled.element_ids[e]),
        "layer": f"{layer} (line {number})" if isinstance(layer, str) and layer else f"line {number}",
    }


def check_scenario_choices(compiled, library, file: str | None) -> None:
    """Each chosen scenario is declared by the line's data set for that module."""
    if len(compiled.scenario_choices) <= 1:
        return
    lines = np.flatnonzero(compiled.scenario_choice > 0)
    if not lines.size:
        return
    keys = compiled.dataset[lines] * len(compiled.scenario_choices) + compiled.scenario_choice[lines]
    _, first = np.unique(keys, return_index=True)
    ids = library.datasets["dataset_id"].to_numpy()
    used = {str(ids[int(d)]) for d in compiled.dataset[lines]}
    declared = _declared_scenarios(library, used)
    for line in lines[np.sort(first)]:
        dataset = str(ids[int(compiled.dataset[line])])
        for module, name in compiled.scenario_choices[int(compiled.scenario_choice[line])]:
            have = set().union(*(declared.get((dataset, m), set()) for m in _A13_PARTS.get(module, (module,))))
            if name in have:
                continue
            known = ", ".join(repr(s) for s in sorted(have) if s) or "no named scenario"
            raise UnknownScenarioError(
                f"scenario {name!r} for module {module}: data set {dataset} declares {known} for {module}",
                field="scenario",
                **_where(compiled, int(line), file),
            )


def _declared_scenarios(library, dataset_ids: set[str]) -> dict[tuple[str, str], set[str]]:
    values = library.values
    rows = values[values["dataset_id"].isin(list(dataset_ids)).to_numpy(dtype=bool)]
    declared: dict[tuple[str, str], set[str]] = {}
    for dataset, module, scenario in zip(rows["dataset_id"], rows["module"], rows["scenario"].fillna(""), strict=True):
        declared.setdefault((str(dataset), str(module)), set()).add(str(scenario))
    return declared

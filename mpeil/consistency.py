"""References a compiled input makes that neither the building model nor the limits can check.

- a scenario chosen for a module (``scenario = {"D": "stofflich"}``) must be one the line's data set
  declares for that module: a misspelt name would otherwise silently fall back to the data set's
  first scenario (:class:`~mpeil.errors.UnknownScenarioError` naming the line and what it declares);
- a line that names a reused component (``source_component_id``) takes it in: its ``reused_input``
  must be above zero (:class:`~mpeil.errors.CircularityError`). Whether the component is in an
  inventory is checked against the inventories of the input (:mod:`mpeil.validation`) and, across
  buildings scored apart, by :func:`mpeil.model.reuse.link_reuse`.

:func:`check_consistency` runs both; :func:`mpeil.validation.compile_checked` calls it on every entry point.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import CircularityError, UnknownScenarioError

__all__ = ["check_consistency", "check_scenario_choices", "check_reuse_claims"]

_A13_PARTS = {"A1-A3": ("A1-A3", "A1", "A2", "A3")}


def check_consistency(frame: pd.DataFrame, compiled, library, file: str | None) -> None:
    """Every check of this module (raises the first finding, located by building, element, line)."""
    check_reuse_claims(frame, file)
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


def check_reuse_claims(frame: pd.DataFrame, file: str | None) -> None:
    """A line that names a reused component (``source_component_id``) has ``reused_input`` above zero."""
    if "source_component_id" not in frame:
        return
    reused = pd.to_numeric(frame["reused_input"], errors="coerce") if "reused_input" in frame else None
    named = frame["source_component_id"].notna().to_numpy(dtype=bool)
    share = np.zeros(len(frame)) if reused is None else np.nan_to_num(reused.to_numpy(dtype=np.float64))
    bad = np.flatnonzero(named & (share <= 0))
    if not bad.size:
        return
    row = int(bad[0])
    line = frame.iloc[row]
    layer, number = line.get("layer"), line.get("line", row + 1)
    raise CircularityError(
        f"the line takes in reused component {line['source_component_id']!r} but its reused_input is 0: "
        "give the reused share (1 for a whole reused component) or remove source_component_id",
        file=file,
        building=line.get("building_id"),
        element=line.get("element_id"),
        layer=f"{layer} (line {int(number)})" if isinstance(layer, str) and layer else f"line {int(number)}",
        field="source_component_id",
    )

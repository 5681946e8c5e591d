"""Donor → receiver check: no double counting, and burdens that add up to the physical chain.

For each reused component (see :func:`mpeil.model.reuse.link_reuse`) the stages score the
donor's line and the receiver's line on the receiver's quantity under the method's allocation
approach, and compares their sum with the physical chain of one component:

``chain = production of a new product + reconditioning + final disposal``

where the final disposal is the receiver's end of life as if it were the component's only user
(C3 + C4, and D under the CFF, whose credits are part of the allocation rather than a separate
benefit). ``balance = donor + receiver − chain`` must be 0. Rule conflicts are listed as findings.

This module builds the lines to score (:func:`reuse_cases`, :func:`pair_buildings`) and reads the
balance off their element results (:func:`reuse_balance`); :func:`mpeil.api.reuse_report` scores
them through the stages in between.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..engine import ElementResults
from ..engine.modules import A1_A3, positions
from ..methods import Method
from ..model import Building, Element, Layer
from ..model.reuse import ReuseLink, link_reuse
from ..model.scenarios import ScenarioSet

__all__ = ["ReuseCase", "reuse_cases", "pair_buildings", "reuse_balance"]

#: the lines scored per reused component, and whether under the method ("method") or its cut-off
#: variant ("cutoff"; the reconditioning is what a reused input costs beyond a new one's share)
PAIR_LINES = {
    "donor": "method",
    "receiver": "method",
    "production": "method",
    "final": "method",
    "as_reused": "cutoff",
    "as_new": "cutoff",
}


@dataclass(frozen=True)
class ReuseCase:
    """One reused component: its link, the donor's and receiver's layers and the lines to score."""

    link: ReuseLink
    donor_layer: Layer
    receiver_layer: Layer
    donor_reuse_share: float  # share of the donor's end of life sent to reuse
    element: Element  # the receiver's element (its quantity and unit)
    lines: Mapping[str, Layer]  # PAIR_LINES key → the layer to score


def _find(buildings: dict[str, Building], building_id: str, element_id: str, line: int):
    element = next(e for e in buildings[building_id].elements if e.id == element_id)
    return element, element.layers[line - 1]


def _case(link: ReuseLink, by_id: dict[str, Building], scenarios: ScenarioSet) -> ReuseCase:
    """The layers of one link and the six lines scored for it."""
    _, d_layer = _find(by_id, link.donor_building, link.donor_element, link.donor_line)
    r_element, r_layer = _find(by_id, link.receiver_building, link.receiver_element, link.receiver_line)
    physical = dict(product=r_layer.product, amount=r_layer.amount, unit=r_layer.unit, ratio=r_layer.ratio)
    donor_line = d_layer.model_copy(update=physical)
    share = (
        d_layer.end_of_life.reuse
        if d_layer.end_of_life
        else (scenarios.eol_shares(d_layer.waste_category)[2] if d_layer.waste_category else 0.0)
    )
    # chain: a new product, its reconditioning, and the receiver's disposal as the only user
    sole = dict(reused_input=0.0, use_cycles=1, use_cycle=1, source_component_id=None)
    lines = {
        "donor": donor_line,
        "receiver": r_layer,
        "production": donor_line.model_copy(update=sole),
        "final": r_layer.model_copy(update=sole),
        "as_reused": r_layer.model_copy(update=dict(use_cycles=1, use_cycle=1)),
        "as_new": r_layer.model_copy(update=sole),
    }
    return ReuseCase(link, d_layer, r_layer, float(share), r_element, lines)


def reuse_cases(donors: Iterable[Building], receivers: Iterable[Building], scenarios: ScenarioSet) -> list[ReuseCase]:
    """The reused components linking ``donors`` to ``receivers`` (:func:`mpeil.model.reuse.link_reuse`)."""
    donors, receivers = list(donors), list(receivers)
    links: list[ReuseLink] = link_reuse(donors, receivers, scenarios)
    by_id = {b.id: b for b in [*donors, *receivers]}
    return [_case(link, by_id, scenarios) for link in links]


def pair_buildings(cases: Iterable[ReuseCase], variant: str) -> list[Building]:
    """One single-line building per case and line of ``variant`` ("method" or "cutoff"), on the
    receiver's element quantity; ids ``"<case>/<line>"``, scored for their element values only."""
    return [
        Building(
            id=f"{c}/{name}",
            gross_floor_area_m2=1.0,
            elements=[Element(id="x", quantity=case.element.quantity, unit=case.element.unit, layers=[layer])],
        )
        for c, case in enumerate(cases)
        for name, layer in case.lines.items()
        if PAIR_LINES[name] == variant
    ]


def _burden(values: np.ndarray, with_d: bool) -> np.ndarray:
    modules = ["A1-A3", "C3", "C4"] + (["D"] if with_d else [])
    return np.nansum(values[positions(modules)], axis=0)


def _findings(method: Method, donor_layer, receiver_layer, donor_reuse_share: float) -> list[str]:
    notes = []
    approach = method.eol_allocation
    if receiver_layer.reused_input == 0:
        notes.append("receiver pays full production for a reused component: production counted twice")
    if donor_reuse_share == 0:
        notes.append("donor sends the component to no reuse route: its end of life is counted while it lives on")
    if (
        method.include_d
        and approach in ("cutoff_d", "dk_zero")
        and donor_reuse_share > 0
        and receiver_layer.reused_input > 0
    ):
        notes.append(
            "the method counts D: the donor's reuse credit and the receiver's burden-free input "
            "are both in the score (double counting)"
        )
    if approach == "multicycle" and (
        donor_layer.use_cycles != receiver_layer.use_cycles or receiver_layer.use_cycle != donor_layer.use_cycle + 1
    ):
        notes.append(
            f"cycles disagree: donor {donor_layer.use_cycle}/{donor_layer.use_cycles}, "
            f"receiver {receiver_layer.use_cycle}/{receiver_layer.use_cycles}"
        )
    return notes


def _line_values(elements: ElementResults) -> dict[str, np.ndarray]:
    """Pair building id → its one element's values (module × indicator, over the study period)."""
    compiled = elements.compiled
    ids = compiled.building_ids[compiled.element_building]
    return {str(b): elements.values[e] for e, b in enumerate(ids)}


def reuse_balance(
    cases: list[ReuseCase], method: Method, scored: ElementResults, cutoff: ElementResults
) -> pd.DataFrame:
    """One row per (reused component, indicator): donor, receiver, chain, balance, findings.

    ``scored`` and ``cutoff`` are the element results (inventories) of :func:`pair_buildings` under
    the method and under its ``eol_allocation = "cutoff_d"`` variant, with the indicators to report;
    values in the indicators' units over the study period.
    """
    values = {**_line_values(scored), **_line_values(cutoff)}
    indicators = list(scored.indicators)
    with_d = method.eol_allocation == "cff"
    rows = []
    for c, case in enumerate(cases):
        line = {name: values[f"{c}/{name}"] for name in PAIR_LINES}
        donor = _burden(line["donor"], with_d)
        receiver = _burden(line["receiver"], with_d)
        u = case.receiver_layer.reused_input
        reconditioning = line["as_reused"][A1_A3] - (1.0 - u) * line["as_new"][A1_A3]
        final = line["final"]
        chain = line["production"][A1_A3] + reconditioning + _burden(final, with_d) - final[A1_A3]
        notes = _findings(method, case.donor_layer, case.receiver_layer, case.donor_reuse_share)
        for j, code in enumerate(indicators):
            rows.append(
                {
                    "component_id": case.link.component_id,
                    "donor_building": case.link.donor_building,
                    "receiver_building": case.link.receiver_building,
                    "approach": method.eol_allocation,
                    "indicator": code,
                    "donor": float(donor[j]),
                    "receiver": float(receiver[j]),
                    "chain": float(chain[j]),
                    "balance": float(donor[j] + receiver[j] - chain[j]),
                    "findings": "; ".join(notes),
                }
            )
    return pd.DataFrame(rows)

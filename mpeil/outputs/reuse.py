"""Donor → receiver check: no double counting, and burdens that add up to the physical chain.

For each reused component (see :func:`mpeil.model.reuse.link_reuse`) the engine scores the
donor's line and the receiver's line on the receiver's quantity under the method's allocation
approach, and compares their sum with the physical chain of one component:

``chain = production of a new product + reconditioning + final disposal``

where the final disposal is the receiver's end of life as if it were the component's only user
(C3 + C4, and D under the CFF, whose credits are part of the allocation rather than a separate
benefit). ``balance = donor + receiver − chain`` must be 0. Rule conflicts are listed as findings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..compile import compile_buildings
from ..engine import IndicatorSpec, run_engine
from ..engine.profiles import OUTPUT_MODULES
from ..methods import Method, load_method
from ..methods.scoring import engine_options
from ..model import Building, Element
from ..model.library import EPDLibrary
from ..model.reuse import ReuseLink, link_reuse
from ..model.scenarios import ScenarioSet

__all__ = ["reuse_report"]

_M = {m: k for k, m in enumerate(OUTPUT_MODULES)}


def _find(buildings: dict[str, Building], building_id: str, element_id: str, line: int):
    element = next(e for e in buildings[building_id].elements if e.id == element_id)
    return element, element.layers[line - 1]


def _score_line(element: Element, layer, library, scenarios, method: Method, indicators) -> np.ndarray:
    building = Building(
        id="pair",
        gross_floor_area_m2=1.0,
        elements=[Element(id="x", quantity=element.quantity, unit=element.unit, layers=[layer])],
    )
    compiled = compile_buildings(
        building, library, scenarios, method.reference_study_period_years, method.default_transport
    )
    options = dataclasses.replace(engine_options(method, ()), indicators=indicators)
    return run_engine(compiled, library, scenarios, options).values[0]


def _burden(values: np.ndarray, with_d: bool) -> np.ndarray:
    modules = ["A1-A3", "C3", "C4"] + (["D"] if with_d else [])
    return np.nansum(values[[_M[m] for m in modules]], axis=0)


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


def reuse_report(
    donors: Iterable[Building],
    receivers: Iterable[Building],
    method: str | Method = "mpeil-ef31",
    library: EPDLibrary | None = None,
    scenarios: ScenarioSet | None = None,
    indicators: tuple[str, ...] = ("GWP-total",),
) -> pd.DataFrame:
    """One row per (reused component, indicator): donor, receiver, chain, balance, findings."""
    from ..model.library import load_library
    from ..model.scenarios import load_scenarios

    method = load_method(method)
    library = library if library is not None else load_library()
    scenarios = scenarios if scenarios is not None else load_scenarios()
    donors, receivers = list(donors), list(receivers)
    links: list[ReuseLink] = link_reuse(donors, receivers, scenarios)
    by_id = {b.id: b for b in [*donors, *receivers]}
    specs = tuple(IndicatorSpec.plain(c) for c in indicators)
    with_d = method.eol_allocation == "cff"
    rows = []
    for link in links:
        _, d_layer = _find(by_id, link.donor_building, link.donor_element, link.donor_line)
        r_element, r_layer = _find(by_id, link.receiver_building, link.receiver_element, link.receiver_line)
        physical = dict(product=r_layer.product, amount=r_layer.amount, unit=r_layer.unit, ratio=r_layer.ratio)
        donor_line = d_layer.model_copy(update=physical)
        share = (
            d_layer.end_of_life.reuse
            if d_layer.end_of_life
            else (scenarios.eol_shares(d_layer.waste_category)[2] if d_layer.waste_category else 0.0)
        )
        donor = _burden(_score_line(r_element, donor_line, library, scenarios, method, specs), with_d)
        receiver = _burden(_score_line(r_element, r_layer, library, scenarios, method, specs), with_d)
        # chain: a new product, its reconditioning, and the receiver's disposal as the only user
        sole = dict(reused_input=0.0, use_cycles=1, use_cycle=1, source_component_id=None)
        production = _score_line(r_element, donor_line.model_copy(update=sole), library, scenarios, method, specs)
        final = _score_line(r_element, r_layer.model_copy(update=sole), library, scenarios, method, specs)
        cut = method.with_options(eol_allocation="cutoff_d")
        as_reused = _score_line(
            r_element, r_layer.model_copy(update=dict(use_cycles=1, use_cycle=1)), library, scenarios, cut, specs
        )
        as_new = _score_line(r_element, r_layer.model_copy(update=sole), library, scenarios, cut, specs)
        u = r_layer.reused_input
        reconditioning = as_reused[_M["A1-A3"]] - (1.0 - u) * as_new[_M["A1-A3"]]
        chain = production[_M["A1-A3"]] + reconditioning + _burden(final, with_d) - final[_M["A1-A3"]]
        notes = _findings(method, d_layer, r_layer, share)
        for j, code in enumerate(indicators):
            rows.append(
                {
                    "component_id": link.component_id,
                    "donor_building": link.donor_building,
                    "receiver_building": link.receiver_building,
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

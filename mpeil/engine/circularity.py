"""Reuse and recycling: allocation approaches applied to unit profiles (method.md §8).

Per declared unit, with ``m`` kg per unit, ``Ev`` = the data set's A1-A3 (read as primary
production), ``u`` = reused share of the input, ``R1`` = recycled content, end-of-life
shares ``sL, sI, sU, sR`` (landfill, incineration, reuse, recycling), per-kg route burdens
``Erec`` (recycling, C3), ``ED`` (landfill, C4), ``EER`` (incineration, C3), ``Erc``
(reconditioning of a reused component) and the material's ``A, B, Qsin/Qp, Qsout/Qp``:

``cutoff_d`` (EN 15804, default)
    A1-A3 = (1 − u − R1)·Ev + R1·m·Erec + u·m·Erc; C as the linear engine; D as declared, or,
    when not declared, from the net output flow ``(sU + sR − u − R1)`` × (−Qsout/Qp · E*v), with
    E*v the substituted primary material of ``scenarios/circularity/materials.csv`` (a gap when
    no substitution is given).
``cff`` (PEF Circular Footprint Formula)
    A1-A3 = (1 − R1 − u)·Ev + R1·(A·m·Erec + (1−A)·Qsin/Qp·Ev) + u·(A·m·Erc + (1−A)·Qsin/Qp·Ev);
    C3 = (1−A)·m·(sR·Erec + sU·Erc) + (1−B)·sI·m·EER; C4 = sL·m·ED;
    D = −(1−A)·(sR + sU)·Qsout/Qp·Ev. The energy-recovery credit needs LHV and substituted-energy
    data no shipped source gives: it is left out (reported in the method notes).
``multicycle``
    A component designed for ``n`` use cycles: cycle ``k`` carries a share ``p`` of production
    (A1-A3) and ``e`` of the final end of life (C3, C4, D): ``equal`` p = e = 1/n; ``first_last``
    p = [k = 1], e = [k = n]. Cycles after the first add reconditioning ``m·Erc``.
``dk_zero`` (BR18 since 2024)
    The reused share counts zero in every module, replacements included; the rest as ``cutoff_d``.

With u = R1 = 0, n = 1 and no reuse or recycling at end of life, every approach gives the
linear engine's result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["ALLOCATIONS", "CircularInputs", "allocate"]

ALLOCATIONS = ("cutoff_d", "cff", "multicycle", "dk_zero")


@dataclass(frozen=True)
class CircularInputs:
    """Per-profile arrays (P) and per-kg burdens (P × I)."""

    mass: np.ndarray
    reused: np.ndarray
    recycled: np.ndarray
    cycles: np.ndarray
    cycle: np.ndarray
    shares: np.ndarray  # [P, 4] landfill, incineration, reuse, recycling (NaN = none)
    A: np.ndarray
    B: np.ndarray
    q_in: np.ndarray
    q_out: np.ndarray
    e_recycling: np.ndarray  # per kg
    e_landfill: np.ndarray
    e_incineration: np.ndarray
    e_reconditioning: np.ndarray
    substituted: np.ndarray  # [P, I] E*v per declared unit (NaN = unknown substitution)


def _col(x: np.ndarray) -> np.ndarray:
    return x[:, None]


def allocate(values: np.ndarray, module_index: dict[str, int], inputs: CircularInputs, approach: str,
             split: str = "equal") -> tuple[np.ndarray, np.ndarray]:
    """Return (installed, new_product) unit values under an allocation approach.

    ``values`` are the linear unit values [P, M, I] (NaN at gaps). ``installed`` is what the
    building's own installation carries; ``new_product`` is a replacement (a new product with
    the same recycled content, no reuse) and feeds B4.
    """
    if approach not in ALLOCATIONS:
        from ..errors import MethodError

        raise MethodError(f"unknown allocation approach {approach!r}; choose one of {ALLOCATIONS}",
                          field="eol_allocation")
    k13, kD = module_index["A1-A3"], module_index["D"]
    k3, k4 = module_index["C3"], module_index["C4"]
    m, u, r1 = inputs.mass, inputs.reused, inputs.recycled
    shares = np.nan_to_num(inputs.shares)
    s_land, s_inc, s_reuse, s_rec = (shares[:, i] for i in range(4))
    ev = values[:, k13]
    has_eol = ~np.isnan(inputs.shares).any(axis=1)
    # m × per-kg burden: NaN mass makes the scenario part NaN (a gap), never 0
    recycle_kg = _col(m) * inputs.e_recycling
    recond_kg = _col(m) * inputs.e_reconditioning

    def cutoff_production(reused: np.ndarray) -> np.ndarray:
        out = _col(1.0 - reused - r1) * ev
        out = out + np.where(_col(r1) > 0, _col(r1) * recycle_kg, 0.0)
        return out + np.where(_col(reused) > 0, _col(reused) * recond_kg, 0.0)

    def cutoff_d(reused: np.ndarray, base: np.ndarray) -> np.ndarray:
        net = s_reuse + s_rec - reused - r1
        credit = -_col(net * inputs.q_out) * inputs.substituted
        declared = ~np.isnan(base[:, kD])
        use_net = ~declared & _col((net != 0) & has_eol)
        return np.where(use_net, credit, base[:, kD])

    installed = values.copy()
    new = values.copy()
    if approach in ("cutoff_d", "dk_zero"):
        new[:, k13] = cutoff_production(np.zeros_like(u))
        new[:, kD] = cutoff_d(np.zeros_like(u), values)
        installed[:, k13] = cutoff_production(u)
        installed[:, kD] = cutoff_d(u, values)
        if approach == "dk_zero":
            keep = (1.0 - u)[:, None, None]
            installed = installed * keep
            new = new * keep
        return installed, new

    if approach == "cff":
        a, b = _col(inputs.A), _col(inputs.B)
        q_in, q_out = _col(inputs.q_in), _col(inputs.q_out)

        def production(reused: np.ndarray) -> np.ndarray:
            primary = _col(1.0 - r1 - reused) * ev
            recycled = np.where(_col(r1) > 0, _col(r1) * (a * recycle_kg + (1 - a) * q_in * ev), 0.0)
            reuse = np.where(_col(reused) > 0, _col(reused) * (a * recond_kg + (1 - a) * q_in * ev), 0.0)
            return primary + recycled + reuse

        landfill_kg = _col(m) * inputs.e_landfill
        incineration_kg = _col(m) * inputs.e_incineration
        c3 = (1 - a) * (np.where(_col(s_rec) > 0, _col(s_rec) * recycle_kg, 0.0)
                        + np.where(_col(s_reuse) > 0, _col(s_reuse) * recond_kg, 0.0))
        c3 = c3 + np.where(_col(s_inc) > 0, (1 - b) * _col(s_inc) * incineration_kg, 0.0)
        c4 = np.where(_col(s_land) > 0, _col(s_land) * landfill_kg, 0.0)
        credit = -(1 - a) * _col(s_rec + s_reuse) * q_out * inputs.substituted
        eol_given = has_eol[:, None]
        for target in (installed, new):
            target[:, k3] = np.where(eol_given, c3, values[:, k3])
            target[:, k4] = np.where(eol_given, c4, values[:, k4])
            # no reuse/recycling out: no CFF credit; D stays as the linear engine has it
            target[:, kD] = np.where(eol_given & (_col(s_rec + s_reuse) > 0), credit, values[:, kD])
        installed[:, k13] = production(u)
        new[:, k13] = production(np.zeros_like(u))
        return installed, new

    # multicycle
    n, k = inputs.cycles, inputs.cycle
    if split == "equal":
        p = e = 1.0 / n
    elif split == "first_last":
        p, e = (k == 1).astype(np.float64), (k == n).astype(np.float64)
    else:
        from ..errors import MethodError

        raise MethodError(f"unknown multicycle split {split!r}; choose equal or first_last", field="multicycle_split")
    # a component in a later cycle came from an earlier one: it carries its reconditioning
    extra = np.where(_col(k > 1), np.nan_to_num(recond_kg), 0.0)
    for target in (installed, new):
        target[:, k13] = _col(p) * values[:, k13] + extra
        for kk in (k3, k4, kD):
            target[:, kk] = _col(e) * values[:, kk]
    return installed, new


def _unused_route_per_kg(per_kg, scenarios, route: str, module: str, waste_category: str | None, n_ind: int) -> np.ndarray:
    """Σ share_of_route × per-kg burden of a route's data sets for one module (zeros when none)."""
    total = np.zeros(n_ind)
    sets = scenarios.route_datasets(route, waste_category)
    for r in sets[sets["module"] == module].itertuples(index=False):
        total = total + r.share_of_route * per_kg(r.dataset_id, module)
    return total


def circular_columns(compiled) -> dict[str, np.ndarray]:
    return {
        "reused_input": compiled.reused_input,
        "recycled_content": compiled.recycled_content,
        "use_cycles": compiled.use_cycles,
        "use_cycle": compiled.use_cycle,
    }


def reconditioning_per_kg(per_kg, dataset_id: str, n_ind: int) -> np.ndarray:
    if not dataset_id or (isinstance(dataset_id, float) and np.isnan(dataset_id)):
        return np.zeros(n_ind)
    return per_kg(dataset_id, "A1-A3")


def material_parameters(scenarios, categories: pd.Series) -> pd.DataFrame:
    """One row of circular parameters per profile (its waste category's, or the "*" default)."""
    unique = list(dict.fromkeys(categories))
    table = pd.DataFrame([scenarios.circular_parameters(c) for c in unique], index=range(len(unique)))
    position = {c: i for i, c in enumerate(unique)}
    return table.iloc[[position[c] for c in categories]].reset_index(drop=True)

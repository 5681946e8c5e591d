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
    final_c3: np.ndarray  # [P, I] per declared unit: C3 of the final disposal (declared, else routes without reuse)
    final_c4: np.ndarray  # [P, I] per declared unit: C4 of the final disposal
    c3_declared: np.ndarray  # [P] bool: the EPD declares C3 (its own, non-reuse, disposal)
    c4_declared: np.ndarray  # [P] bool
    energy_credit: np.ndarray  # [P, I] per declared unit and per unit share incinerated: −m·LHV·Σ X·ESE (0 = no data)


def _col(x: np.ndarray) -> np.ndarray:
    return x[:, None]


def allocate(
    values: np.ndarray, module_index: dict[str, int], inputs: CircularInputs, approach: str, split: str = "equal"
) -> tuple[np.ndarray, np.ndarray]:
    """Return (installed, new_product) unit values under an allocation approach.

    ``values`` are the linear unit values [P, M, I] (NaN at gaps). ``installed`` is what the
    building's own installation carries; ``new_product`` is a replacement (a new product with
    the same recycled content, no reuse) and feeds B4.
    """
    if approach not in ALLOCATIONS:
        from ..errors import MethodError

        raise MethodError(
            f"unknown allocation approach {approach!r}; choose one of {ALLOCATIONS}", field="eol_allocation"
        )
    flows = _Flows(values, module_index, inputs)
    installed = values.copy()
    new = values.copy()
    # a declared C3/C4 is the EPD's disposal: the share leaving for reuse does not go through it
    for kk, declared_c in ((flows.k3, inputs.c3_declared), (flows.k4, inputs.c4_declared)):
        scale = np.where(declared_c & (flows.s_reuse > 0), 1.0 - flows.s_reuse, 1.0)
        if approach != "multicycle":
            installed[:, kk] = _col(scale) * installed[:, kk]
            new[:, kk] = _col(scale) * new[:, kk]
    if approach in ("cutoff_d", "dk_zero"):
        return _cutoff(flows, installed, new, approach)
    if approach == "cff":
        return _cff(flows, installed, new)
    return _multicycle(flows, installed, new, split)


class _Flows:
    """Module positions, material flows and per-profile burdens shared by the approaches."""

    def __init__(self, values: np.ndarray, module_index: dict[str, int], inputs: CircularInputs) -> None:
        self.values, self.inputs = values, inputs
        self.k13, self.kD = module_index["A1-A3"], module_index["D"]
        self.k3, self.k4 = module_index["C3"], module_index["C4"]
        self.m, self.u, self.r1 = inputs.mass, inputs.reused, inputs.recycled
        shares = np.nan_to_num(inputs.shares)
        self.s_land, self.s_inc, self.s_reuse, self.s_rec = (shares[:, i] for i in range(4))
        self.ev = values[:, self.k13]
        self.has_eol = ~np.isnan(inputs.shares).any(axis=1)
        # m × per-kg burden: NaN mass makes the scenario part NaN (a gap), never 0
        self.recycle_kg = _col(self.m) * inputs.e_recycling
        self.recond_kg = _col(self.m) * inputs.e_reconditioning

    def cutoff_production(self, reused: np.ndarray) -> np.ndarray:
        """A1-A3 under cut-off: the virgin share, recycling of recycled content, reconditioning."""
        r1 = self.r1
        out = _col(1.0 - reused - r1) * self.ev
        out = out + np.where(_col(r1) > 0, _col(r1) * self.recycle_kg, 0.0)
        return out + np.where(_col(reused) > 0, _col(reused) * self.recond_kg, 0.0)

    def cutoff_d(self, reused: np.ndarray, base: np.ndarray) -> np.ndarray:
        """D under cut-off: the net output substitutes primary material; energy recovery credit."""
        inputs, kD = self.inputs, self.kD
        net = self.s_reuse + self.s_rec - reused - self.r1
        declared = ~np.isnan(base[:, kD])
        no_material_flow = _col(net == 0)
        credit = -_col(net * inputs.q_out) * inputs.substituted
        # nothing leaves the system (no reuse or recycling out, nothing in): D is a true 0, not a gap
        beyond = np.where(no_material_flow & _col(self.has_eol), 0.0, np.nan)
        material = np.where(declared, base[:, kD], np.where(~no_material_flow & _col(self.has_eol), credit, beyond))
        # exported energy from incineration with recovery (only where LHV and efficiencies are given);
        # an unknown material credit stays a gap, it is never dropped to 0
        energy = _col(self.s_inc) * inputs.energy_credit
        with_energy = ~declared & (energy != 0)
        return np.where(with_energy, np.where(no_material_flow, 0.0, material) + energy, material)


def _cutoff(flows: _Flows, installed: np.ndarray, new: np.ndarray, approach: str) -> tuple[np.ndarray, np.ndarray]:
    """``cutoff_d`` (EN 15804+A2) and ``dk_zero`` (BR18: the reused share counts zero)."""
    k13, kD, u = flows.k13, flows.kD, flows.u
    new[:, k13] = flows.cutoff_production(np.zeros_like(u))
    new[:, kD] = flows.cutoff_d(np.zeros_like(u), new)
    if approach == "cutoff_d":
        installed[:, k13] = flows.cutoff_production(u)
        installed[:, kD] = flows.cutoff_d(u, installed)
        return installed, new
    # dk_zero: the reused share counts zero in every module (its replacements too); the new share
    # is a new product. The receiver of a reused product counts zero, so the first user keeps the
    # burdens the component still has ahead of it: reconditioning and its final disposal.
    inputs, s_reuse = flows.inputs, flows.s_reuse
    keep = (1.0 - u)[:, None, None]
    installed = new * keep
    for kk, final in ((flows.k3, inputs.final_c3), (flows.k4, inputs.final_c4)):
        recondition = _col(flows.m) * inputs.e_reconditioning if kk == flows.k3 else 0.0
        ahead = _col(s_reuse * (1.0 - u)) * (final + recondition)
        installed[:, kk] = np.where(_col(s_reuse) > 0, np.nan_to_num(installed[:, kk]) + ahead, installed[:, kk])
    return installed, new * keep


def _cff(flows: _Flows, installed: np.ndarray, new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PEF Circular Footprint Formula: A shares burdens and benefits of recycling, B of energy recovery."""
    inputs, values, ev = flows.inputs, flows.values, flows.ev
    k3, k4, kD = flows.k3, flows.k4, flows.kD
    s_land, s_inc, s_reuse, s_rec = flows.s_land, flows.s_inc, flows.s_reuse, flows.s_rec
    a, b = _col(inputs.A), _col(inputs.B)
    q_in, q_out = _col(inputs.q_in), _col(inputs.q_out)
    r1, recycle_kg, recond_kg = flows.r1, flows.recycle_kg, flows.recond_kg

    def production(reused: np.ndarray) -> np.ndarray:
        primary = _col(1.0 - r1 - reused) * ev
        recycled = np.where(_col(r1) > 0, _col(r1) * (a * recycle_kg + (1 - a) * q_in * ev), 0.0)
        reuse = np.where(_col(reused) > 0, _col(reused) * (a * recond_kg + (1 - a) * q_in * ev), 0.0)
        return primary + recycled + reuse

    landfill_kg = _col(flows.m) * inputs.e_landfill
    incineration_kg = _col(flows.m) * inputs.e_incineration
    c3 = (1 - a) * (
        np.where(_col(s_rec) > 0, _col(s_rec) * recycle_kg, 0.0)
        + np.where(_col(s_reuse) > 0, _col(s_reuse) * recond_kg, 0.0)
    )
    c3 = c3 + np.where(_col(s_inc) > 0, (1 - b) * _col(s_inc) * incineration_kg, 0.0)
    c4 = np.where(_col(s_land) > 0, _col(s_land) * landfill_kg, 0.0)
    credit = -(1 - a) * _col(s_rec + s_reuse) * q_out * inputs.substituted
    energy = (1 - b) * _col(s_inc) * inputs.energy_credit
    eol_given = flows.has_eol[:, None]
    for target in (installed, new):
        target[:, k3] = np.where(eol_given, c3, values[:, k3])
        target[:, k4] = np.where(eol_given, c4, values[:, k4])
        # no reuse/recycling out and no energy exported: no CFF credit; D stays as the linear engine has it
        recovers = eol_given & ((_col(s_rec + s_reuse) > 0) | (energy != 0))
        material_credit = np.where(_col(s_rec + s_reuse) > 0, credit, 0.0)
        no_flow = np.where(eol_given, 0.0, np.nan)  # nothing leaves: a true 0 (as in cutoff_d)
        linear_d = np.where(np.isnan(values[:, kD]), no_flow, values[:, kD])
        target[:, kD] = np.where(recovers, material_credit + energy, linear_d)
    installed[:, flows.k13] = production(flows.u)
    new[:, flows.k13] = production(np.zeros_like(flows.u))
    return installed, new


def _multicycle(flows: _Flows, installed: np.ndarray, new: np.ndarray, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Design for several use cycles: production and final disposal shared over the cycles."""
    inputs, u = flows.inputs, flows.u
    n, k = inputs.cycles, inputs.cycle
    if split == "equal":
        p = e = 1.0 / n
    elif split == "first_last":
        p, e = (k == 1).astype(np.float64), (k == n).astype(np.float64)
    else:
        from ..errors import MethodError

        raise MethodError(f"unknown multicycle split {split!r}; choose equal or first_last", field="multicycle_split")
    # a component in a later cycle came from an earlier one: it carries its reconditioning
    extra = np.where(_col(k > 1), np.nan_to_num(flows.recond_kg), 0.0)
    several = _col(n > 1)
    # with n > 1 every cycle carries its share of the *final* disposal, whatever route (reuse) it
    # leaves this building by; with n = 1 the line's own end of life stands
    final = {flows.k3: inputs.final_c3, flows.k4: inputs.final_c4}
    # one cycle is plain cut-off; with n > 1 the cut-off product's production and final disposal are shared
    cut_production = flows.cutoff_production(np.zeros_like(u))
    installed[:, flows.k13] = np.where(several, _col(p) * cut_production + extra, flows.cutoff_production(u))
    new[:, flows.k13] = np.where(several, _col(p) * cut_production + extra, cut_production)
    for target, reused in ((installed, u), (new, np.zeros_like(u))):
        for kk in (flows.k3, flows.k4):
            target[:, kk] = np.where(several, _col(e) * final[kk], target[:, kk])
        d = flows.cutoff_d(np.zeros_like(u), flows.values)
        target[:, flows.kD] = np.where(several, _col(e) * d, flows.cutoff_d(reused, flows.values))
    return installed, new


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

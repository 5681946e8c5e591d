"""Reuse and recycling approaches, checked by hand on mpeil.testing.tiny_library().

Numbers used below (tiny library / tiny scenarios): steel A1-A3 2/kg, C3 0.01/kg (declared),
D −1/kg (declared); brick A1-A3 0.2/kg; concrete A1-A3 300/m³ at 2400 kg/m³; timber A1-A3 100/m³
at 500 kg/m³; recycling route (rubble processing) C3 0.002/kg; landfill C4 0.01/kg; incineration
C3 1.5/kg; reconditioning 0.05/kg; gravel 0.004/kg; heat 0.08/MJ; electricity 0.12/MJ.
Circular parameters: Metals A 0.2, E*v = self, reconditioning; bricks A 0.5, E*v = gravel;
concrete A 0.5; untreated wood A 0.5, LHV 15 MJ/kg, X heat 0.5, X elec 0.2.
"""

import math

import numpy as np
import pytest

from mpeil.compile import compile_buildings
from mpeil.engine import EngineOptions, IndicatorSpec, run_engine
from mpeil.engine.profiles import OUTPUT_MODULES
from mpeil.model import EndOfLifeShares, Layer
from mpeil.testing import one_layer_building, tiny_library, tiny_scenarios

M = {m: k for k, m in enumerate(OUTPUT_MODULES)}
APPROACHES = ("cutoff_d", "cff", "multicycle", "dk_zero")


def run(building, allocation="cutoff_d", split="equal"):
    library, scenarios = tiny_library(), tiny_scenarios()
    compiled = compile_buildings(building, library, scenarios, 60.0, default_transport="truck")
    options = EngineOptions(
        indicators=(IndicatorSpec.plain("GWP-total"), IndicatorSpec.plain("PM")),
        allocation=allocation,
        multicycle_split=split,
    )
    return run_engine(compiled, library, scenarios, options)


def g(result, module):
    return result.values[0, M[module], 0]


def beam(**fields):
    base = dict(service_life_years=60, waste_category="Metals")
    base.update(fields)
    return one_layer_building("t:steel", 500, "kg", **base)


# ---------------------------------------------------------------- steel beam reused twice
def test_steel_beam_reused_twice_cutoff():
    # first use: 500 kg × 2 = 1000; each reuse carries reconditioning only: 500 × 0.05 = 25
    first, second, third = run(beam()), run(beam(reused_input=1.0)), run(beam(reused_input=1.0))
    assert g(first, "A1-A3") == pytest.approx(1000.0, rel=1e-12)
    assert g(second, "A1-A3") == pytest.approx(25.0, rel=1e-12)
    assert g(third, "A1-A3") == pytest.approx(25.0, rel=1e-12)


@pytest.mark.parametrize("cycle", [1, 2, 3])
def test_steel_beam_three_cycles_multicycle_equal(cycle):
    # n = 3: each cycle carries 1000 / 3 of production and 1/3 of the final disposal:
    # declared C3 500 × 0.01 = 5; C4 from the Metals routes without reuse: 500 × 0.05 × 0.01 = 0.25;
    # D declared 500 × −1 = −500; cycles 2 and 3 add reconditioning 25.
    r = run(beam(use_cycles=3, use_cycle=cycle, reused_input=1.0 if cycle > 1 else 0.0), "multicycle")
    assert g(r, "A1-A3") == pytest.approx(1000 / 3 + (25.0 if cycle > 1 else 0.0), rel=1e-12)
    assert g(r, "C3") == pytest.approx(5 / 3, rel=1e-12)
    assert g(r, "C4") == pytest.approx(0.25 / 3, rel=1e-12)
    assert g(r, "D") == pytest.approx(-500 / 3, rel=1e-12)


def test_steel_beam_multicycle_first_last():
    # first cycle carries all production, last cycle all final disposal
    first = run(beam(use_cycles=3, use_cycle=1), "multicycle", "first_last")
    middle = run(beam(use_cycles=3, use_cycle=2, reused_input=1.0), "multicycle", "first_last")
    last = run(beam(use_cycles=3, use_cycle=3, reused_input=1.0), "multicycle", "first_last")
    assert (g(first, "A1-A3"), g(first, "C3")) == pytest.approx((1000.0, 0.0))
    assert (g(middle, "A1-A3"), g(middle, "C3")) == pytest.approx((25.0, 0.0))
    assert (g(last, "A1-A3"), g(last, "C3"), g(last, "C4")) == pytest.approx((25.0, 5.0, 0.25))


def test_reused_beam_dk_zero_counts_nothing_not_even_replacements():
    # life 20 in 60 → 2 replacements; reused input counts zero in every module
    r = run(beam(reused_input=1.0, service_life_years=20), "dk_zero")
    assert np.nansum(np.abs(r.values[0])) == 0.0
    # half reused: the other half is a new product, counted in full
    half = run(beam(reused_input=0.5, service_life_years=20), "dk_zero")
    new = run(beam(service_life_years=20), "dk_zero")
    np.testing.assert_allclose(half.values[0], 0.5 * new.values[0], rtol=1e-12, equal_nan=True)


# ---------------------------------------------------------------- brick with 95 % recycling
BRICK = dict(service_life_years=60, waste_category="Bricks, roof tiles")


def test_brick_95_percent_recycling_cutoff():
    # 1000 kg: C3 = 1000 × 0.95 × 0.002 = 1.9; C4 = 1000 × 0.05 × 0.01 = 0.5;
    # D (net scrap 0.95, substitutes gravel): −0.95 × 1000 × 0.004 = −3.8
    r = run(one_layer_building("t:brick", 1000, "kg", **BRICK))
    assert (g(r, "C3"), g(r, "C4"), g(r, "D")) == pytest.approx((1.9, 0.5, -3.8), rel=1e-12)
    assert g(r, "A1-A3") == pytest.approx(200.0, rel=1e-12)


def test_brick_95_percent_recycling_cff():
    # A = 0.5: C3 = (1 − A) × 0.95 × 1000 × 0.002 = 0.95; C4 = 0.05 × 1000 × 0.01 = 0.5;
    # D = −(1 − A) × 0.95 × 1000 × 0.004 = −1.9; A1-A3 (no recycled content) = 200
    r = run(one_layer_building("t:brick", 1000, "kg", **BRICK), "cff")
    assert (g(r, "A1-A3"), g(r, "C3"), g(r, "C4"), g(r, "D")) == pytest.approx((200.0, 0.95, 0.5, -1.9), rel=1e-12)


# ---------------------------------------------------------------- timber incinerated with energy recovery
WOOD = dict(service_life_years=60, waste_category="Untreated, uncontaminated wood")


def _timber(**fields):
    return one_layer_building("t:timber", 1, "m3", element_unit="piece", **{**WOOD, **fields})


@pytest.mark.parametrize("approach", ["cutoff_d", "cff"])
def test_timber_incinerated_with_energy_recovery(approach):
    # 1 m³ = 500 kg, all incinerated: C3 = 500 × 1.5 = 750 (B = 0 in the CFF: the same);
    # exported energy 500 kg × 15 MJ/kg × (0.5 × 0.08 + 0.2 × 0.12) = 7500 × 0.064 = 480 → D = −480
    r = run(_timber(end_of_life=EndOfLifeShares(incineration=1.0)), approach)
    assert g(r, "C3") == pytest.approx(750.0, rel=1e-12)
    assert g(r, "C4") == 0.0
    assert g(r, "D") == pytest.approx(-480.0, rel=1e-12)


def test_timber_default_routes_cutoff_and_cff():
    # TOTEM default for untreated wood: 25 % incineration, 75 % recycling
    # cut-off C3 = 500 × (0.25 × 1.5 + 0.75 × 0.002) = 188.25
    # CFF C3 = (1 − 0.5) × 0.75 × 500 × 0.002 + 0.25 × 500 × 1.5 = 0.375 + 187.5 = 187.875
    # D: recycled wood substitutes nothing known → the material credit is a gap in both (NaN, flagged)
    cutoff, cff = run(_timber()), run(_timber(), "cff")
    assert g(cutoff, "C3") == pytest.approx(188.25, rel=1e-12)
    assert g(cff, "C3") == pytest.approx(187.875, rel=1e-12)
    for r in (cutoff, cff):
        assert math.isnan(g(r, "D")) and r.missing[0, M["D"], 0] == 1


# ---------------------------------------------------------------- concrete with recycled aggregate
CONCRETE = dict(element_quantity=10, service_life_years=60, waste_category="Concrete", recycled_content=0.3)


def test_concrete_with_recycled_content_cutoff():
    # 2 m³ = 4800 kg; A1-A3 = 0.7 × 600 + 0.3 × 4800 × 0.002 = 420 + 2.88 = 422.88
    r = run(one_layer_building("t:concrete", 0.2, "m", **CONCRETE))
    assert g(r, "A1-A3") == pytest.approx(422.88, rel=1e-12)


def test_concrete_with_recycled_content_cff():
    # A = 0.5, Qsin/Qp = 1: 0.7 × 600 + 0.3 × (0.5 × 4800 × 0.002 + 0.5 × 600) = 420 + 91.44 = 511.44
    r = run(one_layer_building("t:concrete", 0.2, "m", **CONCRETE), "cff")
    assert g(r, "A1-A3") == pytest.approx(511.44, rel=1e-12)


# ---------------------------------------------------------------- conservation donor + receiver
def _pair(approach):
    """Donor uses a new 500 kg beam and sends it to reuse; the receiver takes it in and disposes of it."""
    cycles = dict(use_cycles=2) if approach == "multicycle" else {}
    donor = beam(end_of_life=EndOfLifeShares(reuse=1.0), component_id="beam-1", **cycles)
    receiver = beam(
        reused_input=1.0,
        source_component_id="beam-1",
        **({"use_cycles": 2, "use_cycle": 2} if approach == "multicycle" else {}),
    )
    return run(donor, approach), run(receiver, approach)


def _burdens(result, with_d):
    modules = ["A1-A3", "C3", "C4"] + (["D"] if with_d else [])
    return sum(np.nan_to_num(g(result, m)) for m in modules)


@pytest.mark.parametrize("approach", APPROACHES)
def test_donor_plus_receiver_equals_the_physical_chain(approach):
    # Physical chain of one beam: production 1000 + reconditioning 25 + final disposal by the receiver.
    # Final disposal (Metals, no reuse): C3 declared 5, C4 500 × 0.05 × 0.01 = 0.25 → 5.25.
    # Under the CFF the final disposal is the formula's: C3 (1 − 0.2) × 0.95 × 500 × 0.002 = 0.76,
    # C4 0.25 and D −(1 − 0.2) × 0.95 × 1000 = −760; the reuse interface terms (donor credit and C3,
    # receiver's A-split input) cancel, so the pair sums to production + reconditioning + that disposal.
    donor, receiver = _pair(approach)
    with_d = approach == "cff"
    chain = 1000 + 25 + ((0.76 + 0.25 - 760) if with_d else 5.25)
    assert _burdens(donor, with_d) + _burdens(receiver, with_d) == pytest.approx(chain, rel=1e-12)


# ---------------------------------------------------------------- validation
def test_use_cycle_beyond_cycles_is_rejected():
    with pytest.raises(ValueError):
        Layer(product="t:steel", amount=1, unit="kg", use_cycles=2, use_cycle=3)


def test_cycles_below_one_rejected():
    with pytest.raises(ValueError):
        Layer(product="t:steel", amount=1, unit="kg", use_cycles=0)


def test_shares_must_sum_to_one():
    with pytest.raises(ValueError):
        EndOfLifeShares(landfill=0.5, recycling=0.2)


@pytest.mark.parametrize("column, value", [("qs_in_qp", 0.0), ("qs_out_qp", 1.2), ("A", -0.1), ("B", 1.5)])
def test_parameters_outside_their_range_are_refused(tmp_path, column, value):
    import shutil

    from mpeil.errors import CircularityError
    from mpeil.model.scenarios import load_scenarios
    from mpeil.paths import scenarios_dir

    folder = tmp_path / "scenarios"
    shutil.copytree(scenarios_dir(), folder, ignore=shutil.ignore_patterns("examples", "archetypes"))
    table = folder / "circularity" / "materials.csv"
    lines = table.read_text().splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("waste_category"))
    names = lines[header].split(",")
    metals = next(i for i, line in enumerate(lines) if line.startswith("Metals,"))
    cells = lines[metals].split(",")
    cells[names.index(column)] = str(value)
    lines[metals] = ",".join(cells)
    table.write_text("\n".join(lines) + "\n")
    with pytest.raises(CircularityError) as info:
        load_scenarios(folder)
    assert info.value.field == column and "Metals" in str(info.value) and info.value.file.endswith("materials.csv")

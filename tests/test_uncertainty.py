"""Monte Carlo uncertainty (issue 13): zero spread, analytic mean, paired variants, exact replacements.

Expected values are hand calculations on ``mpeil.testing.tiny_library`` (method ``gwp``: GWP-total
over A1-A3 … C4 per m² GFA per year, 60 years), or invariants.
"""

import math

import numpy as np
import pandas as pd
import pytest

import mpeil
from mpeil.analysis.uncertainty import load_uncertainty, monte_carlo
from mpeil.errors import InputError
from mpeil.model import Building, Element, Layer
from mpeil.model.library import load_library
from mpeil.readers import read_building
from mpeil.synthetic import generate_stock
from mpeil.testing import tiny_library, tiny_scenarios

EXAMPLE = "scenarios/examples/terraced_house.json"
TINY = {"method": "gwp", "library": None, "scenarios": None, "default_transport": "truck"}


@pytest.fixture(scope="module")
def tiny():
    return {**TINY, "library": tiny_library(), "scenarios": tiny_scenarios()}


@pytest.fixture(scope="module")
def obd():
    return load_library(["obd2024"])


def _building(layers, building_id="b1", gfa=10.0) -> Building:
    return Building(
        id=building_id,
        gross_floor_area_m2=gfa,
        elements=[Element(id="e1", quantity=1.0, unit="m2", layers=layers)],
    )


def _spec(**sigmas):
    """The shipped spec with every spread zero except the given generic data σ / one service-life category."""
    spec = load_uncertainty().zero()
    from dataclasses import replace

    if "generic" in sigmas:
        spec = replace(spec, data_types=pd.Series({"generic": sigmas["generic"], "*": 0.0}))
    if "life" in sigmas:
        category, sigma = sigmas["life"]
        spec = replace(spec, service_lives=pd.Series({category: sigma, "*": 0.0}))
    return spec


# ---------------------------------------------------------------- zero spread: the deterministic score
def test_zero_spread_returns_the_deterministic_score_and_stages(obd):
    stock = generate_stock(12, seed=4)
    spec = load_uncertainty().zero()
    mc = monte_carlo(stock, n_draws=3, seed=1, library=obd, spec=spec)
    result = mpeil.score(stock, library=obd)
    expected = result.scores["score"].reindex(mc.building_ids).to_numpy()
    np.testing.assert_allclose(mc.scores, np.broadcast_to(expected, mc.scores.shape), rtol=1e-12, atol=0)
    stages = result.by_stage().reindex(mc.building_ids)
    np.testing.assert_allclose(mc.stages[0], stages[mc.stage_names].to_numpy(), rtol=1e-11, atol=1e-15)
    summary = mc.summary()
    np.testing.assert_allclose(summary["p5"], summary["p95"], rtol=1e-12)


def test_zero_spread_on_the_example_with_every_input_kind(obd):
    mc = monte_carlo(EXAMPLE, n_draws=2, library=obd, spec=load_uncertainty().zero())
    assert mc.scores[0, 0] == pytest.approx(mpeil.score(EXAMPLE, library=obd).scores["score"].iloc[0], rel=1e-12)
    assert mc.inputs.empty  # nothing was sampled


def test_an_unperturbed_draw_is_the_stages_score_bit_for_bit(obd):
    """Draws start from the stages' inventory and weight vector: with nothing perturbed, every draw
    has exactly the bits of ``mpeil.score`` (not only to summation order)."""
    stock = generate_stock(12, seed=4)
    mc = monte_carlo(stock, n_draws=3, seed=1, library=obd, spec=load_uncertainty().zero())
    expected = mpeil.score(stock, library=obd).scores["score"].reindex(mc.building_ids).to_numpy()
    assert mc.scores.tobytes() == np.broadcast_to(expected, mc.scores.shape).tobytes()
    assert mc.deterministic.tobytes() == expected.tobytes()


# ---------------------------------------------------------------- the mean of a linear case
def test_mean_converges_to_the_analytic_mean_of_a_linear_case(tiny):
    # brick 1000 kg: A1-A3 1000 × 0.2 = 200; A4 = 1 t × 50 km × 0.1 = 5; C2 = 1 t × 30 km × 0.1 = 3
    # steel  100 kg: A1-A3 100 × 2 = 200, C3 100 × 0.01 = 1; A4 = 0.1 × 50 × 0.1 = 0.5; C2 = 0.1 × 30 × 0.1 = 0.3
    # own values (scaled by the data set's lognormal factor, median 1): 200 and 201; transport 8.8 (fixed)
    building = _building(
        [
            Layer(product="t:brick", amount=1000.0, unit="kg", transport="truck"),
            Layer(product="t:steel", amount=100.0, unit="kg", transport="truck"),
        ]
    )
    sigma, n = 0.4, 4000
    mc = monte_carlo(building, n_draws=n, seed=7, spec=_spec(generic=sigma), **tiny)
    per = 10.0 * 60.0  # GFA × RSP
    assert mc.deterministic[0] == pytest.approx((200 + 201 + 8.8) / per, rel=1e-12)
    mean = (200 * math.exp(sigma**2 / 2) + 201 * math.exp(sigma**2 / 2) + 8.8) / per
    variance = (200**2 + 201**2) * (math.exp(sigma**2) - 1) * math.exp(sigma**2) / per**2
    standard_error = math.sqrt(variance / n)
    assert abs(mc.scores[:, 0].mean() - mean) < 4 * standard_error
    assert abs(mean - mc.deterministic[0]) > 8 * standard_error  # the test can tell mean from median
    assert np.median(mc.scores[:, 0]) == pytest.approx(mc.deterministic[0], rel=0.03)  # lognormal median 1


def test_sensitivity_ranks_the_data_set_that_carries_the_variance(tiny):
    building = _building(
        [
            Layer(product="t:brick", amount=1000.0, unit="kg", transport="truck"),  # A1-A3 200
            Layer(product="t:steel", amount=1.0, unit="kg", transport="truck"),  # A1-A3 2
        ]
    )
    mc = monte_carlo(building, n_draws=2000, seed=3, spec=_spec(generic=0.3), **tiny)
    ranking = mc.sensitivity()
    assert ranking["input"].iloc[0].endswith("(t:brick)")
    assert ranking["share"].iloc[0] > 0.95  # variance ratio 200² : 2² (hand)


# ---------------------------------------------------------------- service lives: replacements exact per draw
def test_replacements_are_recounted_exactly_in_every_draw(tiny):
    # one brick line, 25 years, category "Coating (interior)" sampled with σ = 0.3
    building = _building(
        [
            Layer(
                product="t:brick",
                amount=1000.0,
                unit="kg",
                transport="truck",
                service_life_years=25.0,
                service_life_category="Coating (interior)",
            )
        ]
    )
    mc = monte_carlo(building, n_draws=300, seed=11, spec=_spec(life=("Coating (interior)", 0.3)), **tiny)
    life = 25.0 * np.exp(mc.inputs["service life Coating (interior)"].to_numpy())
    replacements = np.maximum(np.ceil(60.0 / life - 1e-9) - 1.0, 0.0)
    # one installation: A1-A3 200 + A4 5 + C2 3 = 208; each replacement repeats A1-A3, A4, C2
    expected = 208.0 * (1.0 + replacements) / 600.0
    np.testing.assert_allclose(mc.scores[:, 0], expected, rtol=1e-12)
    assert len(np.unique(replacements)) >= 3  # the draws do cross the thresholds


# ---------------------------------------------------------------- variants: paired draws
def test_variant_without_a_part_is_lower_in_every_draw(obd):
    house = read_building(EXAMPLE)
    result = mpeil.score(house, library=obd)
    elements = result.by_element()
    biggest = elements.sort_values("score", ascending=False)["element"].iloc[0]
    variant = house.model_copy(
        deep=True, update={"id": "without-" + biggest, "elements": [e for e in house.elements if e.id != biggest]}
    )
    mc = monte_carlo([house, variant], n_draws=400, seed=2, library=obd, spec=load_uncertainty())
    assert mc.p_lower(1, 0) == 1.0
    assert mc.p_lower(0, 1) == 0.0
    # the spread is real: the house alone varies
    assert np.ptp(mc.scores[:, 0]) > 0.05 * mc.deterministic[0]


def test_probability_of_exceeding_a_limit(tiny):
    building = _building([Layer(product="t:brick", amount=1000.0, unit="kg", transport="truck")])
    mc = monte_carlo(building, n_draws=1000, seed=5, spec=_spec(generic=0.3), **tiny)
    det = mc.deterministic[0]  # (200 + 5 + 3) / 600
    assert det == pytest.approx(208 / 600, rel=1e-12)
    # P(score > det) = P(200 f + 8 > 208) = P(f > 1) = 0.5 for a median-1 lognormal
    assert mc.p_exceeds(det).iloc[0] == pytest.approx(0.5, abs=0.05)
    assert mc.p_exceeds(0.0).iloc[0] == 1.0
    assert mc.p_exceeds(10 * det).iloc[0] == 0.0
    assert np.isnan(mc.p_exceeds(np.nan).iloc[0])


def test_the_same_seed_gives_the_same_draws_and_chunking_does_not_matter(tiny):
    building = _building([Layer(product="t:brick", amount=1000.0, unit="kg", transport="truck")])
    a = monte_carlo(building, n_draws=100, seed=9, spec=_spec(generic=0.3), chunk=7, **tiny)
    b = monte_carlo(building, n_draws=100, seed=9, spec=_spec(generic=0.3), chunk=100, **tiny)
    np.testing.assert_array_equal(a.scores, b.scores)


def test_bad_draw_count_and_bad_spread_tables_are_typed_errors(tiny, tmp_path):
    building = _building([Layer(product="t:brick", amount=1.0, unit="kg")])
    with pytest.raises(InputError, match="n_draws"):
        monte_carlo(building, n_draws=0, **tiny)
    for name in ("data_types", "service_lives", "transport", "end_of_life"):
        source = load_uncertainty().sources[name]
        assert all(isinstance(s, str) and s for s in source.values())  # every row names a source
    (tmp_path / "data_types.csv").write_text("data_type,sigma_log,source\ngeneric,-1,x\n")
    with pytest.raises(InputError, match="sigma_log"):
        load_uncertainty(tmp_path)


def test_estimated_indicators_add_their_own_spread(tiny):
    from mpeil.model.library import EPDLibrary

    base = tiny_library()
    estimates = pd.DataFrame(
        {"dataset_id": ["t:brick"], "module": ["A1-A3"], "indicator": ["GWP-total"], "value": [0.2], "sigma_log": [0.5]}
    )

    class WithEstimates(EPDLibrary):  # library.estimates as issue 8 ships it (dataset, module, indicator, σ)
        pass

    WithEstimates.estimates = estimates  # type: ignore[attr-defined]
    library = WithEstimates(base.datasets, base.values, name="tiny-estimates")
    building = _building([Layer(product="t:brick", amount=1000.0, unit="kg", transport="truck")])
    n = 4000
    from dataclasses import replace

    spec = replace(_spec(generic=0.0), use_estimates=True)  # only the estimates' own σ
    mc = monte_carlo(building, n_draws=n, seed=13, spec=spec, **{**tiny, "library": library})
    # A1-A3 200 × lognormal(σ = 0.5) + A4 5 + C2 3 (fixed), over GFA 10 × 60 years
    mean = (200 * math.exp(0.125) + 8) / 600
    sd = 200 * math.sqrt((math.exp(0.25) - 1) * math.exp(0.25)) / 600
    assert abs(mc.scores[:, 0].mean() - mean) < 4 * sd / math.sqrt(n)
    without = monte_carlo(building, n_draws=50, seed=13, spec=spec.zero(), **{**tiny, "library": library})
    assert np.ptp(without.scores) == 0.0  # use_estimates off: no spread


def test_cli_prints_quantiles_and_reports_a_missing_file_in_one_line(tmp_path):
    import subprocess
    import sys

    ok = subprocess.run(
        [sys.executable, "-m", "mpeil", "uncertainty", EXAMPLE, "--draws", "50", "--limit", "0", "--format", "csv"],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    frame = pd.read_csv(__import__("io").StringIO(ok.stdout))
    assert list(frame["building"]) == ["example-terraced-house"]
    assert frame["p5"].iloc[0] <= frame["p50"].iloc[0] <= frame["p95"].iloc[0]
    assert frame["p_exceeds"].iloc[0] == 1.0  # every draw is above 0
    bad = subprocess.run(
        [sys.executable, "-m", "mpeil", "uncertainty", str(tmp_path / "nothing.json")], capture_output=True, text=True
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr

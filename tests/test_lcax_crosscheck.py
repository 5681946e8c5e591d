"""Cross-check against lcax (an independent Rust calculator) on an example building.

lcax computes quantity × EPD value per module and sums products and assemblies; it models no
replacements and no transport. With every service life set to the study period (no
replacements), its totals per module (A1-A3 … D, B4 apart) must equal mpeil's for the same module values.
"""

import lcax
import numpy as np
import pytest

from mpeil.api import engine_options
from mpeil.compile import compile_buildings
from mpeil.engine import run_engine
from mpeil.engine.profiles import OUTPUT_MODULES
from mpeil.methods import load_method
from mpeil.methods.scoring import building_totals
from mpeil.model.library import load_library
from mpeil.model.scenarios import load_scenarios
from mpeil.outputs.lcax import LCAX_CATEGORIES, LCAX_MODULES, to_lcax
from mpeil.paths import scenarios_dir
from mpeil.readers import read_building

EXAMPLES = [scenarios_dir() / "examples" / name for name in ("terraced_house.json", "apartment_building.json")]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_lcax_totals_equal_mpeil_without_replacements(path):
    library, scenarios = load_library(["obd2024"]), load_scenarios()
    building = read_building(path)
    for element in building.elements:  # no replacements: lcax has none
        for layer in element.layers:
            layer.service_life_years = 60.0
    method = load_method("mpeil-ef31")
    options = engine_options(method)
    compiled = compile_buildings(building, library, scenarios, 60.0, method.default_transport)
    ours = building_totals(run_engine(compiled, library, scenarios, options)).values[0]
    assert np.nansum(np.abs(ours[OUTPUT_MODULES.index("B4")])) == 0.0

    project = lcax.calculate_project(to_lcax(compiled, library, scenarios, options))
    checked = 0
    for j, spec in enumerate(options.indicators):
        if spec.code not in LCAX_CATEGORIES:
            continue
        theirs = lcax.get_impacts_by_life_cycle_module(
            project.results, getattr(lcax.ImpactCategoryKey, LCAX_CATEGORIES[spec.code])
        )
        theirs = {str(k).split(".")[-1].upper(): v for k, v in (theirs.dict() if theirs else {}).items()}
        for module in ("A1-A3", "A4", "A5", "B1", "B2", "B3", "B5", "C1", "C2", "C3", "C4", "D"):
            mine = np.nan_to_num(ours[OUTPUT_MODULES.index(module), j])
            other = theirs.get(LCAX_MODULES[module].upper(), 0.0) or 0.0
            assert other == pytest.approx(mine, rel=1e-9, abs=1e-12), (spec.code, module)
            checked += mine != 0
    assert checked > 20  # the comparison really compared non-zero numbers

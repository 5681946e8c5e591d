"""Cross-check of the aggregation against Brightway (bw2calc), an independent matrix LCA solver.

The example building becomes a product system: one activity per (unit profile, weight group)
emitting the profile's module values as per-module proxy flows, and a building activity that
consumes each of them by the summed line weights (quantities × replacements × installations).
bw2calc solves the technosphere and sums the inventory; the per-module totals must equal the
engine's sparse aggregation, replacements included.
"""

import warnings

import numpy as np
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # bw2calc warns at import that pypardiso is not installed
    import bw2calc
    import bw_processing as bwp

from mpeil.api import engine_options
from mpeil.compile import compile_buildings
from mpeil.engine import prepare_lines, run_engine
from mpeil.engine.core import WEIGHT_GROUPS
from mpeil.engine.profiles import OUTPUT_MODULES
from mpeil.methods import load_method
from mpeil.methods.scoring import building_totals
from mpeil.model.library import load_library
from mpeil.model.scenarios import load_scenarios
from mpeil.paths import scenarios_dir
from mpeil.readers import read_building


@pytest.mark.parametrize("example", ["terraced_house", "apartment_building"])
def test_bw2calc_inventory_equals_engine_totals(example):
    library, scenarios, method = load_library(["obd2024"]), load_scenarios(), load_method("mpeil-ef31")
    options = engine_options(method)
    building = read_building(scenarios_dir() / "examples" / f"{example}.json")
    compiled = compile_buildings(
        building, library, scenarios, method.reference_study_period_years, method.default_transport
    )
    ours = building_totals(run_engine(compiled, library, scenarios, options)).values[0]

    prepared = prepare_lines(compiled, library, scenarios, options)  # the engine's own profiles and weights
    index, profiles, weights = prepared.profile_index, prepared.profiles, prepared.weights
    n_p, n_m, n_i = profiles.values.shape
    groups = list(WEIGHT_GROUPS)
    techno_idx, techno_val, techno_flip, bio_idx, bio_val = [], [], [], [], []
    building_id = 1
    techno_idx.append((building_id, building_id))
    techno_val.append(1.0)
    techno_flip.append(False)
    for g, group in enumerate(groups):
        demand = np.bincount(index, weights=getattr(weights, group), minlength=n_p)
        for p in np.flatnonzero(demand):
            activity = 10 + p * len(groups) + g
            techno_idx += [(activity, activity), (activity, building_id)]
            techno_val += [1.0, float(demand[p])]
            techno_flip += [False, True]
            for module in WEIGHT_GROUPS[group]:
                m = OUTPUT_MODULES.index(module)
                for i in range(n_i):
                    value = profiles.values[p, m, i]
                    if not np.isnan(value) and value != 0.0:
                        bio_idx.append((10**7 + m * n_i + i, activity))
                        bio_val.append(float(value))
    package = bwp.create_datapackage()
    package.add_persistent_vector(
        matrix="technosphere_matrix",
        indices_array=np.array(techno_idx, dtype=bwp.INDICES_DTYPE),
        data_array=np.array(techno_val),
        flip_array=np.array(techno_flip),
    )
    package.add_persistent_vector(
        matrix="biosphere_matrix",
        indices_array=np.array(bio_idx, dtype=bwp.INDICES_DTYPE),
        data_array=np.array(bio_val),
    )
    flows = sorted({f for f, _ in bio_idx})
    package.add_persistent_vector(
        matrix="characterization_matrix",
        indices_array=np.array([(f, f) for f in flows], dtype=bwp.INDICES_DTYPE),
        data_array=np.ones(len(flows)),
    )
    lca = bw2calc.LCA(demand={building_id: 1.0}, data_objs=[package])
    lca.lci()
    inventory = np.asarray(lca.inventory.sum(axis=1)).ravel()
    theirs = np.zeros((n_m, n_i))
    for flow, row in lca.dicts.biosphere.items():
        m, i = divmod(flow - 10**7, n_i)
        theirs[m, i] = inventory[row]
    np.testing.assert_allclose(theirs, np.nan_to_num(ours), rtol=1e-9, atol=1e-9)
    assert np.count_nonzero(theirs) > 50  # a real comparison (91 non-zero module × indicator totals here)

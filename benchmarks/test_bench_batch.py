"""pytest-benchmark: batch throughput (issue 5): end to end at several sizes, a streamed stock, and a
per-building bw2calc LCA for comparison.

    pytest benchmarks --benchmark-enable

Not part of the test suite; no timing is asserted. ``benchmarks/scaling.py`` runs the full scaling
series (up to 1,000,000 buildings, streamed) with peak memory per step.
"""

import os
import warnings

import _common as C
import pytest

from mpeil.synthetic import iter_stock

SIZES = [int(x) for x in os.environ.get("MPEIL_BENCH_SIZES", "1000,10000").split(",")]
BW_SAMPLE = int(os.environ.get("MPEIL_BENCH_BW_BUILDINGS", "20"))


@pytest.fixture(scope="module")
def mpeil_setup():
    return C.setup()


@pytest.mark.parametrize("n", SIZES)
def test_end_to_end(benchmark, n, mpeil_setup):
    frame = C.stock_frame(n, seed=1)
    scores = benchmark.pedantic(C.score_frame, args=(frame, mpeil_setup), rounds=2, iterations=1)
    assert len(scores) == n
    if benchmark.stats is not None:
        benchmark.extra_info["buildings_per_s"] = n / benchmark.stats.stats.min


def test_streamed_chunks_generate_score_discard(benchmark, mpeil_setup):
    """3 chunks of 2,000 buildings: generate → compile → score → discard (memory stays flat)."""

    def stream():
        medians = []
        for chunk in iter_stock(6000, chunk=2000, seed=1):
            medians.append(float(C.score_frame(chunk, mpeil_setup)["score"].median()))
        return medians

    medians = benchmark.pedantic(stream, rounds=1, iterations=1)
    assert len(medians) == 3


@pytest.fixture(scope="module")
def brightway(tmp_path_factory, mpeil_setup):
    os.environ["BRIGHTWAY2_DIR"] = str(tmp_path_factory.mktemp("brightway"))  # before bw2data is imported
    os.environ.setdefault("TQDM_DISABLE", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = C.compile_stock(C.stock_frame(200, seed=1), mpeil_setup)
        parts = C.engine_parts(compiled, mpeil_setup)
        model = C.BrightwayModel(parts["profiles"], [s.code for s in mpeil_setup.options.indicators])
    demands = C.building_demands(compiled, parts["keys_index"], parts["weights"], range(BW_SAMPLE))
    return model, compiled, demands


def test_bw2calc_per_building(benchmark, brightway):
    """Per building: write its activity with bw2data, solve one bw2calc LCA (GWP-total, A1-A3…C4)."""
    model, compiled, demands = brightway

    def run():
        return [model.score(model.write_building(str(compiled.building_ids[b]), demands[b])) for b in demands]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = benchmark.pedantic(run, rounds=1, iterations=1)
    assert len(scores) == BW_SAMPLE
    if benchmark.stats is not None:
        benchmark.extra_info["ms_per_building"] = 1000 * benchmark.stats.stats.min / BW_SAMPLE

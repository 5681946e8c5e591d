"""pytest-benchmark: the engine core on a synthetic stock (issue 3).

    pytest benchmarks --benchmark-enable                       # 10,000 buildings (≈ 1.8 M lines)
    MPEIL_BENCH_BUILDINGS=2000 pytest benchmarks --benchmark-enable

Not part of the test suite (``testpaths`` are ``tests`` and ``properties``); no timing is asserted.
``benchmarks/scaling.py`` measures the same things, with peak memory, in one run.
"""

import os

import _common as C
import numpy as np
import pytest

from mpeil.synthetic import generate_stock

BUILDINGS = int(os.environ.get("MPEIL_BENCH_BUILDINGS", "10000"))
LCAX_SAMPLE = int(os.environ.get("MPEIL_BENCH_LCAX_BUILDINGS", "100"))


@pytest.fixture(scope="module")
def mpeil_setup():
    return C.setup()


@pytest.fixture(scope="module")
def frame():
    return C.stock_frame(BUILDINGS, seed=1)


@pytest.fixture(scope="module")
def compiled(frame, mpeil_setup):
    return C.compile_stock(frame, mpeil_setup)


def _lines_per_s(benchmark, lines):
    benchmark.extra_info["lines"] = int(lines)
    if benchmark.stats is not None:  # None when benchmarks are disabled (a smoke run)
        benchmark.extra_info["lines_per_s_at_min"] = lines / benchmark.stats.stats.min


def test_generate_stock_100k(benchmark):
    frame = benchmark.pedantic(generate_stock, args=(100_000,), kwargs={"seed": 1}, rounds=3, iterations=1)
    assert frame["building_id"].nunique() == 100_000
    _lines_per_s(benchmark, len(frame))


def test_compile(benchmark, frame, mpeil_setup):
    compiled = benchmark.pedantic(C.compile_stock, args=(frame, mpeil_setup), rounds=2, iterations=1)
    _lines_per_s(benchmark, compiled.n_lines)


def test_run_engine_full_output(benchmark, compiled, mpeil_setup):
    """run_engine on compiled buildings: every module × indicator per element, gaps counted."""
    result = benchmark.pedantic(
        C.run_engine_once, args=(compiled, mpeil_setup), rounds=3, iterations=1, warmup_rounds=1
    )
    assert result.values.shape[0] == compiled.n_elements
    _lines_per_s(benchmark, compiled.n_lines)


def test_unit_profiles(benchmark, compiled, mpeil_setup):
    from mpeil.engine.profiles import build_profiles, profile_keys

    o = mpeil_setup.options

    def profiles():
        _, keys = profile_keys(compiled)
        return build_profiles(mpeil_setup.library, mpeil_setup.scenarios, keys, compiled, o)

    benchmark.pedantic(profiles, rounds=3, iterations=1, warmup_rounds=1)
    _lines_per_s(benchmark, compiled.n_lines)


def test_sparse_aggregation(benchmark, compiled, mpeil_setup):
    from mpeil.engine.core import aggregate

    parts = C.engine_parts(compiled, mpeil_setup)
    profiles = parts["profiles"]
    benchmark.pedantic(
        aggregate,
        args=(
            compiled.line_element,
            compiled.n_elements,
            parts["keys_index"],
            parts["weights"],
            profiles.values,
            profiles.missing,
        ),
        rounds=3,
        iterations=1,
        warmup_rounds=1,
    )
    _lines_per_s(benchmark, compiled.n_lines)


def test_bare_scipy_product_of_the_same_size(benchmark, compiled):
    """Reference: CSR elements × profiles (nnz = lines) @ dense profiles × (13 modules · 19 indicators)."""
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    indptr = np.zeros(compiled.n_elements + 1, dtype=np.int32)
    np.cumsum(np.bincount(compiled.line_element, minlength=compiled.n_elements), out=indptr[1:])
    n_profiles = 106
    matrix = sp.csr_matrix(
        (rng.random(compiled.n_lines), rng.integers(0, n_profiles, compiled.n_lines).astype(np.int32), indptr),
        shape=(compiled.n_elements, n_profiles),
    )
    dense = rng.random((n_profiles, 13 * 19))
    benchmark.pedantic(lambda: matrix @ dense, rounds=5, iterations=1, warmup_rounds=1)
    _lines_per_s(benchmark, compiled.n_lines)


def test_end_to_end_flat_frame_to_scores(benchmark, frame, mpeil_setup):
    scores = benchmark.pedantic(C.score_frame, args=(frame, mpeil_setup), rounds=2, iterations=1)
    assert len(scores) == BUILDINGS
    _lines_per_s(benchmark, len(frame))
    if benchmark.stats is not None:
        benchmark.extra_info["ms_per_building"] = 1000 * benchmark.stats.stats.min / BUILDINGS


def test_lcax_calculate_project_like_for_like(benchmark, mpeil_setup):
    """lcax.calculate_project per building (no replacements, A1-A3/C/D: what lcax computes)."""
    import lcax

    frame = C.like_for_like_frame(C.stock_frame(LCAX_SAMPLE, seed=1))
    compiled = C.compile_stock(frame, mpeil_setup)
    projects = C.lcax_projects(compiled, mpeil_setup)
    calculated = benchmark.pedantic(lambda: [lcax.calculate_project(p) for p in projects], rounds=2, iterations=1)
    assert len(calculated) == LCAX_SAMPLE
    _lines_per_s(benchmark, compiled.n_lines)

"""Unit profiles kept per library (:class:`mpeil.engine.profiles.ProfileCache`): the profiles taken from
the cache and those built around them are byte-equal to building every profile afresh, scores stay the
same bits with a warm cache, and the cache is bounded."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from service_support import EXAMPLES

from mpeil import Scorer
from mpeil.engine.profiles import _CACHE_KEYS, ProfileCache, _build_profiles, build_profiles, profile_keys
from mpeil.synthetic import write_stock


@pytest.fixture(scope="module")
def scorer():
    return Scorer("mpeil-ef31")


@pytest.fixture(scope="module")
def compiled(scorer, tmp_path_factory):
    """Two example buildings and 12 synthetic ones (varied data sets, transport, end of life)."""
    folder = tmp_path_factory.mktemp("stock")
    paths = [EXAMPLES / "terraced_house.json", EXAMPLES / "apartment_building.json"]
    paths += write_stock(12, folder, seed=7, per_file=1)
    return scorer.compile([str(p) for p in paths])


def _fresh(scorer, compiled, keys):
    """Every profile built, no cache: the reference."""
    return _build_profiles(scorer.library, scorer.scenarios, keys, compiled, scorer.engine_options)


def _same_bytes(a, b) -> None:
    assert a.values.tobytes() == b.values.tobytes()
    assert a.missing.tobytes() == b.missing.tobytes()
    assert a.fallback.tobytes() == b.fallback.tobytes()


def test_a_cold_cache_builds_the_same_bytes_and_keeps_every_profile(scorer, compiled):
    _, keys = profile_keys(compiled)
    cache = ProfileCache()
    got = build_profiles(scorer.library, scorer.scenarios, keys, compiled, scorer.engine_options, cache=cache)
    _same_bytes(got, _fresh(scorer, compiled, keys))
    assert len(cache) == len(keys) > 50 and cache.misses == len(keys) and cache.hits == 0


def test_profiles_partly_from_the_cache_are_byte_equal_to_all_built(scorer, compiled):
    _, keys = profile_keys(compiled)
    cache = ProfileCache()
    # warm with the profiles of three buildings, compiled on their own (other positions, other lookup lists)
    keep = np.zeros(compiled.n_buildings, dtype=bool)
    keep[[0, 3, 5]] = True
    part = compiled.select_buildings(keep)
    _, part_keys = profile_keys(part)
    build_profiles(scorer.library, scorer.scenarios, part_keys, part, scorer.engine_options, cache=cache)
    warmed = len(cache)
    got = build_profiles(scorer.library, scorer.scenarios, keys, compiled, scorer.engine_options, cache=cache)
    assert 0 < cache.hits <= warmed < len(keys)  # some profiles came from the cache, the rest were built
    _same_bytes(got, _fresh(scorer, compiled, keys))
    again = build_profiles(scorer.library, scorer.scenarios, keys, compiled, scorer.engine_options, cache=cache)
    assert cache.hits >= len(keys)  # the second time, every profile from the cache
    _same_bytes(again, _fresh(scorer, compiled, keys))


def test_other_options_do_not_share_profiles(scorer, compiled):
    _, keys = profile_keys(compiled)
    cache = ProfileCache()
    cff = scorer.with_options(eol_allocation="cff")
    build_profiles(scorer.library, scorer.scenarios, keys, compiled, scorer.engine_options, cache=cache)
    got = build_profiles(cff.library, cff.scenarios, keys, compiled, cff.engine_options, cache=cache)
    expected = _build_profiles(cff.library, cff.scenarios, keys, compiled, cff.engine_options)
    _same_bytes(got, expected)


def test_scores_with_a_warm_cache_are_the_same_bits(scorer):
    house = str(EXAMPLES / "terraced_house.json")
    cache = scorer.library.memo(("profile-cache",), ProfileCache)  # the cache the stages use
    cache.clear()
    cold = scorer.score(house)  # every profile built
    hits = cache.hits
    warm = scorer.score(house)  # every profile from the cache
    assert cache.hits - hits == len(cache) > 0
    assert cold.scores["score"].to_numpy().tobytes() == warm.scores["score"].to_numpy().tobytes()
    assert cold.elements.values.tobytes() == warm.elements.values.tobytes()
    assert cold.elements.missing.tobytes() == warm.elements.missing.tobytes()


def test_the_cache_is_bounded_and_drops_the_least_recently_used(scorer, compiled):
    _, keys = profile_keys(compiled)
    cache = ProfileCache(size=5)
    got = build_profiles(scorer.library, scorer.scenarios, keys, compiled, scorer.engine_options, cache=cache)
    assert len(cache) == 5
    _same_bytes(got, _fresh(scorer, compiled, keys))
    copy = pickle.loads(pickle.dumps(cache))  # a library sent to a child process takes an empty cache along
    assert isinstance(copy, ProfileCache) and len(copy) == 0 and copy.size == 5


def test_every_profile_key_column_is_part_of_the_cache_key(scorer, compiled):
    """A new key column must be added to the cache's key (by bits, or by the value it indexes): until it
    is, profiles are built without the cache, never taken for a key that differs only there."""
    _, keys = profile_keys(compiled)
    assert set(keys.columns) == _CACHE_KEYS
    cache = ProfileCache()
    wider = keys.assign(new_setting=1.0)
    got = build_profiles(scorer.library, scorer.scenarios, wider, compiled, scorer.engine_options, cache=cache)
    assert len(cache) == 0  # not cached
    _same_bytes(got, _fresh(scorer, compiled, keys))


def test_key_columns_name_the_same_profiles_as_the_key_frame(scorer, compiled):
    """``profile_key_columns`` (arrays, what the engine passes) and ``profile_keys`` (a frame): the same
    per-line index, the same cache names, and the same bytes cold, warm and half warm."""
    from mpeil.engine.profiles import _profile_names, profile_key_columns

    index, keys = profile_keys(compiled)
    column_index, columns = profile_key_columns(compiled)
    assert index.tobytes() == column_index.tobytes()
    assert set(columns) == set(keys.columns) == _CACHE_KEYS
    token = object()
    assert _profile_names(columns, compiled, token) == _profile_names(keys, compiled, token)
    expected = _fresh(scorer, compiled, keys)
    cache = ProfileCache()
    half = {name: column[::2] for name, column in columns.items()}
    build_profiles(scorer.library, scorer.scenarios, half, compiled, scorer.engine_options, cache=cache)
    for _ in range(2):  # half warm, then warm
        got = build_profiles(scorer.library, scorer.scenarios, columns, compiled, scorer.engine_options, cache=cache)
        _same_bytes(got, expected)
    _same_bytes(
        build_profiles(
            scorer.library, scorer.scenarios, columns, compiled, scorer.engine_options, cache=ProfileCache()
        ),
        expected,
    )

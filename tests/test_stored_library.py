"""The shipped library as prepared, stored in the user cache (mpeil.model.stored), and the other
cold-start changes (pint without dask, the budget child's smaller result): same numbers, bit for bit."""

from __future__ import annotations

import pickle
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from mpeil.api import Scorer
from mpeil.model.library import EPDLibrary, load_library
from mpeil.model.stored import read_stored_library, store_library, stored_key, stored_path, stored_sources
from mpeil.paths import data_dir, scenarios_dir
from mpeil.stages import context as context_module
from mpeil.stages.context import prepare, prepare_stored

EXAMPLE = scenarios_dir() / "examples" / "terraced_house.json"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A private cache folder holding the stored shipped library (built here once)."""
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MPEIL_CACHE_DIR", str(folder))
        context_module._shipped_library.cache_clear()
        prepare_stored()
        path = stored_path(stored_sources(None))
        yield folder, path
    context_module._shipped_library.cache_clear()


def _fresh_library() -> EPDLibrary:
    """The shipped library read from its sources again, bypassing every in-process cache."""
    root = data_dir() / "epd"
    names = stored_sources(None)
    return EPDLibrary.concat([EPDLibrary.from_folder(root / name) for name in names], name="+".join(names))


def _bits(array: np.ndarray) -> bytes:
    return np.ascontiguousarray(array).tobytes()


def test_the_stored_file_is_private_and_named_by_its_key(cache):
    folder, path = cache
    assert path.is_file() and path.parent == folder / "library"
    assert path.stat().st_mode & 0o077 == 0
    assert path.stem.endswith(stored_key(stored_sources(None)))


def test_a_stored_library_scores_bit_for_bit_as_one_prepared_from_source(cache):
    _folder, path = cache
    stored = read_stored_library(path)
    assert stored is not None and stored is not load_library()
    fresh = _fresh_library()
    pd.testing.assert_frame_equal(stored.datasets, fresh.datasets, check_exact=True)
    pd.testing.assert_frame_equal(stored.values, fresh.values, check_exact=True)
    from_store = Scorer.from_context(prepare(library=stored)).score(EXAMPLE)
    from_source = Scorer.from_context(prepare(library=fresh)).score(EXAMPLE)
    assert _bits(from_store.elements.values) == _bits(from_source.elements.values)
    assert _bits(from_store.elements.missing) == _bits(from_source.elements.missing)
    pd.testing.assert_frame_equal(from_store.scores, from_source.scores, check_exact=True)
    assert from_store.provenance["library"] == from_source.provenance["library"]


def test_the_stored_library_holds_the_derived_tensors_bit_for_bit(cache):
    """Every tensor the warm-up memoised reads back with the bits a fresh derivation gives."""
    _folder, path = cache
    stored = read_stored_library(path)
    scored = stored.memo(("with_estimates", True), lambda: None)  # the default method's library
    assert isinstance(scored, EPDLibrary)
    fresh = _fresh_library().with_estimates(replace_flagged=True)
    tensors = [key for key, value in scored._memo.items() if key[0] == "tensor" and isinstance(value, np.ndarray)]
    assert tensors  # the warm-up derived them
    for key in tensors:
        assert _bits(scored._memo[key]) == _bits(fresh.tensor(key[1], key[2], dict(key[3]) or None)), key


def test_the_cli_scores_the_same_from_the_store_and_without_it(cache, monkeypatch):
    from typer.testing import CliRunner

    from mpeil.cli import app

    folder, _path = cache
    monkeypatch.setenv("MPEIL_BUDGET", "off")
    command = ["score", str(EXAMPLE), "--format", "csv"]
    monkeypatch.setenv("MPEIL_CACHE_DIR", str(folder))
    stored = CliRunner().invoke(app, command)
    monkeypatch.setenv("MPEIL_CACHE_DIR", "none")
    plain = CliRunner().invoke(app, command)
    assert stored.exit_code == plain.exit_code == 0
    assert stored.stdout == plain.stdout
    assert "example-terraced-house" in plain.stdout


def _tiny() -> EPDLibrary:
    shipped = load_library(["br18"])
    return EPDLibrary(shipped.datasets.head(3), shipped.values.iloc[:0], name="tiny")


@pytest.mark.parametrize("case", ["empty", "garbage", "another key", "not a library"])
def test_a_corrupt_file_reads_as_none_and_is_removed(tmp_path, case):
    from mpeil.model.stored import _pack

    key = "a" * 64
    path = tmp_path / f"family-{key}.pickle"
    content = {
        "empty": [b""],
        "garbage": [b"garbage" * 100],
        "another key": _pack(_tiny(), "b" * 64),
        "not a library": _pack({"not": "a library"}, key),  # type: ignore[arg-type]
    }[case]
    path.write_bytes(b"".join(bytes(piece) for piece in content))
    assert read_stored_library(path) is None
    assert not path.exists()


def test_derived_arrays_come_back_read_only_and_mapped_from_the_file(cache):
    _folder, path = cache
    scored = read_stored_library(path).memo(("with_estimates", True), lambda: None)
    tensors = [value for key, value in scored._memo.items() if key[0] == "tensor"]
    assert tensors and all(not t.flags.writeable and not t.flags.owndata for t in tensors)
    values = scored.values["value"].to_numpy()
    assert values.dtype == np.float64 and np.isfinite(values).any()


def test_a_truncated_file_reads_as_none_and_is_removed(cache, tmp_path):
    _folder, path = cache
    cut = tmp_path / path.name
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert read_stored_library(cut) is None
    assert not cut.exists()


def test_a_corrupt_store_is_rebuilt(cache, monkeypatch):
    folder, path = cache
    monkeypatch.setenv("MPEIL_CACHE_DIR", str(folder))
    saved = path.read_bytes()
    try:
        path.write_bytes(saved[:1000])
        context_module._shipped_library.cache_clear()
        context = prepare_stored()
        assert path.stat().st_size == len(saved)
        rebuilt = read_stored_library(path)
        assert isinstance(rebuilt, EPDLibrary)
        pd.testing.assert_frame_equal(rebuilt.values, context.given_library.values, check_exact=True)
    finally:
        path.write_bytes(saved)
        context_module._shipped_library.cache_clear()


def test_a_changed_data_file_gives_another_key_and_the_stale_file_goes(tmp_path, monkeypatch):
    copy = tmp_path / "data"
    shutil.copytree(data_dir(), copy)
    sources = stored_sources(None)
    before = stored_key(sources)
    monkeypatch.setenv("MPEIL_DATA_DIR", str(copy))
    assert stored_key(sources) == before  # the same content elsewhere: the same key
    with open(copy / "epd" / "screening.csv", "a", encoding="utf-8") as handle:
        handle.write("\n")
    after = stored_key(sources)
    assert after != before
    assert stored_key(["obd2024"]) != after  # the sources are part of the key
    folder = tmp_path / "library"
    folder.mkdir()
    tiny = _tiny()
    stale, fresh = folder / f"fam-{before}.pickle", folder / f"fam-{after}.pickle"
    store_library(tiny, stale)
    store_library(tiny, fresh)
    assert not stale.exists() and fresh.exists()
    assert read_stored_library(fresh).datasets["dataset_id"].tolist() == tiny.datasets["dataset_id"].tolist()


def test_the_store_is_off_with_the_cache(monkeypatch):
    monkeypatch.setenv("MPEIL_CACHE_DIR", "none")
    assert stored_path(["obd2024"]) is None
    assert stored_sources(["obd2024", "/some/folder"]) is None


def test_pint_is_imported_without_dask_and_dask_still_imports():
    """Same conversions as a pint imported with its dask support (dask imported first)."""
    convert = (
        "import sys, mpeil.units as u; r = u.unit_registry();"
        "print(*[repr(r.Quantity(1.0, u.parse_unit(a)).to(b).magnitude) for a, b in"
        " [('m3', 'l'), ('t', 'kg'), ('mm', 'm'), ('kWh', 'MJ')]], 'dask' in sys.modules)"
    )
    run = [sys.executable, "-c"]
    alone = subprocess.run([*run, convert + "; import dask"], check=True, capture_output=True, text=True).stdout
    with_dask = subprocess.run([*run, "import dask; " + convert], check=True, capture_output=True, text=True).stdout
    assert alone.split()[-1] == "False" and with_dask.split()[-1] == "True"
    assert alone.split()[:-1] == with_dask.split()[:-1]
    assert alone.split()[1] == "1000.0"


def test_a_budgeted_score_comes_back_without_the_library_and_with_the_same_profiles(monkeypatch):
    from mpeil.budget import _score_child, score_within_budget

    monkeypatch.delenv("MPEIL_BUDGET", raising=False)
    scorer = Scorer()
    result, shared, _notes = _score_child(scorer, EXAMPLE, None)
    assert set(shared) == {"library", "scenarios", "line_profiles"}
    assert len(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)) < 5 * 2**20  # the library alone is ~70 MB
    budgeted = score_within_budget(scorer, EXAMPLE)
    assert budgeted.library is scorer.library and budgeted.scenarios is scorer.scenarios
    assert budgeted.line_profiles.args[0] is scorer.context
    here = scorer.score(EXAMPLE)
    mine, theirs = budgeted.line_profiles(), here.line_profiles()
    assert _bits(mine.profiles.values) == _bits(theirs.profiles.values)
    assert _bits(mine.profile_index) == _bits(theirs.profile_index)
    pd.testing.assert_frame_equal(budgeted.scores, here.scores, check_exact=True)


def test_the_cli_prepares_once_for_all_files(cache, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from mpeil.cli import app

    folder, _path = cache
    monkeypatch.setenv("MPEIL_CACHE_DIR", str(folder))
    monkeypatch.setenv("MPEIL_BUDGET", "off")
    calls = []
    real = context_module.prepare_stored

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(context_module, "prepare_stored", counting)
    second = tmp_path / "second.json"
    second.write_text(EXAMPLE.read_text(encoding="utf-8").replace("example-terraced-house", "second-house"))
    result = CliRunner().invoke(app, ["score", str(EXAMPLE), str(second), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert "example-terraced-house" in result.stdout and "second-house" in result.stdout
    assert len(calls) == 1


def test_the_score_command_turns_collection_back_on_after_start_up():
    """``mpeil score`` (main) starts with collection off; the command freezes what start-up made and
    turns it on again; run with collection on (in-process), it changes nothing."""
    import gc

    from mpeil.cli.score import _resume_collection

    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    _resume_collection()
    assert gc.isenabled() and gc.get_freeze_count() == frozen
    gc.disable()
    try:
        _resume_collection()
        assert gc.isenabled() and gc.get_freeze_count() > frozen
    finally:
        gc.unfreeze()
        gc.enable()


def test_a_stale_store_is_rebuilt_under_the_new_key(cache, monkeypatch):
    """Data or code changed (a new key): prepare_stored writes a new file and removes the stale one."""
    import mpeil.model.stored as stored

    folder, path = cache
    monkeypatch.setenv("MPEIL_CACHE_DIR", str(folder))
    new_key = "f" * 64
    monkeypatch.setattr(stored, "stored_key", lambda sources: new_key)
    saved = path.read_bytes()
    fresh = path.with_name(f"{path.stem.rsplit('-', 1)[0]}-{new_key}.pickle")
    try:
        context_module._shipped_library.cache_clear()
        context = prepare_stored()
        assert fresh.is_file() and not path.exists()
        rebuilt = read_stored_library(fresh)
        pd.testing.assert_frame_equal(rebuilt.values, context.given_library.values, check_exact=True)
    finally:
        fresh.unlink(missing_ok=True)
        path.write_bytes(saved)
        context_module._shipped_library.cache_clear()


def test_a_file_others_may_write_is_not_read(cache, tmp_path):
    _folder, path = cache
    copy = tmp_path / "private" / path.name
    copy.parent.mkdir(mode=0o700)
    copy.write_bytes(path.read_bytes())
    copy.chmod(0o600)
    assert isinstance(read_stored_library(copy), EPDLibrary)
    copy.chmod(0o666)
    assert read_stored_library(copy) is None and copy.exists()  # left for the rebuild to replace
    copy.chmod(0o600)
    copy.parent.chmod(0o777)
    try:
        assert read_stored_library(copy) is None
    finally:
        copy.parent.chmod(0o700)


def test_the_session_cache_is_a_private_temporary_folder():
    """tests/conftest.py: the suite writes its stored library and pint's cache into a folder of its own,
    never into the user's ~/.cache/mpeil."""
    import os
    import tempfile
    from pathlib import Path

    folder = Path(os.environ["MPEIL_CACHE_DIR"]).resolve()
    assert folder.is_relative_to(Path(tempfile.gettempdir()).resolve())
    assert not folder.is_relative_to((Path.home() / ".cache").resolve())
    assert folder.stat().st_mode & 0o077 == 0


def test_arrays_come_back_as_views_of_the_file_the_writable_ones_copy_on_write(tmp_path):
    """Every array lies out of band: a read-only one is a read-only view of the file, a writable
    one a view of a private copy-on-write mapping (writing to it never changes the file)."""
    import mmap

    from mpeil.model.stored import _pack, _unpack

    writable, frozen = np.arange(1000.0), np.arange(1000.0) * 2.0
    frozen.flags.writeable = False
    path = tmp_path / "f.pickle"
    path.write_bytes(b"".join(bytes(piece) for piece in _pack({"w": writable, "r": frozen}, "k")))  # type: ignore[arg-type]
    before = path.read_bytes()
    with open(path, "rb") as handle:
        view = memoryview(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ))
        private = memoryview(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_COPY))
    got = _unpack(view, "k", private)
    assert isinstance(got, dict)
    assert _bits(got["w"]) == _bits(writable) and _bits(got["r"]) == _bits(frozen)
    assert got["w"].flags.writeable and not got["r"].flags.writeable
    assert len(before) > 16_000  # both arrays' bytes are in the file, not copied into the pickle only
    got["w"][0] = -1.0
    assert got["w"][0] == -1.0 and path.read_bytes() == before

"""``mpeil batch`` scores with the stored prepared library (mpeil.model.stored) when the library is
the shipped one and the cache is on: the same tables, receipts and provenance, bit for bit, as with
the library read from its sources (``MPEIL_CACHE_DIR=none``)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from batch_support import assert_same_outputs, write_good_corpus

from mpeil.batch import run_batch
from mpeil.batch.context import ScoringOptions, build_context, scoring_context
from mpeil.batch.tables import label_column
from mpeil.model.library import load_library
from mpeil.stages import context as context_module

AS_OF = "2026-06-01"


def _clear_caches() -> None:
    """Forget the contexts and stored libraries of this process (each run builds its own)."""
    scoring_context.cache_clear()
    context_module._shipped_library.cache_clear()


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """One small batch (two chunks, one bad file) with the store, and the same without it."""
    root = tmp_path_factory.mktemp("stored-batch")
    inputs = root / "in"
    write_good_corpus(inputs, n=3)
    (inputs / "broken.json").write_text("[1, 2", encoding="utf-8")
    cache = root / "cache"
    runs = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MPEIL_CACHE_DIR", str(cache))
        context_module.shipped_library()  # writes the stored file (the batch below reads it back)
        for name, setting in (("stored", str(cache)), ("sources", "none")):
            patch.setenv("MPEIL_CACHE_DIR", setting)
            _clear_caches()
            runs[name] = run_batch([inputs], root / name, chunk_size=3, as_of=AS_OF)
            runs[name + "-context"] = scoring_context(ScoringOptions(as_of=AS_OF))
        _clear_caches()
    return root, cache, runs


def test_the_batch_reads_the_stored_library_when_the_cache_is_on(outputs):
    _root, cache, runs = outputs
    files = list((cache / "library").glob("*.pickle"))
    assert len(files) == 1  # one file, named by the shipped sources' key
    stored, plain = runs["stored-context"], runs["sources-context"]
    assert stored.scoring.given_library is not load_library()  # read from the file, not the sources
    assert plain.scoring.given_library is load_library()  # cache off: the sources, as before
    assert stored.library.fingerprint() == plain.library.fingerprint()


def test_batch_outputs_with_and_without_the_store_are_equal_bit_for_bit(outputs):
    root, _cache, runs = outputs
    assert (runs["stored"].files, runs["stored"].buildings, runs["stored"].errors) == (6, 5, 1)
    assert_same_outputs(root / "stored", root / "sources")
    manifests = [json.loads((root / name / "manifest.json").read_text()) for name in ("stored", "sources")]
    for key in ("engine_version", "method", "library", "scenarios", "options", "gwp_method", "outputs"):
        assert manifests[0][key] == manifests[1][key], key


def test_a_custom_library_is_used_as_given(outputs):
    """A library handed to the batch is never replaced by the stored one."""
    given = load_library(["obd2024"])
    context = build_context(ScoringOptions(as_of=AS_OF), given)
    assert context.scoring.given_library is given


def test_a_label_column_holds_each_label_once_and_reads_back_as_given():
    """Repeated labels (an element id in many buildings) are one dictionary entry each: Parquet's
    writer left the unused part of a dictionary page with repeats uninitialised (the parts' bytes
    then changed from run to run)."""
    column = label_column(np.array([0, 1, 2, 3, 4, 1], dtype=np.int32), ["SF-1", "EW-1", "SF-1", None, "EW-1", None])
    assert column.dictionary.to_pylist() == ["SF-1", "EW-1", ""]
    assert column.indices.to_pylist() == [0, 1, 0, None, 1, 1]
    assert column.to_pylist() == ["SF-1", "EW-1", "SF-1", None, "EW-1", "EW-1"]

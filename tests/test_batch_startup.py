"""What ``mpeil batch`` no longer pays once per chunk or per run: the default chunk size spreads a
small batch over equal chunks, and a chunk's child hands back the route burdens it derived (the
same numbers, bit for bit, as deriving them in the parent)."""

from __future__ import annotations

import pytest
from batch_support import write_good_corpus

from mpeil.batch.budget import isolation_available
from mpeil.batch.context import ScoringOptions, build_context
from mpeil.batch.inputs import discover
from mpeil.batch.runner import _libraries, _read_and_score, default_chunk_size, score_within_budget
from mpeil.batch.store import OutputDir
from mpeil.engine.profiles import route_burdens

AS_OF = "2026-06-01"


@pytest.mark.parametrize(
    ("files", "size"),
    [(1, 1), (10, 10), (99, 99), (120, 60), (600, 150), (650, 163), (1000, 125), (1_000_000, 200)],
)
def test_the_default_chunk_size(files, size):
    """At most 200 files, in a multiple of 4 equal chunks unless they would hold fewer than 50 (hand-counted:
    600 = 4 × 150; 650 → 4 chunks of ⌈650/4⌉ = 163; 120 → 2 of 60; 1,000,000 = 5,000 × 200)."""
    assert default_chunk_size(files) == size


def _routes(context) -> dict:
    return {
        (position, key): burden
        for position, library in enumerate(_libraries(context))
        for key, burden in route_burdens(library).items()
    }


def _forget_routes(context) -> None:
    """Drop the route burdens, and the unit profiles cached from them (earlier tests in the same
    process may have filled the library's profile cache, and then no route is derived again)."""
    for library in _libraries(context):
        for key in [k for k in library._memo if isinstance(k, tuple) and k[:1] in (("route",), ("profile-cache",))]:
            del library._memo[key]


def test_a_chunk_child_hands_back_the_route_burdens_it_derived(tmp_path):
    assert isolation_available()  # the chunk is scored in a forked child (Linux)
    write_good_corpus(tmp_path / "in", n=3)
    context = build_context(ScoringOptions(as_of=AS_OF))
    items = discover([tmp_path / "in"], context.options.limits)
    OutputDir(tmp_path / "out").prepare()

    _forget_routes(context)
    tables, errors = score_within_budget(items, context, 0, {}, str(tmp_path / "out"))
    handed_back = _routes(context)
    _forget_routes(context)
    in_process, in_process_errors = _read_and_score(items, context, 0, {})
    derived_here = _routes(context)

    assert errors == in_process_errors == {}
    assert len(handed_back) > 0 and handed_back.keys() == derived_here.keys()
    for key, burden in handed_back.items():
        assert not burden.flags.writeable
        assert burden.dtype == derived_here[key].dtype and burden.tobytes() == derived_here[key].tobytes()
    assert tables.summary.equals(in_process.summary)

"""Session-wide set-up shared by the tests (issue 20: the suite's slowest tests share their set-up).

The shipped EPD library is read once per process (:func:`mpeil.model.library.load_library` caches
it), and what scoring derives from it (the library with estimates, its tensors, unit conversions,
flags, route burdens) is memoised on that one object. Scoring one example house once, at the start
of the session, fills those memos in the pytest process, so every later ``Scorer()`` or
``mpeil.score`` and every child process forked for a time or memory budget (batch chunks, the
fuzz corpus's groups, the service's workers) starts warm instead of deriving them again.
Nothing here changes a number: the memos hold what the first score would compute anyway.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _warm_shipped_library() -> None:
    from mpeil.api import Scorer
    from mpeil.paths import scenarios_dir

    Scorer().score(scenarios_dir() / "examples" / "terraced_house.json")

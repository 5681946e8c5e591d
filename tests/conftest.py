"""Session-wide set-up shared by the tests (issue 20: the suite's slowest tests share their set-up).

The shipped EPD library is read once per process (:func:`mpeil.model.library.load_library` caches
it), and what scoring derives from it (the library with estimates, its tensors, unit conversions,
flags, route burdens) is memoised on that one object. Scoring one example house once, at the start
of the session, fills those memos in the pytest process, so every later ``Scorer()`` or
``mpeil.score`` and every child process forked for a time or memory budget (batch chunks, the
fuzz corpus's groups, the service's workers) starts warm instead of deriving them again.
Nothing here changes a number: the memos hold what the first score would compute anyway.

The user cache (``MPEIL_CACHE_DIR``: the stored library of ``mpeil score``, about 50 MB, and pint's
parsed definitions) is a private temporary folder for the whole session, set before any test is
collected so every child process inherits it: the tests never write into the user's
``~/.cache/mpeil``, and the stored library is built once in the session (by the first ``mpeil
score``), then read back by every later one. Tests of the cache itself use folders of their own.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

_SESSION_CACHE = "_mpeil_session_cache"


def pytest_configure(config: pytest.Config) -> None:
    folder = tempfile.mkdtemp(prefix="mpeil-test-cache-")  # mode 0700: the stored library is read from it
    setattr(config, _SESSION_CACHE, (folder, os.environ.get("MPEIL_CACHE_DIR")))
    os.environ["MPEIL_CACHE_DIR"] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    folder, before = getattr(config, _SESSION_CACHE, (None, None))
    if folder is None:
        return
    if before is None:
        os.environ.pop("MPEIL_CACHE_DIR", None)
    else:
        os.environ["MPEIL_CACHE_DIR"] = before
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _warm_shipped_library() -> None:
    from mpeil.api import Scorer
    from mpeil.paths import scenarios_dir

    Scorer().score(scenarios_dir() / "examples" / "terraced_house.json")

"""Where the shipped data and scenarios live.

In a wheel they are packed into ``mpeil/_shipped``; in a source checkout (or an
editable install) they are the top-level ``data/`` and ``scenarios/`` folders.
``MPEIL_DATA_DIR`` / ``MPEIL_SCENARIOS_DIR`` override both.
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _locate(name: str, env: str) -> Path:
    if os.environ.get(env):
        return Path(os.environ[env])
    for candidate in (_PACKAGE / "_shipped" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"mpeil cannot find its shipped '{name}' folder; set {env}")


def data_dir() -> Path:
    """The folder of shipped data: ``epd/``, ``units.txt``, ``indicators.csv``, …"""
    return _locate("data", "MPEIL_DATA_DIR")


def scenarios_dir() -> Path:
    """The folder of shipped scenarios: ``methods/``, ``end_of_life/``, ``examples/``, …"""
    return _locate("scenarios", "MPEIL_SCENARIOS_DIR")

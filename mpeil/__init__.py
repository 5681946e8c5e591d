"""mpeil: an open, fast, reproducible engine for the Flemish M-peil.

Pipeline (one-way): ``readers`` → ``model`` → ``compile`` → ``engine`` → ``methods`` → ``outputs``.
Nothing is loaded at import time; the public functions are imported lazily.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "Building": "mpeil.model",
    "Element": "mpeil.model",
    "Layer": "mpeil.model",
    "EPDLibrary": "mpeil.model.library",
    "load_library": "mpeil.model.library",
    "read_building": "mpeil.readers",
    "write_building": "mpeil.readers",
    "score": "mpeil.api",
    "Scorer": "mpeil.api",
    "compare": "mpeil.api",
    "passport_of": "mpeil.api",
    "load_method": "mpeil.methods",
    "MpeilError": "mpeil.errors",
}

#: submodules reachable as attributes after ``import mpeil`` (imported on first use)
_SUBMODULES = ("elements", "search")

__all__ = ["__version__"] + list(_LAZY) + list(_SUBMODULES)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return import_module(f"mpeil.{name}")
    raise AttributeError(f"module 'mpeil' has no attribute {name!r}")

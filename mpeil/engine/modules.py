"""Named positions on the module axis of every engine result (``values[..., module, indicator]``).

Code outside the engine indexes modules through these names (``A1_A3``, ``positions(scope)``), never
by looking a module's name up in a list, so the order of :data:`OUTPUT_MODULES` lives here only.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType

from .profiles import OUTPUT_MODULES

__all__ = ["OUTPUT_MODULES", "POSITION", "A1_A3", "A4", "A5", "B4", "C2", "C3", "C4", "D", "positions"]

#: module name → its position on the module axis of the engine's results
POSITION = MappingProxyType({module: k for k, module in enumerate(OUTPUT_MODULES)})

A1_A3 = POSITION["A1-A3"]
A4 = POSITION["A4"]
A5 = POSITION["A5"]
B4 = POSITION["B4"]
C2 = POSITION["C2"]
C3 = POSITION["C3"]
C4 = POSITION["C4"]
D = POSITION["D"]


def positions(modules: Iterable[str]) -> list[int]:
    """The positions of ``modules`` (names of EN 15978 modules, e.g. a method's scope) on the module axis.

    Raises
    ------
    KeyError
        A name that is not one of :data:`OUTPUT_MODULES`.
    """
    out = []
    for module in modules:
        if module not in POSITION:
            raise KeyError(f"unknown module {module!r}: the engine's modules are {', '.join(OUTPUT_MODULES)}")
        out.append(POSITION[module])
    return out

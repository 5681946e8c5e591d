"""Buildings → flat arrays (one row per layer line) for the vectorised engine."""

from .compiler import CompiledBuildings, compile_buildings, compile_frame, physical_unit
from .flatten import flatten

__all__ = ["CompiledBuildings", "compile_buildings", "compile_frame", "flatten", "physical_unit"]

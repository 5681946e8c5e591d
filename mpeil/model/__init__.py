"""The building model (pydantic): what a user writes, exports or generates."""

from .building import (
    Building,
    Element,
    ElementType,
    EndOfLifeShares,
    Layer,
    OperationalEnergy,
    UseType,
    building_json_schema,
)

__all__ = [
    "Building",
    "Element",
    "ElementType",
    "EndOfLifeShares",
    "Layer",
    "OperationalEnergy",
    "UseType",
    "building_json_schema",
]

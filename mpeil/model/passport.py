"""Building and material passports: one record per component (layer line) of a building.

A passport says what is in a building, where, how much, from which data set, how long it lasts,
where it goes at end of life and what it weighs on the environment. It carries every field of
the building model too, so a passport is also a building file: :func:`passport_to_building`
rebuilds the building, and scoring it gives the same result (tested).

Identity is the reuse inventory's (:func:`mpeil.model.reuse.component_identity`): a layer's
own ``component_id``, else ``<building>/<element>/<line>``. The JSON Schema is published at
``data/passport.schema.json`` (``mpeil passport --schema``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .building import Building, Element, Layer

__all__ = [
    "PASSPORT_VERSION",
    "Component",
    "ComponentImpacts",
    "Passport",
    "passport_json_schema",
    "passport_to_building",
    "split_lines",
]

PASSPORT_VERSION = "1.0"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ComponentImpacts(_Frozen):
    """Impacts of one component over the study period, per TOTEM stage (D apart)."""

    indicator: str = Field(description="Indicator code, e.g. 'GWP-total', or 'score' for the single score")
    unit: str = Field(description="Unit of the values (over the study period, for the whole component)")
    stages: dict[str, float | None] = Field(
        description="Stage → value; null where no data set declares the indicator (never 0 for missing)"
    )


class Component(_Frozen):
    """One layer line of one element: identity, location, material, data, life, end of life, impacts."""

    component_id: str = Field(description="Stable identity, shared with the reuse inventory")
    element_id: str
    element_type: str
    layer: str | None = None
    composition: str = "a"
    line: int = Field(ge=1, description="Position of the line within its element (1-based)")
    material: str | None = Field(None, description="Material name (the line's name, else the data set's)")
    product: str = Field(description="Data set reference as in the building file")
    dataset_id: str = Field(description="Resolved data-set id in the library, '<source>:<id>'")
    ilcd_uuid: str | None = Field(None, description="UUID of the data set in its source (ILCD)")
    dataset_name: str | None = None
    mass_kg: float | None = Field(None, description="Mass of the component in the building (kg); null if unknown")
    volume_m3: float | None = Field(None, description="Volume of the component (m³); null if unknown")
    service_life_years: float = Field(description="Service life used (years)")
    replacement_years: list[float] = Field(
        description="Years after construction (or calendar years when the building has a construction year) "
        "at which the component is replaced within the study period (EN 15978 ceil rule)"
    )
    end_of_life: dict[str, float] | None = Field(
        None, description="Mass shares per route: landfill, incineration, reuse, recycling"
    )
    waste_category: str | None = None
    reuse_potential: float = Field(description="Share expected to be reused at end of life")
    use_cycles: int = 1
    condition: str | None = None
    disassembly: str | None = Field(None, description="Disassembly information, where the building file gives it")
    impacts: list[ComponentImpacts] = Field(default_factory=list)
    element: dict = Field(description="The element's own fields (id, name, type, quantity, unit) for the round trip")
    source_layer: dict = Field(description="The layer line as in the building file, for the round trip")


class Passport(_Frozen):
    """A building passport: the building's identity, its components and the method used."""

    passport_version: str = PASSPORT_VERSION
    building: dict = Field(description="Building fields other than its elements (id, GFA, use type, …)")
    method: str = Field(description="Method the impacts were computed with")
    study_period_years: float
    library: str = Field(description="EPD library name")
    library_hash: str = Field(description="SHA-256 of the library content")
    engine_version: str
    components: list[Component]


def passport_json_schema() -> dict:
    schema = Passport.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://mpeil.example/passport.schema.json"
    return schema


def split_lines(building: Building) -> Building:
    """The same building with every layer line as its own element (``<element>#<line>``).

    Line values are linear and independent of their neighbours, so scoring this building gives
    each line's own impacts; the building total is unchanged.
    """
    elements = []
    for element in building.elements:
        for position, layer in enumerate(element.layers, start=1):
            elements.append(element.model_copy(update={"id": f"{element.id}#{position}", "layers": [layer]}))
    return building.model_copy(update={"elements": elements})


def passport_to_building(passport: Passport) -> Building:
    """Rebuild the building a passport describes (elements in passport order, lines in line order)."""
    order: dict[str, dict] = {}
    lines: dict[str, list[tuple[int, dict]]] = {}
    for component in passport.components:
        order.setdefault(component.element_id, component.element)
        lines.setdefault(component.element_id, []).append((component.line, component.source_layer))
    elements = [
        Element(**fields, layers=[Layer(**layer) for _, layer in sorted(lines[element_id], key=lambda x: x[0])])
        for element_id, fields in order.items()
    ]
    return Building(**passport.building, elements=elements)

"""The building model: Building → Element → layer lines, mirroring TOTEM's structure.

TOTEM's library rows are ``element → layer (C1…C14) → composition (a, b, …) with an area
ratio → component``. mpeil keeps that shape as a flat list of :class:`Layer` lines per
element: each line names its ``layer`` and ``composition`` and carries its ``ratio``, so
the same records serve a hand-written JSON file and a one-row-per-line bill of materials.

Amounts are per element unit (per m² of wall, per m of beam, per window). A length given
on an area element is a thickness: ``amount=0.14, unit="m"`` on an m² wall means 0.14 m³
of material per m² of wall. Any other unit is "per element unit" (``kg`` on a wall means
kg per m² of wall); an explicit ratio unit such as ``"kg/m2"`` is checked against the
element's unit.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from .validators import (
    MAX_ELEMENTS,
    MAX_LINES_PER_ELEMENT,
    Cycles,
    ElementQuantity,
    FiniteFloat,
    Identifier,
    LossRate,
    Metadata,
    NonNegativeFloat,
    PositiveFloat,
    ScenarioChoice,
    Share,
    Switch,
    Text,
    Year,
)

__all__ = [
    "UseType",
    "ElementType",
    "EndOfLifeShares",
    "Layer",
    "Element",
    "Building",
    "OperationalEnergy",
    "RATIO_TOLERANCE",
    "building_json_schema",
]

#: How far the ratios of one layer may be from summing to 1 (TOTEM data carry 1e-3 rounding).
RATIO_TOLERANCE = 1e-3


class UseType(StrEnum):
    single_family = "single-family"
    semi_detached = "semi-detached"
    terraced = "terraced"
    apartment = "apartment"
    office = "office"
    school = "school"
    retail = "retail"
    care = "care"
    industrial = "industrial"
    other = "other"


class ElementType(StrEnum):
    """TOTEM element family codes (method.md §3; meanings partly derived)."""

    EW = "EW"  # external wall
    EWi = "EWi"  # external window
    PR = "PR"  # pitched roof
    FR = "FR"  # flat roof
    FoG = "FoG"  # floor on ground
    SF = "SF"  # storey floor
    AF = "AF"  # beam/block floor
    LbIW = "LbIW"  # load-bearing internal wall
    nLbIW = "nLbIW"  # non-load-bearing internal wall
    PW = "PW"  # party wall
    BW = "BW"  # basement / retaining wall
    Be = "Be"  # beam
    Co = "Co"  # column
    Li = "Li"  # lintel
    Si = "Si"  # sill
    CW = "CW"  # curtain wall
    ED = "ED"  # external door
    ID = "ID"  # internal door
    GST = "GST"  # ground surface treatment
    HeDHW = "HeDHW"  # heating and domestic hot water
    Ve = "Ve"  # ventilation
    WS = "WS"  # water supply
    Fd = "Fd"  # foundation (not a TOTEM library code; TOTEM puts foundations in FoG/BW)
    St = "St"  # stairs (not a TOTEM library code)
    Other = "Other"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, validate_assignment=False)


class EndOfLifeShares(_Strict):
    """Mass shares of the end-of-life routes of one layer line (TOTEM's four routes)."""

    landfill: Share = Field(0.0, description="Mass share sent to landfill")
    incineration: Share = Field(0.0, description="Mass share incinerated")
    reuse: Share = Field(0.0, description="Mass share reused")
    recycling: Share = Field(0.0, description="Mass share recycled")
    sorted_on_site: Share | None = Field(
        None, description="Share of the mass sorted on the building site (informative, not a route)"
    )

    @model_validator(mode="after")
    def _routes_sum_to_one(self) -> EndOfLifeShares:
        total = self.landfill + self.incineration + self.reuse + self.recycling
        if not math.isclose(total, 1.0, abs_tol=RATIO_TOLERANCE) and total != 0.0:
            raise PydanticCustomError(
                "eol_shares_sum",
                "end-of-life shares sum to {total}, not 1 (landfill+incineration+reuse+recycling)",
                {"total": float(f"{total:g}")},
            )
        return self


class Layer(_Strict):
    """One material line of an element: a component in a layer (and composition) of it."""

    product: Identifier = Field(description="Data set reference in the EPD library, e.g. 'obd2024:<uuid>'")
    amount: NonNegativeFloat = Field(description="Amount per element unit, in `unit`")
    unit: Identifier = Field(
        description="Unit of `amount`: 'm'/'mm' (thickness on m² elements), 'kg', 'm2', 'm3', 'piece', 'kg/m2', …"
    )
    layer: Identifier | None = Field(None, description="Layer label, outside → inside, e.g. 'C1'")
    composition: Identifier = Field("a", description="Side-by-side part of the layer (TOTEM: a, b, c, d)")
    ratio: Share = Field(1.0, description="Area share of this composition within its layer")
    name: Text | None = Field(None, description="Free text naming the material line, e.g. 'facing brick'")
    service_life_years: PositiveFloat | None = Field(
        None, description="Service life; None takes the default of `service_life_category`, else the study period"
    )
    service_life_category: Identifier | None = Field(None, description="Key of scenarios/service_lives.csv")
    transport: Identifier | None = Field(None, description="Transport scenario id (scenarios/transport.csv)")
    transport_distance_km: NonNegativeFloat | None = Field(None, description="Overrides the scenario's A4 distance")
    loss_rate: LossRate | None = Field(
        None, description="Construction loss rate for A5 (share, see the method's loss basis)"
    )
    waste_category: Identifier | None = Field(None, description="TOTEM waste category (scenarios/end_of_life)")
    end_of_life: EndOfLifeShares | None = Field(None, description="Overrides the waste category's shares")
    scenario: ScenarioChoice = Field(None, description="Chosen EPD scenario per module, e.g. {'D': 'stofflich'}")
    # circularity (issue 4): carried by the model now so files written today stay valid
    reused_input: Share = Field(0.0, description="Share of the amount that is a reused component")
    recycled_content: Share = Field(0.0, description="Share of recycled material in the input (R1)")
    existing: Switch = Field(False, description="Part kept in place in a renovation")
    removed: Switch = Field(
        False,
        description="Part removed in this renovation: counts its end of life (C, D) only, and can feed a reuse inventory",
    )
    remaining_service_life_years: NonNegativeFloat | None = Field(
        None, description="For existing parts: years until the first replacement"
    )
    component_id: Identifier | None = Field(
        None, description="Stable identity for reuse tracking (passport id / IFC GUID)"
    )
    source_component_id: Identifier | None = Field(
        None, description="Identity of the reused component this line takes in"
    )
    use_cycles: Cycles = Field(1, description="Use cycles the component is designed for")
    use_cycle: Cycles = Field(1, description="Which of its use cycles this building is (1 = first)")
    condition: Text | None = Field(None, description="Condition of a reusable component (for reuse inventories)")
    disassembly: Text | None = Field(
        None, description="How the component comes apart (fixings, joints, access), for passports and reuse"
    )

    @model_validator(mode="after")
    def _cycle_within_cycles(self) -> Layer:
        if self.use_cycle > self.use_cycles:
            raise ValueError(f"use_cycle {self.use_cycle} exceeds use_cycles {self.use_cycles}")
        if self.existing and self.removed:
            raise ValueError("a part cannot be both kept (existing) and removed")
        if self.reused_input + self.recycled_content > 1 + 1e-9:
            raise ValueError("reused_input + recycled_content exceed 1")
        return self


class OperationalEnergy(_Strict):
    """B6/B7 figures a model may carry; reported apart, never part of the M-peil."""

    product: Identifier = Field(description="Data set reference of the energy carrier or water, e.g. 'obd2024:<uuid>'")
    amount_per_year: NonNegativeFloat = Field(description="Yearly amount, in `unit`")
    unit: Identifier = Field(description="Unit of `amount_per_year`, e.g. 'kWh', 'MJ', 'm3'")
    module: Literal["B6", "B7"] = Field("B6", description="B6 operational energy, B7 operational water")


class Element(_Strict):
    """A building element (TOTEM element type) with its quantity and its layer lines."""

    id: Identifier = Field(description="Identifier, unique within the building")
    name: Text | None = Field(None, description="Free text, e.g. 'cavity wall, brick facing'")
    element_type: ElementType = Field(ElementType.Other, description="TOTEM element family code (EW, PR, FoG, …)")
    nl_sfb: Text | None = Field(None, description="Optional NL-SfB code, e.g. '21.1'")
    quantity: ElementQuantity = Field(description="How many element units the building has (m², m or pieces)")
    unit: Literal["m2", "m", "piece"] = Field("m2", description="Element unit: area, length or count")
    layers: list[Layer] = Field(
        min_length=1,
        max_length=MAX_LINES_PER_ELEMENT,
        fail_fast=True,  # the first bad line is reported; no error list as long as the input
        description="Material lines, per element unit; lines of one layer share its `layer` label",
    )

    @model_validator(mode="after")
    def _ratios_sum_to_one(self) -> Element:
        totals: dict[str, float] = {}  # layer → sum of its ratios, in line order
        first: dict[str, str] = {}  # layer → its first composition
        mixed: set[str] = set()  # layers with more than one composition
        for position, line in enumerate(self.layers):
            key = line.layer if line.layer is not None else f"#{position + 1}"
            if key in totals:
                totals[key] += line.ratio
                if line.composition != first[key]:
                    mixed.add(key)
            else:
                totals[key] = 0.0 + line.ratio  # as a sum from 0.0 (-0.0 sums to 0.0)
                first[key] = line.composition
        for key, total in totals.items():
            # a layer with a single composition may be a partial one (e.g. a 0.1 ratio of fixings)
            if key in mixed and not math.isclose(total, 1.0, abs_tol=RATIO_TOLERANCE):
                # the layer travels in the error context so readers can say where it is
                raise PydanticCustomError(
                    "ratio_sum",
                    "ratios of layer '{layer}' sum to {total}, not 1",
                    {"layer": key, "total": float(f"{total:g}")},
                )
        return self


class InlineDataset(_Strict):
    """A data set carried in a building file: declared unit, conversion properties and module values.

    ``values`` maps an EN 15804 module (``A1-A3``, ``C3``, …) to indicator codes of
    ``data/indicators.csv`` and their values per one declared unit; an indicator it does not name
    is not declared (missing, never 0).
    """

    id: Identifier = Field(description="Local id; products reference it as 'inline:<id>'")
    name: Text = Field(description="What the data set is, e.g. 'Ready-mix concrete C30/37, plant Gent'")
    declared_unit: Text = Field(description="Declared unit: 'm3', 'm2', 'kg', 'm', 'piece', …")
    source: Text | None = Field(None, description="Where the numbers come from (EPD number, URL)")
    gross_density_kg_m3: PositiveFloat | None = None
    area_weight_kg_m2: PositiveFloat | None = None
    layer_thickness_m: PositiveFloat | None = None
    linear_weight_kg_m: PositiveFloat | None = None
    mass_per_piece_kg: PositiveFloat | None = None
    values: dict[Text, dict[Text, FiniteFloat]] = Field(
        min_length=1, description="Module → indicator → value per one declared unit"
    )


class Building(_Strict):
    """A building (or a variant of one) to be scored."""

    id: Identifier = Field(description="Identifier, unique within a batch")
    name: Text | None = Field(None, description="Free text")
    use_type: UseType = Field(UseType.other, description="Use type of the building")
    gross_floor_area_m2: PositiveFloat = Field(description="Gross floor area (GFA) in m², the functional unit's area")
    reference_study_period_years: PositiveFloat | None = Field(
        None, description="None takes the method's study period (60 years for the M-peil)"
    )
    construction_year: Year | None = Field(None, description="Year of construction (or of the renovation)")
    region: Text | None = Field(None, description="e.g. 'BE-VLG'")
    project_type: Literal["new", "renovation"] = Field("new", description="New build or renovation")
    elements: list[Element] = Field(
        min_length=1,
        max_length=MAX_ELEMENTS,
        fail_fast=True,  # the first bad element is reported: a million bad ones cost no million errors
        description="The building's elements",
    )
    operational: list[OperationalEnergy] = Field(
        default_factory=list, description="B6/B7 lines, reported apart from the M-peil"
    )
    metadata: Metadata = Field(default_factory=dict, description="Free key → text pairs (source, author, …)")
    libraries: list[Text] = Field(
        default_factory=list,
        max_length=16,
        description="EPD library folders (written by `mpeil epd import`) whose data sets this building uses, "
        "layered over the shipped library in this order; relative paths are relative to the building file",
    )
    datasets: list[InlineDataset] = Field(
        default_factory=list,
        max_length=200,
        description="A few data sets carried in the file itself, referenced as 'inline:<id>'",
    )

    @model_validator(mode="after")
    def _unique_element_ids(self) -> Building:
        seen: set[str] = set()
        for element in self.elements:
            if element.id in seen:
                raise PydanticCustomError(
                    "duplicate_element_id", "element id '{element}' appears twice", {"element": element.id}
                )
            seen.add(element.id)
        return self


def building_json_schema() -> dict:
    """The JSON Schema of a building file (one :class:`Building`; a file may also hold a list)."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **Building.model_json_schema()}

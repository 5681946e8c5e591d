"""Building passports: one record per component (layer line) of a building (material passports:
:mod:`mpeil.model.material_passport`).

A passport says what is in a building, where, how much, from which data set, how long it lasts,
where it goes at end of life and what it weighs on the environment. It carries every field of
the building model too, so a passport is also a building file: :func:`passport_to_building`
rebuilds the building, and scoring it gives the same result (tested).

Identity is the reuse inventory's (:func:`mpeil.model.reuse.component_identity`): a layer's
own ``component_id``, else ``<building>/<element>/<line>``. The JSON Schema of each major
version is published at ``data/passport/passport-<major>.schema.json`` (``mpeil passport
--schema``); older versions are migrated on reading (:data:`MIGRATIONS`), and every passport
carries the SHA-256 of its canonical JSON (docs/guide/passports.md).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ParseError
from ..paths import data_dir
from .building import Building, Element, Layer

__all__ = [
    "PASSPORT_VERSION",
    "Component",
    "ComponentImpacts",
    "Passport",
    "Potential",
    "content_sha256",
    "is_passport",
    "migrate_passport",
    "passport_buildings",
    "passport_json_schema",
    "passport_to_building",
    "read_passport",
    "split_lines",
    "summarise_potential",
]

PASSPORT_VERSION = "2.0"
"""Current schema version: ``major.minor``. Within a major version changes are additive
(new optional fields); a new major version comes with a migration from the previous one."""


class _Frozen(BaseModel):
    # validators built when a passport is first read or written, not when the module is imported
    # (every building file's reader imports it: ~4 ms of a cold ``mpeil score one.json``)
    model_config = ConfigDict(extra="forbid", defer_build=True)


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


class MassShare(_Frozen):
    """Mass of the components going one way, and its share of the scope's known mass."""

    mass_kg: float = Field(description="Mass (kg)")
    share: float | None = Field(description="Share of the scope's known mass (0-1); null when no mass is known")


class Potential(_Frozen):
    """Coordinator's summary of one element or the building: mass by end-of-life route and by
    disassembly class, from its components."""

    scope: str = Field(description="'building' or 'element'")
    element_id: str | None = Field(None, description="The element summarised (null for the building)")
    mass_kg: float = Field(description="Known mass of the scope's components (kg)")
    components_without_mass: int = Field(description="Components whose mass is unknown (left out of the masses)")
    by_route: dict[str, MassShare] = Field(
        description="End-of-life route (reuse, recycling, incineration, landfill, undeclared) → mass and share"
    )
    by_disassembly: dict[str, MassShare] = Field(
        description="Disassembly class (data/passport/disassembly_classes.csv) → mass and share"
    )


class Passport(_Frozen):
    """A building passport: the building's identity, its components and the method used."""

    passport_version: str = PASSPORT_VERSION
    content_sha256: str = Field(
        description="SHA-256 of the passport's canonical JSON without this field (sorted keys, no spaces, UTF-8)"
    )
    building: dict = Field(description="Building fields other than its elements (id, GFA, use type, …)")
    method: str = Field(description="Method the impacts were computed with")
    study_period_years: float
    library: str = Field(description="EPD library name")
    library_hash: str = Field(description="SHA-256 of the library content")
    engine_version: str
    components: list[Component]
    coordinator: list[Potential] = Field(
        description="Reuse, recycling and disassembly potential: the building first, then each element"
    )


def passport_json_schema() -> dict:
    """The JSON Schema of the current passport version (``data/passport/passport-<major>.schema.json``)."""
    schema = Passport.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://mpeil.example/passport-{PASSPORT_VERSION.split('.')[0]}.schema.json"
    return schema


def canonical_json(value: Any) -> bytes:
    """The canonical bytes hashed: sorted keys, no spaces, UTF-8 (floats as Python's shortest repr)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def content_sha256(document: dict) -> str:
    """SHA-256 of a passport document's canonical JSON without its ``content_sha256`` field."""
    try:
        return hashlib.sha256(canonical_json({k: v for k, v in document.items() if k != "content_sha256"})).hexdigest()
    except ValueError:  # NaN or infinity: a passport holds finite numbers or null
        raise ParseError("a passport value is not a finite number (NaN or infinite): use null") from None


def is_passport(data: Any) -> bool:
    """Whether a parsed JSON value is a passport (or a list of them), known by its content."""
    first = data[0] if isinstance(data, list) and data else data
    return isinstance(first, dict) and "passport_version" in first and "components" in first


def _disassembly_classes() -> list[tuple[str, str]]:
    with open(data_dir() / "passport" / "disassembly_classes.csv", encoding="utf-8", newline="") as handle:
        return [(row["keyword"].lower(), row["class"]) for row in csv.DictReader(handle)]


def disassembly_class(text: str | None, classes: list[tuple[str, str]]) -> str:
    """The class of a layer's disassembly text: first keyword found, ``undeclared`` without text."""
    if text is None:
        return "undeclared"
    lowered = text.lower()
    return next((name for keyword, name in classes if keyword in lowered), "unclassified")


def _shares(masses: dict[str, float], total: float) -> dict[str, MassShare]:
    return {k: MassShare(mass_kg=v, share=v / total if total > 0 else None) for k, v in sorted(masses.items())}


def _potential(scope: str, element_id: str | None, components: list[Component], classes) -> Potential:
    routes: dict[str, float] = {}
    disassembly: dict[str, float] = {}
    total, unknown = 0.0, 0
    for component in components:
        if component.mass_kg is None:
            unknown += 1
            continue
        total += component.mass_kg
        shares = component.end_of_life or {"undeclared": 1.0}
        for route, share in shares.items():
            routes[route] = routes.get(route, 0.0) + component.mass_kg * share
        kind = disassembly_class(component.disassembly, classes)
        disassembly[kind] = disassembly.get(kind, 0.0) + component.mass_kg
    return Potential(
        scope=scope,
        element_id=element_id,
        mass_kg=total,
        components_without_mass=unknown,
        by_route=_shares(routes, total),
        by_disassembly=_shares(disassembly, total),
    )


def summarise_potential(components: list[Component]) -> list[Potential]:
    """The coordinator's summary: the building's potential, then each element's (in passport order).

    Mass by route is a component's mass times its end-of-life share; a component without a
    declared end of life counts as ``undeclared``; one without a mass is counted apart."""
    classes = _disassembly_classes()
    by_element: dict[str, list[Component]] = {}
    for component in components:
        by_element.setdefault(component.element_id, []).append(component)
    return [_potential("building", None, components, classes)] + [
        _potential("element", element_id, members, classes) for element_id, members in by_element.items()
    ]


def seal(fields: dict) -> Passport:
    """A passport from its fields (without ``content_sha256``), its content hash computed."""
    unsealed = Passport.model_construct(**fields, content_sha256="")
    document = unsealed.model_dump(mode="json")
    return Passport.model_validate({**document, "content_sha256": content_sha256(document)})


def _migrate_1_to_2(document: dict) -> dict:
    """1.x → 2.0: the coordinator's summary and the content hash become required."""
    fields = {k: v for k, v in document.items() if k != "passport_version"}
    if not isinstance(fields.get("components"), list):
        raise ParseError("a version 1 passport needs a list of components", field="components")
    components = [Component.model_validate(c) for c in fields["components"]]
    fields["coordinator"] = [p.model_dump(mode="json") for p in summarise_potential(components)]
    fields["passport_version"] = "2.0"
    return {**fields, "content_sha256": content_sha256(fields)}


MIGRATIONS: dict[int, Callable[[dict], dict]] = {1: _migrate_1_to_2}
"""Major version → the function taking a document of that major version to the next one."""


def migrate_passport(document: dict, file: str | None = None) -> dict:
    """A passport document of any published version, brought to the current major version.

    Raises
    ------
    ParseError
        The version is missing, not ``major.minor``, or newer than this mpeil reads.
    """
    version = document.get("passport_version")
    try:
        major = int(str(version).split(".")[0])
    except ValueError:
        raise ParseError(f"passport_version {version!r} is not 'major.minor'", file=file) from None
    current = int(PASSPORT_VERSION.split(".")[0])
    if major > current:
        raise ParseError(f"passport version {version} is newer than this mpeil reads ({PASSPORT_VERSION})", file=file)
    while major < current:
        if major not in MIGRATIONS:
            raise ParseError(f"no migration from passport version {version}", file=file)
        document = MIGRATIONS[major](document)
        major += 1
    return document


def read_passport(document: dict, file: str | None = None, check_hash: bool = True) -> Passport:
    """A :class:`Passport` from a parsed document of any version (migrated), its hash checked.

    Raises
    ------
    ParseError
        Not a valid passport, or its ``content_sha256`` does not match its content.
    """
    if "view" in document:
        role = document["view"].get("role") if isinstance(document["view"], dict) else None
        raise ParseError(f"this is the {role!r} view of a passport (fields hidden), not the full passport", file=file)
    try:
        document = migrate_passport(document, file)
        passport = Passport.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ParseError(f"not a valid passport: {where}: {first['msg']}", file=file, field=where) from None
    if check_hash and passport.content_sha256 != content_sha256(document):
        raise ParseError("passport content does not match its content_sha256 (altered?)", file=file)
    return passport


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


def passport_buildings(data: Any, file: str | None = None) -> list[Building]:
    """The buildings of a parsed passport document or list of them (any version, hashes checked)."""
    documents = data if isinstance(data, list) else [data]
    buildings = []
    for document in documents:
        if not isinstance(document, dict):
            raise ParseError("a passport list holds something other than passport objects", file=file)
        passport = read_passport(document, file)
        try:
            buildings.append(passport_to_building(passport))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ParseError(f"the passport's building is not valid: {where}: {first['msg']}", file=file) from None
        except TypeError as exc:  # a building field that is also an argument (e.g. 'elements')
            raise ParseError(f"the passport's building is not valid: {exc}", file=file) from None
    return buildings

"""IFC models (``.ifc``, STEP) → a :class:`~mpeil.model.Building`, with what could not be mapped.

``read_ifc(path, mapping=None, gfa_m2=None)`` reads the elements of
:data:`~mpeil.readers.ifc.entities.ELEMENT_CLASSES`, their materials (layer sets with or
without usage, constituent sets, profile sets, lists, single materials) and quantities
(quantity sets, Revit's dimensions property set, else the geometry), maps each material name
to a data set (:mod:`mpeil.readers.ifc.mapping`) and builds one Building:

- an element with a layer set is an m² element whose lines are its mapped layers: thickness
  in m per m² (``basis = thickness``) or 1 m² per m² (``basis = area``);
- any other element carries its volume (m³) per element unit (m when a length is known and
  the class is linear, else one piece).

Materials that map to nothing stay out of the Building and are listed in
:attr:`IfcReading.unmapped` with their volume; air layers have no mass and are neither. The
TOTEM element type comes from ``data/ifc/element_types.csv``; ``Pset_*Common.Status``
EXISTING / DEMOLISH (or Revit's phases, ``data/ifc/revit_phases.csv``) make the lines kept
(``existing``) or removed parts. Problems with one
element are warnings naming ``#id`` and GlobalId; problems with the file are
:class:`~mpeil.errors.ParseError`. ifcopenshell is imported only when a file is read.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ...errors import InputError, ParseError, missing_dependency
from ...model import Building, Element
from ...model.library import EPDLibrary
from ..ifc_coverage import MissingFloorAreaError, coverage_of  # light: scoring imports them from there
from .chain import MappingChain
from .entities import ELEMENT_CLASSES, Units, boundary_sides, file_units
from .gfa import derive_gfa
from .lines import (
    MAPPED_BY,
    Context,
    element_label,
    element_lines,
    load_element_types,
    load_existing_phases,
    shares,
    unmapped_table,
)
from .mapping import MaterialMapping, load_artefacts, load_mapping, load_thresholds

__all__ = [
    "IfcReading",
    "MissingFloorAreaError",
    "read_ifc",
    "open_ifc",
    "suggest",
    "coverage_of",
    "SUPPORTED_SCHEMAS",
    "MAPPED_BY",
    "element_label",
]

SUPPORTED_SCHEMAS = ("IFC2X3", "IFC4", "IFC4X3", "IFC4X3_ADD2")
_HEADER_BYTES = 65536


@dataclass
class IfcReading:
    """The result of :func:`read_ifc`.

    ``lines``: one row per element × material (SI units, NaN when unknown; ``quantity_source``
    names where the element's quantity came from). ``unmapped``: one row per material name that
    maps to no data set, with its elements, volume (m³) and area (m²). ``mapped_share``:
    ``{"volume": …, "mass": …}`` and the m³ and kg behind them (see
    :func:`mpeil.readers.ifc.lines.shares`). ``gfa_derivation``: how the GFA was found;
    ``gfa_candidates``: every floor area the file states, by source.
    """

    building: Building | None
    lines: pd.DataFrame
    unmapped: pd.DataFrame
    mapped_share: dict[str, float]
    gfa_m2: float
    gfa_derivation: str
    gfa_candidates: dict[str, float]
    warnings: list[str] = field(default_factory=list)
    schema: str = ""
    length_unit: str = ""
    #: why ``building`` is None: no gross floor area, or no material maps to a data set
    problem: InputError | None = None


# ============================================================================ opening
def open_ifc(path: str | Path) -> Any:
    """Open an IFC-SPF file after checking its size, its STEP header and its schema."""
    try:
        import ifcopenshell
    except ImportError:
        raise missing_dependency("reading IFC", "ifcopenshell", "ifc", file=str(path)) from None

    path = Path(path)
    file = str(path)
    _check_size(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEADER_BYTES)
    except OSError as exc:
        raise ParseError(f"cannot read the file: {exc.strerror}", file=file) from None
    if not head.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"ISO-10303-21"):
        raise ParseError("not an IFC file: an IFC (STEP) file starts with 'ISO-10303-21;'", file=file)
    match = re.search(rb"FILE_SCHEMA\s*\(\s*\(\s*'([^']*)'", head)
    if match is None:
        raise ParseError("broken STEP file: no FILE_SCHEMA in its header", file=file, field="FILE_SCHEMA")
    schema = match.group(1).decode("ascii", "replace").upper()
    if schema not in SUPPORTED_SCHEMAS:
        raise ParseError(
            f"unsupported IFC schema {schema!r}; supported: {', '.join(SUPPORTED_SCHEMAS)}",
            file=file,
            field="FILE_SCHEMA",
        )
    if not _has_end(path):
        raise ParseError("broken STEP file: cut off (no END-ISO-10303-21; at its end)", file=file)
    try:
        model = ifcopenshell.open(file)
    except Exception as exc:  # ifcopenshell raises its own Error, RuntimeError or OSError
        raise ParseError(f"broken STEP file: {str(exc).splitlines()[0][:160]}", file=file) from None
    if not model.by_type("IfcProject"):
        raise ParseError("broken IFC file: it holds no IfcProject", file=file, field="IfcProject")
    return model


def _has_end(path: Path) -> bool:
    """A complete STEP file ends with ``END-ISO-10303-21;`` (a cut-off download does not)."""
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - 1024))
        return b"END-ISO-10303-21" in handle.read().upper()


def batch_limit(name: str) -> float:
    """The maximum of one row of ``data/batch_limits.csv`` (in that row's unit)."""
    from ...paths import data_dir

    limits = pd.read_csv(data_dir() / "batch_limits.csv", comment="#")
    return float(limits.loc[limits["name"] == name, "maximum"].astype(float).iloc[0])


def _check_size(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ParseError(f"cannot read the file: {exc.strerror}", file=str(path)) from None
    maximum = batch_limit("file_size")
    if size > maximum:
        raise ParseError(
            f"the file is {size} bytes, over the limit of {maximum:.0f} (data/batch_limits.csv file_size)",
            file=str(path),
            field="file_size",
        )


# ============================================================================ reading
def read_ifc(
    path: str | Path,
    mapping: str | Path | MaterialMapping | None = None,
    gfa_m2: float | None = None,
    library: EPDLibrary | None = None,
    geometry: bool = True,
    confirm: frozenset[str] | set[str] | tuple[str, ...] = (),
    defaults: bool = True,
) -> IfcReading:
    """Read an IFC file into a Building plus its material lines, unmapped materials and mapped shares.

    Parameters
    ----------
    path:
        The IFC-SPF file (IFC2X3, IFC4, IFC4X3).
    mapping:
        A mapping CSV tried before the shipped default (its rows are ``mapped_by = user``), or a
        :class:`MaterialMapping`.
    gfa_m2:
        The gross floor area in m²; overrides what the file says.
    library:
        Where data sets and densities come from (default: every shipped source).
    geometry:
        Compute missing quantities from the shapes (False: they stay NaN and are reported).
    confirm:
        GlobalIds of elements flagged with an implausible mass (kg/m² outside
        ``data/ifc/thresholds.csv``) to score anyway; by default they are kept out of the building.
    defaults:
        False reads only what the model says: no class templates for elements without a usable
        material, no framing stud shares, no reinforcement (:mod:`mpeil.readers.ifc.defaults`).

    Returns
    -------
    IfcReading
        ``building`` (None with ``problem`` when the file states no floor area or nothing maps),
        ``lines`` (SI units; ``mapped_by``, ``default_used`` per line), ``unmapped`` and
        ``mapped_share`` (shares 0-1 of volume and mass, split by ``mapped_by``).
    """

    from ...model.library import load_library

    model = open_ifc(path)
    file = str(path)
    units = file_units(model)
    rules = mapping if isinstance(mapping, MaterialMapping) else load_mapping(mapping)
    library = library if library is not None else load_library()
    thresholds = {**load_thresholds(), "layer_thickness_max": batch_limit("layer_thickness")}
    chain = MappingChain(rules, library, thresholds["search_accept_score"])
    context = Context(file, units, chain, load_artefacts(), library, thresholds, load_element_types())
    context.confirmed = frozenset(confirm)
    context.use_defaults = defaults
    context.boundaries = boundary_sides(model)
    context.existing_phases = load_existing_phases()
    elements: list[Element] = []
    for element in _building_elements(model):
        built = element_lines(element, context, geometry)
        if built is not None:
            elements.append(built)
    gfa, derivation, candidates, notes = derive_gfa(model, units, gfa_m2, context.thresholds["gfa_disagreement"])
    context.warnings.extend(notes)
    lines = pd.DataFrame(context.rows, columns=_LINE_COLUMNS)
    unmapped = unmapped_table(lines, context)
    share = shares(lines, unmapped)
    building, problem = None, None
    try:
        short = lines["default_used"].dropna().astype(str).str.replace(_DEFAULT_DETAIL, "", regex=True)
        used = sorted(set(short))
        building = _building(model, file, elements, gfa, derivation, share, units, used)
    except InputError as error:  # no GFA: the rest of the reading (unmapped, suggestions) still stands
        problem = error
    if building is None and problem is None:
        problem = InputError(
            "no material of the IFC model maps to a data set; run `mpeil ifc FILE --suggest mapping.csv`", file=file
        )
    return IfcReading(
        building,
        lines,
        unmapped,
        share,
        gfa,
        derivation,
        candidates,
        context.warnings,
        model.schema,
        units.length_name,
        problem,
    )


#: what a line's ``default_used`` says beyond the default's name (kept per line, not in the building's list)
_DEFAULT_DETAIL = r": stud share.*| of concrete.*| per (area|piece|volume) .*"

_LINE_COLUMNS = [
    "step_id",
    "global_id",
    "ifc_class",
    "element_name",
    "element_type",
    "is_external",
    "status",
    "material",
    "part",
    "layer",
    "thickness_m",
    "fraction",
    "area_m2",
    "volume_m3",
    "length_m",
    "quantity_source",
    "dataset_id",
    "basis",
    "mapping",
    "mapped_by",
    "confidence",
    "default_used",
    "stud_share",
    "candidate",
    "class_group",
    "mass_kg",
    "flags",
]


def _building_elements(model: Any) -> list[Any]:
    """Elements of the classes read, each counted once.

    An aggregate that has a material is read and its parts are not (Revit puts the roof's
    layer set on the IfcRoof and none on its slab); an aggregate without a material is left
    to its parts when some of them are of the classes read (a stair to its flights).
    """
    import ifcopenshell.util.element as util

    seen: set[int] = set()
    chosen = []
    for cls in ELEMENT_CLASSES:
        for element in model.by_type(cls):
            if element.id() in seen:
                continue
            seen.add(element.id())
            parent = util.get_aggregate(element)
            if parent is not None and parent.is_a("IfcElement") and util.get_material(parent) is not None:
                continue
            parts = util.get_parts(element) or []
            read_parts = [p for p in parts if any(p.is_a(c) for c in ELEMENT_CLASSES)]
            if read_parts and util.get_material(element) is None:
                continue  # its parts are read instead
            chosen.append(element)
    return chosen


def _building(
    model: Any,
    file: str,
    elements: list[Element],
    gfa: float,
    derivation: str,
    share: dict,
    units: Units,
    defaults_used: tuple[str, ...] | list[str] = (),
) -> Building | None:
    if not elements:
        return None
    if not math.isfinite(gfa) or gfa <= 0:
        raise MissingFloorAreaError(derivation, file=file, field="gross_floor_area_m2")
    name = _building_name(model)
    kept = any(line.existing or line.removed for element in elements for line in element.layers)
    metadata = {
        "source": f"IFC {model.schema}: {Path(file).name}",
        "ifc_length_unit": units.length_name,
        "gfa_derivation": derivation,
    }
    if defaults_used:  # the documented defaults this building rests on (each line names its own)
        metadata["ifc_defaults_used"] = "; ".join(defaults_used)
    for key, value in share.items():  # an unknown share is left out, not written as "nan"
        share_key = key.startswith(("volume_", "mass_")) and not key.endswith(("_m3", "_kg"))
        if math.isfinite(value) and (key in ("volume", "mass") or share_key):
            metadata[f"mapped_{key}_share" if key in ("volume", "mass") else f"share_{key}"] = f"{value:.4f}"
    return Building.model_validate(
        {
            "id": name or Path(file).stem,
            "name": name or None,
            "gross_floor_area_m2": gfa,
            "project_type": "renovation" if kept else "new",
            "elements": elements,
            "metadata": metadata,
        }
    )


def _building_name(model: Any) -> str:
    """IfcBuilding Name or LongName, else IfcProject LongName or Name ('' when none is given)."""
    candidates = [(b.Name, b.LongName) for b in model.by_type("IfcBuilding")[:1]]
    candidates += [(p.LongName, p.Name) for p in model.by_type("IfcProject")[:1]]
    for pair in candidates:
        for text in pair:
            if text and str(text).strip():
                return str(text).strip()
    return ""


def suggest(reading: IfcReading, library: EPDLibrary, limit: int | None = None) -> pd.DataFrame:
    """Per distinct material: a mapping row to confirm, its quantities, classes and ranked candidates.

    The first columns are those of a mapping file (:mod:`mpeil.readers.ifc.mapping`):
    ``pattern`` matches exactly this material name (its ArchiCAD id stripped), ``target`` is the
    data set a rule or the search maps it to now, or empty. Fill in ``target`` (e.g. from
    ``candidate_1``), check ``basis``, and pass the file back with ``--mapping``: rows without a
    target are skipped. Candidates come from the ranked search limited to the categories that fit
    the material's IFC class(es) (``data/ifc/class_categories.csv``), each with its reason.
    """
    thresholds = load_thresholds()
    limit = int(limit or thresholds["suggest_candidates"])
    artefacts = load_artefacts()
    chain = MappingChain(load_mapping(), library, thresholds["search_accept_score"])
    solid = reading.lines[reading.lines["mapped_by"].fillna("") != "air"]
    solid = solid[solid["part"].fillna("") != "reinforcement"]
    rows = []
    for material, group in solid.groupby("material", sort=True, dropna=False):
        row = _suggestion_row(str(material), group, artefacts)
        groups = [g for g in dict.fromkeys(group["class_group"].fillna("")) if g]
        key = artefacts.strip_id(str(material))
        named = row["pattern"] != ""
        hits = [chain.candidates(key, g, limit) for g in groups] if named else []
        ranked = pd.concat(hits) if hits else pd.DataFrame(columns=["dataset_id", "name", "score", "reason"])
        ranked = ranked.sort_values("score", ascending=False, kind="stable").drop_duplicates("dataset_id").head(limit)
        for rank, candidate in enumerate(ranked.to_dict("records"), start=1):
            row[f"candidate_{rank}"] = candidate["dataset_id"]
            row[f"candidate_{rank}_name"] = candidate["name"]
            row[f"candidate_{rank}_score"] = round(float(candidate["score"]), 1)
            row[f"candidate_{rank}_reason"] = candidate["reason"]
        rows.append(row)
    return pd.DataFrame(rows)


def _suggestion_row(material: str, group: pd.DataFrame, artefacts: Any) -> dict[str, Any]:
    key = artefacts.strip_id(material)
    placeholder = {"placeholder", "hatch", "no_name", "no_material"} & {
        f for text in group["flags"].fillna("") for f in str(text).split(";")
    }
    no_name = material.startswith("(") or ("," in material and group["part"].eq("element").all())
    rule_rows = group[group["mapped_by"].isin(["user", "default", "search"])]
    by = ", ".join(sorted(set(group["mapped_by"].fillna("unmapped"))))
    defaults = "; ".join(sorted(set(group["default_used"].dropna().astype(str))))
    return {
        "pattern": "" if no_name else f"^{re.escape(key)}$",
        "kind": "dataset",
        "target": rule_rows["dataset_id"].iloc[0] if len(rule_rows) else "",
        "basis": rule_rows["basis"].iloc[0] if len(rule_rows) else "thickness",
        "waste_category": "",
        "note": f"mapped by {by}" + (f": {defaults}" if defaults else "") + (" (placeholder)" if placeholder else ""),
        "material": material,
        "ifc_classes": ", ".join(sorted(set(group["ifc_class"]))),
        "elements": group["global_id"].nunique(),
        "volume_m3": group["volume_m3"].sum(min_count=1),
        "area_m2": group.drop_duplicates("global_id")["area_m2"].sum(min_count=1),
        "mapped_by": by,
        "flags": ";".join(sorted({f for text in group["flags"].fillna("") for f in str(text).split(";") if f})),
    }

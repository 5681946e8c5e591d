"""What an IFC model leaves out, filled by documented defaults (each named in the results).

- ``data/ifc/class_defaults.csv``: an element without a usable material (none, or only placeholders
  and fills) takes the element template (``scenarios/elements/``) or data set of its IFC class,
  predefined type and exposure, per m², per piece or per m³;
- ``data/ifc/framing.csv``: a framing zone (studs or joists with cavities) counts the stud share of
  its volume as its framing material;
- ``data/ifc/reinforcement.csv``: a line of reinforced concrete gets reinforcing steel in kg/m³ by
  element class.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from typing import Any

from ...errors import ConversionError, InputError, UnknownEPDError
from ...model import Element
from ...model.library import EPDLibrary
from ...paths import data_dir
from .mapping import _read_csv

__all__ = ["Defaults", "load_defaults", "class_default", "framing_rule", "reinforcement", "template_element"]


@dataclass(frozen=True)
class Defaults:
    """The three default tables, each row named ``data/ifc/<file> row <n>`` (n-th data row) in the results."""

    classes: tuple[dict[str, str], ...]
    framing: tuple[tuple[re.Pattern[str], dict[str, str]], ...]
    reinforcement: tuple[dict[str, str], ...]
    #: templates read and expansions made while reading one file (a model repeats the same few)
    memo: dict[Any, Any] = field(default_factory=dict, compare=False)


def _numbered(name: str) -> list[dict[str, str]]:
    rows = _read_csv(data_dir() / "ifc" / name)
    return [{**row, "source": f"data/ifc/{name} row {number}"} for number, row in enumerate(rows, start=1)]


def load_defaults() -> Defaults:
    framing = tuple((re.compile(r["pattern"], re.IGNORECASE), r) for r in _numbered("framing.csv"))
    return Defaults(tuple(_numbered("class_defaults.csv")), framing, tuple(_numbered("reinforcement.csv")))


def class_default(
    element: Any, external: bool | None, defaults: Defaults, materials: list[str], usable: bool
) -> dict[str, str] | None:
    """The first row of ``class_defaults.csv`` for the element's class, predefined type, exposure and
    material names; when the element has a ``usable`` material, only rows that apply ``always``."""
    predefined = str(getattr(element, "PredefinedType", None) or "NOTDEFINED")
    exposure = "unknown" if external is None else str(external).lower()
    for row in defaults.classes:
        if not element.is_a(row["ifc_class"]) or (usable and row["applies"] != "always"):
            continue
        pattern = row["material"].strip()
        if pattern and not any(re.search(pattern, name, re.IGNORECASE) for name in materials):
            continue
        if row["predefined_type"] in ("*", predefined) and row["is_external"] in ("*", exposure):
            return row
    return None


def framing_rule(name: str, element: Any, defaults: Defaults) -> dict[str, str] | None:
    """The row of ``framing.csv`` for a framing-zone material of this element's class, or None."""
    for pattern, row in defaults.framing:
        classes = row["ifc_class"].split("|")
        if pattern.search(name) and (row["ifc_class"] == "*" or any(element.is_a(c) for c in classes)):
            return row
    return None


def reinforcement(element: Any, dataset_id: str, defaults: Defaults) -> dict[str, str] | None:
    """The row of ``reinforcement.csv`` that adds steel to this concrete data set in this element's class."""
    for row in defaults.reinforcement:
        if element.is_a(row["ifc_class"]) and dataset_id in row["concrete_datasets"].split("|"):
            return row
    return None


def kg_per_unit(library: EPDLibrary, product: str, unit: str) -> float:
    """kg of one ``unit`` of a data set, NaN when its properties do not say."""
    try:
        index = library.resolve(product)
        return library.conversion_factor(index, unit) * library.mass_per_unit(index)
    except (ConversionError, UnknownEPDError):
        return math.nan


def _params(text: str, element: Any, length_scale: float, thickness_m: float) -> dict[str, float]:
    """``width_m={width_m};…`` with the window's or door's OverallWidth/OverallHeight and the element's
    modelled thickness (m)."""
    sizes = {
        "width_m": getattr(element, "OverallWidth", None),
        "height_m": getattr(element, "OverallHeight", None),
        "thickness_m": thickness_m / length_scale if math.isfinite(thickness_m) else None,
    }
    params: dict[str, float] = {}
    for item in filter(None, (p.strip() for p in text.split(";"))):
        key, _, value = item.partition("=")
        placeholder = value.strip().strip("{}")
        raw = sizes.get(placeholder) if value.strip().startswith("{") else value
        try:
            number = float(raw) * (length_scale if placeholder in sizes else 1.0)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if math.isfinite(number) and number > 0:
            params[key.strip()] = number
    return params


def template_element(
    element: Any,
    row: dict[str, str],
    area: float,
    thickness_m: float,
    length_scale: float,
    fields: dict[str, Any],
    memo: dict[Any, Any] | None = None,
) -> tuple[Element | None, str]:
    """The element the template of ``row`` gives, per m² of ``area`` or per piece; (None, why) if it cannot.

    ``thickness_m``: the element's modelled thickness (m; NaN when unknown), for a ``{thickness_m}`` parameter.
    ``memo``: templates and expansions already made (:attr:`Defaults.memo`).
    """
    from ...model.templates import element_data, load_template

    memo = {} if memo is None else memo
    quantity = area if row["quantity"] == "area" else 1.0
    if not (math.isfinite(quantity) and quantity > 0):
        return None, f"no area for the default template {row['target']} ({row['source']})"
    template = memo.get(row["target"]) or memo.setdefault(row["target"], load_template(row["target"]))
    params = _params(row.get("params", ""), element, length_scale, thickness_m)
    for name in list(params):  # a size outside the template's range is left to its default
        spec = template.parameters.get(name)
        low, high = (spec.minimum, spec.maximum) if spec is not None else (None, None)
        if spec is None or (low is not None and params[name] < low) or (high is not None and params[name] > high):
            params.pop(name)
    expansion = (row["target"], tuple(sorted(params.items())))
    if expansion not in memo:
        memo[expansion] = element_data(row["target"], params, {"id": "x", "quantity": 1.0, "unit": template.unit})
    data = {**copy.deepcopy(memo[expansion]), **fields, "quantity": quantity, "unit": template.unit}
    for layer in data["layers"]:
        layer["component_id"] = f"{fields['id']}/{layer.get('layer') or 'C'}"
    try:
        return Element.model_validate(data), ""
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise InputError(
            f"default template {row['target']} ({row['source']}) gives an invalid element: {exc}"
        ) from None


def element_mass(element: Element, library: EPDLibrary) -> float:
    """kg of an element (its quantity × the layers' amounts); NaN when a layer's mass is unknown."""
    total = 0.0
    for layer in element.layers:
        unit, amount = layer.unit, layer.amount
        if element.unit == "m2" and unit in _THICKNESS:  # a thickness on an m² element: m³ per m²
            unit, amount = "m3", amount * _THICKNESS[unit]
        total += element.quantity * layer.ratio * amount * kg_per_unit(library, layer.product, unit)
    return total


_THICKNESS = {"m": 1.0, "cm": 0.01, "mm": 0.001}

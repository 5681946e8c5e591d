"""The element catalogue in Python: list the templates, look at one, expand it into an :class:`Element`.

>>> import mpeil
>>> wall = mpeil.elements.expand("EW-cavity-brick", {"insulation": "pur", "insulation_thickness_m": 0.16},
...                              id="EW-1", quantity=52.5)
>>> mpeil.elements.expansion("EW-cavity-brick", {"inner_leaf": "sand-lime"})   # the layers, as a table

Templates live in ``scenarios/elements/*.toml`` (see its README); building files use them with
``template`` + ``params`` on an element (JSON) or on an element row (CSV/XLSX).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .model.library import EPDLibrary
from .model.templates import (
    Parameter,
    Template,
    describe,
    element_data,
    expand,
    load_template,
    resolve_params,
    template_names,
    templates_dir,
)

__all__ = [
    "Parameter",
    "Template",
    "expand",
    "element_data",
    "load_template",
    "template_names",
    "templates_dir",
    "list_templates",
    "parameters",
    "expansion",
    "describe",
    "resolve_params",
]

_LAYER_COLUMNS = (
    "layer",
    "composition",
    "ratio",
    "name",
    "product",
    "amount",
    "unit",
    "service_life_years",
    "service_life_category",
    "waste_category",
    "reused_input",
)


def list_templates(folder: Path | None = None) -> pd.DataFrame:
    """One row per template: name, element_type, unit, title, parameters (names), layers (count)."""
    rows = []
    for name in template_names(folder):
        template = load_template(name, folder)
        rows.append(
            {
                "name": name,
                "element_type": template.element_type,
                "unit": template.unit,
                "title": template.title,
                "parameters": ", ".join(template.parameters),
                "layers": len(template.layers),
            }
        )
    return pd.DataFrame(rows, columns=["name", "element_type", "unit", "title", "parameters", "layers"])


def parameters(name: str, folder: Path | None = None) -> pd.DataFrame:
    """The parameters of one template: kind, default, unit, bounds, options, description."""
    template = load_template(name, folder)
    rows = [
        {
            "parameter": p.name,
            "kind": p.kind,
            "default": p.default,
            "unit": p.unit,
            "min": p.minimum,
            "max": p.maximum,
            "options": ", ".join(p.choices) if p.choices else "",
            "description": p.description,
        }
        for p in template.parameters.values()
    ]
    return pd.DataFrame(rows, columns=["parameter", "kind", "default", "unit", "min", "max", "options", "description"])


def expansion(
    name: str,
    params: Mapping[str, Any] | None = None,
    library: EPDLibrary | None = None,
    folder: Path | None = None,
) -> pd.DataFrame:
    """The layer lines a template gives for ``params`` (amounts per element unit).

    With a ``library`` a ``dataset_name`` column names each data set.
    """
    element = expand(name, params, folder=folder)
    rows = [{column: getattr(line, column) for column in _LAYER_COLUMNS} for line in element.layers]
    frame = pd.DataFrame(rows, columns=list(_LAYER_COLUMNS))
    if library is not None:
        names = library.datasets.set_index("dataset_id")["name_en"]
        names = names.fillna(library.datasets.set_index("dataset_id")["name_de"])
        frame.insert(5, "dataset_name", [names.get(p) if p in names.index else None for p in frame["product"]])
    return frame

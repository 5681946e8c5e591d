"""EPD-like data sets per EN 15804 module, computed from Brightway activities (bw2data, bw2calc).

TOTEM's own environmental profiles are built from LCI data (ecoinvent) per life-cycle stage;
a consultant with an ecoinvent licence can build a library the same way (docs/brightway.md).
Two files say how, both plain CSV:

**mapping** — one row per (data set, module, activity); rows of the same data set and module add up:

==================  ========================================================================
``dataset_id``      local id; the library id is ``<name>:<dataset_id>``
``name_en``         name shown in searches and reports
``declared_unit``   the data set's declared unit (``m3``, ``kg``, ``m2``, ``piece`` …)
``module``          EN 15804 module (``A1-A3``, ``A4``, ``C3``, ``D`` …)
``database``        Brightway database name
``code``            activity code in that database
``amount``          activity units per one declared unit (the scaling to the declared unit)
optional            ``category``, ``data_type``, and conversion properties of the library
                    contract (``gross_density_kg_m3``, ``area_weight_kg_m2``, ``layer_thickness_m``,
                    ``mass_per_piece_kg`` …), taken from the first row of the data set
==================  ========================================================================

**methods** — ``indicator`` (catalogue code), ``method`` (the Brightway method name, parts joined
by ``|``), optional ``scale`` (the method's unit → the catalogue unit, default 1) and ``source``.

Values are ``Σ amount × score(activity, method) × scale`` per declared unit, from one factorised
technosphere; each data set's ``notes`` name the project, activities and methods it came from.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ParseError
from ..model.indicators import indicator_catalogue
from ..model.library import MODULES, PROPERTY_COLUMNS, EPDLibrary
from .epd_common import NOTES_COLUMN, datasets_frame, tidy_unit, values_frame

__all__ = ["brightway_library", "read_mapping", "read_methods"]

_MAPPING_COLUMNS = ("dataset_id", "name_en", "declared_unit", "module", "database", "code", "amount")


def _table(source: str | Path | pd.DataFrame, required: tuple[str, ...], label: str) -> pd.DataFrame:
    frame = source if isinstance(source, pd.DataFrame) else pd.read_csv(source, dtype=str, keep_default_na=False)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ParseError(
            f"{label} lacks column(s) {missing}", file=None if isinstance(source, pd.DataFrame) else str(source)
        )
    return frame.copy()


def read_mapping(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    """The mapping table, checked: known modules, positive finite amounts, parsable units."""
    frame = _table(source, _MAPPING_COLUMNS, "mapping")
    file = None if isinstance(source, pd.DataFrame) else str(source)
    for row, record in enumerate(frame.to_dict("records"), start=2):
        where = {"file": file, "layer": f"row {row}"}
        if record["module"] not in MODULES:
            raise ParseError(f"unknown module {record['module']!r}", **where, field="module")
        try:
            amount = float(record["amount"])
        except ValueError:
            raise ParseError(f"amount {record['amount']!r} is not a number", **where, field="amount") from None
        if not math.isfinite(amount):
            raise ParseError("amount is not finite", **where, field="amount")
        try:
            tidy_unit(str(record["declared_unit"]))
        except ValueError:
            raise ParseError(f"unknown unit {record['declared_unit']!r}", **where, field="declared_unit") from None
    frame["amount"] = frame["amount"].astype(float)
    return frame


def read_methods(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    """The indicator → Brightway method table; codes must be in the catalogue."""
    frame = _table(source, ("indicator", "method"), "methods")
    catalogue = indicator_catalogue()
    unknown = sorted(set(frame["indicator"]) - set(catalogue))
    if unknown:
        raise ParseError(f"indicator code(s) {unknown} not in data/indicators.csv", field="indicator")
    frame["scale"] = pd.to_numeric(frame["scale"], errors="raise") if "scale" in frame else 1.0
    frame["method_key"] = [tuple(part.strip() for part in m.split("|")) for m in frame["method"]]
    return frame


def _scores(activities: list[tuple[str, str]], methods: list[tuple]) -> dict[tuple[str, str], np.ndarray]:
    """LCIA score of one unit of each activity under each method (one factorisation)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # bw2calc warns when pypardiso is absent
        import bw2calc
        import bw2data

    nodes = {}
    for key in activities:
        try:
            nodes[key] = bw2data.get_node(database=key[0], code=key[1])
        except Exception:  # bw2data raises its own UnknownObject / DoesNotExist types
            raise ParseError(f"no activity {key[1]!r} in Brightway database {key[0]!r}", field="code") from None
    for method in methods:
        if method not in bw2data.methods:
            raise ParseError(f"no Brightway method {'|'.join(method)!r} in project", field="method")
    fu, data_objs, remapping = bw2data.prepare_lca_inputs(dict.fromkeys(nodes.values(), 1.0), method=methods[0])
    lca = bw2calc.LCA(fu, data_objs=data_objs, remapping_dicts=remapping)
    lca.lci(factorize=True)
    characterisation = []
    for method in methods:
        lca.switch_method(method)
        characterisation.append(lca.characterization_matrix.copy())
    out = {}
    for key, node in nodes.items():
        lca.lci(demand={node.id: 1.0})
        flows = np.asarray(lca.inventory.sum(axis=1)).ravel()
        out[key] = np.array([float((matrix @ flows).sum()) for matrix in characterisation])
    return out


def brightway_library(mapping, methods, name: str = "bw") -> EPDLibrary:
    """Build a library from the current Brightway project (``bw2data.projects.set_current`` first)."""
    mapping, methods = read_mapping(mapping), read_methods(methods)
    activities = sorted(set(zip(mapping["database"], mapping["code"], strict=True)))
    method_keys = list(dict.fromkeys(methods["method_key"]))
    scores = _scores(activities, method_keys)
    import bw2data

    project = bw2data.projects.current
    datasets, values = [], []
    for dataset_id, rows in mapping.groupby("dataset_id", sort=False):
        full_id = f"{name}:{dataset_id}"
        first = rows.iloc[0]
        datasets.append({
            "dataset_id": full_id, "source": name, "source_uuid": str(dataset_id),
            "name_en": first["name_en"], "category": first.get("category") or pd.NA,
            "data_type": first.get("data_type") or "generic", "standard": "EN 15804+A2",
            "declared_amount": 1.0, "declared_unit": tidy_unit(first["declared_unit"]),
            **{c: float(first[c]) for c in PROPERTY_COLUMNS if c in rows and str(first[c]).strip()},
            NOTES_COLUMN: f"Brightway project {project!r}: "
            + "; ".join(f"{r.module} = {r.amount:g} × {r.database}/{r.code}" for r in rows.itertuples())
            + "; methods " + ", ".join(f"{i}={m}" for i, m in zip(methods["indicator"], methods["method"], strict=True)),
        })  # fmt: skip
        for module, part in rows.groupby("module", sort=False):
            for method in methods.itertuples():
                column = method_keys.index(method.method_key)
                total = sum(r.amount * scores[(r.database, r.code)][column] for r in part.itertuples())
                values.append((full_id, module, "", method.indicator, float(total) * float(method.scale)))
    return EPDLibrary(datasets_frame(datasets), values_frame(values), name=name)

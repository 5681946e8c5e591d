"""Build a :class:`~mpeil.model.passport.Passport` from a building and the result of scoring
its line-split form (:func:`mpeil.model.passport.split_lines`)."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..engine.modules import positions
from ..errors import ConversionError, InputError
from ..model.building import Building, Layer
from ..model.indicators import indicator_catalogue
from ..model.material_passport import MaterialPassport, material_passport
from ..model.passport import (
    Component,
    ComponentImpacts,
    Passport,
    canonical_json,
    content_sha256,
    seal,
    summarise_potential,
)
from ..model.reuse import component_identity
from ..model.scenarios import ScenarioSet
from ..paths import data_dir
from .result import STAGES, Result

__all__ = [
    "build_passport",
    "passport_view",
    "replacement_years",
    "verify_view",
    "view_levels",
    "write_material_passports",
]


def replacement_years(
    service_life_years: float, study_period_years: float, first_after: float | None = None
) -> list[float]:
    """Years (from construction) of the replacements within the study period, EN 15978's ceil rule:
    a part of life L is replaced at L, 2L, … while that is before the end of the study period.
    A part kept in a renovation is first replaced after its remaining life ``first_after``."""
    first = service_life_years if first_after is None else first_after
    years = []
    year = first
    while year < study_period_years - 1e-9 and service_life_years > 0:
        years.append(float(year))
        year += service_life_years
    return years


def _stage_values(result: Result, element: int, indicator: int | None) -> dict[str, float | None]:
    """Per stage: the indicator over the study period, or (``indicator=None``) the component's
    contribution to the building's single score, in the score's own unit (per m² GFA, per year
    if the method is), so the components of a building sum to its score."""
    values = result.elements.values[element]  # [M, I] over the study period
    compiled = result.elements.compiled
    per_area = compiled.gross_floor_area_m2[0] * (compiled.study_period_years[0] if result.method.per_year else 1.0)
    out: dict[str, float | None] = {}
    for stage, members in STAGES.items():
        rows = values[positions(members)]
        column = rows if indicator is None else rows[:, indicator]
        if np.isnan(column).all():
            out[stage] = None
        elif indicator is None:
            out[stage] = float(np.nan_to_num(rows) @ result._score_weights() @ np.ones(len(members))) / per_area
        else:
            out[stage] = float(np.nansum(column))
    return out


def _volume_m3(library, dataset: int, quantity: float) -> float | None:
    try:
        per_m3 = library.conversion_factor(dataset, "m**3")
    except ConversionError:
        return None
    return float(quantity / per_m3) if per_m3 > 0 else None


def _component(building, element, position, layer: Layer, result, e, library, scenarios, study_period):
    compiled = result.elements.compiled
    line = int(np.flatnonzero(compiled.line_element == e)[0])
    dataset = int(compiled.dataset[line])
    row = library.datasets.iloc[dataset]
    mass = float(compiled.mass_kg[line])
    life = float(compiled.service_life_years[line])
    remaining = float(compiled.remaining_life_years[line])
    eol = None
    if layer.end_of_life is not None:
        eol = {k: v for k, v in layer.end_of_life.model_dump().items() if k != "sorted_on_site"}
    elif layer.waste_category:
        shares = scenarios.eol_shares(layer.waste_category)
        eol = dict(zip(("landfill", "incineration", "reuse", "recycling"), map(float, shares), strict=True))
    gwp = result.indicators.index("GWP-total") if "GWP-total" in result.indicators else None
    unit = result.method.score_unit + ("/(m²·yr)" if result.method.per_year else "/m²")
    impacts = [
        ComponentImpacts(
            indicator="score", unit=f"{unit}, share of the building score", stages=_stage_values(result, e, None)
        )
    ]
    if gwp is not None:
        impacts.append(
            ComponentImpacts(
                indicator="GWP-total",
                unit=indicator_catalogue()["GWP-total"].unit_label,
                stages=_stage_values(result, e, gwp),
            )
        )
    return Component(
        component_id=component_identity(building, element.id, position, layer),
        element_id=element.id,
        element_type=element.element_type.value,
        layer=layer.layer,
        composition=layer.composition,
        line=position,
        material=layer.name or (None if row.isna()["name_en"] else str(row["name_en"])),
        product=layer.product,
        dataset_id=str(row["dataset_id"]),
        ilcd_uuid=None if row.isna()["source_uuid"] else str(row["source_uuid"]),
        dataset_name=None if row.isna()["name_en"] else str(row["name_en"]),
        mass_kg=None if math.isnan(mass) else mass,
        volume_m3=_volume_m3(library, dataset, float(compiled.quantity[line])),
        service_life_years=life,
        replacement_years=[
            y + (building.construction_year or 0)
            for y in replacement_years(life, study_period, None if math.isnan(remaining) else remaining)
        ],
        end_of_life=eol,
        waste_category=layer.waste_category,
        reuse_potential=float(eol["reuse"]) if eol else 0.0,
        use_cycles=layer.use_cycles,
        condition=layer.condition,
        disassembly=layer.disassembly,
        impacts=impacts,
        element=element.model_dump(mode="json", exclude={"layers"}, exclude_defaults=True),
        source_layer=layer.model_dump(mode="json", exclude_defaults=True),
    )


def build_passport(building: Building, split_result: Result, library, scenarios: ScenarioSet) -> Passport:
    """The passport of ``building``; ``split_result`` scores ``split_lines(building)`` alone."""
    compiled = split_result.elements.compiled
    if compiled.n_buildings != 1 or compiled.element_ids.size != sum(len(e.layers) for e in building.elements):
        raise InputError("the result does not score this building's split lines", building=building.id)
    study_period = float(compiled.study_period_years[0])
    components, e = [], 0
    for element in building.elements:
        for position, layer in enumerate(element.layers, start=1):
            components.append(
                _component(building, element, position, layer, split_result, e, library, scenarios, study_period)
            )
            e += 1
    return seal(
        {
            "building": building.model_dump(mode="json", exclude={"elements"}, exclude_defaults=True),
            "method": split_result.method.name,
            "study_period_years": study_period,
            "library": library.name,
            "library_hash": library.fingerprint(),
            "engine_version": __version__,
            "components": components,
            "coordinator": summarise_potential(components),
        }
    )


def _table(name: str) -> list[dict[str, str]]:
    with open(data_dir() / "passport" / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def view_levels(schema: str = "building") -> tuple[dict[str, int], dict[str, str], dict[str, str]]:
    """Level → rank, role → level, and field (``components[].mass_kg``) → level of ``schema``
    (``building`` or ``material``), from the data files."""
    ranks = {row["level"]: int(row["rank"]) for row in _table("levels.csv")}
    roles = {row["role"]: row["level"] for row in _table("roles.csv")}
    fields = {row["field"]: row["level"] for row in _table("visibility.csv") if row["schema"] == schema}
    return ranks, roles, fields


def _hash(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()


def passport_view(passport: Passport | MaterialPassport, role: str) -> dict:
    """The passport as ``role`` may see it: every field above the role's level left out, bound
    by the SHA-256 of its canonical JSON in ``view.hidden_sha256`` (path → hash), so the full
    passport (its ``content_sha256`` kept) proves what was hidden.

    Raises
    ------
    InputError
        ``role`` is not in ``data/passport/roles.csv``, or a field has no visibility.
    """
    ranks, roles, fields = view_levels("material" if isinstance(passport, MaterialPassport) else "building")
    if role not in roles:
        raise InputError(f"role {role!r} is not one of {', '.join(roles)}", field="view")
    allowed = ranks[roles[role]]
    document = passport.model_dump(mode="json")
    hidden: dict[str, str] = {}

    def shown(path: str, field: str, value: Any) -> bool:
        if field not in fields:
            raise InputError(f"passport field {field!r} has no visibility in data/passport/visibility.csv")
        if ranks[fields[field]] <= allowed:
            return True
        hidden[path] = _hash(value)
        return False

    view = {k: v for k, v in document.items() if shown(k, k, v)}
    if "components" in view:
        view["components"] = [
            {k: v for k, v in c.items() if shown(f"components/{i}/{k}", f"components[].{k}", v)}
            for i, c in enumerate(document["components"])
        ]
    view["view"] = {"role": role, "level": roles[role], "hidden_sha256": hidden}
    return view


def verify_view(view: dict, passport: Passport) -> list[str]:
    """Problems found checking a view against the full passport (empty: it verifies): same
    ``content_sha256``, every value shown equal, every hidden value's hash equal."""
    document = passport.model_dump(mode="json")
    problems = []
    if content_sha256(document) != passport.content_sha256:
        problems.append("the full passport does not match its own content_sha256")
    if view.get("content_sha256") != passport.content_sha256:
        problems.append("the view is of another passport (content_sha256 differs)")
    for path, digest in view.get("view", {}).get("hidden_sha256", {}).items():
        value: Any = document
        for part in path.split("/"):
            value = value[int(part)] if isinstance(value, list) else value.get(part)
        if _hash(value) != digest:
            problems.append(f"hidden value {path} does not match its hash")
    for key, value in view.items():
        if key == "components":
            for i, component in enumerate(value):
                problems += [
                    f"components/{i}/{k} differs" for k, v in component.items() if document[key][i].get(k) != v
                ]
        elif key != "view" and document.get(key) != value:
            problems.append(f"{key} differs")
    return problems


def write_material_passports(
    library,
    dataset_ids: Iterable[str] | None,
    folder: str | Path,
    lang: str | None = None,
    role: str | None = None,
    compositions: dict[str, list[dict[str, Any]]] | None = None,
) -> list[Path]:
    """One material passport per data set of ``library`` (those of ``dataset_ids``, all if None),
    written to ``folder`` as ``<nnnn>-<uuid or id>.json`` in library order, so reading the folder
    back (``--library folder/``) gives the same tables; with ``lang``, each one's rendering
    (``.html``, :func:`~mpeil.outputs.passport_html.render_material_passport_html`) beside it;
    with ``role``, that role's view instead of the full passport (a view is not a library).
    ``compositions``: data-set id → the manufacturer's composition (:func:`read_composition`).

    Raises
    ------
    InputError
        A data set id is not in the library.
    """
    datasets = library.datasets
    if dataset_ids is not None:
        wanted = list(dict.fromkeys(dataset_ids))
        unknown = sorted(set(wanted) - set(datasets["dataset_id"]))
        if unknown:
            raise InputError(f"data set(s) not in the library: {', '.join(unknown[:5])}", field="dataset_id")
        datasets = datasets[datasets["dataset_id"].isin(wanted)]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dtypes = {k: str(v) for k, v in library.datasets.dtypes.items()}
    by_dataset = library.values.groupby("dataset_id", sort=False)
    written = []
    for position, (_, row) in enumerate(datasets.iterrows(), start=1):
        values = (
            by_dataset.get_group(row["dataset_id"])
            if row["dataset_id"] in by_dataset.groups
            else library.values.iloc[:0]
        )
        passport = material_passport(row, values, dtypes, (compositions or {}).get(row["dataset_id"]))
        document = passport.model_dump(mode="json") if role is None else passport_view(passport, role)
        stem = str(row["source_uuid"]) if not pd.isna(row["source_uuid"]) else str(row["dataset_id"]).replace(":", "_")
        path = folder / f"{position:04d}-{re.sub(r'[^A-Za-z0-9._-]', '_', stem)}.json"
        path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        if lang is not None:
            from .passport_html import render_material_passport_html

            rendering = render_material_passport_html(document, lang)
            path.with_suffix(".html").write_text(rendering, encoding="utf-8")
        written.append(path)
    return written

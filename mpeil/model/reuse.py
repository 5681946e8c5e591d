"""Reuse inventories (hergebruikinventaris): donor → receiver links between buildings.

A building to be dismantled (or parts removed in a renovation) exports the components that
leave it for reuse, each with a stable identity. A receiving building references that
identity in ``Layer.source_component_id``. This module builds the inventory and checks the
references; :mod:`mpeil.outputs.reuse` checks the allocation on both sides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from ..errors import CircularityError
from .building import Building, Layer
from .scenarios import ScenarioSet

__all__ = ["INVENTORY_COLUMNS", "ReuseLink", "component_identity", "reuse_inventory", "link_reuse"]

INVENTORY_COLUMNS = (
    "component_id",
    "building_id",
    "element_id",
    "element_type",
    "layer",
    "line",
    "name",
    "product",
    "amount",
    "unit",
    "ratio",
    "element_quantity",
    "element_unit",
    "reuse_share",
    "service_life_years",
    "remaining_service_life_years",
    "condition",
    "removed",
)


def component_identity(building: Building, element_id: str, line: int, layer: Layer) -> str:
    """The layer's own ``component_id``, else a stable one from building, element and line."""
    return layer.component_id or f"{building.id}/{element_id}/{line}"


def _reuse_share(layer: Layer, scenarios: ScenarioSet | None) -> float:
    if layer.end_of_life is not None:
        return layer.end_of_life.reuse
    if layer.waste_category and scenarios is not None:
        return scenarios.eol_shares(layer.waste_category)[2]
    return 0.0


def reuse_inventory(building: Building, scenarios: ScenarioSet | None = None) -> pd.DataFrame:
    """Components leaving ``building`` for reuse: lines with a reuse share at end of life,
    or removed in a renovation and marked with a ``component_id``."""
    rows = []
    for element in building.elements:
        for position, layer in enumerate(element.layers, start=1):
            share = _reuse_share(layer, scenarios)
            if share <= 0 and not (layer.removed and layer.component_id):
                continue
            rows.append(
                {
                    "component_id": component_identity(building, element.id, position, layer),
                    "building_id": building.id,
                    "element_id": element.id,
                    "element_type": element.element_type.value,
                    "layer": layer.layer,
                    "line": position,
                    "name": layer.name,
                    "product": layer.product,
                    "amount": layer.amount,
                    "unit": layer.unit,
                    "ratio": layer.ratio,
                    "element_quantity": element.quantity,
                    "element_unit": element.unit,
                    "reuse_share": share,
                    "service_life_years": layer.service_life_years,
                    "remaining_service_life_years": layer.remaining_service_life_years
                    if layer.remaining_service_life_years is not None
                    else layer.service_life_years,
                    "condition": layer.condition,
                    "removed": layer.removed,
                }
            )
    return pd.DataFrame(rows, columns=list(INVENTORY_COLUMNS))


@dataclass(frozen=True)
class ReuseLink:
    component_id: str
    donor_building: str
    donor_element: str
    donor_line: int
    receiver_building: str
    receiver_element: str
    receiver_line: int


def link_reuse(
    donors: Iterable[Building], receivers: Iterable[Building], scenarios: ScenarioSet | None = None
) -> list[ReuseLink]:
    """Match every ``source_component_id`` of the receivers to a donor inventory.

    Raises :class:`~mpeil.errors.CircularityError` (naming building, element, layer and field)
    for a reference to a component absent from every inventory, or a component referenced twice.
    """
    inventory = (
        pd.concat([reuse_inventory(b, scenarios) for b in donors], ignore_index=True)
        if donors
        else pd.DataFrame(columns=list(INVENTORY_COLUMNS))
    )
    duplicated = inventory["component_id"][inventory["component_id"].duplicated()]
    if not duplicated.empty:
        row = inventory[inventory["component_id"] == duplicated.iloc[0]].iloc[1]
        raise CircularityError(
            f"component id {duplicated.iloc[0]!r} appears twice in the donor inventories",
            building=row["building_id"],
            element=row["element_id"],
            layer=f"line {row['line']}",
            field="component_id",
        )
    by_id = inventory.set_index("component_id")
    links: list[ReuseLink] = []
    taken: dict[str, tuple[str, str, int]] = {}
    for receiver in receivers:
        for element in receiver.elements:
            for position, layer in enumerate(element.layers, start=1):
                ref = layer.source_component_id
                if not ref:
                    continue
                where = dict(
                    building=receiver.id,
                    element=element.id,
                    layer=f"{layer.layer} (line {position})" if layer.layer else f"line {position}",
                    field="source_component_id",
                )
                if ref not in by_id.index:
                    raise CircularityError(f"reused component {ref!r} is in no donor inventory", **where)
                if ref in taken:
                    first = taken[ref]
                    raise CircularityError(
                        f"reused component {ref!r} is referenced twice (first by {first[0]}/{first[1]} line {first[2]})",
                        **where,
                    )
                taken[ref] = (receiver.id, element.id, position)
                donor = by_id.loc[ref]
                links.append(
                    ReuseLink(
                        ref,
                        donor["building_id"],
                        donor["element_id"],
                        int(donor["line"]),
                        receiver.id,
                        element.id,
                        position,
                    )
                )
    return links

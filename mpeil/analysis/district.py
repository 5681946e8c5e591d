"""Districts: score a set of buildings together, and the material flows they cause over the years.

Events per layer line (mass in kg, the whole element; a line whose data set gives no mass is left
out and counted in :attr:`MaterialFlows.lines_without_mass`, never read as 0 kg):

==========================  ===================================  =================================
line                        enters                               leaves
==========================  ===================================  =================================
new part                    construction year ``y0``             every replacement ``y0 + k·SL``
                            every replacement ``y0 + k·SL``      (k = 1 … NR, ``ceil`` rule) and at
                                                                 end of life ``y0 + RSP``
kept in a renovation        ``y0`` (in place already)            ``y0 + RL + k·SL`` and ``y0 + RSP``
removed in a renovation     ``y0`` (in place already)            ``y0`` (removed)
==========================  ===================================  =================================

What leaves is split over the line's end-of-life routes (landfill, incineration, reuse, recycling;
``not given`` where the EPD declares its own end of life). Mass in place at the end of a year is
computed from each line's installed interval, independently of the flows, so
``cumulative in = cumulative out + in place`` is a check, not a definition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..engine.replacements import number_of_replacements
from ..errors import InputError
from ..model.reuse import INVENTORY_COLUMNS
from ..model.scenarios import EOL_ROUTES
from ._scoring import Scored, score_compiled

__all__ = ["District", "MaterialFlows", "score_district", "material_flows"]

_ROUTES = (*EOL_ROUTES, "not given")


@dataclass(frozen=True, eq=False)
class District:
    """A set of buildings scored together: per-building scores and district totals."""

    scored: Scored
    construction_year: np.ndarray  # int64[B]

    @property
    def result(self):
        return self.scored.result

    def totals(self) -> pd.Series:
        """District score (GFA-weighted mean per m² GFA per year), GFA, and totals over the study period."""
        scores = self.result.scores
        gfa = scores["gross_floor_area_m2"].to_numpy(dtype=np.float64)
        total = self.result.total()
        gwp = total["GWP-total"].sum(min_count=1) if "GWP-total" in total else np.nan
        return pd.Series(
            {
                "buildings": len(scores),
                "gross_floor_area_m2": float(gfa.sum()),
                "score": float(np.nansum(scores["score"].to_numpy() * gfa) / gfa.sum()),
                "score_unit": str(scores["score_unit"].iloc[0]),
                "gwp_total_kg_co2e": float(gwp),
            }
        )

    def flows(self, horizon: int | None = None) -> MaterialFlows:
        return material_flows(self, horizon)


def _years(buildings) -> dict:
    """construction year per building id, from a frame column or Building objects."""
    if isinstance(buildings, pd.DataFrame) and "construction_year" in buildings:
        first = buildings.drop_duplicates("building_id")
        return dict(zip(first["building_id"].astype(str), first["construction_year"], strict=True))
    items = buildings if isinstance(buildings, (list, tuple)) else [buildings]
    return {str(b.id): getattr(b, "construction_year", None) for b in items if hasattr(b, "id")}


def _read_paths(buildings):
    """Files become Building objects, so their construction years are known."""
    from pathlib import Path

    from ..readers import read_buildings

    if isinstance(buildings, (str, Path)):
        return read_buildings(buildings)
    if isinstance(buildings, (list, tuple)) and any(isinstance(b, (str, Path)) for b in buildings):
        out: list = []
        for item in buildings:
            out.extend(read_buildings(item) if isinstance(item, (str, Path)) else [item])
        return out
    return buildings


def score_district(buildings, default_year: int | None = None, **kwargs) -> District:
    """Score ``buildings`` (what :func:`mpeil.score` takes) as one district.

    Each building needs a construction year (``construction_year`` in the model or the flat frame);
    ``default_year`` fills the ones without.
    """
    buildings = _read_paths(buildings)
    scored = score_compiled(buildings, **kwargs)
    known = _years(buildings)
    years = []
    for building in scored.compiled.building_ids:
        year = known.get(str(building))
        if year is None or (isinstance(year, float) and np.isnan(year)):
            if default_year is None:
                raise InputError(
                    f"building {building!r} has no construction year; give one or pass default_year",
                    field="construction_year",
                )
            year = default_year
        years.append(int(year))
    return District(scored, np.asarray(years, dtype=np.int64))


@dataclass(frozen=True, eq=False)
class MaterialFlows:
    """Material flows of a district per year (kg)."""

    events: pd.DataFrame  # one row per line × event × route: year, building, element, line, material, …
    in_place: pd.Series  # kg in place at the end of each year (from the installed intervals)
    lines_without_mass: int

    def timeline(self, by: str | None = None) -> pd.DataFrame:
        """Per year: mass in, out, cumulative in/out and in place (optionally split in/out by a column)."""
        years = self.in_place.index
        if by is None:
            flows = self.events.pivot_table(
                index="year", columns="direction", values="mass_kg", aggfunc="sum", fill_value=0.0
            )
            frame = flows.reindex(index=years, columns=["in", "out"], fill_value=0.0)
            frame["cumulative_in"] = frame["in"].cumsum()
            frame["cumulative_out"] = frame["out"].cumsum()
            frame["in_place"] = self.in_place
            return frame
        return self.events.pivot_table(
            index="year", columns=["direction", by], values="mass_kg", aggfunc="sum", fill_value=0.0
        ).reindex(index=years, fill_value=0.0)

    def urban_mine(self, routes=("reuse",)) -> pd.DataFrame:
        """Mass leaving for ``routes`` per year and material: what becomes available, and when."""
        leaving = self.events[(self.events["direction"] == "out") & self.events["route"].isin(routes)]
        return (
            leaving.groupby(["year", "material", "route"], sort=True)["mass_kg"].sum().rename("mass_kg").reset_index()
        )

    def reuse_inventory(self) -> pd.DataFrame:
        """The forecast as rows of a reuse inventory (:data:`mpeil.model.reuse.INVENTORY_COLUMNS` where known),
        plus ``year_available`` and ``mass_kg`` (reuse share of the line's mass)."""
        leaving = self.events[(self.events["direction"] == "out") & (self.events["route"] == "reuse")]
        frame = pd.DataFrame(
            {
                "component_id": leaving["building"] + "/" + leaving["element"] + "/" + leaving["line"].astype(str),
                "building_id": leaving["building"],
                "element_id": leaving["element"],
                "element_type": leaving["element_type"],
                "layer": leaving["layer"],
                "line": leaving["line"],
                "name": leaving["material"],
                "product": leaving["dataset_id"],
                "reuse_share": leaving["share"],
                "service_life_years": leaving["service_life_years"],
                "removed": leaving["flow"] == "removed",
                "year_available": leaving["year"],
                "mass_kg": leaving["mass_kg"],
            }
        )
        known = [c for c in INVENTORY_COLUMNS if c in frame]
        return frame[[*known, "year_available", "mass_kg"]].reset_index(drop=True)

    def plot(self, by: str = "material", top: int = 8, ax=None):
        """Stacked bars of mass in (up) and out (down) per year, by the ``top`` largest ``by`` groups."""
        import matplotlib.pyplot as plt

        table = self.timeline(by)
        ax = ax if ax is not None else plt.subplots(figsize=(10, 4.5))[1]
        for direction, sign in (("in", 1.0), ("out", -1.0)):
            if direction not in table.columns.get_level_values(0):
                continue
            part = pd.DataFrame(table[direction]) / 1000.0
            order = pd.Series(part.sum(axis=0)).sort_values(ascending=False).index
            keep, rest = list(order[:top]), list(order[top:])
            shown = part[keep].assign(**({"other": part[rest].sum(axis=1)} if rest else {}))
            bottom = np.zeros(len(shown))
            for k, column in enumerate(shown.columns):
                values = sign * shown[column].to_numpy()
                ax.bar(shown.index, values, bottom=bottom, color=f"C{k % 10}", label=column if sign > 0 else None)
                bottom = bottom + values
        ax.axhline(0.0, color="black", linewidth=0.6)
        ax.set_xlabel("year")
        ax.set_ylabel("t per year (in ↑, out ↓)")
        ax.set_title("District material flows")
        ax.legend(fontsize=7, ncol=2, loc="upper right")
        return ax


def _line_events(compiled, years: np.ndarray, sl: np.ndarray, rsp: np.ndarray) -> tuple[np.ndarray, ...]:
    """(line, year, direction in=1/out=0, flow code) for every event, vectorised over lines."""
    existing = ~np.isnan(compiled.remaining_life_years)
    removed = compiled.removed
    y0 = years[compiled.line_building]
    nr = number_of_replacements(rsp, sl, "ceil", compiled.remaining_life_years).astype(np.int64)
    nr = np.where(removed, 0, nr)
    first = np.where(existing, np.nan_to_num(compiled.remaining_life_years), sl)
    # one install at y0 (construction or "already in place"), then per replacement: out and in
    lines = np.arange(compiled.n_lines)
    k_line = np.repeat(lines, nr)
    k = np.arange(nr.sum()) - np.repeat(np.cumsum(nr) - nr, nr)
    k_year = y0[k_line] + np.floor(first[k_line] + k * sl[k_line] + 1e-9).astype(np.int64)
    end_year = np.where(removed, y0, y0 + np.round(rsp).astype(np.int64))
    line = np.concatenate([lines, k_line, k_line, lines])
    year = np.concatenate([y0, k_year, k_year, end_year])
    direction = np.concatenate([np.ones_like(lines), np.zeros_like(k_line), np.ones_like(k_line), np.zeros_like(lines)])
    install = np.where(existing | removed, 1, 0)  # 0 construction, 1 existing in place
    leave = np.where(removed, 4, 3)  # 3 end of life, 4 removed
    flow = np.concatenate([install, np.full(k_line.size, 2), np.full(k_line.size, 2), leave])
    return line, year, direction, flow


_FLOW_NAMES = np.array(["construction", "in place at start", "replacement", "end of life", "removed"], dtype=object)


def material_flows(district: District, horizon: int | None = None) -> MaterialFlows:
    """Mass entering and leaving per year, material, waste category and end-of-life route."""
    compiled, library = district.scored.compiled, district.scored.library
    mass = compiled.mass_kg
    rsp = compiled.study_period_years[compiled.line_building]
    line, year, direction, flow = _line_events(compiled, district.construction_year, compiled.service_life_years, rsp)
    keep = ~np.isnan(mass[line])
    line, year, direction, flow = line[keep], year[keep], direction[keep], flow[keep]
    shares = compiled.eol_shares[line]
    given = ~np.isnan(shares).any(axis=1)
    route_shares = np.column_stack([np.where(given[:, None], shares, 0.0), np.where(given, 0.0, 1.0)])
    # ins carry the whole mass on no route; outs are split over the routes
    is_in = direction == 1
    rows_in = np.flatnonzero(is_in)
    out_event, out_route = np.nonzero(route_shares * (~is_in)[:, None] > 0)
    event = np.concatenate([rows_in, out_event])
    route = np.concatenate([np.full(rows_in.size, -1), out_route])
    share = np.where(route >= 0, route_shares[event, np.maximum(route, 0)], 1.0)
    names = library.datasets["name_en"].fillna(library.datasets["dataset_id"]).astype(str).to_numpy(dtype=object)
    ids = library.datasets["dataset_id"].astype(str).to_numpy(dtype=object)
    waste = np.asarray([*compiled.waste_categories, "(none)"], dtype=object)
    ln = line[event]
    events = pd.DataFrame(
        {
            "year": year[event],
            "direction": np.where(direction[event] == 1, "in", "out"),
            "flow": _FLOW_NAMES[flow[event]],
            "route": np.where(route >= 0, np.asarray(_ROUTES, dtype=object)[np.maximum(route, 0)], "-"),
            "share": share,
            "mass_kg": mass[ln] * share,
            "building": compiled.building_ids[compiled.line_building[ln]].astype(str),
            "element": compiled.element_ids[compiled.line_element[ln]].astype(str),
            "element_type": compiled.element_types[compiled.line_element[ln]],
            "layer": compiled.line_layer[ln],
            "line": compiled.line_number[ln],
            "material": names[compiled.dataset[ln]],
            "dataset_id": ids[compiled.dataset[ln]],
            "waste_category": waste[compiled.waste_category[ln]],
            "service_life_years": compiled.service_life_years[ln],
        }
    )
    events = events.sort_values(["year", "direction", "building"], kind="stable").reset_index(drop=True)
    first_year = int(district.construction_year.min())
    last_year = int(events["year"].max()) if horizon is None else first_year + int(horizon)
    events = events[events["year"] <= last_year].reset_index(drop=True)
    return MaterialFlows(events, _in_place(compiled, district, first_year, last_year), int(np.isnan(mass).sum()))


def _in_place(compiled, district: District, first_year: int, last_year: int) -> pd.Series:
    """kg in place at the end of each year: lines installed by then and not yet gone (any replacement swaps
    a part for the same mass, so only the first install and the final leaving matter)."""
    mass = compiled.mass_kg
    known = ~np.isnan(mass)
    y0 = district.construction_year[compiled.line_building]
    rsp = np.round(compiled.study_period_years[compiled.line_building]).astype(np.int64)
    gone = np.where(compiled.removed, y0, y0 + rsp)
    years = np.arange(first_year, last_year + 1)
    present = (y0[None, known] <= years[:, None]) & (gone[None, known] > years[:, None])
    return pd.Series(present.astype(np.float64) @ mass[known], index=pd.Index(years, name="year"), name="in_place")

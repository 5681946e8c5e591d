"""Default scenarios (``scenarios/``): end-of-life shares and routes, transport, service lives, losses.

Plain tables read from CSV; the compiler and the engine look values up in them. Nothing
here is hard-coded: every number lives in the CSV files with its source.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pandas as pd

from ..errors import UnknownScenarioError
from ..paths import scenarios_dir

__all__ = ["ScenarioSet", "load_scenarios", "validate_circular_parameters", "EOL_ROUTES"]

#: TOTEM's end-of-life routes, in the column order of ``waste_categories.csv``.
EOL_ROUTES = ("landfill", "incineration", "reuse", "recycling")


@dataclass(frozen=True, eq=False)
class ScenarioSet:
    waste_categories: pd.DataFrame  # index: waste_category; columns EOL_ROUTES + sorted_on_site
    routes: pd.DataFrame  # route, waste_category ("*" = any), module, dataset_id, share_of_route
    transport: pd.DataFrame  # scenario, module (A4/C2), mode, distance_km, dataset_id
    service_lives: pd.Series  # category → years
    loss_rates: pd.Series  # category → share (may be empty)
    folder: str = ""
    circular_materials: pd.DataFrame | None = None  # index: waste_category ("*" = default); A, B, qs_in_qp, …

    def circular_parameters(self, waste_category: str | None) -> pd.Series:
        """CFF / reuse parameters of a waste category, or the "*" default."""
        table = self.circular_materials
        if table is None or table.empty or "*" not in table.index:
            raise UnknownScenarioError(
                "no circular parameters: the scenarios need circularity/materials.csv with a '*' row",
                file=f"{self.folder}/circularity/materials.csv",
                field="waste_category",
            )
        if waste_category is not None and waste_category not in table.index:
            # the user's spelling of a known category (case, spaces); an unknown one takes the "*" default
            with contextlib.suppress(UnknownScenarioError):
                waste_category = self.canonical_waste_category(waste_category)
        key = waste_category if waste_category in table.index else "*"
        return table.loc[cast(str, key)]

    def canonical_waste_category(self, name: str) -> str:
        """The category as ``waste_categories.csv`` spells it: case and runs of spaces do not matter."""
        if name in self.waste_categories.index:
            return name
        folded = {" ".join(str(k).casefold().split()): str(k) for k in self.waste_categories.index}
        match = folded.get(" ".join(str(name).casefold().split()))
        if match is not None:
            return match
        close = difflib.get_close_matches(str(name).casefold(), list(folded), n=2, cutoff=0.6)
        hint = f"; did you mean {' or '.join(repr(folded[c]) for c in close)}?" if close else ""
        raise UnknownScenarioError(
            f"unknown waste category {name!r}{hint} known: {sorted(self.waste_categories.index)}",
            field="waste_category",
        )

    def eol_shares(self, waste_category: str) -> tuple[float, float, float, float]:
        row = self.waste_categories.loc[self.canonical_waste_category(waste_category)]
        landfill, incineration, reuse, recycling = (float(row[r]) for r in EOL_ROUTES)
        return landfill, incineration, reuse, recycling

    def service_life(self, category: str) -> float:
        try:
            return float(self.service_lives.loc[category])
        except KeyError:
            raise UnknownScenarioError(
                f"unknown service-life category {category!r}; known: {sorted(self.service_lives.index)}",
                field="service_life_category",
            ) from None

    def transport_legs(self, scenario: str, module: str) -> pd.DataFrame:
        """The legs (mode, distance, data set) of one transport scenario in module A4 or C2."""
        table = self._transport_table
        if scenario not in {name for name, _ in table}:
            raise UnknownScenarioError(
                f"unknown transport scenario {scenario!r}; known: {sorted(self.transport['scenario'].unique())}",
                field="transport",
            )
        return table.get((scenario, module), self.transport.iloc[:0])

    @functools.cached_property
    def _transport_table(self) -> dict[tuple[str, str], pd.DataFrame]:
        groups = self.transport.groupby(["scenario", "module"], sort=False)
        return {(str(scenario), str(module)): frame for (scenario, module), frame in groups}

    def route_datasets(self, route: str, waste_category: str | None) -> pd.DataFrame:
        """Data sets (per kg of waste) that model one route for one waste category.

        A category's own rows replace the "*" default rows of that route.
        """
        table = self._route_table
        return table.get((route, waste_category or "*"), table.get((route, "*"), self.routes.iloc[:0]))

    @functools.cached_property
    def _route_table(self) -> dict[tuple[str, str], pd.DataFrame]:
        # looked up once per (route, category) per profile build: group once
        groups = self.routes.groupby(["route", "waste_category"], sort=False)
        return {(str(route), str(category)): frame for (route, category), frame in groups}

    def fingerprint(self) -> str:
        return self._fingerprint

    @functools.cached_property
    def _fingerprint(self) -> str:
        digest = hashlib.sha256()
        frames: list[pd.DataFrame | pd.Series] = [
            self.waste_categories,
            self.routes,
            self.transport,
            self.service_lives,
            self.loss_rates,
        ]
        if self.circular_materials is not None:
            frames.append(self.circular_materials)
        for frame in frames:
            digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
        return digest.hexdigest()


@functools.lru_cache(maxsize=4)
def _load(folder: str) -> ScenarioSet:
    root = Path(folder)
    waste = pd.read_csv(root / "end_of_life" / "waste_categories.csv", comment="#")
    waste = waste.set_index("waste_category")
    routes = pd.read_csv(root / "end_of_life" / "routes.csv", comment="#", keep_default_na=False)
    if "share_of_route" not in routes:
        routes["share_of_route"] = 1.0
    routes["share_of_route"] = pd.to_numeric(routes["share_of_route"].replace("", 1.0)).astype("float64")
    transport = pd.read_csv(root / "transport.csv", comment="#", keep_default_na=False)
    transport["distance_km"] = pd.to_numeric(transport["distance_km"]).astype("float64")
    lives = pd.read_csv(root / "service_lives.csv", comment="#").set_index("category")["service_life_years"]
    loss_path = root / "loss_rates.csv"
    if loss_path.exists():
        loss_table = pd.read_csv(loss_path, comment="#")
        loss_col = next((c for c in loss_table.columns if "rate" in c), None)
        cat_col = loss_table.columns[0]
        losses = loss_table.set_index(cat_col)[loss_col].astype("float64") if loss_col else pd.Series(dtype="float64")
    else:
        losses = pd.Series(dtype="float64")
    circular_path = root / "circularity" / "materials.csv"
    circular = None
    if circular_path.exists():
        circular = pd.read_csv(circular_path, comment="#", keep_default_na=False).set_index("waste_category")
        validate_circular_parameters(circular, str(circular_path))
    return ScenarioSet(
        waste, routes, transport, lives.astype("float64"), losses, folder=str(root), circular_materials=circular
    )


def validate_circular_parameters(table: pd.DataFrame, file: str | None = None) -> pd.DataFrame:
    """Check (and make numeric, in place) the CFF parameters: A, B in [0, 1]; quality ratios in (0, 1]."""
    from ..errors import CircularityError

    for column, low_open in (("A", False), ("B", False), ("qs_in_qp", True), ("qs_out_qp", True)):
        values = pd.to_numeric(table[column], errors="coerce").astype("float64")
        bad = values.isna() | (values > 1) | ((values <= 0) if low_open else (values < 0))
        if bad.any():
            category = values.index[bad.to_numpy()][0]
            allowed = "(0, 1]" if low_open else "[0, 1]"
            raise CircularityError(
                f"{column} of {category!r} is {table.at[category, column]!r}, not in {allowed}", file=file, field=column
            )
        table[column] = values
    return table


def load_scenarios(folder: Path | None = None) -> ScenarioSet:
    """Load the scenario tables from ``scenarios/`` (or another folder of the same shape)."""
    return _load(str(Path(folder) if folder else scenarios_dir()))

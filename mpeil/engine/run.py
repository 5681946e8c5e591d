"""Run the engine: compiled lines + library + scenarios + options → element results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast, overload

import numpy as np

from ..compile import CompiledBuildings
from ..model.library import EPDLibrary
from ..model.scenarios import ScenarioSet
from .core import GapCounts, LineWeights, SegmentValues, aggregate, aggregate_planned, line_weights, plan_groups
from .options import EngineOptions
from .profiles import OUTPUT_MODULES, Profiles, build_profiles, profile_key_columns
from .replacements import number_of_replacements

__all__ = ["EngineOptions", "ElementResults", "PreparedLines", "prepare_lines", "run_engine", "line_results"]


class _DenseOnRead:
    """A field that takes an array or a compact form (:class:`GapCounts`, :class:`SegmentValues`);
    read, it is an array (the compact form's dense view, made on first read and kept). No default:
    the dataclass field stays required."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}_stored"

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _DenseOnRead: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> np.ndarray: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> np.ndarray | _DenseOnRead:
        if obj is None:
            raise AttributeError(self.slot)  # dataclasses: no default value
        value = obj.__dict__[self.slot]
        if isinstance(value, (GapCounts, SegmentValues)):
            value = obj.__dict__[self.slot] = value.dense()
        return value

    def __set__(self, obj: object, value: np.ndarray | GapCounts | SegmentValues) -> None:
        obj.__dict__[self.slot] = value


@dataclass(frozen=True, eq=False)
class ElementResults:
    """Per-element results over the study period, with gap bookkeeping.

    ``values`` (float64[E, M, I]) may be given as :class:`~mpeil.engine.core.SegmentValues` and
    ``missing`` (lines without data, uint16[E, M, I]; int32 for huge elements) as
    :class:`~mpeil.engine.core.GapCounts`: the engine keeps the products of the profile columns
    that are not all zero and the gap counts per class of columns, and each dense array is made
    when it is first read, then kept (the scores need only the building totals).
    """

    compiled: CompiledBuildings
    modules: tuple[str, ...]
    indicators: tuple[str, ...]
    if TYPE_CHECKING:  # read, always arrays; the descriptors below also take the compact forms
        values: np.ndarray
        missing: np.ndarray
    else:
        values: _DenseOnRead = _DenseOnRead()  # float64[E, M, I]
        missing: _DenseOnRead = _DenseOnRead()  # uint16[E, M, I] lines without data (int32 for huge elements)
    contributing: np.ndarray  # int32[E, M]
    replacements: np.ndarray  # float64[L]
    fallback_lines: np.ndarray  # int64[B, I]: lines whose A1-A3 came from a fallback indicator
    options: EngineOptions
    extra: dict = field(default_factory=dict)
    #: building totals summed from the lines in the same pass (B × M × I, gaps, contributing lines);
    #: None when not computed (then :func:`mpeil.methods.scoring.building_totals` sums the elements)
    building_values: np.ndarray | None = None
    building_missing: np.ndarray | None = None
    building_contributing: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class PreparedLines:
    """What the aggregation needs: each line's unit profile, the profiles, replacements and weights."""

    profile_index: np.ndarray  # int64[L]: the line's row in ``profiles``
    profiles: Profiles
    replacements: np.ndarray  # float64[L]: number of replacements (0 for removed parts)
    weights: LineWeights  # declared units per weight group (installation, replacement, …)


def prepare_lines(
    compiled: CompiledBuildings, library: EPDLibrary, scenarios: ScenarioSet, options: EngineOptions
) -> PreparedLines:
    """Unit profiles of the lines, their number of replacements and weights (before aggregation)."""
    profile_index, keys = profile_key_columns(compiled)  # a frame only for profiles not cached
    profiles = build_profiles(library, scenarios, keys, compiled, options)
    replacements = number_of_replacements(
        compiled.study_period_years[compiled.line_building],
        compiled.service_life_years,
        options.replacement_rule,
        compiled.remaining_life_years,
    )
    existing = ~np.isnan(compiled.remaining_life_years)
    weights = line_weights(compiled.quantity, replacements, existing, compiled.removed)
    if compiled.removed.any():
        replacements = np.where(compiled.removed, 0.0, replacements)
    return PreparedLines(profile_index, profiles, replacements, weights)


def run_engine(
    compiled: CompiledBuildings,
    library: EPDLibrary,
    scenarios: ScenarioSet,
    options: EngineOptions,
) -> ElementResults:
    """Element × module × indicator results for every building in ``compiled``."""
    prepared = prepare_lines(compiled, library, scenarios, options)
    keys_index, profiles = prepared.profile_index, prepared.profiles
    plan = plan_groups(prepared.weights, profiles.values, profiles.missing)
    values, missing, contributing = aggregate_planned(plan, compiled.line_element, compiled.n_elements, keys_index)
    building_of_line = compiled.line_building
    building = None
    if building_of_line.size == 0 or np.all(building_of_line[1:] >= building_of_line[:-1]):
        # lines are building-major (the compiler's order): building totals in one more, small pass
        building = aggregate_planned(plan, building_of_line, compiled.n_buildings, keys_index)
    n_ind = len(options.indicators)
    fallback_lines = np.zeros((compiled.n_buildings, n_ind), dtype=np.int64)
    if profiles.fallback.any():  # lines per (building, profile), then the profiles' fallback flags
        n_profiles = profiles.fallback.shape[0]
        per_profile = np.bincount(
            building_of_line * n_profiles + keys_index,
            weights=compiled.quantity > 0,
            minlength=compiled.n_buildings * n_profiles,
        )
        fallback_lines = np.rint(
            per_profile.reshape(compiled.n_buildings, n_profiles) @ profiles.fallback.astype(np.float64)
        ).astype(np.int64)
    return ElementResults(
        compiled=compiled,
        modules=OUTPUT_MODULES,
        indicators=tuple(s.code for s in options.indicators),
        values=cast(np.ndarray, values),  # the groups' products: dense on first read
        missing=cast(np.ndarray, missing),  # gap counts per class of columns: dense on first read
        contributing=contributing,
        replacements=prepared.replacements,
        fallback_lines=fallback_lines,
        options=options,
        building_values=None if building is None else building[0].dense(),
        building_missing=None if building is None else building[1].dense(),
        building_contributing=None if building is None else building[2],
    )


def line_results(
    compiled: CompiledBuildings, library: EPDLibrary, scenarios: ScenarioSet, options: EngineOptions
) -> tuple[np.ndarray, np.ndarray]:
    """Per-line results (L × M × I) and gap mask, for explaining small cases."""
    prepared = prepare_lines(compiled, library, scenarios, options)
    profiles = prepared.profiles
    values, missing, _ = aggregate(
        np.arange(compiled.n_lines),
        compiled.n_lines,
        prepared.profile_index,
        prepared.weights,
        profiles.values,
        profiles.missing,
    )
    return values, missing > 0

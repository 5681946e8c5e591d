"""The Python entry point: one :class:`Scorer` loaded once, and ``mpeil.score`` on top of it.

A :class:`Scorer` loads the method (with its option overrides), the EPD library and the
scenarios once, checks that the library can serve the method, and then scores any number of
inputs: a :class:`~mpeil.model.Building`, a path (JSON, CSV, XLSX), a flat bill-of-materials
DataFrame, or a list of them. The CLI, batch, the sensitivity analysis and the web service all
score through it, so they give the same numbers, bit for bit, and one provenance shape
(:attr:`Scorer.provenance`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import stages
from .compile import CompiledBuildings
from .engine import ElementResults, EngineOptions
from .errors import InputError
from .methods import Method
from .methods.scoring import engine_options
from .model import Building
from .model.indicators import EN15804_A2_CORE_AND_ADDITIONAL
from .model.library import EPDLibrary
from .model.scenarios import ScenarioSet
from .outputs import Result
from .stages import IdRegister, ScoringContext, ScoringInput
from .stages import read as read_input
from .validation import Limits

if TYPE_CHECKING:  # imported by compare() itself: off the path of scoring one file
    from .outputs.compare import Comparison

__all__ = [
    "Scorer",
    "ScoringInput",
    "compare",
    "score",
    "engine_options",
    "passport_of",
    "read_input",
    "reuse_report",
]


class Scorer:
    """Score buildings under one method, with the library and scenarios loaded once.

    A Scorer holds one :class:`~mpeil.stages.ScoringContext` (:attr:`context`), built once by
    :func:`mpeil.stages.prepare`; :meth:`score` is the composition of the stages
    (read → compile → characterise → weight → assess).

    Parameters
    ----------
    method:
        A shipped method name (``mpeil-ef31``, ``mpeil-ef30``, ``gwp``, ``br18``, ``nl-mpg-set1``),
        a TOML file, or a :class:`~mpeil.methods.Method`.
    library, scenarios:
        Default: every shipped EPD source and the shipped scenarios.
    report_indicators:
        Indicator codes reported beside the method's own (not scored).
    limits:
        Plausibility limits of the compiler (default: ``data/batch_limits.csv``).
    **options:
        Method options to override, e.g. ``replacement_rule="fractional"``, ``include_d=True``.
    """

    def __init__(
        self,
        method: str | Path | Method = "mpeil-ef31",
        library: EPDLibrary | None = None,
        scenarios: ScenarioSet | None = None,
        report_indicators: Iterable[str] = EN15804_A2_CORE_AND_ADDITIONAL,
        limits: Limits | None = None,
        **options: Any,
    ) -> None:
        self.context: ScoringContext = stages.prepare(method, library, scenarios, limits, report_indicators, **options)

    @classmethod
    def from_context(cls, context: ScoringContext) -> Scorer:
        """A Scorer on a context already prepared (nothing is loaded again)."""
        scorer = cls.__new__(cls)
        scorer.context = context
        return scorer

    def __repr__(self) -> str:
        return f"Scorer(method={self.method.name!r}, library={self.library.name!r}, options={self.options!r})"

    # the context's parts, under the names callers have used
    @property
    def method(self) -> Method:
        """The method with its option overrides."""
        return self.context.method

    @property
    def library(self) -> EPDLibrary:
        """The library as scored (the method's gap policy and screening resolved)."""
        return self.context.library

    @property
    def scenarios(self) -> ScenarioSet:
        return self.context.scenarios

    @property
    def limits(self) -> Limits | None:
        return self.context.limits

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.context.options)

    @property
    def report_indicators(self) -> tuple[str, ...]:
        return self.context.report_indicators

    @property
    def engine_options(self) -> EngineOptions:
        return self.context.engine_options

    @property
    def provenance(self) -> dict:
        """What decides the numbers (see :attr:`mpeil.stages.ScoringContext.provenance`)."""
        return self.context.provenance

    def with_options(self, method: str | Path | Method | None = None, **options: Any) -> Scorer:
        """Another scorer on the same library and scenarios: another method and/or more options."""
        return Scorer.from_context(self.context.with_options(method, **options))

    def compile(self, source: Any, file: str | None = None) -> CompiledBuildings:
        """Compile buildings (anything :meth:`score` accepts) with this method's study period and transport."""
        return stages.compile(self.context, stages.read(source, file))

    def compile_frame(self, frame: pd.DataFrame, file: str | None = None) -> CompiledBuildings:
        """Compile a flat bill of materials (the compiler's format) under this method, with the
        checks every entry point applies (:func:`mpeil.stages.compile`)."""
        return stages.compile(self.context, ScoringInput(frame, file=file))

    def run(self, compiled: CompiledBuildings, options: EngineOptions | None = None) -> ElementResults:
        """Run the engine on compiled buildings (default: this scorer's engine options)."""
        return stages.run(self.context, compiled, options)

    def score(
        self,
        buildings: Any,
        file: str | None = None,
        *,
        gfa_m2: float | None = None,
        mapping: str | Path | None = None,
    ) -> Result:
        """Score one or many buildings: a Building, a path, a flat DataFrame, or a list of them.

        Parameters
        ----------
        buildings:
            Anything :func:`mpeil.stages.read` accepts.
        file:
            Labels the input in error messages and provenance (default: the path read).
        gfa_m2, mapping:
            For IFC models read from a path: the gross floor area in m² over what the model says,
            and a material mapping CSV tried before the default (issue 19).

        Returns
        -------
        Result
            Scores in the method's unit (e.g. mPt/(m²·yr)), element results, provenance.
        """
        from .readers.ifc_coverage import MissingFloorAreaError

        try:
            data = stages.read(buildings, file, gfa_m2=gfa_m2, mapping=mapping)
        except MissingFloorAreaError as error:
            raise error.how("Scorer.score(path, gfa_m2=M2) or mpeil.score(path, gfa_m2=M2)") from None
        context = self.context.for_buildings(data.buildings)
        compiled = stages.compile(context, data)
        inventory = stages.characterise(context, compiled, data)
        scores = stages.weight(context, inventory)
        return stages.assess(context, inventory, scores)


def score(
    buildings: Any,
    method: str | Path | Method = "mpeil-ef31",
    library: EPDLibrary | None = None,
    scenarios: ScenarioSet | None = None,
    report_indicators: Iterable[str] = EN15804_A2_CORE_AND_ADDITIONAL,
    limits: Limits | None = None,
    budget: bool = False,
    *,
    gfa_m2: float | None = None,
    mapping: str | Path | None = None,
    **options: Any,
) -> Result:
    """Score one or many buildings: ``Scorer(method, library, scenarios, …).score(buildings)``.

    ``buildings`` is a :class:`~mpeil.model.Building`, a path to a building file (JSON, CSV,
    XLSX, IFC), a flat bill-of-materials DataFrame, or an iterable of those. See :class:`Scorer`
    for the other parameters; use a :class:`Scorer` directly to score many inputs with the
    library loaded once. ``gfa_m2`` and ``mapping``: for IFC models (see :meth:`Scorer.score`).
    ``budget=True`` scores in a child process with the time and memory budget of a batch file
    (:func:`mpeil.budget.score_within_budget`; ``mpeil score`` always does).
    """
    scorer = Scorer(method, library, scenarios, report_indicators, limits, **options)
    if budget:
        from .budget import score_within_budget

        read_options: dict[str, Any] = {k: v for k, v in (("gfa_m2", gfa_m2), ("mapping", mapping)) if v is not None}
        return score_within_budget(scorer, buildings, **read_options)
    return scorer.score(buildings, gfa_m2=gfa_m2, mapping=mapping)


def _has_frame(source: Any) -> bool:
    if isinstance(source, pd.DataFrame):
        return True
    if isinstance(source, (str, Path, Building, Result)) or not isinstance(source, Iterable):
        return False
    return any(_has_frame(item) for item in source)


def compare(
    *variants: Any,
    method: str | Path | Method | None = None,
    library: EPDLibrary | None = None,
    scenarios: ScenarioSet | None = None,
    **options: Any,
) -> Comparison:
    """Compare building variants like for like; the first building is the baseline.

    ``variants`` are buildings, building files or :class:`Result` objects (each may hold several
    buildings). Everything not yet scored is scored in one call with one :class:`Scorer` (one method,
    library and scenario set); Results must have been scored with that same method (else
    ``MethodError``). Duplicate building ids are a :class:`~mpeil.errors.DuplicateBuildingError`.
    Returns a :class:`~mpeil.outputs.compare.Comparison` (``.table`` element × stage, ``.explanation``).
    """
    given = [v for v in variants if isinstance(v, Result)]
    if method is None:
        method = given[0].method if given else "mpeil-ef31"
    seen = IdRegister()
    unscored: list[Building] = []
    names: list[list[str]] = []
    for variant in variants:
        if isinstance(variant, Result):
            ids = list(variant.building_ids)
            seen.add(ids, "a Result")
        else:
            if _has_frame(variant):
                raise InputError("compare takes buildings, building files or Results, not a flat DataFrame")
            data = read_input(variant)
            data.check_unique_ids()
            ids = [b.id for b in data.buildings]
            seen.add(ids, data.file)
            unscored.extend(data.buildings)
        names.append(ids)
    scored = Scorer(method, library, scenarios, **options).score(unscored) if unscored else None
    pairs: list[tuple[Result, str]] = []
    for variant, ids in zip(variants, names, strict=True):
        result = variant if isinstance(variant, Result) else scored
        if result is None:  # unreachable: every building not in a Result was scored
            raise InputError("nothing to compare")
        pairs.extend((result, name) for name in ids)
    from .outputs.compare import compare_results

    return compare_results(pairs)


def passport_of(
    building: Building,
    method: str | Path | Method = "mpeil-ef31",
    library: EPDLibrary | None = None,
    scenarios: ScenarioSet | None = None,
    **options: Any,
):
    """The building and material passport of ``building`` (:mod:`mpeil.model.passport`)."""
    from .model.passport import split_lines
    from .outputs.passport import build_passport

    scorer = Scorer(method, library, scenarios, **options)
    result = scorer.score(split_lines(building))
    return build_passport(building, result, scorer.library, scorer.scenarios)


def _pair_inventory(
    context: ScoringContext, buildings: list[Building], indicators: tuple[str, ...]
) -> stages.Inventory:
    """The inventory of single-line pair buildings, with the engine reporting ``indicators`` only."""
    from .engine import IndicatorSpec

    data = stages.read(buildings)
    compiled = stages.compile(context, data)
    options = dataclasses.replace(
        context.engine_options, indicators=tuple(IndicatorSpec.plain(code) for code in indicators)
    )
    return stages.characterise(context, compiled, data, elements=stages.run(context, compiled, options))


def reuse_report(
    donors: Iterable[Building],
    receivers: Iterable[Building],
    method: str | Path | Method = "mpeil-ef31",
    library: EPDLibrary | None = None,
    scenarios: ScenarioSet | None = None,
    indicators: tuple[str, ...] = ("GWP-total",),
) -> pd.DataFrame:
    """Donor → receiver check of reused components: one row per (component, indicator) with the
    donor's and receiver's burdens, the physical chain and their balance (0 when nothing is
    counted twice or left out), in the indicator's unit over the study period, and findings.

    The lines of each component (:func:`mpeil.outputs.reuse.reuse_cases`) are scored through the
    stages under the method and under its ``eol_allocation = "cutoff_d"`` variant, and the balance is
    read off their inventories (:func:`mpeil.outputs.reuse.reuse_balance`).
    """
    from .outputs.reuse import pair_buildings, reuse_balance, reuse_cases

    context = stages.prepare(method, library, scenarios, None, ())
    cutoff = context.with_options(eol_allocation="cutoff_d")
    cases = reuse_cases(donors, receivers, context.scenarios)
    if not cases:  # nothing reused: no rows (as the report of no links always was)
        return pd.DataFrame()
    scored = _pair_inventory(context, pair_buildings(cases, "method"), indicators)
    cut = _pair_inventory(cutoff, pair_buildings(cases, "cutoff"), indicators)
    return reuse_balance(cases, context.method, scored.elements, cut.elements)

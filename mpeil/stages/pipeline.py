"""The stages: compile → characterise → weight → assess (each a function of the context and data)."""

from __future__ import annotations

import copy
import functools

import pandas as pd

from ..compile import CompiledBuildings
from ..engine import ElementResults, EngineOptions, PreparedLines, prepare_lines, run_engine
from ..engine.profiles import Profiles, build_profiles
from ..methods.scoring import grade_and_label, weigh_buildings_by_id
from ..methods.trust import assess_lines
from ..outputs import Result
from ..validation import check_scores, compile_checked
from .context import ScoringContext
from .inventory import Inventory, Scores
from .read import ScoringInput

__all__ = ["compile", "run", "unit_profiles", "profiles", "characterise", "weight", "assess_scores", "assess"]


def compile(context: ScoringContext, data: ScoringInput) -> CompiledBuildings:
    """Compile the flat frame under the context's method, with the checks every entry point applies.

    Unique building ids across the inputs read (:meth:`ScoringInput.check_unique_ids`, the one
    duplicate-id check), then references to the library, plausibility limits and the model's type
    rules for a frame given as is (:func:`mpeil.validation.compile_checked`; a frame flattened from
    model buildings, :attr:`ScoringInput.from_model`, met them in the model); the method's study
    period (years) and default transport fill what lines leave out.

    Parameters
    ----------
    context:
        From :func:`prepare`.
    data:
        From :func:`read`.

    Returns
    -------
    CompiledBuildings
    """
    data.check_unique_ids()
    method = context.method
    return compile_checked(
        data.frame,
        context.library,
        context.scenarios,
        method.reference_study_period_years,
        method.default_transport,
        data.file,
        context.limits,
        types_checked=data.from_model,
    )


def run(context: ScoringContext, compiled: CompiledBuildings, options: EngineOptions | None = None) -> ElementResults:
    """The engine on compiled buildings with the context's library and scenarios.

    ``options`` default to the context's engine options (a batch adds its GWP companion's
    indicators). Most callers want :func:`characterise`, which also assesses the lines' trust.
    """
    return run_engine(compiled, context.library, context.scenarios, options or context.engine_options)


def unit_profiles(
    context: ScoringContext, compiled: CompiledBuildings, options: EngineOptions | None = None
) -> PreparedLines:
    """The lines' unit profiles (values per declared unit, per module and indicator, with the
    scenarios applied), replacements and weights, as the engine prepares them for :func:`run`
    (exports such as LCAx carry them per product)."""
    return prepare_lines(compiled, context.library, context.scenarios, options or context.engine_options)


def profiles(
    context: ScoringContext, compiled: CompiledBuildings, keys: pd.DataFrame, options: EngineOptions | None = None
) -> Profiles:
    """Unit profiles of the given profile keys (one row per distinct line setting, as
    :func:`mpeil.engine.profiles.profile_keys` gives them, possibly with changed scenario fields:
    the uncertainty analysis puts all waste on one route), with the context's library and scenarios."""
    return build_profiles(context.library, context.scenarios, keys, compiled, options or context.engine_options)


def characterise(
    context: ScoringContext,
    compiled: CompiledBuildings,
    source: ScoringInput | None = None,
    elements: ElementResults | None = None,
) -> Inventory:
    """Run the engine and label what the buildings emit.

    Parameters
    ----------
    context:
        From :func:`prepare`.
    compiled:
        From :func:`compile`.
    source:
        The input compiled: its model buildings' operational (B6/B7) lines are reported apart,
        and its files go into the provenance.
    elements:
        Element results already run on ``compiled`` with the context (a batch running several
        methods at once); default: run the engine.

    Returns
    -------
    Inventory
        Values in each indicator's unit over the study period, with missing and contributing line
        counts, replacements, and per-line trust (estimates, flagged values).
    """
    owned = elements is None
    if elements is None:
        elements = run(context, compiled)
    operational = None
    if source is not None and any(b.operational for b in source.buildings):
        from ..outputs.operational import operational_impacts

        operational = operational_impacts(
            list(source.buildings), context.library, elements.indicators, context.method.reference_study_period_years
        )
    if source is not None:  # IFC models: their mapped shares travel to the grade (issue 19)
        from ..readers.ifc_coverage import coverage_of

        coverage = {str(b.id): share for b in source.buildings if (share := coverage_of(b))}
        if coverage:
            elements.extra["coverage"] = coverage
    trust = assess_lines(compiled, elements.replacements, context.library, context.method)
    if owned:  # travels with the element results (a Result rebuilt from them keeps it); given ones stay as given
        elements.extra["trust"] = trust
    return Inventory(elements, trust, operational, source)


def weight(context: ScoringContext, inventory: Inventory) -> Scores:
    """Weight the inventory into single scores, with honest coverage.

    ``score = Σ_i w_i × Σ_{m ∈ scope} I[m, i] / (A_GFA × RSP if per_year else A_GFA)``, with ``w``
    the context's weight vector (score units per indicator unit), ``A_GFA`` in m² and RSP in
    years; see :mod:`mpeil.methods.scoring` for the coverage columns.

    Returns
    -------
    Scores
        The wide table and tidy views: per-building scalars, flags, gaps, estimates (quality grades
        and labels are added by :func:`assess`).
    """
    return Scores(weigh_buildings_by_id(inventory.elements, context.method, inventory.totals, inventory.trust))


def assess_scores(context: ScoringContext, inventory: Inventory, scores: Scores) -> Scores:
    """Grade, label and check the scores of :func:`weight` (what :func:`assess` adds, without a Result).

    Each building gets its data-quality grade (``data/quality_grades.csv``) and, for a method with
    an A–G scale, its label (``scenarios/labels/<method>.csv``, by use type); an infinite score
    raises :class:`~mpeil.errors.InputError` (:func:`mpeil.validation.check_scores`), naming the
    building and the input file.
    """
    graded = Scores(grade_and_label(scores.table, context.method, inventory.compiled.use_type))
    source = inventory.source
    # the result-level plausibility (mpeil.plausibility) reads the element results: a light Result of them
    as_result = Result(
        inventory.elements, context.method, library=context.library, trust=inventory.trust, totals=inventory.totals
    )
    check_scores(graded.table, source.file if source is not None else None, as_result)
    return graded


def assess(context: ScoringContext, inventory: Inventory, scores: Scores) -> Result:
    """Grade, label and check the scores (:func:`assess_scores`); the :class:`~mpeil.outputs.Result`
    with its provenance. ``Result.scores`` is the graded table, ``Result.score_tables`` the
    :class:`Scores` with their long tables.
    """
    scores = assess_scores(context, inventory, scores)
    source = inventory.source
    provenance = copy.deepcopy(context.provenance)
    if source is not None and (source.file is not None or source.files):
        provenance["input"] = {"file": source.file, "files": dict(source.files)}
    return Result(
        inventory.elements,
        context.method,
        provenance,
        inventory.operational,
        library=context.library,
        scenarios=context.scenarios,
        trust=inventory.trust,
        scored=scores,
        line_profiles=functools.partial(unit_profiles, context, inventory.compiled, inventory.elements.options),
        totals=inventory.totals,  # summed once, in weight: the Result's views read the same sums
    )

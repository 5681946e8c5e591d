"""The staged scoring pipeline: public, pure functions over labelled data.

``prepare`` → :class:`ScoringContext` (once), then per input::

    data = read(source)                          # ScoringInput: one flat frame + model buildings
    compiled = compile(context, data)            # CompiledBuildings (references, limits, unique ids)
    inventory = characterise(context, compiled, data)  # Inventory: building/element × module × indicator
    scores = weight(context, inventory)          # Scores: scalars + long tables (flags, gaps, estimates)
    result = assess(context, inventory, scores)  # Result: checked, with provenance

:meth:`mpeil.Scorer.score` is exactly this composition (after ``context.for_buildings``, which
layers the libraries the buildings name). Batch, service, analysis and exports compose the same
functions. See ``docs/guide/stages.md``.
"""

from .context import ScoringContext, prepare
from .inventory import Inventory, Scores
from .pipeline import assess, assess_scores, characterise, compile, profiles, run, unit_profiles, weight
from .read import IdRegister, ScoringInput, read

__all__ = [
    "ScoringContext",
    "prepare",
    "ScoringInput",
    "IdRegister",
    "read",
    "compile",
    "run",
    "unit_profiles",
    "profiles",
    "characterise",
    "Inventory",
    "weight",
    "Scores",
    "assess_scores",
    "assess",
    "score",
]


def score(context: ScoringContext, source, file: str | None = None):
    """Every stage in order: ``read`` → ``compile`` → ``characterise`` → ``weight`` → ``assess``.

    Returns the :class:`~mpeil.outputs.Result` of ``source`` (anything :func:`read` accepts).
    """
    data = read(source, file)
    context = context.for_buildings(data.buildings)
    compiled = compile(context, data)
    inventory = characterise(context, compiled, data)
    return assess(context, inventory, weight(context, inventory))

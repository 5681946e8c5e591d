"""The scoring context of a batch: its options, its stage contexts and the engine runs they plan.

A batch scores through the stages (:mod:`mpeil.stages`) with one
:class:`~mpeil.stages.ScoringContext` for the method and, for the GWP column, one for the companion
method on the same library and scenarios. The batch context is built once per process
(:func:`scoring_context`) and travels to every chunk.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as _dt
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import stages
from ..api import Scorer
from ..engine import EngineOptions, IndicatorSpec
from ..methods import Method
from ..methods.scoring import engine_options, indicator_specs
from ..model.indicators import EN15804_A2_CORE_AND_ADDITIONAL
from ..model.library import EPDLibrary
from ..model.scenarios import ScenarioSet
from ..stages.context import shipped_library
from ..validation import Limits, load_limits

__all__ = [
    "AVERAGE_TYPES",
    "GENERIC_TYPES",
    "SPECIFIC_TYPES",
    "ScoringContext",
    "ScoringOptions",
    "build_context",
    "compilers",
    "freeze_options",
    "scoring_context",
]

#: ``datasets.data_type`` values counted as specific (one manufacturer's product), industry average
#: (sector EPDs: average / representative) and generic (generic data sets and templates).
SPECIFIC_TYPES = ("specific",)
AVERAGE_TYPES = ("average", "representative")
GENERIC_TYPES = ("generic", "template")


def _today() -> str:
    return _dt.date.today().isoformat()


def freeze_options(options: dict | None) -> tuple[tuple[str, object], ...]:
    """Method options as a sorted, hashable tuple (lists become tuples)."""

    def frozen(value):
        return tuple(frozen(v) for v in value) if isinstance(value, (list, tuple)) else value

    return tuple(sorted((str(k), frozen(v)) for k, v in (options or {}).items()))


@dataclass(frozen=True)
class ScoringOptions:
    """Everything that decides the numbers of a batch (it travels to every worker; keep it small)."""

    method: str = "mpeil-ef31"  # shipped method name or path of a TOML file
    method_options: tuple[tuple[str, object], ...] = ()  # e.g. (("replacement_rule", "fractional"),)
    gwp_method: str | None = "gwp"  # companion method for the GWP per m²·yr column; None = none
    library_sources: tuple[str, ...] | None = None  # shipped EPD sources; None = all
    report_indicators: tuple[str, ...] = EN15804_A2_CORE_AND_ADDITIONAL
    as_of: str = field(default_factory=_today)  # date EPD validity is judged at (ISO)
    limits: Limits = field(default_factory=load_limits)

    def as_dict(self) -> dict:
        return {
            "method": self.method,
            "method_options": dict(self.method_options),
            "gwp_method": self.gwp_method,
            "library_sources": None if self.library_sources is None else list(self.library_sources),
            "report_indicators": list(self.report_indicators),
            "as_of": self.as_of,
            "limits": self.limits.as_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> ScoringOptions:
        limits = data.get("limits")
        return cls(
            method=data["method"],
            method_options=freeze_options(data.get("method_options")),
            gwp_method=data.get("gwp_method"),
            library_sources=None if data.get("library_sources") is None else tuple(data["library_sources"]),
            report_indicators=tuple(
                EN15804_A2_CORE_AND_ADDITIONAL if data.get("report_indicators") is None else data["report_indicators"]
            ),
            as_of=data.get("as_of") or _today(),
            limits=Limits.from_dict(limits),
        )


@dataclass(frozen=True, eq=False)
class _Run:
    """One engine run: the context it compiles and runs with, the engine options, and the contexts
    that weigh its results (role "method" and/or "gwp"; their methods' indicators are in ``options``)."""

    context: stages.ScoringContext  # compiles with its method's study period and default transport
    options: EngineOptions
    methods: dict[str, stages.ScoringContext]  # role → the context whose method scores it

    @property
    def compile_key(self) -> tuple[float, str | None]:
        method = self.context.method
        return method.reference_study_period_years, method.default_transport


@dataclass(frozen=True, eq=False)
class ScoringContext:
    """A batch's stage contexts (the method's and the GWP companion's), engine runs and receipt provenance."""

    options: ScoringOptions
    scoring: stages.ScoringContext
    gwp: stages.ScoringContext | None  # ``scoring`` itself when the companion is the same method
    runs: tuple[_Run, ...]
    report_codes: tuple[str, ...]  # output indicators of the tidy results (method's, then report's)
    dataset_specific: np.ndarray
    dataset_average: np.ndarray
    dataset_generic: np.ndarray
    dataset_expired: np.ndarray
    provenance: dict  # run-level part of every receipt

    @property
    def library(self) -> EPDLibrary:
        return self.scoring.library

    @property
    def scenarios(self) -> ScenarioSet:
        return self.scoring.scenarios

    @property
    def method(self) -> Method:
        return self.scoring.method

    @property
    def gwp_method(self) -> Method | None:
        return None if self.gwp is None else self.gwp.method


def _engine_options(context: stages.ScoringContext, specs: Sequence[IndicatorSpec]) -> EngineOptions:
    """The options ``Scorer.score`` runs the engine with, with these indicators."""
    return dataclasses.replace(context.engine_options, indicators=tuple(specs))


def _same_run(a: Method, b: Method) -> bool:
    """Whether two methods compile and run the engine alike (apart from their indicators)."""
    return (
        a.reference_study_period_years == b.reference_study_period_years
        and a.default_transport == b.default_transport
        and dataclasses.replace(engine_options(a, ()), indicators=())
        == dataclasses.replace(engine_options(b, ()), indicators=())
    )


def _plan_runs(
    scoring: stages.ScoringContext, gwp: stages.ScoringContext | None
) -> tuple[tuple[_Run, ...], tuple[str, ...]]:
    """The engine runs: one for the method and the report, joined by the GWP companion when it can.

    The companion joins the first run when it runs alike and each of its indicators is either new
    or supplied by the same source codes as the indicator of that code already there. Otherwise
    (the shipped ``gwp`` method accepts the EN 15804+A1 ``GWP-A1`` fallback for ``GWP-total``, the
    M-peil does not) it gets a second engine run, on the same compiled buildings, for its own
    indicators only (one, for ``gwp``). The engine keys some rules on an indicator's code (biogenic
    carbon of ``GWP-total``), so an indicator cannot join the first run under another name.
    """
    specs = list(scoring.engine_options.indicators)
    report_codes = tuple(s.code for s in specs)
    runs: list[_Run] = []
    methods = {"method": scoring}
    if gwp is scoring:
        methods["gwp"] = scoring
    elif gwp is not None:
        by_code = {s.code: s for s in specs}
        gwp_specs = indicator_specs(gwp.method)
        joins = _same_run(scoring.method, gwp.method) and all(by_code.get(s.code, s) == s for s in gwp_specs)
        if joins:
            specs += [s for s in gwp_specs if s.code not in by_code]
            methods["gwp"] = gwp
        else:
            runs.append(_Run(gwp, _engine_options(gwp, gwp_specs), {"gwp": gwp}))
    runs.insert(0, _Run(scoring, _engine_options(scoring, specs), methods))
    return tuple(runs), report_codes


def _valid_until(text) -> _dt.date | None:
    """The last day a data set is valid: an ISO date, or a bare year (valid through 31 December)."""
    if not isinstance(text, str) or not text.strip():
        return None
    text = text.strip()
    if re.fullmatch(r"\d{4}", text):
        return _dt.date(int(text), 12, 31)
    try:
        return _dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def _dataset_quality(library: EPDLibrary, as_of: str) -> tuple[np.ndarray, ...]:
    kinds = library.datasets["data_type"].astype("object").fillna("").str.strip().str.lower().to_numpy()
    today = _dt.date.fromisoformat(as_of)
    expired = np.array(
        [(d is not None and d < today) for d in map(_valid_until, library.datasets["valid_until"])], dtype=bool
    )
    return (np.isin(kinds, SPECIFIC_TYPES), np.isin(kinds, AVERAGE_TYPES), np.isin(kinds, GENERIC_TYPES), expired)


def build_context(
    options: ScoringOptions, library: EPDLibrary | None = None, scenarios: ScenarioSet | None = None
) -> ScoringContext:
    """Prepare the stage contexts (method, library, scenarios loaded once) and plan the engine runs.

    Without a ``library``: the shipped library of ``options.library_sources`` as
    :func:`mpeil.stages.context.shipped_library` gives it (read from the stored prepared library in the
    user cache when the sources are shipped ones and ``MPEIL_CACHE_DIR`` is not ``none``; the
    same data sets and numbers as :func:`~mpeil.model.library.load_library`, bit for bit).
    """
    library = library if library is not None else shipped_library(options.library_sources)
    scoring = stages.prepare(
        options.method, library, scenarios, options.limits, options.report_indicators, **dict(options.method_options)
    )
    gwp = None
    if options.gwp_method is not None:
        # the main method's gap policy decides the library of every run (the GWP method's GWP-total is
        # declared by every EN 15804+A2 data set, so it has nothing to estimate)
        gwp = scoring.with_options(method=options.gwp_method).with_library(scoring.library)
        if gwp.method.name == scoring.method.name and gwp.method.fingerprint == scoring.method.fingerprint:
            gwp = scoring
    runs, report_codes = _plan_runs(scoring, gwp)
    specific, average, generic, expired = _dataset_quality(library, options.as_of)
    provenance = copy.deepcopy(scoring.provenance)  # the Scorer's shape, plus what a batch adds
    provenance["library"]["sources"] = None if options.library_sources is None else list(options.library_sources)
    provenance["gwp_method"] = (
        None
        if gwp is None
        else {"name": gwp.method.name, "source": options.gwp_method, "sha256": gwp.method.fingerprint}
    )
    provenance["options"].update(as_of=options.as_of, limits=options.limits.as_dict())
    return ScoringContext(options, scoring, gwp, runs, report_codes, specific, average, generic, expired, provenance)


@functools.lru_cache(maxsize=4)
def scoring_context(options: ScoringOptions) -> ScoringContext:
    """The context of the shipped library and scenarios, built once per process per options."""
    return build_context(options)


def compilers(context: ScoringContext) -> dict[tuple[float, str | None], Scorer]:
    """A scorer (on the run's stage context) that compiles for each distinct (study period, default
    transport) of the runs: ``compile_frame`` is :func:`mpeil.stages.compile`."""
    contexts: dict[tuple[float, str | None], stages.ScoringContext] = {}
    for run in context.runs:
        contexts.setdefault(run.compile_key, run.context)
    return {key: Scorer.from_context(run_context) for key, run_context in contexts.items()}

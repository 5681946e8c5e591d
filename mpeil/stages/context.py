"""The frozen scoring context every stage reads: method, library *as scored*, scenarios, limits."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..engine import EngineOptions
from ..methods import Method, load_method
from ..methods.scoring import check_method, engine_options, score_weight_vector
from ..methods.trust import scoring_library
from ..model.indicators import EN15804_A2_CORE_AND_ADDITIONAL
from ..model.library import EPDLibrary, load_library
from ..model.scenarios import ScenarioSet, load_scenarios
from ..validation import Limits

__all__ = ["ScoringContext", "prepare", "prepare_stored", "shipped_library"]

#: the shipped example scored once when the stored library is built, so the tensors, conversions
#: and end-of-life route burdens a typical house needs are in the stored file
WARM_UP_EXAMPLE = ("examples", "terraced_house.json")


@dataclass(frozen=True, eq=False)
class ScoringContext:
    """Everything that decides the numbers, resolved once and then only read by the stages.

    Build it with :func:`prepare` (or take ``Scorer(...).context``); derive others with
    :meth:`with_options` and :meth:`with_library`, never by changing one.

    Attributes
    ----------
    method:
        The method with its option overrides applied.
    library:
        The EPD library *as scored*: the method's gap policy (peer estimates) and flagged-value
        screening already resolved (:func:`mpeil.methods.trust.scoring_library`).
    scenarios:
        Service lives, transport, end-of-life and circularity scenarios.
    limits:
        Plausibility limits of the compiler (``None``: ``data/batch_limits.csv``).
    engine_options:
        The engine options of the method: its indicators, then the report-only ones, and its rules.
    weights:
        ``float64[I]`` over the engine's output indicators (``engine_options.indicators`` order):
        score units (e.g. mPt) per unit of the indicator (e.g. per kg CO₂-eq), i.e. the method's
        ``score_scale × normalisation⁻¹ × weight``; 0 for report-only indicators. Divide by the
        gross floor area (m²) and, for per-year methods, the study period (years).
    options:
        The method options given (``replacement_rule=…``, …).
    report_indicators:
        Indicator codes reported beside the method's own (not scored).
    given_library:
        The library before the gap policy (the buildings' own libraries are layered over it).
    base_method:
        The method before the option overrides (variants start from it).
    method_source:
        What the method was loaded from (name or file), for the provenance.
    building_libraries:
        True when the libraries the buildings name are layered in already.
    """

    method: Method
    library: EPDLibrary
    scenarios: ScenarioSet
    limits: Limits | None
    engine_options: EngineOptions
    weights: np.ndarray
    options: Mapping[str, Any]
    report_indicators: tuple[str, ...]
    given_library: EPDLibrary
    base_method: Method
    method_source: str
    building_libraries: bool = False

    @cached_property
    def provenance(self) -> dict:
        """What decides the numbers (versions and SHA-256 of method, library, scenarios; options).

        One shape for the API (``Result.provenance``, plus ``input``), the CLI and batch receipts
        (plus the batch's own ``gwp_method`` and options). Computed on first use; copy before changing.
        """
        return {
            "engine_version": __version__,
            "method": {
                "name": self.method.name,
                "source": self.method_source,
                "sha256": self.method.fingerprint,
                "options": dict(self.options),
            },
            "library": {"name": self.library.name, "sources": None, "sha256": self.library.fingerprint()},
            "scenarios": {"sha256": self.scenarios.fingerprint()},
            "options": {
                "report_indicators": list(self.report_indicators),
                "gap_policy": self.method.gap_policy,
                "flagged_values": self.method.flagged_values,
            },
        }

    @property
    def indicators(self) -> tuple[str, ...]:
        """The engine's output indicator codes, in the order of :attr:`weights`."""
        return tuple(spec.code for spec in self.engine_options.indicators)

    def with_options(self, method: str | Path | Method | None = None, **options: Any) -> ScoringContext:
        """Another context on the same given library and scenarios: another method and/or more options."""
        merged = {**self.options, **options}
        base = self.base_method if method is None else method
        other = prepare(base, self.given_library, self.scenarios, self.limits, self.report_indicators, **merged)
        if method is None:
            return dataclasses.replace(other, method_source=self.method_source)
        return other

    def with_library(self, library: EPDLibrary) -> ScoringContext:
        """This context scoring with ``library`` exactly as given (no gap policy applied again)."""
        check_method(self.method, library)
        return dataclasses.replace(self, library=library)

    def for_buildings(self, buildings: Iterable[Any]) -> ScoringContext:
        """This context, with the libraries and inline data sets ``buildings`` name layered over the
        given library (:func:`mpeil.model.library.library_for_buildings`); itself when they name none."""
        buildings = list(buildings)
        if self.building_libraries or not any(b.libraries or b.datasets for b in buildings):
            return self
        from ..model.library import library_for_buildings

        layered = library_for_buildings(self.given_library, buildings)
        other = prepare(self.base_method, layered, self.scenarios, self.limits, self.report_indicators, **self.options)
        return dataclasses.replace(other, method_source=self.method_source, building_libraries=True)


def prepare(
    method: str | Path | Method = "mpeil-ef31",
    library: EPDLibrary | None = None,
    scenarios: ScenarioSet | None = None,
    limits: Limits | None = None,
    report_indicators: Iterable[str] = EN15804_A2_CORE_AND_ADDITIONAL,
    **options: Any,
) -> ScoringContext:
    """Load and resolve everything scoring needs, once.

    Parameters
    ----------
    method:
        A shipped method name (``mpeil-ef31``, ``mpeil-ef30``, ``gwp``, ``br18``, ``nl-mpg-set1``),
        a TOML file, or a :class:`~mpeil.methods.Method`.
    library, scenarios:
        Default: every shipped EPD source and the shipped scenarios.
    limits:
        Plausibility limits (default: ``data/batch_limits.csv``).
    report_indicators:
        Indicator codes reported beside the method's own (not scored).
    **options:
        Method options to override, e.g. ``replacement_rule="fractional"``, ``include_d=True``.

    Returns
    -------
    ScoringContext

    Raises
    ------
    MethodError
        The method names an unknown indicator, or one no data set of the library declares.
    """
    base = load_method(method)
    scored_method = base.with_options(**options) if options else base
    given = library if library is not None else load_library()
    # the method's gap policy decides the library it scores with (issue 8: peer estimates fill gaps)
    as_scored = scoring_library(given, scored_method)
    check_method(scored_method, as_scored)
    report = tuple(report_indicators)
    run_options = engine_options(scored_method, report)
    return ScoringContext(
        method=scored_method,
        library=as_scored,
        scenarios=scenarios if scenarios is not None else load_scenarios(),
        limits=limits,
        engine_options=run_options,
        weights=score_weight_vector(scored_method, [spec.code for spec in run_options.indicators]),
        options=dict(options),
        report_indicators=report,
        given_library=given,
        base_method=base,
        method_source=method.name if isinstance(method, Method) else str(method),
    )


def prepare_stored(
    method: str | Path | Method = "mpeil-ef31", sources: list[str] | None = None, **options: Any
) -> ScoringContext:
    """:func:`prepare` on the shipped library ``load_library(sources)``, with the library as
    prepared (estimates, tensors, route burdens) read from the user cache (:mod:`mpeil.model.stored`).

    The first call under a given data and code version prepares the library from its sources,
    scores the shipped example house once with the default method (:data:`WARM_UP_EXAMPLE`) so
    that what a house needs is derived, and stores it; later calls, in any process, read it back
    (once per process). The context is the same as ``prepare(method, load_library(sources),
    **options)``'s, bit for bit. ``sources`` naming a library folder, or the cache turned off
    (``MPEIL_CACHE_DIR=none``): plain :func:`prepare`.
    """
    return prepare(method, shipped_library(sources), **options)


def shipped_library(sources: Iterable[str] | None = None) -> EPDLibrary:
    """``load_library(sources)``, read from the stored prepared library when it can be.

    The library :func:`prepare_stored` scores with: for shipped sources (None: all) with the cache
    on, the library as prepared read from (or, the first time, written to) the user cache,
    once per process; for a library folder among ``sources``, or the cache off
    (``MPEIL_CACHE_DIR=none``), :func:`~mpeil.model.library.load_library` as before. Either way
    the same data sets, fingerprint and scores, bit for bit.
    """
    from ..model.stored import stored_path, stored_sources

    given = None if sources is None else list(sources)
    shipped = stored_sources(given)
    path = stored_path(shipped) if shipped is not None else None
    if shipped is None or path is None:
        return load_library(given)
    return _shipped_library(path, tuple(shipped))


@functools.lru_cache(maxsize=4)
def _shipped_library(path: Path, sources: tuple[str, ...]) -> EPDLibrary:
    """The library stored at ``path``; when there is none (or it is corrupt), the sources' library
    prepared with the default method, warmed up and stored there. Once per process and key."""
    from ..model.stored import read_stored_library, store_library

    library = read_stored_library(path)
    if library is None:
        library = load_library(list(sources))
        _warm_up(prepare(library=library))  # the default method: the file does not depend on the first caller
        store_library(library, path)
    return library


def _warm_up(context: ScoringContext) -> None:
    """Score the shipped example house once with ``context`` (its result and notes are dropped)."""
    import warnings

    from ..errors import MpeilError
    from ..paths import scenarios_dir
    from . import score

    # the shipped sources cannot score the example (MpeilError): the library is stored as prepared
    with warnings.catch_warnings(), contextlib.suppress(MpeilError):
        warnings.simplefilter("ignore")
        score(context, scenarios_dir().joinpath(*WARM_UP_EXAMPLE))

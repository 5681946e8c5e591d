"""The Python entry point: one :class:`Scorer` loaded once, and ``mpeil.score`` on top of it.

A :class:`Scorer` loads the method (with its option overrides), the EPD library and the
scenarios once, checks that the library can serve the method, and then scores any number of
inputs: a :class:`~mpeil.model.Building`, a path (JSON, CSV, XLSX), a flat bill-of-materials
DataFrame, or a list of them. The CLI, batch, the sensitivity analysis and the web service all
score through it, so they give the same numbers, bit for bit, and one provenance shape
(:attr:`Scorer.provenance`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__
from .compile import CompiledBuildings, flatten
from .engine import ElementResults, EngineOptions, run_engine
from .errors import DuplicateBuildingError, InputError
from .hashing import file_sha256
from .methods import Method, load_method
from .methods.scoring import check_method, engine_options
from .methods.trust import assess_lines, scoring_library
from .model import Building
from .model.indicators import EN15804_A2_CORE_AND_ADDITIONAL
from .model.library import EPDLibrary, load_library
from .model.scenarios import ScenarioSet, load_scenarios
from .outputs import Result
from .outputs.compare import Comparison, compare_results
from .validation import Limits, check_scores, compile_checked

__all__ = ["Scorer", "ScoringInput", "compare", "score", "engine_options", "passport_of"]


@dataclass(frozen=True, eq=False)
class ScoringInput:
    """Buildings ready to compile: one flat frame (the compiler's format) and where it came from.

    ``buildings`` keeps the model objects read or given (their operational B6/B7 lines are
    reported apart); ``files`` maps each file read to its SHA-256.
    """

    frame: pd.DataFrame
    buildings: tuple[Building, ...] = ()
    file: str | None = None  # label used in error messages and provenance
    files: Mapping[str, str] = field(default_factory=dict)


@dataclass
class _Gathered:
    """Inputs being read: frames to concatenate, model buildings, files read, where each id came from."""

    frames: list[pd.DataFrame] = field(default_factory=list)
    buildings: list[Building] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    origin: dict[str, str | None] = field(default_factory=dict)  # building id → file (None: given in memory)

    def add_ids(self, ids: Iterable[str], file: str | None) -> None:
        """Two inputs with one building id would be summed as one building: refuse, naming both."""
        ids = list(dict.fromkeys(str(i) for i in ids))
        for building_id in ids:
            if building_id in self.origin:
                first = self.origin[building_id]
                raise DuplicateBuildingError(
                    f"building id {building_id!r} appears twice in one call"
                    + (f" (first in {first})" if first else "")
                    + "; give each building its own id",
                    file=file,
                    building=building_id,
                    field="id",
                )
        self.origin.update(dict.fromkeys(ids, file))


def _collect(source: Any, into: _Gathered, ifc: Mapping[str, Any] | None = None) -> None:
    """Append one input (or each item of an iterable of inputs) to the frames to concatenate.

    ``ifc``: ``gfa_m2`` and ``mapping`` for the IFC models among the paths (issue 19)."""
    if isinstance(source, Building):
        into.add_ids([source.id], None)
        into.buildings.append(source)
        into.frames.append(flatten([source]))
    elif isinstance(source, pd.DataFrame):
        if "building_id" in source:
            into.add_ids(source["building_id"].dropna().unique(), None)
        into.frames.append(source)
    elif isinstance(source, (str, Path)):
        from .readers import read_buildings

        read = (
            read_buildings(source, **(ifc or {})) if Path(source).suffix.lower() == ".ifc" else read_buildings(source)
        )
        into.add_ids([b.id for b in read], str(source))
        into.files[str(source)] = file_sha256(source)
        into.buildings.extend(read)
        into.frames.append(flatten(read))
    elif isinstance(source, Iterable):
        for item in source:
            _collect(item, into, ifc)
    else:
        raise InputError(f"cannot score a {type(source).__name__}: give a Building, a path or a DataFrame")


def read_input(
    source: Any, file: str | None = None, gfa_m2: float | None = None, mapping: str | Path | None = None
) -> ScoringInput:
    """Read and flatten what :meth:`Scorer.score` accepts into one :class:`ScoringInput`.

    ``gfa_m2`` and ``mapping`` apply to IFC models (:func:`mpeil.readers.ifc.read_ifc`)."""
    if isinstance(source, ScoringInput):
        return source
    gathered = _Gathered()
    _collect(source, gathered, {k: v for k, v in (("gfa_m2", gfa_m2), ("mapping", mapping)) if v is not None})
    frames = gathered.frames
    if not frames:
        raise InputError("no buildings to score", file=file)
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    if file is None and isinstance(source, (str, Path)):
        file = str(source)
    return ScoringInput(frame, tuple(gathered.buildings), file, gathered.files)


class Scorer:
    """Score buildings under one method, with the library and scenarios loaded once.

    Parameters
    ----------
    method:
        A shipped method name (``mpeil-ef31``, ``mpeil-ef30``, ``gwp``, ``br18``, ``nl-mpg-set1``),
        a TOML file, or a :class:`~mpeil.methods.Method`.
    library, scenarios:
        Default: every shipped EPD source and the shipped scenarios.
    report_indicators:
        Indicator codes reported beside the method's own (not scored).
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
        loaded = load_method(method)
        self.limits: Limits | None = limits  # None: data/batch_limits.csv
        self._base_method = loaded  # before the option overrides, for variants
        self.method: Method = loaded.with_options(**options) if options else loaded
        # the method's gap policy decides the library it scores with (issue 8: peer estimates fill gaps)
        self._given_library = library if library is not None else load_library()
        self.library: EPDLibrary = scoring_library(self._given_library, self.method)
        self.scenarios: ScenarioSet = scenarios if scenarios is not None else load_scenarios()
        check_method(self.method, self.library)
        self.options: dict[str, Any] = dict(options)
        self.report_indicators: tuple[str, ...] = tuple(report_indicators)
        self.engine_options: EngineOptions = engine_options(self.method, self.report_indicators)
        self._method_source = method.name if isinstance(method, Method) else str(method)
        self._building_libraries = False  # True: the buildings' own libraries are layered in already

    def __repr__(self) -> str:
        return f"Scorer(method={self.method.name!r}, library={self.library.name!r}, options={self.options!r})"

    @cached_property
    def provenance(self) -> dict:
        """What decides the numbers (versions and SHA-256 of method, library, scenarios; options).

        One shape for the API (``Result.provenance``, plus ``input``), the CLI and batch receipts
        (plus the batch's own ``gwp_method`` and options). Computed on first use.
        """
        return {
            "engine_version": __version__,
            "method": {
                "name": self.method.name,
                "source": self._method_source,
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

    def with_options(self, method: str | Path | Method | None = None, **options: Any) -> Scorer:
        """Another scorer on the same library and scenarios: another method and/or more options."""
        merged = {**self.options, **options}
        if method is None:
            other = Scorer(
                self._base_method, self._given_library, self.scenarios, self.report_indicators, self.limits, **merged
            )
            other._method_source = self._method_source
            return other
        return Scorer(method, self._given_library, self.scenarios, self.report_indicators, self.limits, **merged)

    def compile(self, source: Any, file: str | None = None) -> CompiledBuildings:
        """Compile buildings (anything :meth:`score` accepts) with this method's study period and transport."""
        data = read_input(source, file)
        return self.compile_frame(data.frame, data.file)

    def compile_frame(self, frame: pd.DataFrame, file: str | None = None) -> CompiledBuildings:
        """Compile a flat bill of materials (the compiler's format) under this method, with the
        checks every entry point applies (:func:`mpeil.validation.compile_checked`: references,
        plausibility limits, and the model's type rules for a frame given as is)."""
        method = self.method
        return compile_checked(
            frame,
            self.library,
            self.scenarios,
            method.reference_study_period_years,
            method.default_transport,
            file,
            self.limits,
        )

    def _with_building_libraries(self, buildings) -> Scorer:
        """A scorer whose library also holds the libraries and inline data sets the buildings name
        (layered over this scorer's own, :func:`mpeil.model.library.library_for_buildings`)."""
        from .model.library import library_for_buildings

        library = library_for_buildings(self._given_library, buildings)
        other = Scorer(self._base_method, library, self.scenarios, self.report_indicators, self.limits, **self.options)
        other._method_source = self._method_source
        other._building_libraries = True
        return other

    def run(self, compiled: CompiledBuildings, options: EngineOptions | None = None) -> ElementResults:
        """Run the engine on compiled buildings (default: this scorer's engine options)."""
        return run_engine(compiled, self.library, self.scenarios, options or self.engine_options)

    def score(
        self,
        buildings: Any,
        file: str | None = None,
        *,
        gfa_m2: float | None = None,
        mapping: str | Path | None = None,
    ) -> Result:
        """Score one or many buildings: a Building, a path, a flat DataFrame, or a list of them.

        ``file`` labels the input in error messages and provenance (default: the path read).
        ``gfa_m2`` (m²) and ``mapping`` (a material mapping CSV) apply to IFC models read from a
        path: the gross floor area over what the model says, the user's mapping before the default.
        """
        from .readers.ifc import MissingFloorAreaError

        try:
            data = read_input(buildings, file, gfa_m2, mapping)
        except MissingFloorAreaError as error:
            raise error.how("Scorer.score(path, gfa_m2=M2) or mpeil.score(path, gfa_m2=M2)") from None
        if not self._building_libraries and any(b.libraries or b.datasets for b in data.buildings):
            return self._with_building_libraries(data.buildings).score(data)
        compiled = self.compile_frame(data.frame, data.file)
        elements = self.run(compiled)
        _attach_coverage(elements, data.buildings)
        provenance = copy.deepcopy(self.provenance)
        if data.file is not None or data.files:
            provenance["input"] = {"file": data.file, "files": dict(data.files)}
        operational = None
        if any(b.operational for b in data.buildings):
            from .outputs.operational import operational_impacts

            operational = operational_impacts(
                list(data.buildings), self.library, elements.indicators, self.method.reference_study_period_years
            )
        trust = assess_lines(compiled, elements.replacements, self.library, self.method)
        elements.extra["trust"] = trust  # travels with the element results (a Result rebuilt from them keeps it)
        result = Result(
            elements, self.method, provenance, operational, library=self.library, scenarios=self.scenarios, trust=trust
        )
        check_scores(result.scores, data.file)
        return result


def _attach_coverage(elements: ElementResults, buildings: Iterable[Building]) -> None:
    """IFC models' mapped shares (Building metadata) travel with the element results to the grade."""
    from .readers.ifc import coverage_of

    coverage = {b.id: share for b in buildings if (share := coverage_of(b))}
    if coverage:
        elements.extra["coverage"] = coverage


def score(
    buildings: Any,
    method: str | Path | Method = "mpeil-ef31",
    library: EPDLibrary | None = None,
    scenarios: ScenarioSet | None = None,
    report_indicators: Iterable[str] = EN15804_A2_CORE_AND_ADDITIONAL,
    limits: Limits | None = None,
    *,
    gfa_m2: float | None = None,
    mapping: str | Path | None = None,
    **options: Any,
) -> Result:
    """Score one or many buildings: ``Scorer(method, library, scenarios, …).score(buildings)``.

    ``buildings`` is a :class:`~mpeil.model.Building`, a path to a building file (JSON, CSV,
    XLSX), a flat bill-of-materials DataFrame, or an iterable of those. See :class:`Scorer`
    for the other parameters; use a :class:`Scorer` directly to score many inputs with the
    library loaded once. ``gfa_m2`` and ``mapping``: for IFC models (see :meth:`Scorer.score`).
    """
    scorer = Scorer(method, library, scenarios, report_indicators, limits, **options)
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
    seen = _Gathered()
    unscored: list[Building] = []
    names: list[list[str]] = []
    for variant in variants:
        if isinstance(variant, Result):
            ids = list(variant.building_ids)
            seen.add_ids(ids, "a Result")
        else:
            if _has_frame(variant):
                raise InputError("compare takes buildings, building files or Results, not a flat DataFrame")
            data = read_input(variant)
            ids = [b.id for b in data.buildings]
            seen.add_ids(ids, data.file)
            unscored.extend(data.buildings)
        names.append(ids)
    scored = Scorer(method, library, scenarios, **options).score(unscored) if unscored else None
    pairs: list[tuple[Result, str]] = []
    for variant, ids in zip(variants, names, strict=True):
        result = variant if isinstance(variant, Result) else scored
        if result is None:  # unreachable: every building not in a Result was scored
            raise InputError("nothing to compare")
        pairs.extend((result, name) for name in ids)
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
